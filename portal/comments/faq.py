"""FAQ candidates: the questions that recur most on a comments board in the last 7 and 30
days, each with its best reply, which a button turns into a draft reply template (口径).

Comments are grouped by topic (the category triage gave them) and, within a topic, by
near-duplicate text: MinHash on character shingles (``portal.comments.similar``), the stored
signature when triage left one, else hashed here. Two comments whose estimated Jaccard
similarity reaches the threshold are linked; a group is a connected set of links (so
thirty rephrasings of one question make one group even when the first and the last share
little). Its representative is the comment linked to the most others; its best reply the
most recent sent reply in the group.

Read on demand: a board's comments of the last 30 days are a few thousand at most, hashed
in well under a second; the number read is capped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field

from portal.accounts.services import NotFound
from portal.boards.access import BoardAccess
from portal.cards.tables import Card
from portal.comments import similar
from portal.comments.tables import (
    CommentDetail,
    Reply,
    ReplyStatus,
    ReplyTemplate,
    ReplyTemplateVersion,
    TemplateStatus,
)
from portal.core.forms import FormError
from portal.core.schemas import Input
from portal.db import write_transaction
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

WINDOWS = (7, 30)
MAX_COMMENTS = 3000  # the most recent ones in the window
MIN_GROUP = 2  # a question asked once is not a frequently asked one
MAX_GROUPS = 20


class DraftInput(Input):
    reply_id: int
    title: Annotated[str, Field(min_length=1, max_length=80)]
    category: Annotated[str, Field(max_length=20)] = ""

    messages = {
        "reply_id": _l("Choose a reply."),
        "title": _l("Enter a title of at most 80 characters."),
        "category": _l("A category has at most 20 characters."),
    }


def _text(row: dict[str, Any]) -> str:
    return (row.get("body") or row.get("title") or "").strip()


def _signature(row: dict[str, Any]) -> bytes:
    stored = row.get("signature") or ""
    if len(stored) == 2 * similar.SIGNATURE_BYTES:
        try:
            return bytes.fromhex(stored)
        except ValueError:
            pass  # a damaged signature: hash the text again
    return similar.signature(_text(row))


def group(rows: list[dict[str, Any]], threshold: float = similar.THRESHOLD) -> list[list[dict[str, Any]]]:
    """Rows (id, title, body, topic, signature) grouped by topic and near-duplicate text,
    largest first; each group's representative first."""
    parent = {row["id"]: row["id"] for row in rows}

    def root(key: int) -> int:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    links: dict[int, int] = dict.fromkeys(parent, 0)
    by_topic: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_topic.setdefault(row.get("topic") or None, []).append(row)
    for members in by_topic.values():
        index = similar.SimilarIndex(threshold)
        for row in members:
            index.add_signature(row["id"], _signature(row))
        for row in members:
            for other, _score in index.similar_to(row["id"], limit=len(members)):
                links[row["id"]] += 1
                parent[root(row["id"])] = root(other)
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(root(row["id"]), []).append(row)
    result = []
    for members in groups.values():
        members.sort(key=lambda row: (-links[row["id"]], row["id"]))
        result.append(members)
    result.sort(key=lambda members: (-len(members), members[0]["id"]))
    return result


async def _comments(access: BoardAccess, since: datetime) -> list[dict[str, Any]]:
    rows = (
        await Card.select(
            Card.id,
            Card.title,
            Card.body,
            Card.department,
            Card.assisting_departments,
            Card.received_at,
        )
        .where(
            (Card.board == access.board_id)
            & (Card.archived == False)  # noqa: E712
            & (Card.received_at >= since)
        )
        .order_by(Card.received_at, ascending=False)
        .limit(MAX_COMMENTS)
        .output(load_json=True)
    )
    rows = [row for row in rows if access.can_see_card(row)]
    details = {
        row["card"]: row
        for row in await CommentDetail.select(CommentDetail.card, CommentDetail.topic, CommentDetail.signature).where(
            CommentDetail.card.is_in([row["id"] for row in rows] or [0])
        )
    }
    for row in rows:
        detail = details.get(row["id"], {})
        row["topic"] = detail.get("topic")
        row["signature"] = detail.get("signature") or ""
    return rows


async def _best_replies(card_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The most recent sent reply of each card that has one."""
    if not card_ids:
        return {}
    rows = (
        await Reply.select(Reply.id, Reply.card, Reply.body, Reply.sent_at)
        .where(Reply.card.is_in(card_ids) & (Reply.status == ReplyStatus.sent))
        .order_by(Reply.sent_at, ascending=False)
        .order_by(Reply.id, ascending=False)
    )
    best: dict[int, dict[str, Any]] = {}
    for row in rows:
        best.setdefault(row["card"], row)
    return best


async def candidates(access: BoardAccess, now: datetime | None = None) -> dict[int, list[dict[str, Any]]]:
    """For each window (days): the recurring questions, largest group first."""
    now = now or datetime.now(UTC)
    if access.board_kind != "comments":
        raise NotFound
    rows = await _comments(access, now - timedelta(days=max(WINDOWS)))
    replies = await _best_replies([row["id"] for row in rows])
    result: dict[int, list[dict[str, Any]]] = {}
    for days in WINDOWS:
        since = now - timedelta(days=days)
        in_window = [row for row in rows if row["received_at"] and row["received_at"] >= since]
        groups = [members for members in group(in_window) if len(members) >= MIN_GROUP][:MAX_GROUPS]
        entries = []
        for members in groups:
            sent = [replies[row["id"]] for row in members if row["id"] in replies]
            best = max(sent, key=lambda reply: (reply["sent_at"] or since, reply["id"])) if sent else None
            question = members[0]
            entries.append(
                {
                    "size": len(members),
                    "question": _text(question),
                    "title": (question.get("title") or _text(question))[:80],
                    "topic": question.get("topic") or "",
                    "card_ids": [row["id"] for row in members],
                    "reply": best,
                }
            )
        result[days] = entries
    return result


async def draft_template(access: BoardAccess, form: DraftInput) -> int:
    """A draft template from a sent reply on this board (version 1 kept beside it); the same
    draft asked twice is the one made the first time."""
    access.require_edit()
    reply = (
        await Reply.select(
            Reply.id,
            Reply.body,
            Reply.status,
            Reply.card.board.as_alias("board"),
            Reply.card.department.as_alias("department"),
            Reply.card.assisting_departments.as_alias("assisting_departments"),
            Reply.card.archived.as_alias("archived"),
        )
        .where(Reply.id == form.reply_id)
        .output(load_json=True)
        .first()
    )
    if reply is None or reply["board"] != access.board_id or reply["archived"] or not access.can_see_card(reply):
        raise NotFound
    if reply["status"] != ReplyStatus.sent:
        raise FormError({"reply_id": _("Only a sent reply can become a template.")})
    existing = (
        await ReplyTemplate.select(ReplyTemplate.id)
        .where(
            (ReplyTemplate.title == form.title)
            & (ReplyTemplate.body == reply["body"])
            & (ReplyTemplate.archived == False)  # noqa: E712
        )
        .first()
    )
    if existing:
        return existing["id"]
    now = datetime.now(UTC)
    async with write_transaction():
        template_id = await _insert_draft(access, form, reply["body"], now)
    return template_id


async def _insert_draft(access: BoardAccess, form: DraftInput, body: str, now: datetime) -> int:
    rows = await ReplyTemplate.insert(
        ReplyTemplate(
            title=form.title,
            category=form.category,
            body=body,
            status=TemplateStatus.draft,
            version=1,
            created_by=access.user.id,
            created_at=now,
            updated_at=now,
        )
    ).returning(ReplyTemplate.id)
    template_id = rows[0]["id"]
    await ReplyTemplateVersion.insert(
        ReplyTemplateVersion(
            template=template_id,
            version=1,
            title=form.title,
            category=form.category,
            body=body,
            status=TemplateStatus.draft,
            saved_by=access.user.id,
            saved_at=now,
        )
    )
    return template_id
