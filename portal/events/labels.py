"""What each recorded event says to a person: "移动了卡片", not ``card.moved`` (the card's
timeline and the audit log read the same labels), and its details as text in the reader's
language rather than JSON with escapes."""

from __future__ import annotations

import json
from typing import Any

from portal.i18n import lazy_gettext as _l

VERB_LABELS: dict[str, Any] = {
    "card.created": _l("created the card"),
    "card.updated": _l("edited the card"),
    "card.assigned": _l("changed the assignee"),
    "card.moved": _l("moved the card"),
    "card.noted": _l("added a note"),
    "card.archived": _l("archived the card"),
    "card.restored": _l("restored the card from the archive"),
    "board.archiving_set": _l("changed when closed cards are archived"),
    "card.paused": _l("paused the clock"),
    "card.resumed": _l("resumed the clock"),
    "card.extension_requested": _l("asked for an extension"),
    "card.extension_approved": _l("approved the extension"),
    "card.extension_rejected": _l("refused the extension"),
    "card.reopened": _l("reopened the card"),
    "card.attachment_added": _l("attached files"),
    "card.attachment_removed": _l("removed an attachment"),
    "comment.triaged": _l("triaged the comment"),
    "comment.sentiment_corrected": _l("corrected the sentiment"),
    "reply.submitted": _l("wrote a reply"),
    "reply.approved": _l("approved a reply"),
    "reply.returned": _l("returned a reply"),
    "reply.sent": _l("sent a reply"),
    "reply.failed": _l("could not send a reply"),
    "comment.escalated": _l("reported the comment upward"),
    "escalation.instructed": _l("gave an instruction"),
    "escalation.closed": _l("closed the report"),
    "comment.grouped": _l("grouped similar comments"),
    "comment.ungrouped": _l("took comments out of a group"),
    "comment.group_answered": _l("answered the group with one reply"),
    "inquiry.action": _l("took a step of the case"),
    "inquiry.supervised": _l("issued a supervision notice (督办)"),
    "inquiry.merged": _l("merged duplicate cases"),
    "inquiry.unmerged": _l("undid a merge"),
    "inquiry.revealed": _l("revealed a citizen's number"),
    "inquiry.reveal_refused": _l("was refused a citizen's number"),
    "campaign.action": _l("took a step of the plan"),
    "campaign.task": _l("changed the task list"),
    "campaign.metrics": _l("recorded figures"),
    "campaign.question": _l("changed the collected questions"),
    "incident.action": _l("took a step of the incident"),
    "board.created": _l("created the board"),
    "column.added": _l("added a column"),
    "column.updated": _l("changed a column"),
    "column.moved": _l("moved a column"),
    "column.archived": _l("archived a column"),
    "member.set": _l("set a member's role"),
    "member.removed": _l("removed a member"),
    "webhook.added": _l("added a group robot"),
    "webhook.removed": _l("removed a group robot"),
    "login": _l("logged in"),
    "login.failed": _l("failed to log in"),
    "token.created": _l("created an access token"),
    "token.revoked": _l("revoked an access token"),
    "user.created": _l("created a user"),
    "user.updated": _l("changed a user"),
    "user.disabled": _l("disabled a user"),
    "user.enabled": _l("enabled a user"),
    "user.language": _l("changed the language"),
    "user.notifications": _l("changed notification settings"),
    "user.password_changed": _l("changed the password"),
    "user.password_reset": _l("reset a password"),
    "department.created": _l("created a department"),
    "department.updated": _l("changed a department"),
    "media_account.created": _l("added a media account"),
    "media_account.updated": _l("changed a media account"),
    "media_account.figures": _l("recorded account figures"),
    "calendar.day": _l("changed a calendar day"),
    "calendar.import": _l("imported the holiday schedule"),
    "sla.policy": _l("changed a deadline rule"),
    "warning.alert_acknowledged": _l("acknowledged a public-opinion alert"),
    "warning.alert_incident": _l("made a public-opinion alert an incident"),
    "warning.rule_added": _l("added a watch rule"),
    "warning.rule_removed": _l("removed a watch rule"),
    "warning.escalation_set": _l("changed the alert escalation time"),
}


def verb_label(verb: str) -> str:
    """The event in words ("moved the card"); an unknown one as its code."""
    label = VERB_LABELS.get(verb)
    return str(label) if label is not None else verb


def payload_text(payload: Any) -> str:
    """An event's details as "key: value" pairs, Chinese as written (no \\u escapes)."""
    if isinstance(payload, str):  # a JSON column read without decoding
        try:
            payload = json.loads(payload)
        except ValueError:
            return payload
    if not payload:
        return ""
    if not isinstance(payload, dict):
        return json.dumps(payload, ensure_ascii=False)
    parts = []
    for key, value in payload.items():
        shown = value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)
