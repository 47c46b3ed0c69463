"""One write path: every board change is one unit of work.

    async with board_write(board_id, actor_id) as unit:
        card = await load_and_check(...)          # the board is locked: re-read, then check
        await Card.update(...)
        unit.record(EventKind.card_moved, "card", card_id, {"from": 3, "to": 4})
        unit.after_commit(live_effects.cards_changed(...), reminder_effects.arm(card_id))

Inside one transaction the unit claims the board's next sequence number (on PostgreSQL
that UPDATE also locks the board row, so writers to one board queue up; on SQLite the
transaction is IMMEDIATE), lets the caller write, then inserts the typed events and the
outbox rows. After the commit it runs the outbox rows in this process; whatever does not
run (a crash, a failure) is picked up by a worker. An exception inside the block rolls
everything back, events and effects included: nothing half-done is ever published.
Notifications a write causes are inserted inside the block too
(``portal.notifications.services.notify``), their delivery staged as effects.

Sequence numbers: the first event has the number claimed on entry, each further one the
next; ``unit.seq`` is the last one once the block is left, and an effect whose payload has
a ``seq`` key gets that last number (viewers show the board as of the whole unit). A unit
that recorded nothing gives its number back. A new board has no number to claim yet:
``board_write(None, actor)``, insert it, then ``await unit.claim(board_id)``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from portal.db import write_transaction
from portal.events import outbox
from portal.events.kinds import EventKind, payload_for
from portal.events.outbox import Effect
from portal.events.tables import Event

# Test-only: the crash test (tests/integration/test_write_path.py) starts a web process with
# this set, so that it dies right after a write commits and before it runs its outbox rows.
# Read once at import; never set it anywhere else.
EXIT_AFTER_COMMIT = os.environ.get("PORTAL_TEST_EXIT_AFTER_COMMIT") == "1"
EXIT_AFTER_COMMIT_STATUS = 70


@dataclass
class BoardWrite:
    board_id: int | None
    actor_id: int | None
    seq: int = 0
    events: list[Event] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)

    def record(
        self, kind: EventKind, object_type: str, object_id: int | None, payload: dict[str, Any] | None = None
    ) -> None:
        """A typed event for the audit trail and the board's catch-up (see the module's note
        on sequence numbers)."""
        if self.board_id is None:
            raise RuntimeError("a new board's unit records events only after unit.claim(board_id)")
        self.events.append(
            Event(
                board_id=self.board_id,
                seq=self.seq,
                actor=self.actor_id,
                verb=str(kind),
                object_type=object_type,
                object_id=object_id,
                payload=payload_for(kind, payload),
            )
        )

    def after_commit(self, *effects: Effect) -> None:
        self.effects.extend(effects)

    async def claim(self, board_id: int) -> int:
        """Claim the board's next sequence number (and lock it); done on entry for an
        existing board, by the caller for a board it has just inserted."""
        self.board_id = board_id
        self.seq = await claim_seq(board_id)
        return self.seq


async def claim_seq(board_id: int) -> int:
    """The board's next sequence number (and, on PostgreSQL, its row lock)."""
    from portal.boards.tables import Board  # the board row is the lock; boards own it

    rows = await Board.update({Board.seq: Board.seq + 1}).where(Board.id == board_id).returning(Board.seq)
    return rows[0]["seq"]


@asynccontextmanager
async def board_write(board_id: int | None, actor_id: int | None) -> AsyncIterator[BoardWrite]:
    async with write_transaction():
        unit = BoardWrite(board_id, actor_id)
        if board_id is not None:
            await unit.claim(board_id)
        yield unit
        await _finish(unit)
    if EXIT_AFTER_COMMIT:
        os._exit(EXIT_AFTER_COMMIT_STATUS)
    await outbox.run(unit.outbox_ids, unit.effects)


async def _finish(unit: BoardWrite) -> None:
    """Inside the transaction: number and insert the events, stage the effects."""
    from portal.boards.tables import Board

    if unit.board_id is not None and not unit.events:
        # Nothing happened (e.g. removing a robot that was removed already): give the number
        # back. The board is still locked by this transaction, so nobody took a later one.
        await Board.update({Board.seq: Board.seq - 1}).where(Board.id == unit.board_id)
        unit.seq -= 1
    # One sequence number per event (the board's catch-up counts them): the first event
    # has the one claimed on entry, each further one claims the next.
    for index, event in enumerate(unit.events):
        if index:
            event.seq = unit.seq = await claim_seq(unit.board_id)
    if unit.events:
        await Event.insert(*unit.events)
    unit.effects.extend(outbox.followers_of(unit.effects))  # e.g. the search index follows published cards
    for effect in unit.effects:
        if "seq" in effect.payload:
            effect.payload["seq"] = unit.seq
    unit.outbox_ids = await outbox.stage(unit.effects)
