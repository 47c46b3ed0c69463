"""The campaigns kind: its columns, its plan's approval (portal.campaigns.workflow) and its
one clock, the campaign's own end."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from portal.campaigns import tasks, workflow
from portal.campaigns.schemas import CampaignInput
from portal.campaigns.tables import (
    CampaignDetail,
    CampaignMetric,
    CampaignPlanVersion,
    CampaignQuestion,
    CampaignTask,
)
from portal.cards.kinds import CardKind, ColumnSpec
from portal.i18n import lazy_gettext as _l


def own_clock(card: Mapping[str, Any], column: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    """A campaign has no stage clock: it is due at its own end (the approved one, once the plan
    is approved) while it is planned and runs; once it has ended (复盘) or is archived there is
    nothing left to be late for."""
    if column["meaning"] == "done" or workflow.state_of(dict(column)) in ("review", "archived"):
        return None
    in_force = workflow.schedule(dict(card))
    return {
        "due_stage": "campaign",
        "stage_started_at": in_force["starts_at"] or now,
        "due_at": in_force["ends_at"],
        "due_mode": "natural_hours",
    }


def implied(card: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Moving a campaign's end moves its due time — until its plan is approved: after that a
    new end is a proposal, and the approved end stays the due time until the change is
    approved (portal.campaigns.workflow sets it then)."""
    if "ends_at" not in changes or card.get("approved_version") is not None:
        return {}
    return {"due_at": changes["ends_at"]}


async def _demo_card(*args: Any) -> None:
    from portal.campaigns.demo import seed

    await seed(*args)


KIND = CardKind(
    name="campaigns",
    auto_archive=False,  # see CardKind.auto_archive
    label=_l("Campaigns"),
    columns=(
        ColumnSpec("planning", "策划", "new"),
        ColumnSpec("approval", "待审批", "waiting"),
        ColumnSpec("running", "执行中", "working"),
        ColumnSpec("review", "复盘", "working"),
        ColumnSpec("archived", "归档", "done"),
    ),
    input_model=CampaignInput,
    detail=CampaignDetail,
    tables=(CampaignPlanVersion, CampaignTask, CampaignMetric, CampaignQuestion),
    own_clock=own_clock,
    implied=implied,
    on_move=workflow.on_move,
    on_update=workflow.on_update,
    on_create=workflow.on_create,
    on_created=tasks.on_campaign_created,
    on_updated=tasks.on_campaign_updated,
    fields_partial="partials/campaigns/_fields.html",
    tile_partial="partials/campaigns/_tile.html",
    drawer_partial="partials/campaigns/_drawer.html",
    sections_partial="partials/campaigns/_sections.html",
    tools_partial="partials/campaigns/_tools.html",
    tile_fields=(
        "campaign_format",
        "starts_at",
        "ends_at",
        "platforms",
        "pending_version",
        "approved_version",
        "approved_starts_at",  # the tile shows the approved dates once there are some
        "approved_ends_at",
        "plan_version",
        "tasks_total",
        "tasks_done",
        "participants_pct",
    ),
    filterable=("campaign_format",),
    searchable=("theme",),
    search_fields=("theme", "policy_basis", "audience", "goals"),
    clock_fields=("starts_at", "ends_at", "approved_version", "approved_starts_at", "approved_ends_at"),
    demo_file="demo.json",
    demo_card=_demo_card,
)
