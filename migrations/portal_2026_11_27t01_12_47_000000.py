from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T01:12:47:000000"
VERSION = "1.38.0"
DESCRIPTION = "incidents: one link per (incident, comment), one row per statement version"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def unique_keys():
        from portal.db import engine

        await engine().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS incident_comment_incident_comment_uq "
            "ON incident_comment (incident, comment)"
        )
        await engine().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS incident_statement_card_version_uq ON incident_statement (card, version)"
        )

    manager.add_raw(unique_keys)
    return manager
