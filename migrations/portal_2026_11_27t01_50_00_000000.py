from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T01:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "warning: members by (topic, created_at), the short windows read them so"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def topic_created_index():
        from portal.db import engine

        await engine().run_ddl(
            "CREATE INDEX IF NOT EXISTS warning_topic_member_topic_created_at "
            "ON warning_topic_member (topic, created_at)"
        )

    async def drop_topic_created_index():
        from portal.db import engine

        await engine().run_ddl("DROP INDEX IF EXISTS warning_topic_member_topic_created_at")

    manager.add_raw(topic_created_index)
    manager.add_raw_backwards(drop_topic_created_index)
    return manager
