"""Stage clocks anchored on what starts them.

A card runs at most one deadline clock at a time (its ``due_*`` fields, which tiles, filters
and reminders read). Each clock is also kept as a ``card_clock`` row per (card, stage,
round), so that:

- a stage's clock starts once: the kind's first stage at the message's receipt time (a
  comment's 24-hour first reply counts from when the comment arrived), later stages when
  they are first entered; moving a card out of a stage and back restores the same clock
  (with its pauses and extensions) instead of starting a new one;
- a clock whose work is done (the card reached a later stage, a column that completes it —
  a comment's 已回复 — or a done column) is completed and does not run again;
- reopening a card (moving it out of a done column, 重办) starts a new round of clocks,
  counted on the card and recorded as an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.cards.kinds import kind_of
from portal.sla import policies
from portal.sla.calendar import BusinessCalendar
from portal.sla.tables import CardClock

CLEARED = {
    "due_stage": None,
    "stage_started_at": None,
    "due_at": None,
    "due_mode": None,
    "paused_at": None,
    "pause_reason": "",
    "extension_until": None,
    "extension_reason": "",
    "extension_requested_by": None,
}


def stage_of(board_kind: str, column: dict[str, Any]) -> str | None:
    return policies.stage_for(board_kind, column["key"], column["meaning"])


def completes(board_kind: str, stage: str, column: dict[str, Any]) -> bool:
    """Does entering ``column`` mean the work ``stage``'s clock measures is done?"""
    if column["meaning"] == "done":
        return True
    kind = kind_of(board_kind)
    if column["key"] in kind.completed_by_column_key.get(stage, frozenset()):
        return True
    order = kind.stages
    new_stage = stage_of(board_kind, column)
    if stage not in order or new_stage not in order:
        return False
    # Sent back (退单, 审核退回): for a kind that restarts a stage on its return, this pass
    # of the stage is over too — the next pass runs a clock of its own.
    backwards = kind.restart_on_return and order.index(new_stage) < order.index(stage)
    return order.index(new_stage) > order.index(stage) or backwards


def is_reopening(board_kind: str, from_column: dict[str, Any], to_column: dict[str, Any]) -> bool:
    """Out of a done column into an open one; or, for a kind that says so, out of a column
    whose work was answered back to one where it is worked again (an inquiry's 重办)."""
    if to_column["meaning"] == "done":
        return False
    if from_column["meaning"] == "done":
        return True
    reopening_from = kind_of(board_kind).reopening_from
    return from_column["key"] in reopening_from and to_column["key"] not in reopening_from


def resumed_due(calendar: BusinessCalendar, card: dict[str, Any], now: datetime) -> datetime | None:
    """A paused clock's due time as if resumed now: the time it stood still is added, counted
    the way the clock counts (working time stays working time)."""
    due, paused_at = card.get("due_at"), card.get("paused_at")
    if due is None or paused_at is None:
        return due
    if card.get("due_mode") in ("working_hours", "working_days"):
        remaining = calendar.working_minutes_between(paused_at, due)
        return calendar.add_working_minutes(now, remaining)
    return due + (now - paused_at)


def _fields(stage: str, started_at: datetime | None, due_at: datetime | None, mode: str | None) -> dict[str, Any]:
    return {**CLEARED, "due_stage": stage, "stage_started_at": started_at, "due_at": due_at, "due_mode": mode}


async def stop(card_id: int, now: datetime) -> None:
    """Complete the clock the card runs now and clear its clock fields (pauses and extension
    requests included): an inquiry accepted in time, a case merged under another."""
    from portal.cards.tables import Card

    row = await Card.select(Card.due_stage, Card.clock_round).where(Card.id == card_id).first()
    if row and row["due_stage"]:
        await CardClock.update({CardClock.completed_at: now}).where(
            (CardClock.card_id == card_id)
            & (CardClock.stage == row["due_stage"])
            & (CardClock.round == (row["clock_round"] or 1))
            & CardClock.completed_at.is_null()
        )
    await Card.update({getattr(Card, name): value for name, value in CLEARED.items()}).where(Card.id == card_id)


async def on_leave(
    board_kind: str, card: dict[str, Any], to_column: dict[str, Any], now: datetime, calendar: BusinessCalendar
) -> None:
    """Keep the running clock's state (or complete it) as the card leaves its stage."""
    stage = card.get("due_stage")
    if not stage or kind_of(board_kind).own_clock is not None or stage_of(board_kind, to_column) == stage:
        return
    done = completes(board_kind, stage, to_column)
    await CardClock.update(
        {CardClock.due_at: resumed_due(calendar, card, now), CardClock.completed_at: now if done else None}
    ).where(
        (CardClock.card_id == card["id"])
        & (CardClock.stage == stage)
        & (CardClock.round == (card.get("clock_round") or 1))
    )


async def on_enter(
    board_kind: str,
    column: dict[str, Any],
    card: dict[str, Any],
    now: datetime,
    *,
    calendar: BusinessCalendar,
    policy_rows: list[dict[str, Any]],
    round_number: int,
) -> dict[str, Any]:
    """The card's clock fields on entering ``column`` ({} when the running clock goes on)."""
    kind = kind_of(board_kind)
    if kind.own_clock is not None:
        # A kind with a clock of its own (a campaign is due at its end) keeps no stage clocks.
        own = kind.own_clock(card, column, now)
        if own is None:
            return CLEARED if card.get("due_stage") else {}
        return {**CLEARED, **own}
    stage = stage_of(board_kind, column)
    if stage is None:
        return CLEARED if card.get("due_stage") else {}
    if stage == card.get("due_stage") and round_number == (card.get("clock_round") or 1):
        return {}
    kept = (
        await CardClock.select()
        .where((CardClock.card_id == card["id"]) & (CardClock.stage == stage) & (CardClock.round == round_number))
        .first()
    )
    if kept is not None and kept["completed_at"] is None:
        return _fields(stage, kept["started_at"], kept["due_at"], kept["mode"])
    if kept is not None and not kind.restart_on_return:
        return CLEARED  # this stage's work was done; it runs again only after a reopening
    order = kind.stages
    first_stage = bool(order) and stage == order[0] and round_number == 1 and kept is None
    started_at = (card.get("received_at") or now) if first_stage else now
    deadline = policies.deadline_for(
        calendar,
        policy_rows,
        board_kind=board_kind,
        stage=stage,
        priority=card.get("priority") or "normal",
        category=card.get(kind.category_field),
        started_at=started_at,
    )
    if kept is not None:
        # Sent back to a stage whose work was done: its clock runs again from now (the
        # stage history keeps the earlier visit and its clock).
        await CardClock.update(
            {
                CardClock.started_at: started_at,
                CardClock.due_at: deadline.due_at,
                CardClock.mode: deadline.mode,
                CardClock.completed_at: None,
            }
        ).where(CardClock.id == kept["id"])
    else:
        await CardClock.insert(
            CardClock(
                card_id=card["id"],
                stage=stage,
                round=round_number,
                started_at=started_at,
                due_at=deadline.due_at,
                mode=deadline.mode,
            )
        )
    return _fields(stage, started_at, deadline.due_at, deadline.mode)


# A change of what the running clock's policy reads -------------------------------------


async def retime(
    board_kind: str,
    card: dict[str, Any],
    changes: dict[str, Any],
    *,
    calendar: BusinessCalendar,
    policy_rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """The running clock's due time again from its own start, after a change of what its
    policy reads (an incident's level, its priority): its fields, or {} when nothing runs or
    it stands paused (a resumed clock keeps the time it was given)."""
    stage = card.get("due_stage")
    if not stage or card.get("paused_at") is not None or card.get("stage_started_at") is None:
        return {}
    kind = kind_of(board_kind)
    after = {**card, **changes}
    deadline = policies.deadline_for(
        calendar,
        policy_rows,
        board_kind=board_kind,
        stage=stage,
        priority=after.get("priority") or "normal",
        category=after.get(kind.category_field),
        started_at=card["stage_started_at"],
    )
    if deadline.due_at == card.get("due_at"):
        return {}
    await CardClock.update({CardClock.due_at: deadline.due_at, CardClock.mode: deadline.mode}).where(
        (CardClock.card_id == card["id"])
        & (CardClock.stage == stage)
        & (CardClock.round == (card.get("clock_round") or 1))
    )
    return {"due_at": deadline.due_at, "due_mode": deadline.mode}
