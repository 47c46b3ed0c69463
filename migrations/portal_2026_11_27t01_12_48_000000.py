from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T01:12:48:000000"
VERSION = "1.38.0"
DESCRIPTION = "incidents: default clocks per level (first response, statement review) where policies exist"

# Written out rather than read from the kind: a migration keeps meaning what it meant.
# (stage, category, amount, mode); the category is the incident's level, '' any level.
DEFAULTS = (
    ("first_response", "", 24, "natural_hours"),
    ("first_response", "blue", 24, "natural_hours"),
    ("first_response", "yellow", 4, "natural_hours"),
    ("first_response", "orange", 1, "natural_hours"),
    ("first_response", "red", 1, "natural_hours"),
    ("statement_review", "", 4, "natural_hours"),
    ("statement_review", "blue", 4, "natural_hours"),
    ("statement_review", "yellow", 2, "natural_hours"),
    ("statement_review", "orange", 1, "natural_hours"),
    ("statement_review", "red", 1, "natural_hours"),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def incident_policies():
        from portal.sla.tables import SlaPolicy  # its engine, for plain SQL

        sql = SlaPolicy.raw
        # A database whose policies were never written gets every default on first use
        # (portal.sla.services.list_policies); one that has them has none for incidents, so
        # an incident would run no clock at all. Rows an administrator wrote already stay.
        if not await sql("SELECT 1 FROM sla_policy LIMIT 1"):
            return
        if await sql("SELECT 1 FROM sla_policy WHERE board_kind = 'incidents' LIMIT 1"):
            return
        for stage, category, amount, mode in DEFAULTS:
            await sql(
                "INSERT INTO sla_policy (board_kind, stage, priority, category, amount, mode) "
                "VALUES ('incidents', {}, '', {}, {}, {})",
                stage,
                category,
                amount,
                mode,
            )

    manager.add_raw(incident_policies)
    return manager
