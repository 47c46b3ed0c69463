from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T14:53:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "comments: one card per platform and external id (intake is idempotent)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def unique_external_id():
        from portal.db import engine

        # NULL external ids (comments typed in by hand) never collide, on either engine.
        await engine().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS comment_detail_platform_external_id "
            "ON comment_detail (platform, external_id)"
        )

    manager.add_raw(unique_external_id)
    return manager
