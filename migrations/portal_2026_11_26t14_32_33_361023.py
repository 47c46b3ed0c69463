from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T14:32:33:361023"
VERSION = "1.38.0"
DESCRIPTION = "True"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="answer",
        db_column_name="answer",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="author_handle",
        db_column_name="author_handle",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="campaign_format",
        db_column_name="campaign_format",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="category",
        db_column_name="category",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="citizen_name",
        db_column_name="citizen_name",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="citizen_phone",
        db_column_name="citizen_phone",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="ends_at",
        db_column_name="ends_at",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="goals",
        db_column_name="goals",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="link",
        db_column_name="link",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="platform",
        db_column_name="platform",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="platforms",
        db_column_name="platforms",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="reward_rules",
        db_column_name="reward_rules",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="sentiment",
        db_column_name="sentiment",
        schema=None,
    )

    manager.drop_column(
        table_class_name="Card",
        tablename="card",
        column_name="starts_at",
        db_column_name="starts_at",
        schema=None,
    )

    return manager
