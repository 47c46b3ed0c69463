"""The inquiries kind: its columns (the states of its loop), a clock per state, its fields."""

from __future__ import annotations

from portal.cards.kinds import CardKind, ClockSpec, ColumnSpec
from portal.core.choices import INQUIRY_CATEGORIES
from portal.i18n import lazy_gettext as _l
from portal.inquiries import workflow
from portal.inquiries.demo import seed_steps
from portal.inquiries.knowledge_tables import FaqEntry, FaqVersion
from portal.inquiries.privacy import conceal, may_reveal, unconceal
from portal.inquiries.schemas import InquiryInput
from portal.inquiries.tables import InquiryDetail, InquiryStep


async def _step_targets(card_id: int) -> list[tuple[str, int, str]]:
    """A case's steps, as things a file may be attached to (the citizen's 发票 with the
    contact record, the department's 答复 document with its answer)."""
    from portal.attachments.targets import excerpt
    from portal.i18n import gettext as _
    from portal.inquiries.controllers import step_labels

    labels = step_labels()
    rows = (
        await InquiryStep.select(InquiryStep.id, InquiryStep.action, InquiryStep.text)
        .where(InquiryStep.card == card_id)
        .order_by(InquiryStep.id)
    )
    return [
        (
            "step",
            row["id"],
            _("Step %(action)s: %(text)s", action=labels.get(row["action"], row["action"]), text=excerpt(row["text"]))
            if row["text"]
            else _("Step %(action)s", action=labels.get(row["action"], row["action"])),
        )
        for row in rows
    ]


KIND = CardKind(
    name="inquiries",
    label=_l("Inquiries"),
    columns=(
        ColumnSpec("pending_accept", "待受理", "new"),
        ColumnSpec("dispatched", "已派单", "waiting"),
        ColumnSpec("handling", "办理中", "working"),
        ColumnSpec("review", "待审核", "waiting"),
        ColumnSpec("answered", "已答复", "waiting"),
        ColumnSpec("closed", "办结", "done"),
    ),
    input_model=InquiryInput,
    detail=InquiryDetail,
    tables=(InquiryStep, FaqEntry, FaqVersion),
    # Each state runs its own clock: 受理 (accept), 签收 (sign for), 办理 (answer), 审核
    # (review), 回访 (follow up). A case sent back (退单, 审核退回) runs its stage's clock
    # again; a dissatisfied follow-up reopens it (重办: a new round of clocks).
    stages=("accept", "sign", "answer", "review", "follow_up"),
    stage_by_column_key={
        "pending_accept": "accept",
        "dispatched": "sign",
        "handling": "answer",
        "review": "review",
        "answered": "follow_up",
        "follow_up": "follow_up",
    },
    stage_by_meaning={"new": "accept", "working": "answer", "waiting": "answer"},
    restart_on_return=True,
    reopening_from=frozenset({"answered", "follow_up"}),
    clocks=(
        ClockSpec("accept", 1, "working_days"),
        ClockSpec("sign", 4, "working_hours"),
        ClockSpec("answer", 5, "working_days"),
        ClockSpec("answer", 10, "working_days", category="complex"),
        ClockSpec("review", 1, "working_days"),
        ClockSpec("follow_up", 2, "working_days"),
    ),
    categories=INQUIRY_CATEGORIES,
    fields_partial="partials/inquiries/_fields.html",
    tile_partial="partials/inquiries/_tile.html",
    drawer_partial="partials/inquiries/_drawer.html",
    sections_partial="partials/inquiries/_sections.html",
    filters_partial="partials/inquiries/_filters.html",
    tile_fields=("category", "channel", "urgency", "master_card"),
    filterable=("category", "channel"),
    conceal=conceal,  # a citizen's numbers: portal.inquiries.privacy
    unconceal=unconceal,
    private_materials=may_reveal,  # citizen materials: as for the citizen's numbers
    attachment_targets=_step_targets,
    on_move=workflow.on_move,
    on_create=workflow.on_create,
    on_update=workflow.on_update,
    clock_fields=("category",),
    # Searched: the citizen's name and the answer; never the numbers (masked in the text too).
    search_fields=("citizen_name", "answer", "instructions"),
    search_facets={"platform": "channel", "category": "category"},
    demo_file="demo.json",
    demo_card=seed_steps,
)
