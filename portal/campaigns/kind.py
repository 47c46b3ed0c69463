"""The campaigns kind: its columns and its one clock, the campaign's own end."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from portal.campaigns.schemas import CampaignInput
from portal.campaigns.tables import CampaignDetail
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
    own_clock=own_clock,
    implied=implied,
    fields_partial="partials/campaigns/_fields.html",
    tile_partial="partials/campaigns/_tile.html",
    drawer_partial="partials/campaigns/_drawer.html",
    tile_fields=("campaign_format", "starts_at", "ends_at"),
    clock_fields=("starts_at", "ends_at"),
    demo_file="demo.json",
)
