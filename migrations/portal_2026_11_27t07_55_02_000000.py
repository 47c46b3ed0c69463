"""The schedule in force for the campaigns approved before it was kept beside the draft: each
approved campaign's ``approved_starts_at``, ``approved_ends_at``, ``approved_platforms`` and
``approved_moments`` from the snapshot of its approved plan version (the tile and the calendar
read them; portal.campaigns.workflow keeps them from now on). Campaigns never approved are left
as they are (their draft is their plan). Written with tables of its own, as the columns were
when it was written, so that it runs the same on SQLite and PostgreSQL.

Not here: the due time and the template tasks an edit of an approved campaign's dates moved
before this release (they go back on the approved dates with ``portal campaigns-realign``, run
once after the upgrade: the rule needs the plan templates and the working-day calendar, app
code a migration must not import; docs/deploy.md)."""

from datetime import datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSONB, Integer, Timestamptz
from piccolo.table import Table

ID = "2026-11-27T07:55:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "campaigns: the approved schedule backfilled from the approved plan versions"


class CampaignDetail(Table, tablename="campaign_detail"):
    card = Integer()
    approved_version = Integer(null=True, default=None)
    approved_starts_at = Timestamptz(null=True, default=None)
    approved_ends_at = Timestamptz(null=True, default=None)
    approved_platforms = JSONB(default=[])
    approved_moments = JSONB(default=[])


class CampaignPlanVersion(Table, tablename="campaign_plan_version"):
    card = Integer()
    version = Integer()
    plan = JSONB(default={})


def _time(value):
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def backfill():
        D, V = CampaignDetail, CampaignPlanVersion
        approved = await D.select(D.card, D.approved_version).where(D.approved_version.is_not_null())
        for row in approved:
            version = (
                await V.select(V.plan)
                .where((V.card == row["card"]) & (V.version == row["approved_version"]))
                .output(load_json=True)
                .first()
            )
            plan = (version or {}).get("plan") or {}
            if not isinstance(plan, dict):
                continue
            await D.update(
                {
                    D.approved_starts_at: _time(plan.get("starts_at")),
                    D.approved_ends_at: _time(plan.get("ends_at")),
                    D.approved_platforms: plan.get("platforms") or [],
                    D.approved_moments: plan.get("moments") or [],
                }
            ).where(D.card == row["card"])

    manager.add_raw(backfill)
    return manager
