from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T17:51:49:000000"
VERSION = "1.38.0"
DESCRIPTION = "inquiries: default clocks for the new stages (sign for, review) where policies exist"

# Written out rather than read from the kind: a migration keeps meaning what it meant.
NEW_STAGES = (("sign", 4, "working_hours"), ("review", 1, "working_days"))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def new_stage_policies():
        from portal.sla.tables import SlaPolicy  # its engine, for plain SQL

        sql = SlaPolicy.raw
        # A database whose policies were never written gets every default on first use
        # (portal.sla.services.list_policies); one that has them lacks only the new stages.
        if not await sql("SELECT 1 FROM sla_policy LIMIT 1"):
            return
        for stage, amount, mode in NEW_STAGES:
            rows = await sql(
                "SELECT 1 FROM sla_policy WHERE board_kind = 'inquiries' AND stage = {}", stage
            )
            if not rows:
                await sql(
                    "INSERT INTO sla_policy (board_kind, stage, priority, category, amount, mode) "
                    "VALUES ('inquiries', {}, '', '', {}, {})",
                    stage,
                    amount,
                    mode,
                )

    manager.add_raw(new_stage_policies)
    return manager
