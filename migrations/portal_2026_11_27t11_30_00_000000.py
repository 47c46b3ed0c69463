"""The figures' change log: triggers write the id of every card whose counted facts change.

Each process keeps the figures' facts in memory (``portal.stats.facts``) and, before
counting, reloads the cards named in ``stats_change`` since it last read it. The triggers see
every write, whatever makes it (the write path, a worker, an import, SQL by hand): a card
added, removed or changed in what the figures count (board, column, assignee, departments,
archiving, receipt), and any row of its counted history (stage visits, clocks, its kind's
details, replies, inquiry steps, reopening events). ``xid`` is the writer's transaction id on
PostgreSQL (0 on SQLite), ``at`` the time of the change in whole seconds (for pruning);
``stats_change_pruned`` the highest id pruned.
"""

# ruff: noqa: S608 - fixed identifiers only

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T11:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "figures: the change log (stats_change) and the triggers that write it"

# table, its card column, the columns whose change changes a figure ("*": any), a condition on a row
WATCHED = [
    (
        "card",
        "id",
        [
            "board",
            '"column"',
            "assignee",
            "department",
            "assisting_departments",
            "archived",
            "archived_from",
            "received_at",
        ],
        None,
    ),
    ("card_stage", "card", ["card", '"column"', "entered_at", "left_at", "clock", "on_time"], None),
    ("card_clock", "card_id", ["card_id", "stage", "round", "completed_at"], None),
    ("comment_detail", "card", ["card", "platform", "topic", "sentiment"], None),
    ("inquiry_detail", "card", ["card", "channel", "category", "accepted_at"], None),
    ("comment_reply", "card", ["card", "status", "created_at"], None),
    ("inquiry_step", "card", ["card", "action", "data", "created_at"], None),
    ("event", "object_id", ["object_id", "verb", "object_type", "created_at"], "{row}.verb = 'card.reopened'"),
]

# The highest log id the worker has pruned (one row): a process that has not read that far has
# missed changes, and loads everything again.
PRUNED = [
    "CREATE TABLE IF NOT EXISTS stats_change_pruned (id INTEGER PRIMARY KEY, upto BIGINT NOT NULL DEFAULT 0)",
    "INSERT INTO stats_change_pruned (id, upto) VALUES (1, 0) ON CONFLICT DO NOTHING",
]


def _sqlite() -> list[str]:
    statements = [
        "CREATE TABLE IF NOT EXISTS stats_change (id INTEGER PRIMARY KEY AUTOINCREMENT, card INTEGER NOT NULL,"
        " xid INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)))",
        "CREATE INDEX IF NOT EXISTS stats_change_at ON stats_change (at)",
        *PRUNED,
    ]
    for table, card, columns, condition in WATCHED:
        new_if = f" WHEN {condition.format(row='NEW')}" if condition else ""
        old_if = f" WHEN {condition.format(row='OLD')}" if condition else ""
        changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in columns)
        either = f"({condition.format(row='NEW')} OR {condition.format(row='OLD')}) AND " if condition else ""
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS stats_{table}_insert AFTER INSERT ON {table}{new_if} BEGIN"
            f" INSERT INTO stats_change (card) SELECT NEW.{card} WHERE NEW.{card} IS NOT NULL; END",
            f"CREATE TRIGGER IF NOT EXISTS stats_{table}_delete AFTER DELETE ON {table}{old_if} BEGIN"
            f" INSERT INTO stats_change (card) SELECT OLD.{card} WHERE OLD.{card} IS NOT NULL; END",
            f"CREATE TRIGGER IF NOT EXISTS stats_{table}_update AFTER UPDATE ON {table} WHEN {either}({changed}) BEGIN"
            f" INSERT INTO stats_change (card) SELECT NEW.{card} WHERE NEW.{card} IS NOT NULL"
            f" UNION SELECT OLD.{card} WHERE OLD.{card} IS NOT NULL; END",
        ]
    return statements


def _postgres() -> list[str]:
    statements = [
        "CREATE TABLE IF NOT EXISTS stats_change (id BIGSERIAL PRIMARY KEY, card INTEGER NOT NULL,"
        " xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),"
        " at BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp())::bigint))",
        "CREATE INDEX IF NOT EXISTS stats_change_xid ON stats_change (xid)",
        "CREATE INDEX IF NOT EXISTS stats_change_at ON stats_change (at)",
        *PRUNED,
    ]
    for table, card, columns, condition in WATCHED:
        statements.append(
            f"CREATE OR REPLACE FUNCTION stats_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF TG_OP <> 'DELETE' AND NEW.{card} IS NOT NULL"
            f" THEN INSERT INTO stats_change (card) VALUES (NEW.{card}); END IF;"
            f" IF TG_OP <> 'INSERT' AND OLD.{card} IS NOT NULL"
            f" AND (TG_OP = 'DELETE' OR OLD.{card} IS DISTINCT FROM NEW.{card})"
            f" THEN INSERT INTO stats_change (card) VALUES (OLD.{card}); END IF; RETURN NULL; END $$"
        )
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
        either = f"({condition.format(row='NEW')} OR {condition.format(row='OLD')}) AND " if condition else ""
        for operation, when in [
            ("INSERT", condition.format(row="NEW") if condition else None),
            ("DELETE", condition.format(row="OLD") if condition else None),
            ("UPDATE", f"{either}({changed})"),
        ]:
            name = f"stats_{table}_{operation.lower()}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW"
                + (f" WHEN ({when})" if when else "")
                + f" EXECUTE FUNCTION stats_log_{table}()",
            ]
    return statements


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        from portal.db import is_sqlite

        for statement in _sqlite() if is_sqlite() else _postgres():
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
