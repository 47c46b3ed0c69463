"""Event kinds and their payloads: one enumeration, one typed payload per kind.

A board event says what happened (``kind``), to what (``object_type``, ``object_id``), by
whom, and carries a small payload whose shape is fixed here, so that the timeline, the
catch-up after a reconnect and later the figures read the same fields the writers wrote.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventKind(StrEnum):
    board_created = "board.created"
    board_archiving_set = "board.archiving_set"
    card_created = "card.created"
    card_updated = "card.updated"
    card_assigned = "card.assigned"
    card_moved = "card.moved"
    card_archived = "card.archived"
    card_restored = "card.restored"
    card_noted = "card.noted"
    card_paused = "card.paused"
    card_resumed = "card.resumed"
    card_reopened = "card.reopened"
    card_extension_requested = "card.extension_requested"
    card_extension_approved = "card.extension_approved"
    card_extension_rejected = "card.extension_rejected"
    card_attachment_added = "card.attachment_added"
    card_attachment_removed = "card.attachment_removed"
    column_added = "column.added"
    column_updated = "column.updated"
    column_moved = "column.moved"
    column_archived = "column.archived"
    member_set = "member.set"
    member_removed = "member.removed"
    webhook_added = "webhook.added"
    webhook_removed = "webhook.removed"
    # The comments workflow
    comment_triaged = "comment.triaged"
    comment_sentiment_corrected = "comment.sentiment_corrected"
    reply_submitted = "reply.submitted"
    reply_approved = "reply.approved"
    reply_returned = "reply.returned"
    reply_sent = "reply.sent"
    reply_failed = "reply.failed"
    comment_escalated = "comment.escalated"
    escalation_instructed = "escalation.instructed"
    escalation_closed = "escalation.closed"
    comment_grouped = "comment.grouped"
    comment_ungrouped = "comment.ungrouped"
    comment_group_answered = "comment.group_answered"
    # The inquiries workflow: one event per action on a case (its step row holds the rest)
    inquiry_action = "inquiry.action"
    inquiry_supervised = "inquiry.supervised"
    inquiry_merged = "inquiry.merged"
    inquiry_unmerged = "inquiry.unmerged"
    # Campaigns: the plan's approval, the checklist, the figures, the questions collected
    campaign_action = "campaign.action"
    campaign_task = "campaign.task"
    campaign_metrics = "campaign.metrics"
    campaign_question = "campaign.question"
    # Incidents (舆情事件): one event per action; the payload is the incident's timeline entry
    incident_action = "incident.action"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Empty(_Payload):
    pass


class ArchivingSet(_Payload):
    days: int = 0  # closed cards are archived after this many days (0: never)


class Titled(_Payload):
    title: str = ""


class CardCreated(_Payload):
    title: str
    column: int


class CardChanged(_Payload):
    fields: list[str]
    assignee: int | None = None


class CardMoved(_Payload):
    from_column: int = Field(alias="from")
    to: int
    to_name: str = ""
    after: int | None = None


class CardNoted(_Payload):
    note: int
    mentions: list[int] = []


class AttachmentChanged(_Payload):
    attachments: list[int]
    names: list[str] = []
    target: str | None = None  # "note:12": what on the card the files are attached to


class Reason(_Payload):
    reason: str = ""


class ExtensionRequested(_Payload):
    until: str | None
    reason: str


class Reopened(_Payload):
    round: int


class Named(_Payload):
    name: str


class ColumnUpdated(_Payload):
    name: str
    wip_limit: int | None = None


class ColumnMoved(_Payload):
    direction: int


class MemberSet(_Payload):
    role: str


class WebhookAdded(_Payload):
    kind: str


class Triaged(_Payload):
    topic: str | None = None
    sentiment: str | None = None
    flag_tier: str | None = None
    words: list[str] = []
    assignee: int | None = None
    similar: int = 0


class SentimentCorrected(_Payload):
    automatic: str | None = None
    corrected: str


class ReplyEvent(_Payload):
    reply: int
    reason: str = ""
    batch: str = ""


class Escalated(_Payload):
    escalation: int
    target: str
    risk: str


class EscalationEvent(_Payload):
    escalation: int


class Grouped(_Payload):
    group: int  # the lead: the card whose reply answers the group
    members: list[int] = []  # on the lead's event: the cards that joined or left


class GroupAnswered(_Payload):
    reply: int  # the lead's reply
    members: list[int] = []  # answered with it
    skipped: list[int] = []  # the text is longer than their platform allows


class InquiryAction(_Payload):
    action: str
    step: int
    from_state: str = ""
    to_state: str = ""
    department: int | None = None


class CampaignAction(_Payload):
    action: str
    version: int | None = None
    from_state: str = ""
    to_state: str = ""


class CampaignTaskChanged(_Payload):
    task: int = 0  # 0 for a change of several tasks at once (rescheduled: see tasks)
    change: str  # added | edited | done | undone | removed | moved | templated | dated | rescheduled
    title: str = ""
    tasks: list[int] = []  # rescheduled: the template tasks whose due times followed the campaign's dates


class CampaignMetricsRecorded(_Payload):
    platforms: list[str] = []
    count: int = 0
    source: str = ""  # hand | import | api


class CampaignQuestionChanged(_Payload):
    question: int
    change: str  # added | counted | sent | templated | removed
    comment_card: int | None = None


class IncidentAction(_Payload):
    action: str
    from_state: str = ""
    to_state: str = ""
    version: int | None = None  # the statement version submitted, approved, returned or published
    level: str | None = None
    text: str = ""  # what was written: the assessment, plan, reason, instruction or review
    comments: list[int] = []  # comment cards linked


class InquiryMerged(_Payload):
    master: int
    cards: list[int] = []


PAYLOADS: dict[EventKind, type[_Payload]] = {
    EventKind.board_created: Named,
    EventKind.board_archiving_set: ArchivingSet,
    EventKind.card_created: CardCreated,
    EventKind.card_updated: CardChanged,
    EventKind.card_assigned: CardChanged,
    EventKind.card_moved: CardMoved,
    EventKind.card_archived: Titled,
    EventKind.card_restored: Titled,
    EventKind.card_noted: CardNoted,
    EventKind.card_paused: Reason,
    EventKind.card_resumed: Empty,
    EventKind.card_reopened: Reopened,
    EventKind.card_extension_requested: ExtensionRequested,
    EventKind.card_extension_approved: Empty,
    EventKind.card_extension_rejected: Empty,
    EventKind.card_attachment_added: AttachmentChanged,
    EventKind.card_attachment_removed: AttachmentChanged,
    EventKind.column_added: Named,
    EventKind.column_updated: ColumnUpdated,
    EventKind.column_moved: ColumnMoved,
    EventKind.column_archived: Named,
    EventKind.member_set: MemberSet,
    EventKind.member_removed: Empty,
    EventKind.webhook_added: WebhookAdded,
    EventKind.webhook_removed: Empty,
    EventKind.comment_triaged: Triaged,
    EventKind.comment_sentiment_corrected: SentimentCorrected,
    EventKind.reply_submitted: ReplyEvent,
    EventKind.reply_approved: ReplyEvent,
    EventKind.reply_returned: ReplyEvent,
    EventKind.reply_sent: ReplyEvent,
    EventKind.reply_failed: ReplyEvent,
    EventKind.comment_escalated: Escalated,
    EventKind.escalation_instructed: EscalationEvent,
    EventKind.escalation_closed: EscalationEvent,
    EventKind.comment_grouped: Grouped,
    EventKind.comment_ungrouped: Grouped,
    EventKind.comment_group_answered: GroupAnswered,
    EventKind.inquiry_action: InquiryAction,
    EventKind.inquiry_supervised: InquiryAction,
    EventKind.inquiry_merged: InquiryMerged,
    EventKind.inquiry_unmerged: InquiryMerged,
    EventKind.campaign_action: CampaignAction,
    EventKind.campaign_task: CampaignTaskChanged,
    EventKind.campaign_metrics: CampaignMetricsRecorded,
    EventKind.campaign_question: CampaignQuestionChanged,
    EventKind.incident_action: IncidentAction,
}


def payload_for(kind: EventKind, payload: dict[str, Any] | None) -> dict[str, Any]:
    """Check a payload against its kind's shape; the stored form keeps the wire names."""
    return PAYLOADS[kind].model_validate(payload or {}).model_dump(mode="json", by_alias=True)
