"""Replying to a comment, with a manager's approval (审核) where it matters.

- A reply to a flagged comment (a 较大 or 重大 sensitive word) or a negative one waits for a
  manager of the board (status pending; the managers are told); a manager's own reply, and
  any other reply, is sent at once. A manager approves it (it is sent in the same unit) or
  returns it with a reason (the author is told; the card stays where it is).
- Sending is one unit of the write path: the reply is sent, the comment's ``replied_at`` set
  on its first reply, the card moves to the board's 已回复 column (unless it is in it or in a
  done column) with its stage history and clocks handled as a move does, the first-reply
  clock is completed whatever column the card is in, a template's use is counted, and
  ``reply.sent`` recorded. Viewers see the card move live.
- A group's lead (``portal.comments.groups``): its sent reply is sent in the same unit to every
  open member not answered yet whose platform allows its length; its reply waits for a
  manager when any open member's would.
- Publishing to the platform is an outbox effect after the commit (``publish_reply``, run
  through ``portal.comments.publishing``): retried while the platform is unreachable, and
  after the outbox's last attempt, or at once when the platform refuses it, the reply is
  marked failed with the platform's answer and its author is told.

Each platform's length limit is here, in ``LIMITS``; the browser counts against the same
numbers (the editor carries its limit), the server enforces them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field

from portal.accounts.tables import Role
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.boards.tables import Board, BoardColumn, BoardMember, BoardRole
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.comments import groups, publishing, reply_templates
from portal.comments.kind import KIND
from portal.comments.matching import Tier
from portal.comments.tables import CommentDetail, Reply, ReplyStatus
from portal.core.choices import PLATFORMS
from portal.core.errors import Conflict, NotFound, PermissionDenied
from portal.core.forms import FormError, valid_id
from portal.core.identity import CurrentUser
from portal.core.schemas import Input
from portal.events import outbox
from portal.events.kinds import EventKind
from portal.events.outbox import Effect, EffectContext, handler
from portal.events.tables import Outbox
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.search import effects as search_effects
from portal.sla import clocks
from portal.sla.tables import CardClock

# Each platform's reply length, in characters (the one place these numbers live).
LIMITS = {"weibo": 140, "douyin": 100, "wechat": 300, "website": 500, "hotline": 500}
DEFAULT_LIMIT = 500  # a comment without a platform
REPLIED_KEY = "replied"  # the column a sent reply moves the card to (已回复)
FIRST_REPLY = KIND.stages[0]  # the clock a sent reply completes
FLAGGED = (Tier.serious.value, Tier.major.value)
PUBLISH = "publish_reply"
NOTICE_KIND = "reply"
POSITION_STEP = 1024.0


def limit_for(platform: str | None) -> int:
    return LIMITS.get(platform or "", DEFAULT_LIMIT)


class ReplyInput(Input):
    body: Annotated[str, Field(min_length=1, max_length=2000)]
    template_id: int | None = None

    messages = {
        "body": _l("Write the reply."),
        "template_id": _l("Choose a template from the list."),
    }


class ReturnInput(Input):
    reason: Annotated[str, Field(min_length=1, max_length=300)]

    messages = {"reason": _l("Say why the reply goes back: 1 to 300 characters.")}


def needs_approval(card: dict[str, Any]) -> bool:
    """Flagged (较大 / 重大) or negative comments are answered only after a manager's review."""
    sentiment = card.get("sentiment") or card.get("sentiment_auto")
    return card.get("flag_tier") in FLAGGED or sentiment == "negative"


# Reading ---------------------------------------------------------------------------------------


async def comment_access(user: CurrentUser, card_id: int) -> BoardAccess:
    """The viewer's access to a comment card; NotFound for a card she may not see or one that
    is not a comment."""
    access = await access_for(user, await cards.find_board_of(card_id))
    if access.board_kind != KIND.name:
        raise NotFound
    await cards.require_visible(access, card_id)
    return access


async def list_replies(card_id: int) -> list[dict[str, Any]]:
    return await (
        Reply.select(
            Reply.id,
            Reply.body,
            Reply.status,
            Reply.needs_approval,
            Reply.review_reason,
            Reply.publish_response,
            Reply.created_at,
            Reply.reviewed_at,
            Reply.sent_at,
            Reply.author,
            Reply.author.display_name.as_alias("author_name"),
            Reply.reviewer.display_name.as_alias("reviewer_name"),
            Reply.template.title.as_alias("template_title"),
        )
        .where(Reply.card == card_id)
        .order_by(Reply.id)
    )


async def section(access: BoardAccess, card_id: int, template_id: int | None = None) -> dict[str, Any]:
    """What the drawer's replies section shows; ``template_id``: the editor starts from that
    template, its placeholders filled for this comment."""
    card = await cards.get_card(access, card_id)
    draft, chosen = "", None
    if template_id is not None and access.can_edit:
        chosen = await reply_templates.offered_one(template_id)
        if chosen is not None:
            values = await reply_templates.placeholder_values(card, access.board_id)
            draft = reply_templates.fill(chosen["body"], values)
    return {
        "card": card,
        "access": access,
        "replies": await list_replies(card_id),
        "limit": limit_for(card.get("platform")),
        "needs_approval": (needs_approval(card) or await groups.needs_approval(card)) and not access.can_manage,
        "draft": draft,
        "chosen": chosen,
        "template_id": chosen["id"] if chosen else None,
        "errors": {},
        "flash": "",
    }


async def template_choices(access: BoardAccess, card_id: int, q: str) -> list[dict[str, Any]]:
    """Templates the editor may insert (approved, valid now), each with its filled text."""
    access.require_edit()
    card = await cards.get_card(access, card_id)
    values = await reply_templates.placeholder_values(card, access.board_id)
    rows = await reply_templates.offered(q.strip())
    for row in rows:
        row["filled"] = reply_templates.fill(row["body"], values)
    return rows


# Writing ---------------------------------------------------------------------------------------


async def submit(access: BoardAccess, card_id: int, form: ReplyInput) -> dict[str, Any]:
    """A new reply: sent at once, or pending a manager's approval. Returns id and status."""
    access.require_edit()
    template = None
    if form.template_id is not None:
        template = await reply_templates.offered_one(form.template_id)
        if template is None:
            raise FormError({"template_id": _("This template is not approved or no longer valid.")})
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.get_card(access, card_id)  # re-read under the board's lock
        limit = limit_for(card.get("platform"))
        if len(form.body) > limit:
            raise FormError(
                {
                    "body": _(
                        "%(platform)s allows %(limit)s characters; this reply has %(count)s.",
                        platform=PLATFORMS.label(card.get("platform")) or _("This platform"),
                        limit=limit,
                        count=len(form.body),
                    )
                }
            )
        if await Reply.exists().where((Reply.card == card_id) & (Reply.status == ReplyStatus.pending)):
            raise FormError({"body": _("A reply to this comment is already waiting for approval.")})
        waits = (needs_approval(card) or await groups.needs_approval(card)) and not access.can_manage
        now = datetime.now(UTC)
        rows = await Reply.insert(
            Reply(
                card=card_id,
                body=form.body,
                template=template["id"] if template else None,
                status=ReplyStatus.pending if waits else ReplyStatus.sending,
                needs_approval=waits,
                author=access.user.id,
                created_at=now,
            )
        ).returning(Reply.id)
        reply_id = rows[0]["id"]
        group = None
        if waits:
            unit.record(EventKind.reply_submitted, "card", card_id, {"reply": reply_id})
            unit.after_commit(search_effects.reindex([card_id]))  # the draft is searchable text
            await _tell_managers(unit, access, card, reply_id)
        else:
            group = await send_within(unit, access, card, reply_id, template["id"] if template else None, now)
    # ``group``: for a group's lead, the members answered with it and those it was too long for.
    return {"id": reply_id, "status": ReplyStatus.pending if waits else ReplyStatus.sent, "group": group}


async def _reply_access(user: CurrentUser, reply_id: int) -> tuple[BoardAccess, dict[str, Any]]:
    """A reply a manager reviews: NotFound unless its card is visible to her, then 403 unless
    she manages its board."""
    if not valid_id(reply_id):
        raise NotFound
    row = await Reply.select(Reply.id, Reply.card).where(Reply.id == reply_id).first()
    if row is None:
        raise NotFound
    access = await comment_access(user, row["card"])
    access.require_manage()
    return access, row


async def _pending(reply_id: int) -> dict[str, Any]:
    """Inside the unit: the reply as it is now, which must still wait for review."""
    reply = (
        await Reply.select(Reply.id, Reply.card, Reply.status, Reply.author, Reply.template, Reply.body)
        .where(Reply.id == reply_id)
        .first()
    )
    if reply["status"] != ReplyStatus.pending:
        raise Conflict(_("This reply was reviewed already."))
    return reply


async def approve(user: CurrentUser, reply_id: int) -> int:
    """审核通过: the reply is sent (one unit). Returns the card's id."""
    access, row = await _reply_access(user, reply_id)
    async with board_write(access.board_id, user.id) as unit:
        reply = await _pending(reply_id)
        card = await cards.get_card(access, row["card"])
        now = datetime.now(UTC)
        await Reply.update({Reply.status: ReplyStatus.sending, Reply.reviewer: user.id, Reply.reviewed_at: now}).where(
            Reply.id == reply_id
        )
        unit.record(EventKind.reply_approved, "card", card["id"], {"reply": reply_id})
        await send_within(unit, access, card, reply_id, reply["template"], now)
    return row["card"]


async def return_reply(user: CurrentUser, reply_id: int, form: ReturnInput) -> int:
    """退回: the reply goes back to its author with a reason; nothing is sent, the card stays."""
    access, row = await _reply_access(user, reply_id)
    async with board_write(access.board_id, user.id) as unit:
        reply = await _pending(reply_id)
        card = await cards.get_card(access, row["card"])
        await Reply.update(
            {
                Reply.status: ReplyStatus.returned,
                Reply.reviewer: user.id,
                Reply.reviewed_at: datetime.now(UTC),
                Reply.review_reason: form.reason,
            }
        ).where(Reply.id == reply_id)
        unit.record(EventKind.reply_returned, "card", card["id"], {"reply": reply_id, "reason": form.reason})
        unit.after_commit(search_effects.reindex([card["id"]]))  # a returned draft is not searchable
        author = reply["author"]
        if author and author != user.id and await boards.who_may_see_card(card["id"], [author]):
            await cards.notify_within(
                unit,
                [
                    (
                        author,
                        {
                            "kind": NOTICE_KIND,
                            "title": _("Your reply to “%(title)s” was returned", title=card["title"]),
                            "dedupe_key": f"reply-returned:{reply_id}",
                            "body": form.reason,
                            "link": f"/boards/{access.board_id}?card={card['id']}",
                            "card_id": card["id"],
                        },
                    )
                ],
            )
    return row["card"]


async def _tell_managers(unit: BoardWrite, access: BoardAccess, card: dict[str, Any], reply_id: int) -> None:
    name, card_title = access.user.display_name, card["title"]
    title = _("%(name)s's reply to “%(title)s” waits for your approval", name=name, title=card_title)
    managers = [manager for manager in await boards.card_managers(card["id"]) if manager != access.user.id]
    await cards.notify_within(
        unit,
        [
            (
                manager,
                {
                    "kind": NOTICE_KIND,
                    "title": title,
                    "dedupe_key": f"reply-pending:{reply_id}:{manager}",
                    "body": "",
                    "link": "/replies/pending",
                    "card_id": card["id"],
                },
            )
            for manager in managers
        ],
    )


async def send_within(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    reply_id: int,
    template_id: int | None,
    now: datetime,
    *,
    batch: str = "",
) -> dict[str, Any] | None:
    """Inside the unit: the reply is sent and everything a sent reply means for the card; a
    group's lead answers its open members with it (``portal.comments.groups``), whose
    outcome is returned (None for a card that leads no group). ``batch``: the reply was sent
    to many at once (a member answered through its group)."""
    card_id = card["id"]
    await Reply.update({Reply.status: ReplyStatus.sent, Reply.sent_at: now}).where(Reply.id == reply_id)
    await reply_templates.count_use(template_id)
    if card.get("replied_at") is None:
        await CommentDetail.update({CommentDetail.replied_at: now}).where(CommentDetail.card == card_id)
    unit.record(EventKind.reply_sent, "card", card_id, {"reply": reply_id, "batch": batch})
    current = await _column_of(card["column"])
    target = await cards.column_by_key(access, REPLIED_KEY)
    moved = target is not None and current["key"] != REPLIED_KEY and current["meaning"] != "done"
    if moved:
        # The move's own steps inside this unit: the visit to the old column is closed (on time
        # or late) and the first-reply clock completes on entering 已回复.
        await cards.move_within(unit, access, card, target, now=now)
    # Whatever column the card is in (已上报, a board without 已回复 …) the reply ends the wait.
    await complete_first_reply_clock(card, now)
    if not moved:
        updates: dict[Any, Any] = {}
        if card.get("due_stage") == FIRST_REPLY:
            updates = {getattr(Card, name): value for name, value in clocks.CLEARED.items()}
        await Card.update({**updates, Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card_id)
    cards.after_card_write(unit, access, card)
    unit.after_commit(Effect(PUBLISH, {"reply": reply_id}))
    if groups.member_count(card):
        return await groups.answer_group(unit, access, card, reply_id, now)
    return None


async def complete_first_reply_clock(card: dict[str, Any], now: datetime) -> bool:
    """Complete the card's running first-reply clock of its current round (a sent reply is
    the work it measures); True if one was running."""
    rows = (
        await CardClock.update({CardClock.completed_at: now})
        .where(
            (CardClock.card_id == card["id"])
            & (CardClock.stage == FIRST_REPLY)
            & (CardClock.round == (card.get("clock_round") or 1))
            & CardClock.completed_at.is_null()
        )
        .returning(CardClock.id)
    )
    return bool(rows)


async def _column_of(column_id: int) -> dict[str, Any]:
    row = (
        await BoardColumn.select(BoardColumn.id, BoardColumn.key, BoardColumn.meaning)
        .where(BoardColumn.id == column_id)
        .first()
    )
    return row or {"id": column_id, "key": "", "meaning": "working"}


# The approval queue ------------------------------------------------------------------------------


async def managed_boards(user: CurrentUser) -> list[int]:
    """The comments boards whose replies this user reviews; PermissionDenied for none."""
    query = Board.select(Board.id).where((Board.kind == KIND.name) & (Board.archived == False))  # noqa: E712
    if not user.is_admin:
        if user.role in (Role.viewer, Role.liaison):
            raise PermissionDenied
        query = query.where(
            Board.id.is_in(
                BoardMember.select(BoardMember.board).where(
                    (BoardMember.user == user.id) & (BoardMember.role == BoardRole.manager)
                )
            )
        )
    ids = [row["id"] for row in await query]
    if not ids:
        raise PermissionDenied
    return ids


async def pending_for(user: CurrentUser) -> list[dict[str, Any]]:
    """The pending replies of the boards the user manages, oldest first, with their comment."""
    board_ids = await managed_boards(user)
    return await _queue_rows(
        (Reply.status == ReplyStatus.pending) & Reply.card.board.is_in(board_ids) & (Reply.card.archived == False)  # noqa: E712
    )


async def pending_one(user: CurrentUser, reply_id: int) -> dict[str, Any]:
    """One reply as the queue shows it (after a decision: what was decided)."""
    await _reply_access(user, reply_id)
    return (await _queue_rows(Reply.id == reply_id))[0]


async def _queue_rows(where: Any) -> list[dict[str, Any]]:
    rows = await (
        Reply.select(
            Reply.id,
            Reply.body,
            Reply.status,
            Reply.review_reason,
            Reply.created_at,
            Reply.card,
            Reply.author.display_name.as_alias("author_name"),
            Reply.card.title.as_alias("card_title"),
            Reply.card.body.as_alias("card_body"),
            Reply.card.board.as_alias("board"),
            Reply.card.board.name.as_alias("board_name"),
        )
        .where(where)
        .order_by(Reply.created_at)
        .order_by(Reply.id)
    )
    details = {}
    if rows:
        details = {
            row["card"]: row
            for row in await CommentDetail.select(
                CommentDetail.card,
                CommentDetail.platform,
                CommentDetail.author_handle,
                CommentDetail.sentiment,
                CommentDetail.sentiment_auto,
                CommentDetail.flag_tier,
            ).where(CommentDetail.card.is_in([row["card"] for row in rows]))
        }
    for row in rows:
        row["comment"] = details.get(row["card"], {})
    return rows


# Publishing (an outbox effect) ---------------------------------------------------------------


class PublishPending(Exception):
    """The platform could not be reached: the outbox tries again later."""


@handler(PUBLISH)
async def publish_reply(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """Publish a sent reply through its platform's publisher and keep the answer. Idempotent:
    a reply whose answer is recorded (or that has failed) is not published again."""
    reply_id = payload["reply"]
    reply = await (
        Reply.select(
            Reply.id,
            Reply.card,
            Reply.body,
            Reply.status,
            Reply.sent_at,
            Reply.author,
            Reply.publish_response,
            Reply.author.display_name.as_alias("author_name"),
        )
        .where(Reply.id == reply_id)
        .first()
    )
    if reply is None or reply["status"] != ReplyStatus.sent or reply["publish_response"]:
        return
    card = await (
        Card.select(Card.id, Card.board, Card.title, *KIND.joined(("platform", "external_id", "link", "author_handle")))
        .where(Card.id == reply["card"])
        .first()
    )
    try:
        result = await publishing.publisher_for(card.get("platform")).publish(reply, card)
    except Exception as error:  # an adapter's own failure counts as "try again"
        result = publishing.PublishResult(False, f"{type(error).__name__}: {error}"[: publishing.ANSWER_LIMIT], True)
    if result.ok:
        await Reply.update({Reply.publish_response: result.response_text or publishing.RECORDED}).where(
            (Reply.id == reply_id) & (Reply.status == ReplyStatus.sent)
        )
        return
    if result.retry and not await _last_attempt(reply_id):
        raise PublishPending(result.response_text)
    await _failed(reply, card, result.response_text)


async def _last_attempt(reply_id: int) -> bool:
    """Is this the outbox's last try of this reply's publishing?"""
    rows = await (
        Outbox.select(Outbox.attempts, Outbox.payload)
        .where((Outbox.effect == PUBLISH) & Outbox.done_at.is_null())
        .output(load_json=True)
    )
    attempts = [row["attempts"] for row in rows if (row["payload"] or {}).get("reply") == reply_id]
    return bool(attempts) and max(attempts) + 1 >= outbox.MAX_ATTEMPTS


async def _failed(reply: dict[str, Any], card: dict[str, Any], answer: str) -> None:
    """The platform refused it (or never answered): failed, with its answer; the author is told."""
    async with board_write(card["board"], None) as unit:
        updated = await (
            Reply.update({Reply.status: ReplyStatus.failed, Reply.publish_response: answer or "?"})
            .where((Reply.id == reply["id"]) & (Reply.status == ReplyStatus.sent))
            .returning(Reply.id)
        )
        if not updated:
            return
        unit.record(EventKind.reply_failed, "card", card["id"], {"reply": reply["id"], "reason": answer[:300]})
        author = reply["author"]
        if author and await boards.who_may_see_card(card["id"], [author]):
            await cards.notify_within(
                unit,
                [
                    (
                        author,
                        {
                            "kind": NOTICE_KIND,
                            "title": _("Your reply to “%(title)s” could not be published", title=card["title"]),
                            "dedupe_key": f"reply-failed:{reply['id']}",
                            "body": answer[:300],
                            "link": f"/boards/{card['board']}?card={card['id']}",
                            "card_id": card["id"],
                        },
                    )
                ],
            )
