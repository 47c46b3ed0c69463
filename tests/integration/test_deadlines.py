"""Cards get their due time when they enter a stage, from the policies and the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.sla import services as sla
from portal.sla.calendar import calendar_from_days, chinese_calendar_data
from tests import factories

ADMIN = {"admin": ("admin", None, "")}  # admins work every board without membership


@pytest.fixture
async def comments(clean_db):
    sla.invalidate()
    return await factories.board("comments", people=ADMIN)


@pytest.fixture
async def inquiries(clean_db):
    sla.invalidate()
    return await factories.board("inquiries", people=ADMIN)


async def test_a_new_comment_is_due_24_natural_hours_after_it_arrived(comments):
    access = await comments.access("admin")
    received = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    change = await cards.create_card(
        access, comments.columns["new"], {"title": "地铁站扶梯停运", "received_at": received}
    )
    card = await Card.select(Card.due_at, Card.due_stage).where(Card.id == change.card_id).first()
    assert card == {"due_at": received + timedelta(hours=24), "due_stage": "first_response"}


async def test_replying_stops_the_clock(comments):
    access = await comments.access("admin")
    card_id = await comments.card("admin", column="new")
    card = await Card.select(Card.id, Card.version, Card.due_at).where(Card.id == card_id).first()
    assert card["due_at"] is not None  # the clock was running
    await cards.move_card(
        access, card["id"], MoveForm(column_id=comments.columns["closed"], after_id=None, version=card["version"])
    )
    row = await Card.select(Card.due_at, Card.due_stage).where(Card.id == card["id"]).first()
    assert row == {"due_at": None, "due_stage": None}


async def test_each_inquiry_stage_starts_its_own_clock_when_the_case_reaches_it(inquiries):
    from portal.inquiries import workflow

    access = await inquiries.access("admin")
    health = await factories.department("health")
    card_id = await inquiries.card("admin", column="pending_accept", title="社保卡补办", department=health)
    await workflow.act(access, card_id, "accept", {"category": "policy", "urgency": "normal"})
    holidays, workdays, years = chinese_calendar_data()
    calendar = calendar_from_days("Asia/Shanghai", holidays, workdays, years)
    before = datetime.now(UTC)
    for column, stage, amount, mode in (
        ("dispatched", "sign", 4, "working_hours"),  # a drag to 已派单 dispatches to the card's department
        ("handling", "answer", 5, "working_days"),  # a drag to 办理中 signs for it (a manager may)
    ):
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        await cards.move_card(
            access, card_id, MoveForm(column_id=inquiries.columns[column], after_id=None, version=version)
        )
        row = await Card.select(Card.due_at, Card.due_stage, Card.stage_started_at).where(Card.id == card_id).first()
        assert row["due_stage"] == stage and row["stage_started_at"] >= before
        assert row["due_at"] == calendar.due(row["stage_started_at"], amount, mode)


async def test_complex_inquiries_get_ten_working_days(clean_db):
    policies = await sla.list_policies()
    from portal.sla.policies import pick_policy

    assert pick_policy(policies, "inquiries", "answer", "normal", "complex")["amount"] == 10
    assert pick_policy(policies, "inquiries", "answer", "normal", "help")["amount"] == 5


async def test_overdue_and_due_today_filters(comments, client):
    from tests.conftest import login

    board = comments.board_id
    ids = [await comments.card("admin", column="new", title=title) for title in ("逾期的", "还早的")]
    now = datetime.now(UTC)
    await Card.update({Card.due_at: now - timedelta(hours=1)}).where(Card.id == ids[0])
    await Card.update({Card.due_at: now + timedelta(days=30)}).where(Card.id == ids[1])
    await login(client, "admin", factories.PASSWORD)
    overdue = (await client.get(f"/boards/{board}?due=overdue")).text
    assert f'id="card-{ids[0]}"' in overdue and f'id="card-{ids[1]}"' not in overdue
    assert 'class="due"' in overdue


async def test_an_inquiry_received_before_national_day_is_due_on_the_right_working_day(inquiries):
    access = await inquiries.access("admin")
    received = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 2026-10-01 00:00 in Shanghai is a holiday
    change = await cards.create_card(
        access,
        inquiries.columns["pending_accept"],
        {"title": "国庆前来电：社保卡补办进度", "received_at": received},
    )
    row = await Card.select(Card.due_at, Card.due_stage).where(Card.id == change.card_id).first()
    # Accept within 1 working day from the next day: 10-01 … 10-07 are National Day, 10-08 is the first workday.
    assert row["due_stage"] == "accept"
    assert row["due_at"] == datetime(2026, 10, 8, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


async def test_a_deadline_in_a_year_without_holiday_data_says_so(comments, client):
    from tests.conftest import login

    card = {"id": await comments.card("admin", column="new")}
    await Card.update({Card.due_at: datetime(2031, 3, 3, 9, 0, tzinfo=UTC), Card.due_stage: "first_response"}).where(
        Card.id == card["id"]
    )
    await login(client, "admin", factories.PASSWORD)
    html = (await client.get(f"/cards/{card['id']}", headers={"HX-Request": "true"})).text
    assert "2031" in html and "节假日" in html


async def test_the_drawer_says_what_a_deadline_action_did(comments):
    from tests.integration.test_cards import client_for

    card_id = await comments.card("admin", column="new", title="等待补充材料")
    client = await client_for("admin")
    try:
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        paused = await client.post(
            f"/cards/{card_id}/deadline",
            data={"action": "pause", "pause_reason": "等待群众补充材料", "version": version},
        )
        assert paused.status_code == 200 and "已挂起：等待群众补充材料" in paused.text
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        resumed = await client.post(f"/cards/{card_id}/deadline", data={"action": "resume", "version": version})
        assert resumed.status_code == 200 and "已恢复计时。" in resumed.text
    finally:
        await client.__aexit__(None, None, None)
