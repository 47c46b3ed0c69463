"""Intake: where comments come from — signed posts from a collector (``POST /api/intake/{source}``)
and spreadsheet imports — and the one path that turns a message into a card.

- Intake sources (admin only): create (the secret is returned once, never shown again),
  rotate (a new secret; the previous one stays valid for ``GRACE``, so a collector can be
  reconfigured without losing posts), deactivate, list.
- ``authenticate`` finds the source and verifies the signature against its current and (while
  still valid) previous secret. An unknown source, an inactive one and a bad signature raise
  the same ``Refused``: the sender learns nothing about which names exist.
- ``receive`` makes the card — through ``portal.cards.services.create_card``, so the card gets
  its stage history, its first-reply clock from ``received_at``, its live update and its
  triage like any other — unless a card with the same (platform, external_id) exists, in
  which case it answers that card. The unique index on comment_detail(platform, external_id)
  settles the race between two posts of one message: the loser's transaction rolls back and
  it answers the winner's card.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.accounts.services import NotFound, require_admin
from portal.boards.access import BoardAccess
from portal.boards.tables import Board, BoardColumn
from portal.cards import services as cards
from portal.comments.intake import BadSignature, IntakeMessage, new_secret, verify_any
from portal.comments.kind import KIND
from portal.comments.tables import CommentDetail, IntakeSource
from portal.core.forms import FormError, valid_id
from portal.core.identity import CurrentUser
from portal.db import write_transaction
from portal.events import services as events
from portal.i18n import gettext as _

NAME = re.compile(r"[a-z0-9_-]{2,40}")
GRACE = timedelta(hours=24)  # how long a rotated-out secret still signs
# "Last used" is for the admin page; writing it on every post would make each post one more write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A runaway collector (a loop resending its backlog) must not flood a board: posts per source
# per minute, counted after the signature is verified (so nobody can use up a source's quota).
RATE_LIMIT = 1200
RATE_WINDOW = 60
TITLE_LENGTH = 30
LOOKUP_CHUNK = 500  # (platform, external_id) pairs looked up per statement (SQLite's variable limit)


class Refused(Exception):
    """Not accepted as a signed post of an active source; ``message`` is for the sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IssuedSecret:
    source_id: int
    name: str
    secret: str


@dataclass(frozen=True)
class Received:
    card_id: int
    created: bool  # False: the message was on the portal already (a replay, a re-import)


# Sources ---------------------------------------------------------------------------------


async def comment_boards() -> list[dict[str, Any]]:
    """Boards an intake source may feed: the open comments boards."""
    return (
        await Board.select(Board.id, Board.name)
        .where((Board.kind == KIND.name) & (Board.archived == False))  # noqa: E712
        .order_by(Board.id)
    )


async def list_sources() -> list[dict[str, Any]]:
    return (
        await IntakeSource.select(
            IntakeSource.id,
            IntakeSource.name,
            IntakeSource.board,
            IntakeSource.board.name.as_alias("board_name"),
            IntakeSource.active,
            IntakeSource.created_at,
            IntakeSource.rotated_at,
            IntakeSource.last_used_at,
            IntakeSource.previous_valid_until,
        )
        .order_by(IntakeSource.active, ascending=False)
        .order_by(IntakeSource.name)
    )


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise FormError({"name": _("Use 2 to 40 lower-case letters, digits, “-” or “_”.")})
    return name


async def _check_board(board_id: int | None) -> int:
    if board_id is None or not valid_id(board_id) or board_id not in {b["id"] for b in await comment_boards()}:
        raise FormError({"board": _("Choose a comments board.")})
    return board_id


async def create_source(actor: CurrentUser, name: str, board_id: int | None, ip: str = "") -> IssuedSecret:
    """A new source; its secret is in the answer and nowhere else the admin can see again."""
    require_admin(actor)
    errors: dict[str, str] = {}
    try:
        name = _check_name(name)
    except FormError as error:
        errors.update(error.errors)
    try:
        board_id = await _check_board(board_id)
    except FormError as error:
        errors.update(error.errors)
    if errors:
        raise FormError(errors)
    secret = new_secret()
    async with write_transaction():
        if await IntakeSource.exists().where(IntakeSource.name == name):
            raise FormError({"name": _("This name is taken.")})
        rows = await IntakeSource.insert(IntakeSource(name=name, board=board_id, secret=secret, created_by=actor.id))
        source_id = rows[0]["id"]
        await events.record(
            "intake_source.created",
            actor_id=actor.id,
            object_type="intake_source",
            object_id=source_id,
            payload={"name": name, "board": board_id},
            ip=ip,
        )
    return IssuedSecret(source_id, name, secret)


async def rotate_source(actor: CurrentUser, source_id: int, ip: str = "", now: datetime | None = None) -> IssuedSecret:
    """A new secret; the one it replaces keeps signing for ``GRACE`` (the one before that, if
    still in its grace period, stops now: only two secrets are ever valid)."""
    require_admin(actor)
    now = now or datetime.now(UTC)
    secret = new_secret()
    async with write_transaction():
        source = await _source(source_id)
        await IntakeSource.update(
            {
                IntakeSource.secret: secret,
                IntakeSource.previous_secret: source["secret"],
                IntakeSource.previous_valid_until: now + GRACE,
                IntakeSource.rotated_at: now,
            }
        ).where(IntakeSource.id == source_id)
        await events.record(
            "intake_source.rotated",
            actor_id=actor.id,
            object_type="intake_source",
            object_id=source_id,
            payload={"name": source["name"]},
            ip=ip,
        )
    return IssuedSecret(source_id, source["name"], secret)


async def deactivate_source(actor: CurrentUser, source_id: int, ip: str = "") -> None:
    """The source's posts are refused from now on (its cards stay)."""
    require_admin(actor)
    async with write_transaction():
        source = await _source(source_id)
        if not source["active"]:
            return
        await IntakeSource.update({IntakeSource.active: False}).where(IntakeSource.id == source_id)
        await events.record(
            "intake_source.deactivated",
            actor_id=actor.id,
            object_type="intake_source",
            object_id=source_id,
            payload={"name": source["name"]},
            ip=ip,
        )


async def _source(source_id: int) -> dict[str, Any]:
    if not valid_id(source_id):
        raise NotFound
    source = await IntakeSource.select().where(IntakeSource.id == source_id).first()
    if source is None:
        raise NotFound
    return source


# Signed posts ----------------------------------------------------------------------------


async def authenticate(
    name: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> dict[str, Any]:
    """The active source ``name`` if the post is signed with its secret (or its previous one
    during the grace period) within the time window; ``Refused`` otherwise, the same for every
    reason but the clock (a sender whose clock is off needs to know that)."""
    now = time.time() if now is None else now
    source = None
    if NAME.fullmatch(name or ""):
        source = (
            await IntakeSource.select(
                IntakeSource.id,
                IntakeSource.board,
                IntakeSource.secret,
                IntakeSource.previous_secret,
                IntakeSource.previous_valid_until,
                IntakeSource.last_used_at,
            )
            .where((IntakeSource.name == name) & (IntakeSource.active == True))  # noqa: E712
            .first()
        )
    secrets = []
    if source is not None:
        secrets.append(source["secret"])
        until = source["previous_valid_until"]
        if source["previous_secret"] and until is not None and until.timestamp() > now:
            secrets.append(source["previous_secret"])
    try:
        # An unknown source is checked against no secret: it fails exactly like a wrong one.
        verify_any(secrets, timestamp, signature, body, now)
    except BadSignature as error:
        if error.reason in (BadSignature.STALE, BadSignature.FUTURE, BadSignature.TIMESTAMP, BadSignature.MISSING):
            raise Refused(error.message) from None
        raise Refused(_("The signature does not match the request, or the source is unknown or inactive.")) from None
    assert source is not None
    return source


async def mark_used(source: dict[str, Any], now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    last = source.get("last_used_at")
    if last is None or now - last >= LAST_USED_RESOLUTION:
        await IntakeSource.update({IntakeSource.last_used_at: now}).where(IntakeSource.id == source["id"])


async def rate_limited(redis: Any, source_id: int) -> int:
    """Count one post for the source; the seconds to wait when it is over ``RATE_LIMIT``, else 0."""
    key = f"portal:intake-rate:{source_id}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=RATE_WINDOW, nx=True)  # the window starts at its first post
        pipe.incr(key)
        pipe.ttl(key)
        _set, count, ttl = await pipe.execute()
    return max(int(ttl), 1) if int(count) > RATE_LIMIT else 0


# Making the card -------------------------------------------------------------------------


def title_of(text: str) -> str:
    """The first ~30 characters of the message on one line: what the tile shows."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH].rstrip() + "…"


async def intake_column(board_id: int) -> int:
    """Where new messages go: the board's first column meaning "new" (新留言); a board whose
    managers removed every such column gets them in its first column."""
    columns = (
        await BoardColumn.select(BoardColumn.id, BoardColumn.meaning)
        .where(
            (BoardColumn.board == board_id) & (BoardColumn.archived == False)  # noqa: E712
        )
        .order_by(BoardColumn.position)
    )
    if not columns:
        raise NotFound
    return next((c["id"] for c in columns if c["meaning"] == "new"), columns[0]["id"])


async def existing_cards(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The cards already on the portal for these (platform, external_id) pairs, on any board
    (the pair is unique across the portal)."""
    found: dict[tuple[str, str], int] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            rows = await CommentDetail.select(CommentDetail.card, CommentDetail.external_id).where(
                (CommentDetail.platform == platform) & CommentDetail.external_id.is_in(chunk)
            )
            found.update({(platform, row["external_id"]): row["card"] for row in rows})
    return found


def card_fields(message: IntakeMessage, source_id: int | None) -> dict[str, Any]:
    return {
        "title": title_of(message.text),
        "body": message.text,
        "platform": message.platform,
        "author_handle": message.author,
        "link": message.link,
        "received_at": message.received_at.astimezone(UTC),
        # comment_detail columns that are not part of the drawer's form: the kind's split puts
        # them in the detail row.
        "external_id": message.external_id,
        "source": source_id,
    }


async def receive(
    access: BoardAccess, message: IntakeMessage, *, source_id: int | None = None, column_id: int | None = None
) -> Received:
    """The card for this message: a new one in the board's intake column, or the one the
    portal has for its (platform, external_id) already."""
    key = (message.platform, message.external_id)
    if existing := (await existing_cards([key])).get(key):
        return Received(existing, created=False)
    column_id = column_id or await intake_column(access.board_id)
    try:
        change = await cards.create_card(access, column_id, card_fields(message, source_id))
    except Exception:
        # Another post of the same message committed between the look-up and the insert: the
        # unique index refused this one (the driver's own error type), and nothing was written.
        if existing := (await existing_cards([key])).get(key):
            return Received(existing, created=False)
        raise
    return Received(change.card_id, created=True)
