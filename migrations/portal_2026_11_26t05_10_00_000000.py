"""Composite unique keys that Piccolo's column options cannot express.

- one membership row per (board, user);
- one event per (board, sequence number): two writers can never claim the same seq;
- one column key per board.
Plain CREATE UNIQUE INDEX works the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS board_member_board_user_uq ON board_member (board, \"user\")",
    "CREATE UNIQUE INDEX IF NOT EXISTS event_board_seq_uq ON event (board_id, seq)",
    "CREATE UNIQUE INDEX IF NOT EXISTS board_column_board_key_uq ON board_column (board, key)",
    "CREATE INDEX IF NOT EXISTS card_column_position_idx ON card (\"column\", position)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
