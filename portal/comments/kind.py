"""The comments kind: its columns, its first-reply clock, its fields and partials."""

from portal.cards.kinds import CardKind, ClockSpec, ColumnSpec
from portal.comments.schemas import CommentInput
from portal.comments.tables import (
    CategoryRule,
    CommentDetail,
    Escalation,
    IntakeSource,
    Reply,
    ReplyTemplate,
    ReplyTemplateVersion,
    SensitiveWord,
    SentimentCorrection,
)
from portal.i18n import lazy_gettext as _l


async def _reply_texts(card_ids: list[int]) -> dict[int, list[str]]:
    """The comments' replies, for full-text search (a returned draft was never sent: left out)."""
    from portal.comments.tables import ReplyStatus

    found: dict[int, list[str]] = {}
    rows = (
        await Reply.select(Reply.card, Reply.body)
        .where(Reply.card.is_in(card_ids) & (Reply.status != ReplyStatus.returned))
        .order_by(Reply.id)
    )
    for row in rows:
        found.setdefault(row["card"], []).append(row["body"])
    return found


async def _reply_targets(card_id: int) -> list[tuple[str, int, str]]:
    """A comment's replies, as things a file may be attached to (the screenshot of a reply as
    it was published, say)."""
    from portal.attachments.targets import excerpt
    from portal.i18n import gettext as _

    rows = await Reply.select(Reply.id, Reply.body).where(Reply.card == card_id).order_by(Reply.id)
    return [("reply", row["id"], _("Reply: %(text)s", text=excerpt(row["body"]))) for row in rows]


def _triage_effect(card_id: int):
    from portal.comments.triage_effects import triage

    return triage(card_id)


KIND = CardKind(
    name="comments",
    label=_l("Comments"),
    columns=(
        ColumnSpec("new", "新留言", "new"),
        ColumnSpec("pending", "待处理", "working"),
        ColumnSpec("replied", "已回复", "waiting"),
        ColumnSpec("reported", "已上报", "waiting"),
        ColumnSpec("closed", "已关闭", "done"),
    ),
    input_model=CommentInput,
    detail=CommentDetail,
    tables=(
        IntakeSource,
        SensitiveWord,
        CategoryRule,
        SentimentCorrection,
        ReplyTemplate,
        ReplyTemplateVersion,
        Reply,
        Escalation,
    ),
    # One clock: the first reply, 24 natural hours from the comment's receipt; moving the
    # card to 已上报 and back does not restart it, reaching 已回复 completes it.
    stages=("first_response",),
    stage_by_column_key={"new": "first_response", "pending": "first_response"},
    stage_by_meaning={"new": "first_response", "working": "first_response"},
    completed_by_column_key={"first_response": frozenset({"replied"})},
    clocks=(ClockSpec("first_response", 24, "natural_hours"),),
    fields_partial="partials/comments/_fields.html",
    tile_partial="partials/comments/_tile.html",
    drawer_partial="partials/comments/_drawer.html",
    sections_partial="partials/comments/_sections.html",
    tools_partial="partials/comments/_tools.html",
    bar_partial="partials/comments/_bulk_bar_slot.html",
    filters_partial="partials/comments/_filters.html",
    tile_fields=("platform", "sentiment", "flag_tier", "group_card"),  # group_card: 组 N / 已并入
    created_effects=lambda card_id: [_triage_effect(card_id)],  # the worker triages every new comment
    filterable=("platform", "sentiment"),
    searchable=("author_handle",),
    search_fields=("author_handle",),
    search_facets={"platform": "platform", "category": "topic"},
    search_texts=_reply_texts,
    attachment_targets=_reply_targets,
    demo_file="demo.json",
)
