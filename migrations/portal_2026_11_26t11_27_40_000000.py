from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T11:27:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "stage history and clocks for the cards that exist already"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def backfill():
        # Cards that exist already: their current column visit starts at their last change,
        # and their running clock is remembered as round 1 of its stage.
        from portal.db import engine

        db = engine()
        await db.run_ddl("UPDATE card SET column_entered_at = COALESCE(updated_at, created_at)")
        await db.run_ddl(
            "INSERT INTO card_stage (card, board, \"column\", stage, clock, round, entered_at) "
            "SELECT card.id, card.board, card.\"column\", board_column.key, card.due_stage, 1, card.column_entered_at "
            "FROM card JOIN board_column ON board_column.id = card.\"column\" WHERE card.archived = false"
        )
        await db.run_ddl(
            "INSERT INTO card_clock (card_id, stage, round, started_at, due_at, mode) "
            "SELECT id, due_stage, 1, COALESCE(stage_started_at, created_at), due_at, due_mode FROM card "
            "WHERE due_stage IS NOT NULL AND due_stage <> 'campaign' AND archived = false"
        )

    manager.add_raw(backfill)
    return manager
