"""Cards: create, edit, move, archive, notes, and what the drawer shows.

Every write is one unit of the write path (``portal.events.unit.board_write``): it claims
the board's next sequence number first (on PostgreSQL that locks the board row; on SQLite
the write transaction is IMMEDIATE), then re-reads what it changes, checks the version the
user saw, writes, records the typed event, adds the notifications it causes and stages its
effects (publish to the board's viewers, arm reminders, deliver notifications) in the
outbox, all in one transaction. A stale version raises ``StaleCard`` and nothing is written.
Controllers only render the answer: the effects run after the commit, whoever asked.

Positions are fractional: a move writes one row, at the midpoint between its new
neighbours; only when two neighbours are too close to split is the column renumbered.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.accounts.services import NotFound
from portal.accounts.tables import Department, Role, User
from portal.boards import services as boards
from portal.boards.access import BoardAccess, department_may_see
from portal.boards.tables import BoardColumn, ColumnMeaning
from portal.cards import stages
from portal.cards.forms import CardForm, MoveForm, NoteForm, in_supported_range, out_of_range_message
from portal.cards.kinds import kind_of
from portal.cards.tables import Card, Note
from portal.core.errors import Conflict
from portal.core.forms import FormError, valid_id
from portal.events.kinds import EventKind
from portal.events.tables import Event
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.live import effects as live_effects
from portal.notifications import services as notifications
from portal.reminders import effects as reminder_effects
from portal.sla import clocks
from portal.sla import services as sla

POSITION_STEP = 1024.0
MENTION = re.compile(r"@([\w.\-]+)")


class StaleCard(Exception):
    """The card changed since the user loaded it; carries who changed it and how."""

    def __init__(self, card_id: int, actor_name: str, verb: str) -> None:
        super().__init__(f"card {card_id} changed by {actor_name}")
        self.card_id = card_id
        self.actor_name = actor_name
        self.verb = verb


@dataclass
class CardChange:
    """What a card write did (its effects are in the outbox already)."""

    board_id: int
    seq: int
    card_id: int
    verb: str
    departments_before: list[int] | None = None
    departments_after: list[int] | None = None
    archived: bool = False
    mentioned: list[int] = field(default_factory=list)


def _same(stored: Any, submitted: Any) -> bool:
    """Forms carry times to the minute; a stored time with seconds is not a change."""
    if isinstance(stored, datetime) and isinstance(submitted, datetime):
        return stored.replace(second=0, microsecond=0) == submitted.replace(second=0, microsecond=0)
    return stored == submitted


def _departments(card: dict[str, Any]) -> list[int]:
    return [d for d in [card.get("department"), *(card.get("assisting_departments") or [])] if d is not None]


async def _load(access: BoardAccess, card_id: int, only: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The open card: its common fields and its kind's own (``only`` those, when the caller
    needs just a few: a move reads only what the kind's clocks need)."""
    kind = kind_of(access.board_kind)
    card = (
        await Card.select(*Card.all_columns(), *kind.joined(only))
        .where((Card.id == card_id) & (Card.archived == False))  # noqa: E712
        .output(load_json=True)
        .first()
    )
    return kind.defaults(card, only) if card is not None else None


async def get_card(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """The card as this viewer may see it: its kind conceals here what the viewer may not see
    (a citizen's number), so that no page, form, error or conflict response can show it.
    (Writes read the card themselves: a concealed value is never saved.)"""
    card = access.require_card(await _load(access, card_id))
    kind = kind_of(access.board_kind)
    if kind.conceal is not None:
        kind.conceal(access, card)
    return card


async def require_visible(access: BoardAccess, card_id: int) -> None:
    """NotFound unless this viewer may see the card (for routes that show it only after
    acting on it: one light read, none of its kind's fields)."""
    access.require_card(await _load(access, card_id, ()))


async def find_board_of(card_id: int) -> int:
    if not valid_id(card_id):
        raise NotFound
    row = await Card.select(Card.board).where((Card.id == card_id) & (Card.archived == False)).first()  # noqa: E712
    if row is None:
        raise NotFound
    return row["board"]


async def tiles(card_ids: list[int], kind: str | None = None) -> list[dict[str, Any]]:
    """What the board shows of these cards (archived ones come back flagged). Given their
    board's kind, one statement (its tile fields joined); otherwise one more per kind."""
    if not card_ids:
        return []
    if kind is not None:
        card_kind = kind_of(kind)
        rows = (
            await Card.select(*boards.CARD_TILE_FIELDS, Card.archived, *card_kind.joined(card_kind.tile_fields))
            .where(Card.id.is_in(card_ids))
            .output(load_json=True)
        )
        return [{**row, "kind": kind} for row in rows]
    rows = (
        await Card.select(*boards.CARD_TILE_FIELDS, Card.archived, Card.board.kind.as_alias("kind"))
        .where(Card.id.is_in(card_ids))
        .output(load_json=True)
    )
    for name in sorted({row["kind"] for row in rows}):
        card_kind = kind_of(name)
        if not card_kind.tile_fields:
            continue
        ids = [row["id"] for row in rows if row["kind"] == name]
        extra = {
            row["id"]: row
            for row in await Card.select(Card.id, *card_kind.joined(card_kind.tile_fields))
            .where(Card.id.is_in(ids))
            .output(load_json=True)
        }
        for row in rows:
            if row["kind"] == name:
                row.update(extra[row["id"]])
    return rows


async def _column(access: BoardAccess, column_id: int) -> dict[str, Any]:
    """A column of this board to put a card in: another board's column does not exist here
    (404, like anything one may not see); an archived one is a stale page (422)."""
    column = (
        await BoardColumn.select(
            BoardColumn.id, BoardColumn.name, BoardColumn.key, BoardColumn.meaning, BoardColumn.archived
        )
        .where((BoardColumn.id == column_id) & (BoardColumn.board == access.board_id))
        .first()
    )
    if column is None:
        raise NotFound
    if column["archived"]:
        raise FormError({"column_id": _("This column no longer exists. Reload the board.")})
    return column


async def _check_version(card: dict[str, Any], version: int | None) -> None:
    if version is not None and card["version"] != version:
        last = (
            await Event.select(Event.verb, Event.actor.display_name.as_alias("name"))
            .where((Event.object_type == "card") & (Event.object_id == card["id"]))
            .order_by(Event.id, ascending=False)
            .first()
        )
        raise StaleCard(card["id"], (last or {}).get("name") or _("Someone"), (last or {}).get("verb") or "")


async def assignable_people(access: BoardAccess) -> set[int]:
    return {person["id"] for person in await boards.board_people(access.board_id)}


def may_see(person: dict[str, Any], card: dict[str, Any]) -> bool:
    """Whether one of ``board_people`` may see this card (liaisons: only their department's)."""
    return person["user_role"] != Role.liaison or department_may_see(person["department"], card)


def people_for(people: list[dict[str, Any]], card: dict[str, Any]) -> list[dict[str, Any]]:
    """The board's people who may be assigned, mentioned or told about this card."""
    return [person for person in people if may_see(person, card)]


def _check_assignee(people: list[dict[str, Any]], assignee: int | None, card: dict[str, Any]) -> None:
    """Whoever is assigned is reminded of the card by its title: she must be able to see it."""
    if assignee is not None and assignee not in {person["id"] for person in people_for(people, card)}:
        raise FormError({"assignee": _("Choose someone who may see this card.")})


async def department_ids() -> set[int]:
    return {row["id"] for row in await Department.select(Department.id).where(Department.active == True)}  # noqa: E712


def _after_card_write(
    unit: BoardWrite,
    access: BoardAccess,
    card_id: int,
    before: list[int] | None,
    after: list[int] | None,
    *,
    arm: bool = True,
) -> None:
    """Every card write: its viewers see the new tile; its reminders follow its due times."""
    unit.after_commit(live_effects.cards_changed(unit.board_id, [card_id], before, after, access.board_kind))
    if arm:
        unit.after_commit(reminder_effects.arm(card_id))


async def notify_within(unit: BoardWrite, notices: list[tuple[int, dict[str, Any]]]) -> list[int]:
    """Notifications caused by the write, in its transaction, delivered after the commit;
    returns who was newly notified (a repeated dedupe key notifies nobody)."""
    ids, users = [], []
    for user_id, notice in notices:
        notification_id = await notifications.notify(user_id, **notice)
        if notification_id is not None:
            ids.append(notification_id)
            users.append(user_id)
    unit.after_commit(*notifications.delivery_effects(ids, users))
    return users


async def tell_viewers(
    unit: BoardWrite,
    access: BoardAccess,
    card_id: int,
    notices: list[tuple[list[int], str, str]],
    *,
    kind: str,
    key: str,
) -> None:
    """A workflow step's notices — (recipients, title, body) — as bells and e-mails in the
    step's unit: never to the actor, and only to people who may see the card (after the
    step's routing). ``key`` makes each person's notice once-only (the step's own id)."""
    batch: list[tuple[int, dict[str, Any]]] = []
    for recipients, title, body in notices:
        for user_id in recipients:
            if user_id == access.user.id:
                continue
            batch.append(
                (
                    user_id,
                    {
                        "kind": kind,
                        "title": title[:200],
                        "dedupe_key": f"{key}:{user_id}",
                        "body": (body or "")[:300],
                        "link": f"/boards/{access.board_id}?card={card_id}",
                        "card_id": card_id,
                    },
                )
            )
    if batch:
        visible = set(await boards.who_may_see_card(card_id, [user_id for user_id, _notice in batch]))
        batch = [(user_id, notice) for user_id, notice in batch if user_id in visible]
    if batch:
        await notify_within(unit, batch)


# Writes -------------------------------------------------------------------------------


async def create_card(access: BoardAccess, column_id: int, fields: dict[str, Any]) -> CardChange:
    """A new card at the top of the column (the newest work is seen first)."""
    access.require_edit()
    if access.department_only is not None:
        # Liaisons create cards for their own department only, with no one else assisting.
        fields = {**fields, "department": access.department_only, "assisting_departments": []}
    _check_assignee(await boards.board_people(access.board_id), fields.get("assignee"), fields)
    async with board_write(access.board_id, access.user.id) as unit:
        column = await _column(access, column_id)
        kind = kind_of(access.board_kind)
        if kind.on_create is not None:
            kind.on_create(access, column)  # an inquiry starts at 待受理
        first = (
            await Card.select(Card.position)
            .where((Card.column == column_id) & (Card.archived == False))
            .order_by(Card.position)
            .first()
        )  # noqa: E712
        position = (first["position"] - POSITION_STEP) if first else POSITION_STEP
        now = datetime.now(UTC)
        common, detail = kind.split(fields)
        card = Card(
            board=access.board_id,
            column=column_id,
            position=position,
            created_by=access.user.id,
            received_at=common.pop("received_at", None) or now,
            **common,
        )
        rows = await Card.insert(card)
        card_id = rows[0]["id"]
        await kind.insert_detail(card_id, detail)
        # The first clock starts when the message was received, not when it was entered.
        calendar = await sla.get_calendar()
        due = await clocks.on_enter(
            access.board_kind,
            column,
            {**fields, "id": card_id, "received_at": card.received_at, "due_stage": None},
            now,
            calendar=calendar,
            policy_rows=await sla.list_policies(),
            round_number=1,
        )
        await Card.update({**_card_columns(due), Card.column_entered_at: now}).where(Card.id == card_id)
        await stages.enter(
            card_id, access.board_id, column, now, access.user.id, clock=due.get("due_stage"), round_number=1
        )
        unit.record(EventKind.card_created, "card", card_id, {"title": fields.get("title", ""), "column": column_id})
        if kind.on_created is not None:
            await kind.on_created(unit, access, card_id, fields)
        _after_card_write(unit, access, card_id, None, _departments(fields))
        if kind.created_effects is not None:
            unit.after_commit(*kind.created_effects(card_id))
    return CardChange(access.board_id, unit.seq, card_id, "card.created", departments_after=_departments(fields))


async def update_card(access: BoardAccess, card_id: int, form: CardForm) -> CardChange:
    access.require_edit()
    people = await boards.board_people(access.board_id)
    async with board_write(access.board_id, access.user.id) as unit:
        card = access.require_card(await _load(access, card_id))
        await _check_version(card, form.version)
        sent = form.fields
        if (unconceal := kind_of(access.board_kind).unconceal) is not None:
            sent = unconceal(card, sent)  # a masked number sent back keeps the stored one
        changes = {name: value for name, value in sent.items() if not _same(card.get(name), value)}
        if access.department_only is not None:
            # A liaison works the card but cannot re-route it to other departments.
            changes.pop("department", None)
            changes.pop("assisting_departments", None)
        if changes and (on_update := kind_of(access.board_kind).on_update) is not None:
            await on_update(access, card, changes)  # the kind's rule: an approved answer stays as approved
        if not changes:
            raise FormError({"__all__": _("Nothing was changed.")})
        if "assignee" in changes:
            _check_assignee(people, changes["assignee"], {**card, **changes})
        kind = kind_of(access.board_kind)
        common, detail = kind.split(changes)
        if kind.implied is not None:
            common.update(kind.implied(card, changes))  # a campaign's end is its due time
        updates = {getattr(Card, name): value for name, value in common.items()}
        await Card.update({**updates, Card.version: Card.version + 1, Card.updated_at: datetime.now(UTC)}).where(
            Card.id == card_id
        )
        await kind.update_detail(card_id, detail)
        if kind.on_updated is not None:
            await kind.on_updated(unit, access, card, changes)
        kind = EventKind.card_assigned if set(changes) == {"assignee"} else EventKind.card_updated
        unit.record(kind, "card", card_id, {"fields": sorted(changes), "assignee": changes.get("assignee")})
        after = {**card, **changes}
        _after_card_write(unit, access, card_id, _departments(card), _departments(after))
    return CardChange(access.board_id, unit.seq, card_id, str(kind), _departments(card), _departments(after))


async def move_card(access: BoardAccess, card_id: int, form: MoveForm) -> CardChange:
    """Move a card (to another column, or within its own). Leaving a column closes the card's
    visit in the stage history; its clock goes on, completes, or (out of a done column: 重办)
    starts a new round, as ``portal.sla.clocks`` decides."""
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        card = access.require_card(await _load(access, card_id, kind_of(access.board_kind).clock_fields))
        await _check_version(card, form.version)
        target = await _column(access, form.column_id)
        departments = after = _departments(card)
        kind = kind_of(access.board_kind)
        if kind.on_move is not None and target["id"] != card["column"]:
            # The kind's rule: an inquiry's drag is a step of its loop (派单 routes it) or nothing.
            changed = await kind.on_move(unit, access, card, await column_any(card["column"]), target)
            if changed is not None:
                card = {**card, **changed}
                after = _departments(card)
        await move_within(unit, access, card, target, after_id=form.after_id)
        _after_card_write(unit, access, card_id, departments, after)
    return CardChange(access.board_id, unit.seq, card_id, "card.moved", departments, after)


async def load_for_write(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Inside a unit of the write path: the card as it is now (with its kind's fields), for a
    kind's own write to change; NotFound when this viewer may not see it."""
    return access.require_card(await _load(access, card_id))


async def column_by_key(access: BoardAccess, key: str) -> dict[str, Any] | None:
    """The board's open column with this key (a kind's workflow moves cards by key)."""
    return (
        await BoardColumn.select(
            BoardColumn.id, BoardColumn.name, BoardColumn.key, BoardColumn.meaning, BoardColumn.archived
        )
        .where((BoardColumn.board == access.board_id) & (BoardColumn.key == key) & (BoardColumn.archived == False))  # noqa: E712
        .first()
    )


async def move_within(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    target: dict[str, Any],
    *,
    after_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """The move itself, inside a unit the caller holds (``move_card``, or a kind's own write
    that moves the card as part of it: a sent reply to 已回复, a report to 已上报): the stage
    history, the clocks (a reopening starts a new round), the card's column, position and
    version, and the ``card.moved`` event. The caller adds the effects (``after_card_write``).
    Returns whether the card was reopened."""
    now = now or datetime.now(UTC)
    card_id = card["id"]
    position = await _position_after(target["id"], card_id, after_id)
    updates: dict[Any, Any] = {}
    reopened = False
    if target["id"] != card["column"]:
        source = await column_any(card["column"])
        calendar = await sla.get_calendar()
        round_number = card.get("clock_round") or 1
        if clocks.is_reopening(access.board_kind, source, target):
            round_number += 1
            reopened = True
        await clocks.on_leave(access.board_kind, card, target, now, calendar)
        due = await clocks.on_enter(
            access.board_kind,
            target,
            card,
            now,
            calendar=calendar,
            policy_rows=await sla.list_policies(),
            round_number=round_number,
        )
        await stages.leave(card, now, access.user.id, calendar, clocks.resumed_due(calendar, card, now))
        await stages.enter(
            card_id,
            access.board_id,
            target,
            now,
            access.user.id,
            clock=due.get("due_stage", card.get("due_stage")),
            round_number=round_number,
        )
        updates = {**_card_columns(due), Card.column_entered_at: now, Card.clock_round: round_number}
    await Card.update(
        {
            **updates,
            Card.column: target["id"],
            Card.position: position,
            Card.version: Card.version + 1,
            Card.updated_at: now,
        }
    ).where(Card.id == card_id)
    unit.record(
        EventKind.card_moved,
        "card",
        card_id,
        {"from": card["column"], "to": target["id"], "to_name": target["name"], "after": after_id},
    )
    if reopened:
        # Its own sequence number (the unit gives each further event the next one).
        unit.record(EventKind.card_reopened, "card", card_id, {"round": (card.get("clock_round") or 1) + 1})
    return reopened


def after_card_write(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    *,
    before: list[int] | None = None,
) -> None:
    """A kind's own card write, inside its unit: viewers see the new tile and the reminders
    follow the card's due times (``before``: the departments it was routed to, if changed)."""
    departments = _departments(card)
    _after_card_write(unit, access, card["id"], before if before is not None else departments, departments)


def _card_columns(fields: dict[str, Any]) -> dict[Any, Any]:
    """Clock fields by name (as ``portal.sla.clocks`` gives them) as Card columns."""
    return {getattr(Card, name): value for name, value in fields.items()}


async def column_any(column_id: int) -> dict[str, Any]:
    """The column a card is in, even one archived since (its key and meaning say what the
    stage was)."""
    row = (
        await BoardColumn.select(BoardColumn.id, BoardColumn.name, BoardColumn.key, BoardColumn.meaning)
        .where(BoardColumn.id == column_id)
        .first()
    )
    return row or {"id": column_id, "name": "", "key": "", "meaning": "working"}


async def _position_after(column_id: int, card_id: int, after_id: int | None) -> float:
    """A position directly below ``after_id`` (or at the top), unique within the column.
    Reads the neighbours only (a done column may hold thousands of cards), through the
    (column, archived, position) index; the whole column only when the gap is exhausted."""
    others = (Card.column == column_id) & (Card.archived == False) & (Card.id != card_id)  # noqa: E712
    anchor = None
    if after_id is not None:
        anchor = await Card.select(Card.position).where(others & (Card.id == after_id)).first()
    if anchor is None:
        # The top; or, for an "after" card that has since left the column, the bottom
        # rather than a failure.
        edge = (
            await Card.select(Card.position).where(others).order_by(Card.position, ascending=after_id is None).first()
        )
        if edge is None:
            return POSITION_STEP
        return edge["position"] - POSITION_STEP if after_id is None else edge["position"] + POSITION_STEP
    before = anchor["position"]
    following = (
        await Card.select(Card.position).where(others & (Card.position > before)).order_by(Card.position).first()
    )
    if following is None:
        return before + POSITION_STEP
    middle = (before + following["position"]) / 2
    if before < middle < following["position"]:
        return middle
    # The gap is exhausted (after ~50 splits of one spot): renumber this column once.
    rows = await Card.select(Card.id, Card.position).where(others).order_by(Card.position)
    index = [row["id"] for row in rows].index(after_id) + 1
    for rank, row in enumerate(rows):
        await Card.update({Card.position: (rank + 1 + (rank >= index)) * POSITION_STEP}).where(Card.id == row["id"])
    return (index + 1) * POSITION_STEP


async def archive_card(access: BoardAccess, card_id: int, version: int | None) -> CardChange:
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        kind = kind_of(access.board_kind)
        card = access.require_card(await _load(access, card_id, () if kind.on_archive is None else None))
        await _check_version(card, version)
        if kind.on_archive is not None:
            await kind.on_archive(unit, access, card)  # an incident closes only once reviewed (复盘)
        calendar = await sla.get_calendar()
        now = datetime.now(UTC)
        column = await column_any(card["column"])
        await _archive_rows(unit, access, [card], column["meaning"], now, calendar)
    return CardChange(access.board_id, unit.seq, card_id, "card.archived", _departments(card), [], archived=True)


async def _archive_rows(
    unit: BoardWrite,
    access: BoardAccess,
    rows: list[dict[str, Any]],
    meaning: str,
    now: datetime,
    calendar: Any,
    *,
    publish_each: bool = True,
) -> None:
    """Take these cards (of columns with this meaning) off the board, inside the caller's unit
    (``publish_each``: viewers are sent each card's removal; otherwise the caller has them
    re-fetch the board once)."""
    ids = [row["id"] for row in rows]
    await Card.update(
        {Card.archived: True, Card.archived_at: now, Card.archived_from: meaning, Card.version: Card.version + 1}
    ).where(Card.id.is_in(ids))
    for row in rows:
        if meaning != ColumnMeaning.done:
            # Taken off unfinished: its visit ends here. Closed work keeps its last visit
            # open, as the figures read it (a card still in its done column: resolved).
            await stages.leave(row, now, access.user.id, calendar, clocks.resumed_due(calendar, row, now))
        unit.record(EventKind.card_archived, "card", row["id"], {"title": row["title"]})
        # Gone from the board; its reminders find it archived and do nothing.
        if publish_each:
            _after_card_write(unit, access, row["id"], _departments(row), [], arm=False)


# Cards archived per unit of work by the worker: one board lock held briefly, then the next batch.
ARCHIVE_BATCH = 200


async def archive_closed_cards(board_id: int, now: datetime | None = None, batch: int = ARCHIVE_BATCH) -> int:
    """The worker's archiving: up to ``batch`` cards of this board that have been in a done
    column for longer than the board's ``archive_after_days``, oldest first, archived in one
    unit of work (viewers see them leave). Returns how many; the caller repeats until none.
    Kinds that are not archived by the clock (``CardKind.auto_archive``) are left alone."""
    from portal.boards.access import system_access
    from portal.boards.tables import Board

    now = now or datetime.now(UTC)
    board = await Board.select(Board.kind, Board.archive_after_days).where(Board.id == board_id).first()
    if board is None or not board["archive_after_days"] or not kind_of(board["kind"]).auto_archive:
        return 0
    cutoff = now - timedelta(days=board["archive_after_days"])
    access = await system_access(board_id)
    async with board_write(board_id, None) as unit:
        done = await BoardColumn.select(BoardColumn.id).where(
            (BoardColumn.board == board_id) & (BoardColumn.meaning == ColumnMeaning.done)
        )
        if not done:
            return 0
        rows = (
            await Card.select(*Card.all_columns())
            .where(
                Card.column.is_in([column["id"] for column in done])
                & (Card.archived == False)  # noqa: E712
                & (Card.column_entered_at < cutoff)
            )
            .order_by(Card.column_entered_at)
            .limit(batch)
            .output(load_json=True)
        )
        if rows:
            calendar = await sla.get_calendar()
            await _archive_rows(unit, access, rows, ColumnMeaning.done, now, calendar, publish_each=False)
            # One re-fetch of the board for its viewers rather than a removal per card (a
            # batch is up to ARCHIVE_BATCH cards): the done column's count comes back exact.
            unit.after_commit(live_effects.board_refreshed(board_id))
    return len(rows)


async def archive_closed_everywhere(now: datetime | None = None, max_batches: int = 50) -> int:
    """The worker's hourly pass: every open board's closed cards past its setting, batch by
    batch (each batch its own short unit, so people's writes interleave), at most
    ``max_batches`` per board per pass (a backlog is worked off over the next passes)."""
    from portal.boards.tables import Board

    total = 0
    for board in await Board.select(Board.id).where(Board.archived == False).order_by(Board.id):  # noqa: E712
        for _batch in range(max_batches):
            archived = await archive_closed_cards(board["id"], now)
            total += archived
            if archived < ARCHIVE_BATCH:
                break
            await asyncio.sleep(0)  # let the web's writes take the board between batches
    return total


async def restore_card(access: BoardAccess, card_id: int) -> CardChange:
    """Bring an archived card back to the top of its column (or, if that column is gone, of
    the board's first column of the same meaning, else its first column). Its clocks stay as
    they were: a closed card comes back closed; moving it on reopens it as usual."""
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        archived = await _load_archived(access, card_id)
        current = None if archived is not None else await _load(access, card_id, ())
        if current is not None and current["board"] == access.board_id and access.can_see_card(current):
            # Restored a moment ago by someone else: nothing to do (the unit gives its number back).
            return CardChange(access.board_id, unit.seq, card_id, "")
        card = access.require_card(archived)
        column = await column_any(card["column"])
        target = card["column"]
        if not await BoardColumn.exists().where((BoardColumn.id == target) & (BoardColumn.archived == False)):  # noqa: E712
            columns = await boards.list_columns(access.board_id)
            same = [c for c in columns if c["meaning"] == column["meaning"]] or columns
            if not same:
                raise Conflict(_("This board has no column to restore the card to."))
            target = same[0]["id"]
        position = await _position_after(target, card_id, None)
        now = datetime.now(UTC)
        if card["archived_from"] != ColumnMeaning.done:
            # Its visit ended when it was taken off: a new one begins (closed work kept its own).
            await stages.enter(
                card_id,
                access.board_id,
                await column_any(target),
                now,
                access.user.id,
                clock=card.get("due_stage"),
                round_number=card.get("clock_round") or 1,
            )
        await Card.update(
            {
                Card.archived: False,
                Card.archived_at: None,
                Card.archived_from: "",
                Card.column: target,
                Card.position: position,
                Card.version: Card.version + 1,
                Card.updated_at: now,
                # The archiving clock starts again: a restored card stays for the board's setting.
                Card.column_entered_at: now,
            }
        ).where(Card.id == card_id)
        unit.record(EventKind.card_restored, "card", card_id, {"title": card["title"]})
        departments = _departments(card)
        _after_card_write(unit, access, card_id, departments, departments)
    return CardChange(access.board_id, unit.seq, card_id, "card.restored", departments, departments)


async def _load_archived(access: BoardAccess, card_id: int) -> dict[str, Any] | None:
    return (
        await Card.select(*Card.all_columns())
        .where((Card.id == card_id) & (Card.board == access.board_id) & (Card.archived == True))  # noqa: E712
        .output(load_json=True)
        .first()
    )


async def add_note(access: BoardAccess, card_id: int, form: NoteForm) -> CardChange:
    """An internal note; everyone it @mentions (by user name or name) is notified once."""
    access.require_edit()
    people = await boards.board_people(access.board_id)
    async with board_write(access.board_id, access.user.id) as unit:
        card = access.require_card(await _load(access, card_id, ()))
        # Only people who may see the card can be told about it.
        departments = _departments(card)
        mentioned = _mentions(form.body, people_for(people, card), exclude=access.user.id)
        rows = await Note.insert(Note(card=card_id, author=access.user.id, body=form.body))
        note_id = rows[0]["id"]
        unit.record(EventKind.card_noted, "card", card_id, {"note": note_id, "mentions": mentioned})
        title = _("%(name)s mentioned you on “%(title)s”", name=access.user.display_name, title=card["title"])
        await notify_within(
            unit,
            [
                (
                    user_id,
                    {
                        "kind": "mention",
                        "title": title,
                        "dedupe_key": f"mention:{note_id}:{user_id}",
                        "body": form.body[:300],
                        "link": f"/boards/{access.board_id}?card={card_id}",
                        "card_id": card_id,
                    },
                )
                for user_id in mentioned
            ],
        )
        _after_card_write(unit, access, card_id, departments, departments)
    return CardChange(access.board_id, unit.seq, card_id, "card.noted", departments, departments, mentioned=mentioned)


def _mentions(body: str, people: list[dict[str, Any]], exclude: int) -> list[int]:
    tokens = set(MENTION.findall(body))
    found = []
    for person in people:
        names = {person["username"], person["display_name"]}
        if (
            any(token == name or token.startswith(name) for token in tokens for name in names)
            and person["id"] != exclude
            and person["id"] not in found
        ):
            found.append(person["id"])
    return found


# Verbs whose write raised the card's version by one. Attachments and restores change no field
# a form shows, but walking past their versions would take older changes for newer ones and
# refuse a save for a field nobody touched since it was loaded.
VERSION_BUMPING_VERBS = {
    "card.created",
    "card.updated",
    "card.assigned",
    "card.moved",
    "card.archived",
    "card.restored",
    "card.attachment_added",
    "card.attachment_removed",
}


async def fields_changed_since(card_id: int, version: int) -> set[str]:
    """Which fields others changed after the user loaded ``version`` of the card.

    Walks the card's events backwards from its current version: each version-bumping
    event made one version (cards imported without a "created" event are fine)."""
    current = await Card.select(Card.version).where(Card.id == card_id).first()
    events = (
        await Event.select(Event.verb, Event.payload)
        .where(
            (Event.object_type == "card") & (Event.object_id == card_id) & Event.verb.is_in(list(VERSION_BUMPING_VERBS))
        )
        .order_by(Event.id, ascending=False)
        .output(load_json=True)
    )
    reached, changed = (current or {}).get("version", 0), set()
    for event in events:
        if reached <= version:
            break
        changed |= set(event["payload"].get("fields") or [])
        if event["verb"] == "card.moved":
            changed.add("column")
        reached -= 1
    return changed


# Reads for the drawer -----------------------------------------------------------------


async def _notes_and_timeline(access: BoardAccess, card_id: int) -> tuple[list[dict], list[dict]]:
    notes = (
        await Note.select(Note.id, Note.body, Note.created_at, Note.author.display_name.as_alias("author"))
        .where(Note.card == card_id)
        .order_by(Note.id)
    )
    timeline = (
        await Event.select(
            Event.seq, Event.verb, Event.payload, Event.created_at, Event.actor.display_name.as_alias("actor")
        )
        .where((Event.board_id == access.board_id) & (Event.object_type == "card") & (Event.object_id == card_id))
        .order_by(Event.seq, ascending=False)
        .limit(50)
        .output(load_json=True)
    )
    return notes, timeline


async def board_of_archived(card_id: int) -> int | None:
    """The board of an archived card (None if there is no such archived card)."""
    if not valid_id(card_id):
        return None
    row = await Card.select(Card.board).where((Card.id == card_id) & (Card.archived == True)).first()  # noqa: E712
    return row["board"] if row else None


async def archived_card_detail(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """An archived card as this viewer may see it (concealed like the drawer's card), with
    its notes, its history and the column it was archived from: read only, restorable."""
    kind = kind_of(access.board_kind)
    row = (
        await Card.select(*Card.all_columns(), *kind.joined(), Card.assignee.display_name.as_alias("assignee_name"))
        .where((Card.id == card_id) & (Card.board == access.board_id) & (Card.archived == True))  # noqa: E712
        .output(load_json=True)
        .first()
    )
    card = access.require_card(kind.defaults(row) if row is not None else None)
    if kind.conceal is not None:
        kind.conceal(access, card)
    notes, timeline = await _notes_and_timeline(access, card_id)
    return {
        "card": card,
        "column": await column_any(card["column"]),
        "board": await boards.board_header(access),
        "notes": notes,
        "timeline": timeline,
    }


async def card_detail(access: BoardAccess, card_id: int) -> dict[str, Any]:
    card = await get_card(access, card_id)
    notes, timeline = await _notes_and_timeline(access, card_id)
    people = await boards.board_people(access.board_id)
    names = {person["id"]: person["display_name"] for person in people}
    if card["assignee"] and card["assignee"] not in names:
        row = await User.select(User.display_name).where(User.id == card["assignee"]).first()
        names[card["assignee"]] = row["display_name"] if row else "?"
    card["assignee_name"] = names.get(card["assignee"], "")
    # Offer only people who may see the card (the current assignee stays listed, so that
    # saving another field does not silently unassign a card that was re-routed).
    people = [person for person in people if may_see(person, card) or person["id"] == card["assignee"]]
    # A deadline in a year without holiday data is only a weekday estimate: say so.
    card["missing_years"] = (await sla.get_calendar()).missing_years(card["due_at"]) if card["due_at"] else []
    return {
        "card": card,
        "notes": notes,
        "timeline": timeline,
        "people": people,
        "columns": await boards.list_columns(access.board_id),
    }


# Pausing (挂起) and extensions (延期) ------------------------------------------------------


async def _deadline_write(
    access: BoardAccess,
    card_id: int,
    version: int,
    kind: EventKind,
    payload: dict[str, Any],
    build,
    notices=None,
) -> CardChange:
    """Shared shape of the deadline writes: lock, re-read, check version, update, record;
    ``notices(card, seq)`` lists the notifications the write causes (same transaction)."""
    async with board_write(access.board_id, access.user.id) as unit:
        card = access.require_card(await _load(access, card_id, ()))
        await _check_version(card, version)
        updates = await build(card)
        await Card.update({**updates, Card.version: Card.version + 1, Card.updated_at: datetime.now(UTC)}).where(
            Card.id == card_id
        )
        unit.record(kind, "card", card_id, payload)
        if notices is not None:
            await notify_within(unit, await notices(card, unit.seq))
        departments = _departments(card)
        _after_card_write(unit, access, card_id, departments, departments)
    return CardChange(access.board_id, unit.seq, card_id, str(kind), departments, departments)


async def pause_card(access: BoardAccess, card_id: int, version: int, reason: str) -> CardChange:
    """挂起: the clock stops (e.g. waiting for the citizen to send documents); a reason is required."""
    access.require_edit()
    if not reason.strip():
        raise FormError({"pause_reason": _("Say why the clock stops.")})

    async def build(card):
        if card["due_at"] is None:
            raise FormError({"pause_reason": _("This card has no deadline to pause.")})
        if card["paused_at"] is not None:
            raise FormError({"pause_reason": _("The clock is already paused.")})
        return {Card.paused_at: datetime.now(UTC), Card.pause_reason: reason.strip()[:200]}

    return await _deadline_write(
        access, card_id, version, EventKind.card_paused, {"reason": reason.strip()[:200]}, build
    )


async def resume_card(access: BoardAccess, card_id: int, version: int, now: datetime | None = None) -> CardChange:
    """The clock runs again: the deadline moves by the time it stood still, counted the way
    the stage's clock counts (working time stays working time)."""
    access.require_edit()
    now = now or datetime.now(UTC)

    async def build(card):
        if card["paused_at"] is None:
            raise FormError({"pause_reason": _("The clock is not paused.")})
        due = clocks.resumed_due(await sla.get_calendar(), card, now)
        return {Card.paused_at: None, Card.pause_reason: "", Card.due_at: due}

    return await _deadline_write(access, card_id, version, EventKind.card_resumed, {}, build)


async def request_extension(
    access: BoardAccess, card_id: int, version: int, until: datetime | None, reason: str
) -> CardChange:
    """延期: ask for a later deadline; a board manager approves or rejects it."""
    access.require_edit()
    errors = {}
    if until is None:
        errors["extension_until"] = _("Choose the new deadline.")
    if not reason.strip():
        errors["extension_reason"] = _("Say why more time is needed.")
    if until is not None and not in_supported_range(until):
        errors["extension_until"] = out_of_range_message()
    if errors:
        raise FormError(errors)

    async def build(card):
        if card["due_at"] is None or until <= card["due_at"]:
            raise FormError({"extension_until": _("The new deadline must be later than the current one.")})
        return {
            Card.extension_until: until,
            Card.extension_reason: reason.strip()[:200],
            Card.extension_requested_by: access.user.id,
        }

    async def notices(card, seq):
        # The board's managers who may see the card: a liaison given manager membership on
        # this board does not hear about other departments' cards.
        title = _("%(name)s asks for more time on “%(title)s”", name=access.user.display_name, title=card["title"])
        return [
            (
                manager,
                {
                    "kind": "extension",
                    "title": title,
                    "dedupe_key": f"extension:{card_id}:{seq}:{manager}",
                    "body": reason.strip()[:300],
                    "link": f"/boards/{access.board_id}?card={card_id}",
                    "card_id": card_id,
                },
            )
            for manager in await boards.card_managers(card_id)
        ]

    return await _deadline_write(
        access,
        card_id,
        version,
        EventKind.card_extension_requested,
        {"until": until.isoformat() if until else None, "reason": reason.strip()[:200]},
        build,
        notices,
    )


async def decide_extension(access: BoardAccess, card_id: int, version: int, approve: bool) -> CardChange:
    access.require_manage()

    async def build(card):
        if card["extension_until"] is None:
            raise FormError({"__all__": _("There is no extension request on this card.")})
        updates = {Card.extension_until: None, Card.extension_reason: "", Card.extension_requested_by: None}
        if approve:
            updates[Card.due_at] = card["extension_until"]
        return updates

    async def notices(card, seq):
        requester = card["extension_requested_by"]
        if not requester or not await boards.who_may_see_card(card_id, [requester]):
            return []
        title = (
            _("More time on “%(title)s” was approved", title=card["title"])
            if approve
            else _("More time on “%(title)s” was refused", title=card["title"])
        )
        return [
            (
                requester,
                {
                    "kind": "extension",
                    "title": title,
                    "dedupe_key": f"extension-decided:{card_id}:{seq}",
                    "link": f"/boards/{access.board_id}?card={card_id}",
                    "card_id": card_id,
                },
            )
        ]

    kind = EventKind.card_extension_approved if approve else EventKind.card_extension_rejected
    return await _deadline_write(access, card_id, version, kind, {}, build, notices)
