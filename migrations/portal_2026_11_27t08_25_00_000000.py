from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Real
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-27T08:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "warning: each topic's weighted mean of negative comments per slot (its usual negative share)"

# The new column's value for the topics that exist already. negative_rate is the weighted mean
# of a topic's negative comments per slot, folded with rate (the same slots, the same weights:
# portal.warning.services.observe_comment), so negative_rate / rate is its usual negative
# share. Left at 0, every established topic would look never negative, and a habitually
# negative one would "turn negative" on its ordinary traffic the day after the upgrade. The
# mean's weight lies mostly in its last day (half-life six hours): the share of the topic's
# counted slots of the day before rate_slot, or, without any (older than the kept slots), the
# share of all its comments; times rate. Plain SQL, the same on SQLite and PostgreSQL.
BACKFILL = (
    "UPDATE warning_topic SET negative_rate = rate * COALESCE("
    "(SELECT CAST(SUM(b.negative) AS REAL) / NULLIF(SUM(b.comments), 0) FROM warning_topic_bucket b"
    " WHERE b.topic = warning_topic.id AND b.slot < warning_topic.rate_slot"
    " AND b.slot >= warning_topic.rate_slot - 288),"
    " CAST(negative AS REAL) / comments)"
    " WHERE comments > 0 AND rate > 0"
)


class RawTable(Table):
    pass


class _WithBackfill(MigrationManager):
    """Raw steps run before the columns are added (MigrationManager.run); this one needs it."""

    async def _run_add_columns(self, backwards: bool = False):
        await super()._run_add_columns(backwards=backwards)
        if not backwards and not self.preview:
            await RawTable.raw(BACKFILL)


async def forwards():
    manager = _WithBackfill(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_column(
        table_class_name="WarningTopic",
        tablename="warning_topic",
        column_name="negative_rate",
        db_column_name="negative_rate",
        column_class_name="Real",
        column_class=Real,
        params={
            "default": 0.0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
