"""Campaigns' composite unique keys: one plan version number per campaign, one metric
snapshot per (campaign, platform, time) (recording it again replaces its figures)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T21:20:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "campaign unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS campaign_plan_version_card_version_uq ON campaign_plan_version (card, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS campaign_metric_card_platform_at_uq ON campaign_metric (card, platform, at)",
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
