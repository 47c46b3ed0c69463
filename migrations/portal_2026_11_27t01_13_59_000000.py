from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T01:13:59:000000"
VERSION = "1.38.0"
DESCRIPTION = "warning: one count row per (topic, slot), upserted by the worker"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def unique_keys():
        from portal.db import engine

        await engine().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS warning_topic_bucket_topic_slot_uq "
            "ON warning_topic_bucket (topic, slot)"
        )

    manager.add_raw(unique_keys)
    return manager
