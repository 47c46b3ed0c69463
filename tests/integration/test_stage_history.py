"""Stage history and clocks anchored on what starts them: a move records how long the card
stayed and whether it was on time; moving out and back never restarts a clock; reopening
(重办) starts a new round, counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.cards import services as cards
from portal.cards import stages
from portal.cards.forms import MoveForm
from portal.cards.tables import Card, CardStage
from portal.events.tables import Event
from portal.sla.tables import CardClock
from tests import factories


async def move(world, card_id: int, column: str, username: str = "member") -> dict:
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    await cards.move_card(
        await world.access(username), card_id, MoveForm(column_id=world.columns[column], after_id=None, version=version)
    )
    return await Card.select().where(Card.id == card_id).first()


@pytest.fixture
async def comments(clean_db):
    return await factories.board("comments")


@pytest.fixture
async def inquiries(clean_db):
    return await factories.board("inquiries")


async def test_a_comment_keeps_its_receipt_clock_through_reported_and_back(comments):
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    card_id = await comments.card(column="pending", received_at=received)
    card = await Card.select().where(Card.id == card_id).first()
    assert card["due_at"] == received + timedelta(hours=24)  # overdue already: it arrived 30 h ago
    await move(comments, card_id, "reported")
    back = await move(comments, card_id, "pending")
    assert back["due_stage"] == "first_response" and back["due_at"] == received + timedelta(hours=24)
    history = await stages.history(card_id)
    assert [row["stage"] for row in history] == ["pending", "reported", "pending"]
    # The first visit ended 30 hours after receipt, 6 hours after the 24-hour deadline: late.
    assert history[0]["on_time"] is False and history[0]["left_by"] == "member"
    assert history[2]["left_at"] is None


async def test_a_reply_completes_the_clock_and_moving_back_does_not_start_it_again(comments):
    card_id = await comments.card(column="new")
    replied = await move(comments, card_id, "replied")
    assert replied["due_at"] is None
    clock = await CardClock.select().where(CardClock.card_id == card_id).first()
    assert clock["completed_at"] is not None
    history = await stages.history(card_id)
    assert history[0]["on_time"] is True and history[0]["working_minutes"] is not None
    again = await move(comments, card_id, "pending")
    assert again["due_at"] is None and again["due_stage"] is None


async def test_reopening_a_closed_card_starts_a_new_round_and_is_counted(comments):
    card_id = await comments.card(column="new")
    await move(comments, card_id, "closed")
    reopened = await move(comments, card_id, "pending")
    assert reopened["clock_round"] == 2
    assert reopened["due_stage"] == "first_response"
    assert reopened["due_at"] > datetime.now(UTC) + timedelta(hours=23)  # a fresh 24 hours
    assert await Event.count().where((Event.verb == "card.reopened") & (Event.object_id == card_id)) == 1
    rounds = [row["round"] for row in await CardStage.select(CardStage.round).where(CardStage.card == card_id)]
    assert rounds == [1, 1, 2]


async def test_an_inquiry_stage_clock_starts_when_the_stage_first_starts(inquiries):
    from portal.inquiries import workflow

    received = datetime.now(UTC) - timedelta(days=1)
    health = inquiries.departments["health"]
    card_id = await inquiries.card(column="pending_accept", received_at=received, department=health)
    manager = await inquiries.access("manager")
    await workflow.act(manager, card_id, "accept", {"category": "policy", "urgency": "normal"})
    dispatched = await move(inquiries, card_id, "dispatched", "manager")  # a drag to 已派单 dispatches
    sign_due = dispatched["due_at"]
    assert dispatched["due_stage"] == "sign" and dispatched["stage_started_at"] > received + timedelta(hours=23)
    # 退单 back to 待受理: acceptance was done, but the case must be accepted and dispatched
    # again, so its accept clock runs again from the return; the sign clock keeps its time.
    await workflow.act(manager, card_id, "return", {"reason": "不属于本单位职责"})
    returned = await Card.select().where(Card.id == card_id).first()
    assert returned["due_stage"] == "accept" and returned["due_at"] > datetime.now(UTC)
    clocks = {row["stage"]: row for row in await CardClock.select().where(CardClock.card_id == card_id)}
    assert clocks["accept"]["completed_at"] is None and clocks["accept"]["started_at"] > received + timedelta(hours=23)
    assert clocks["sign"]["due_at"] == sign_due and clocks["sign"]["completed_at"] is not None
    # Dispatched again: the department's sign-for clock starts afresh, not from the first time.
    await workflow.act(manager, card_id, "accept", {"category": "policy", "urgency": "normal"})
    again = await move(inquiries, card_id, "dispatched", "manager")
    assert again["due_stage"] == "sign" and again["stage_started_at"] > dispatched["stage_started_at"]
