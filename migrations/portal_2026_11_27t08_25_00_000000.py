from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Real
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T08:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "warning: each topic's weighted mean of negative comments per slot (its usual negative share)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

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
