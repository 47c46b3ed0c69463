"""The inquiries kind: its columns, its three clocks (accept, answer, follow up), its fields."""

from __future__ import annotations

from typing import Any

from portal.boards.access import BoardAccess
from portal.cards.kinds import CardKind, ClockSpec, ColumnSpec
from portal.core.choices import INQUIRY_CATEGORIES
from portal.core.labels import mask_phone
from portal.i18n import lazy_gettext as _l
from portal.inquiries.schemas import InquiryInput
from portal.inquiries.tables import InquiryDetail


def can_see_phone(access: BoardAccess, card: dict[str, Any]) -> bool:
    """Citizens' numbers: managers, and the liaison of the responsible department."""
    return access.can_manage or (
        access.department_only is not None and card.get("department") == access.department_only
    )


def conceal(access: BoardAccess, card: dict[str, Any]) -> None:
    """Mask the citizen's number for whoever may not see it, before any page, form, error or
    API answer can show it; ``phone_visible`` says which. (Writes read the card themselves:
    a masked number is never saved.)"""
    card["phone_visible"] = can_see_phone(access, card)
    if not card["phone_visible"] and card.get("citizen_phone"):
        card["citizen_phone"] = mask_phone(card["citizen_phone"])


KIND = CardKind(
    name="inquiries",
    label=_l("Inquiries"),
    columns=(
        ColumnSpec("pending_accept", "待受理", "new"),
        ColumnSpec("dispatched", "已派单", "waiting"),
        ColumnSpec("handling", "办理中", "working"),
        ColumnSpec("review", "待审核", "waiting"),
        ColumnSpec("answered", "已答复", "waiting"),
        ColumnSpec("follow_up", "回访", "working"),
        ColumnSpec("closed", "办结", "done"),
    ),
    input_model=InquiryInput,
    detail=InquiryDetail,
    stages=("accept", "answer", "follow_up"),
    stage_by_column_key={
        "pending_accept": "accept",
        "dispatched": "answer",
        "handling": "answer",
        "review": "answer",
        "answered": "follow_up",
        "follow_up": "follow_up",
    },
    stage_by_meaning={"new": "accept", "working": "answer", "waiting": "answer"},
    clocks=(
        ClockSpec("accept", 1, "working_days"),
        ClockSpec("answer", 3, "working_days"),
        ClockSpec("answer", 10, "working_days", category="complex"),
        ClockSpec("follow_up", 2, "working_days"),
    ),
    categories=INQUIRY_CATEGORIES,
    fields_partial="partials/inquiries/_fields.html",
    tile_partial="partials/inquiries/_tile.html",
    drawer_partial="partials/inquiries/_drawer.html",
    filters_partial="partials/inquiries/_filters.html",
    tile_fields=("category", "channel"),
    filterable=("category", "channel"),
    conceal=conceal,
    clock_fields=("category",),
    demo_file="demo.json",
)
