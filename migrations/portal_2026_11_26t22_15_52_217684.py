from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz

ID = "2026-11-26T22:15:52:217684"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the evaluation's periods (received, visits left, clocks completed, steps)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Card",
        tablename="card",
        column_name="received_at",
        db_column_name="received_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    manager.alter_column(
        table_class_name="CardStage",
        tablename="card_stage",
        column_name="left_at",
        db_column_name="left_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    manager.alter_column(
        table_class_name="CardClock",
        tablename="card_clock",
        column_name="completed_at",
        db_column_name="completed_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    manager.alter_column(
        table_class_name="InquiryStep",
        tablename="inquiry_step",
        column_name="created_at",
        db_column_name="created_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    return manager
