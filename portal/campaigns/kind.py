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
    """A campaign has no stage clock: it is due at its own end until it is done."""
    if column["meaning"] == "done":
        return None
    return {
        "due_stage": "campaign",
        "stage_started_at": card.get("starts_at") or now,
        "due_at": card.get("ends_at"),
        "due_mode": "natural_hours",
    }


def implied(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Moving a campaign's end moves its due time."""
    return {"due_at": changes["ends_at"]} if "ends_at" in changes else {}


async def _demo_card(*args: Any) -> None:
    from portal.campaigns.demo import seed

    await seed(*args)


KIND = CardKind(
    name="campaigns",
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
        "plan_version",
        "tasks_total",
        "tasks_done",
        "participants_pct",
    ),
    filterable=("campaign_format",),
    searchable=("theme",),
    clock_fields=("starts_at", "ends_at"),
    demo_file="demo.json",
    demo_card=_demo_card,
)
