"""Stage history: how long each card spent in each column, on time or late.

Written by the card writes inside their unit of work (same transaction as the move):
``enter`` opens a visit, ``leave`` closes the card's open visit with the working minutes it
lasted and whether the clock running meanwhile was still within its due time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.cards.tables import CardStage
from portal.sla.calendar import BusinessCalendar


async def enter(
    card_id: int,
    board_id: int,
    column: dict[str, Any],
    at: datetime,
    actor_id: int | None,
    *,
    clock: str | None,
    round_number: int,
) -> None:
    await CardStage.insert(
        CardStage(
            card=card_id,
            board=board_id,
            column=column["id"],
            stage=column["key"],
            clock=clock,
            round=round_number,
            entered_at=at,
            entered_by=actor_id,
        )
    )


async def leave(
    card: dict[str, Any], at: datetime, actor_id: int | None, calendar: BusinessCalendar, due_at: datetime | None
) -> None:
    """Close the card's open visit (one statement: the card row knows when it entered)."""
    entered = card.get("column_entered_at")
    minutes = calendar.working_minutes_between(entered, at) if entered and entered < at else 0
    await CardStage.update(
        {
            CardStage.left_at: at,
            CardStage.left_by: actor_id,
            CardStage.due_at: due_at,
            CardStage.working_minutes: minutes,
            CardStage.on_time: None if due_at is None else at <= due_at,
        }
    ).where((CardStage.card == card["id"]) & CardStage.left_at.is_null())


async def history(card_id: int) -> list[dict[str, Any]]:
    return (
        await CardStage.select(
            CardStage.id,
            CardStage.stage,
            CardStage.column.id.as_alias("column_id"),
            CardStage.column.name.as_alias("column_name"),
            CardStage.clock,
            CardStage.round,
            CardStage.entered_at,
            CardStage.entered_by.display_name.as_alias("entered_by"),
            CardStage.left_at,
            CardStage.left_by.display_name.as_alias("left_by"),
            CardStage.due_at,
            CardStage.working_minutes,
            CardStage.on_time,
        )
        .where(CardStage.card == card_id)
        .order_by(CardStage.entered_at)
        .order_by(CardStage.id)
    )
