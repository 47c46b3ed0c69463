"""Similar comments grouped (合并为一组), and one reply that answers the group.

The drawer's 相似留言 section lists the open comments on the same board whose stored MinHash
signature (``portal.comments.similar``) is close to this one's and that this viewer may see.
An editor ticks some and groups them: this card becomes the group's lead, the chosen cards
its members. A reply to the lead that counts as sent (at once, or when a manager approves
it) is sent to every open member too, in the same unit of the write path
(``answer_group``, called from ``portal.comments.replies``): a reply row each (its ``batch``
says which group reply it came through), published through the same adapter, the member's
first-reply clock stopped and the card moved to 已回复. Members already answered, closed or
waiting for their own reply's approval are left alone; a member whose platform allows fewer
characters than the reply has is skipped (the lead's drawer says so).

Stored in ``CommentDetail.group_card``: a member holds its lead's card id; the lead holds
minus the number of its members, so that the tile's "组 N" comes from the same joined field
and the board page stays one statement; a card in no group holds NULL. Every change is one
unit of the write path, under the board's lock, with its events and the tiles sent live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from portal.boards.access import BoardAccess
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.comments import similar
from portal.comments.tables import CommentDetail, Reply, ReplyStatus
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.core.schemas import Input
from portal.events.kinds import EventKind
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from portal.events.unit import BoardWrite

MAX_MEMBERS = 50  # one group's worth; the section offers at most MAX_CANDIDATES at a time
MAX_CANDIDATES = 20
BATCH_PREFIX = "group:"  # Reply.batch of a member's reply: "group:<the lead's reply id>"


class GroupInput(Input):
    card_ids: Annotated[list[Annotated[int, Field(gt=0, lt=2**31)]], Field(min_length=1, max_length=MAX_MEMBERS)]

    messages = {"card_ids": _l("Choose the similar comments to group: 1 to 50.")}


class MemberInput(Input):
    member_id: Annotated[int, Field(gt=0, lt=2**31)]

    messages = {"member_id": _l("Choose a comment of this group.")}


def lead_of(card: dict[str, Any]) -> int | None:
    """The group's lead a card is a member of (None: it is not a member)."""
    value = card.get("group_card") or 0
    return value if value > 0 else None


def member_count(card: dict[str, Any]) -> int:
    """How many members the card leads (0: it leads no group)."""
    value = card.get("group_card") or 0
    return -value if value < 0 else 0


def _sketch(signature: str | None):
    try:
        return similar.from_signature(bytes.fromhex(signature or ""))
    except ValueError:
        return None


def _score(mine, signature: str | None) -> float:
    other = _sketch(signature)
    return float(other.jaccard(mine)) if mine is not None and other is not None else 0.0


def _open_comments(board_id: int):
    return (Card.board == board_id) & (Card.archived == False) & (Card.column.meaning != "done")  # noqa: E712


_ROW = (
    Card.id,
    Card.title,
    Card.board,
    Card.department,
    Card.assisting_departments,
    Card.column.name.as_alias("column_name"),
    Card.column.meaning.as_alias("column_meaning"),
)


def _detail(*names: str) -> list[Any]:
    join = Card.id.join_on(CommentDetail.card)
    return [getattr(join, name).as_alias(name) for name in names]


# Reading ---------------------------------------------------------------------------------------


async def candidates(access: BoardAccess, card: dict[str, Any]) -> list[dict[str, Any]]:
    """The open comments similar to this one that this viewer may see, best first, each with
    where it stands: free to group, in a group (``lead``) or leading one (``leads``). As the
    triage section does, only cards counted as similar to something are compared."""
    mine = _sketch(card.get("signature"))
    if mine is None or not card.get("similar_count"):
        return []
    join = Card.id.join_on(CommentDetail.card)
    rows = (
        await Card.select(*_ROW, *_detail("signature", "group_card", "platform"))
        .where(
            _open_comments(access.board_id)
            & (Card.id != card["id"])
            & (join.similar_count > 0)
            & ((join.group_card != card["id"]) | join.group_card.is_null())  # its own members are listed apart
        )
        .output(load_json=True)
    )
    found = []
    for row in rows:
        score = _score(mine, row.pop("signature"))
        if score >= similar.THRESHOLD and access.can_see_card(row):
            found.append({**row, "score": score, "lead": lead_of(row), "leads": member_count(row)})
    found.sort(key=lambda item: (-item["score"], item["id"]))
    return found[:MAX_CANDIDATES]


async def _members(lead_id: int) -> list[dict[str, Any]]:
    """Every open card of the lead's group (whoever may see it; callers filter)."""
    return await (
        Card.select(*_ROW, *_detail("platform", "replied_at"))
        .where((Card.archived == False) & Card.id.is_in(_member_ids(lead_id)))  # noqa: E712
        .order_by(Card.id)
        .output(load_json=True)
    )


def _member_ids(lead_id: int):
    return CommentDetail.select(CommentDetail.card).where(CommentDetail.group_card == lead_id)


async def _last_group_reply(lead_id: int) -> dict[str, Any] | None:
    return (
        await Reply.select(Reply.id, Reply.body)
        .where((Reply.card == lead_id) & (Reply.status == ReplyStatus.sent))
        .order_by(Reply.id, ascending=False)
        .first()
    )


async def section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """What the drawer's 相似留言 section shows: on a member, its lead; on a lead, its members
    (those this viewer may see) and any its last reply was too long for; on a card in no
    group or a lead, the similar comments it may group."""
    from portal.comments.replies import limit_for  # replies calls this module when it sends

    card = await cards.get_card(access, card_id)
    lead_id, leads = lead_of(card), member_count(card)
    lead = None
    if lead_id is not None:
        row = await Card.select(*_ROW).where((Card.id == lead_id) & (Card.archived == False)).first()  # noqa: E712
        lead = {"id": lead_id, "title": row["title"] if row and access.can_see_card(row) else None}
    members = []
    if leads:
        last = await _last_group_reply(card_id)
        for row in await _members(card_id):
            if not access.can_see_card(row):
                continue
            row["too_long"] = bool(
                last
                and row["replied_at"] is None
                and row["column_meaning"] != "done"
                and len(last["body"]) > limit_for(row["platform"])
            )
            row["limit"] = limit_for(row["platform"])
            members.append(row)
    return {
        "card": card,
        "access": access,
        "lead": lead,
        "leads": leads,
        "members": members,
        "candidates": [] if lead_id is not None else await candidates(access, card),
        "errors": {},
        "flash": "",
        "level": "ok",
    }


# Writing ---------------------------------------------------------------------------------------


def _touch(ids: list[int], now: datetime):
    """A grouped card is a changed card: its version moves (an open form re-reads it)."""
    return Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id.is_in(ids))


async def group(access: BoardAccess, lead_id: int, form: GroupInput) -> list[int]:
    """This card leads a group of the chosen similar comments (or a larger one, if it leads
    one already). Every chosen card must be open, similar, visible (NotFound otherwise) and in
    no group; any problem refuses the whole request and changes nothing. Returns the ids
    added."""
    access.require_edit()
    chosen = list(dict.fromkeys(form.card_ids))
    async with board_write(access.board_id, access.user.id) as unit:
        lead = await cards.get_card(access, lead_id)  # re-read under the board's lock
        if lead_of(lead) is not None:
            raise Conflict(
                _("This comment is in the group of #%(lead)s: add comments to that group.", lead=lead_of(lead))
            )
        if await _closed(lead["column"]):
            raise Conflict(_("This comment is closed: closed comments are not grouped."))
        members = [await cards.get_card(access, member_id) for member_id in chosen if member_id != lead_id]
        problems = [_("A comment cannot join its own group.")] if lead_id in chosen else []
        mine = _sketch(lead.get("signature"))
        for member in members:
            problems.extend(await _refusal(member, lead_id, mine))
        if problems:
            raise FormError({"card_ids": " ".join(problems)})
        ids = [member["id"] for member in members]
        now = datetime.now(UTC)
        await CommentDetail.update({CommentDetail.group_card: lead_id}).where(CommentDetail.card.is_in(ids))
        await CommentDetail.update({CommentDetail.group_card: -(member_count(lead) + len(ids))}).where(
            CommentDetail.card == lead_id
        )
        await _touch([lead_id, *ids], now)
        unit.record(EventKind.comment_grouped, "card", lead_id, {"group": lead_id, "members": ids})
        for member in members:
            unit.record(EventKind.comment_grouped, "card", member["id"], {"group": lead_id})
            cards.after_card_write(unit, access, member)
        cards.after_card_write(unit, access, lead)
    return ids


async def _refusal(member: dict[str, Any], lead_id: int, mine) -> list[str]:
    number = member["id"]
    if lead_of(member) == lead_id:
        return [_("#%(card)s is in this group already.", card=number)]
    if lead_of(member) is not None:
        return [_("#%(card)s is in the group of #%(lead)s already.", card=number, lead=lead_of(member))]
    if member_count(member):
        return [_("#%(card)s leads a group of its own: dissolve that group first.", card=number)]
    if await _closed(member["column"]):
        return [_("#%(card)s is closed.", card=number)]
    if _score(mine, member.get("signature")) < similar.THRESHOLD:
        return [_("#%(card)s is not similar to this comment.", card=number)]
    return []


async def _closed(column_id: int) -> bool:
    from portal.boards.tables import BoardColumn

    row = await BoardColumn.select(BoardColumn.meaning).where(BoardColumn.id == column_id).first()
    return bool(row) and row["meaning"] == "done"


async def _lead_row(lead_id: int) -> dict[str, Any] | None:
    """The lead as the write path needs it (its departments, for the live update), whether
    or not this viewer may see it (a liaison may take her own card out of a group)."""
    return (
        await Card.select(Card.id, Card.board, Card.department, Card.assisting_departments)
        .where(Card.id == lead_id)
        .output(load_json=True)
        .first()
    )


async def remove_member(access: BoardAccess, member_id: int, lead_id: int | None = None) -> int:
    """Take a comment out of its group (``lead_id``: from the lead's drawer, the group it must
    be in). The lead's last member leaving ends the group. Returns the lead's id."""
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        member = await cards.get_card(access, member_id)
        current = lead_of(member)
        if current is None or (lead_id is not None and current != lead_id):
            raise Conflict(_("This comment is not in this group (any more)."))
        lead = await _lead_row(current)
        count = (
            await CommentDetail.select(CommentDetail.group_card).where(CommentDetail.card == current).first() or {}
        ).get("group_card") or 0
        now = datetime.now(UTC)
        await CommentDetail.update({CommentDetail.group_card: None}).where(CommentDetail.card == member_id)
        remaining = count + 1 if count < 0 else 0
        await CommentDetail.update({CommentDetail.group_card: remaining or None}).where(CommentDetail.card == current)
        await _touch([member_id, current], now)
        unit.record(EventKind.comment_ungrouped, "card", member_id, {"group": current})
        unit.record(EventKind.comment_ungrouped, "card", current, {"group": current, "members": [member_id]})
        cards.after_card_write(unit, access, member)
        if lead is not None:
            cards.after_card_write(unit, access, lead)
    return current


async def dissolve(access: BoardAccess, lead_id: int) -> list[int]:
    """解散: every member leaves the lead's group. Refused (403) to someone who cannot see
    every member (a liaison does not undo what she cannot see). Returns the former members."""
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        lead = await cards.get_card(access, lead_id)
        if not member_count(lead):
            raise Conflict(_("This comment leads no group (any more)."))
        members = await (
            Card.select(Card.id, Card.board, Card.department, Card.assisting_departments)
            .where(Card.id.is_in(_member_ids(lead_id)))
            .output(load_json=True)
        )
        if not all(access.can_see_card(member) for member in members):
            raise PermissionDenied
        ids = [member["id"] for member in members]
        now = datetime.now(UTC)
        await CommentDetail.update({CommentDetail.group_card: None}).where(
            (CommentDetail.group_card == lead_id) | (CommentDetail.card == lead_id)
        )
        await _touch([lead_id, *ids], now)
        unit.record(EventKind.comment_ungrouped, "card", lead_id, {"group": lead_id, "members": ids})
        for member in members:
            unit.record(EventKind.comment_ungrouped, "card", member["id"], {"group": lead_id})
            cards.after_card_write(unit, access, member)
        cards.after_card_write(unit, access, lead)
    return ids


# One reply answers the group ----------------------------------------------------------------


async def needs_approval(card: dict[str, Any]) -> bool:
    """A lead's reply waits for a manager when any open member's would (a flagged or negative
    member is not answered without review just because its lead is mild)."""
    if not member_count(card):
        return False
    from portal.comments.replies import needs_approval as one_needs_approval

    rows = await (
        Card.select(Card.id, *_detail("sentiment", "sentiment_auto", "flag_tier", "replied_at"))
        .where(_open_comments(card["board"]) & Card.id.is_in(_member_ids(card["id"])))
        .output(load_json=True)
    )
    return any(row["replied_at"] is None and one_needs_approval(row) for row in rows)


async def answer_group(
    unit: BoardWrite, access: BoardAccess, lead: dict[str, Any], reply_id: int, now: datetime
) -> dict[str, Any]:
    """Inside the unit that sends the lead's reply: the same text is sent to every open member
    this actor may see that has no reply yet (nor one waiting for approval) and whose platform
    allows its length. Returns what was done: ``sent`` and ``skipped`` (too long) card ids."""
    from portal.comments import replies  # it calls this module when it sends a lead's reply

    reply = (
        await Reply.select(
            Reply.body, Reply.template, Reply.author, Reply.reviewer, Reply.reviewed_at, Reply.needs_approval
        )
        .where(Reply.id == reply_id)
        .first()
    )
    sent, skipped = [], []
    waiting = {
        row["card"]
        for row in await Reply.select(Reply.card).where(
            (Reply.status == ReplyStatus.pending) & Reply.card.is_in(_member_ids(lead["id"]))
        )
    }
    for row in await _members(lead["id"]):
        if (
            not access.can_see_card(row)
            or row["column_meaning"] == "done"
            or row["replied_at"] is not None
            or row["id"] in waiting
        ):
            continue
        if len(reply["body"]) > replies.limit_for(row["platform"]):
            skipped.append(row["id"])
            continue
        member = await cards.get_card(access, row["id"])
        inserted = await Reply.insert(
            Reply(
                card=row["id"],
                body=reply["body"],
                template=reply["template"],
                status=ReplyStatus.sending,
                needs_approval=reply["needs_approval"],
                author=reply["author"],
                reviewer=reply["reviewer"],
                reviewed_at=reply["reviewed_at"],
                batch=f"{BATCH_PREFIX}{reply_id}",
                created_at=now,
            )
        ).returning(Reply.id)
        # The template's use was counted once, for the lead's reply.
        await replies.send_within(unit, access, member, inserted[0]["id"], None, now, batch=f"{BATCH_PREFIX}{reply_id}")
        sent.append(row["id"])
    if sent or skipped:
        unit.record(
            EventKind.comment_group_answered,
            "card",
            lead["id"],
            {"reply": reply_id, "members": sent, "skipped": skipped},
        )
    return {"sent": sent, "skipped": skipped}
