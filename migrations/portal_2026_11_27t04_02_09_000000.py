"""Board pages bounded by what they show, not by a year of history.

- The board reads a column's open cards in position order: (column, archived, position)
  finds them without walking the archived ones (it replaces the (column, position) index).
- The board list counts open cards per board: (board, archived).
- Cards archived before ``archived_from`` existed get the meaning of the column they were
  archived in, so closed work keeps counting in the figures. (Past periods' figures may grow
  by the closed cards someone archived by hand before the upgrade: docs/deploy.md says so.)
Plain SQL that works the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T04:02:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "open-card indexes, archived_from backfill"

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS card_column_open_idx ON card ("column", archived, position)',
    "DROP INDEX IF EXISTS card_column_position_idx",
    "CREATE INDEX IF NOT EXISTS card_board_open_idx ON card (board, archived)",
    "UPDATE card SET archived_from ="
    " COALESCE((SELECT meaning FROM board_column WHERE board_column.id = card.\"column\"), '')"
    " WHERE archived AND archived_from = ''",
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
