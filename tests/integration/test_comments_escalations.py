"""上报 as a real escalation: reporting a comment moves it to 已上报 without touching its
first-reply clock, tells the target, lists it on /escalations with its own response clock,
and the target's instruction (批示) comes back onto the card."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.accounts.tables import User
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.comments.tables import Escalation
from portal.events.tables import Event
from portal.notifications.tables import Notification
from portal.sla import services as sla
from portal.sla.tables import CardClock
from tests import factories
from tests.conftest import csrf_from, login

TEXT = "医保局门口排队三小时没人管，打算明天带人去市政府讨说法"


async def _as(client, username: str) -> str:
    client.cookies.clear()
    await login(client, username)
    return csrf_from((await client.get("/boards")).text)


async def _post(client, token: str, url: str, data: dict):
    return await client.post(url, data=data, headers={"HX-Request": "true", "x-csrftoken": token})


async def test_escalating_moves_to_reported_keeps_the_clock_and_reaches_the_leader(clean_db, client):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new", title="排队三小时", body=TEXT, platform="weibo")
    before = await Card.select(Card.due_at, Card.column).where(Card.id == card_id).first()
    assert before["due_at"] is not None

    token = await _as(client, "member")
    started = datetime.now(UTC)
    response = await _post(
        client,
        token,
        f"/comments/{card_id}/escalations",
        {"target": "leader", "target_user": world.users["viewer"], "risk": "major", "reason": "可能引发聚集"},
    )
    finished = datetime.now(UTC)
    assert response.status_code == 200, response.text
    assert "可能引发聚集" in response.text  # the drawer section lists it at once

    after = await Card.select(Card.column, Card.version).where(Card.id == card_id).first()
    assert after["column"] == world.columns["reported"]
    # The 24-hour first reply still counts from receipt: kept, not completed, not restarted
    # (已上报 is not a stage; back in 待处理 the card shows the same due time).
    clock = await CardClock.select().where(CardClock.card_id == card_id).first()
    assert clock["due_at"] == before["due_at"] and clock["completed_at"] is None
    await cards.move_card(
        await world.access("member"), card_id, MoveForm(world.columns["pending"], None, after["version"])
    )
    back = await Card.select(Card.due_at).where(Card.id == card_id).first()
    assert back["due_at"] == before["due_at"]

    escalation = await Escalation.select().where(Escalation.card == card_id).first()
    calendar = await sla.get_calendar()
    # Its own clock: a major risk within 2 working hours.
    assert (
        calendar.due(started, 2, "working_hours") <= escalation["due_at"] <= calendar.due(finished, 2, "working_hours")
    )
    verbs = [row["verb"] for row in await Event.select(Event.verb).where(Event.object_id == card_id)]
    assert "comment.escalated" in verbs and "card.moved" in verbs

    bell = await Notification.select().where(Notification.user == world.users["viewer"]).first()
    assert bell["kind"] == "escalation" and "排队三小时" in bell["title"] and bell["link"] == "/escalations"

    await _as(client, "viewer")
    page = await client.get("/escalations")
    assert page.status_code == 200
    assert TEXT in page.text and "可能引发聚集" in page.text
    assert escalation["due_at"].astimezone(calendar.timezone).strftime("%Y-%m-%d %H:%M") in page.text


async def test_the_instruction_comes_back_onto_the_card(clean_db, client):
    world = await factories.board("comments")
    card_id = await world.card(
        "member", column="pending", title="公积金提取", body="公积金提取被拒三次", assignee=world.users["member"]
    )
    token = await _as(client, "manager")
    await _post(
        client,
        token,
        f"/comments/{card_id}/escalations",
        {"target": "leader", "target_user": world.users["viewer"], "risk": "serious", "reason": "多次投诉"},
    )
    escalation_id = (await Escalation.select(Escalation.id).where(Escalation.card == card_id).first())["id"]

    token = await _as(client, "viewer")  # the leader it was reported to
    response = await _post(
        client, token, f"/escalations/{escalation_id}/instruct", {"instruction": "请公积金中心今日回复"}
    )
    assert response.status_code == 200, response.text
    assert "请公积金中心今日回复" in response.text

    await _as(client, "member")
    section = await client.get(f"/comments/{card_id}/escalations", headers={"HX-Request": "true"})
    assert "请公积金中心今日回复" in section.text
    told = await Notification.select().where(
        (Notification.user == world.users["member"]) & (Notification.kind == "escalation")
    )
    assert told and told[0]["body"] == "请公积金中心今日回复"
    assert await Event.exists().where((Event.verb == "escalation.instructed") & (Event.object_id == card_id))

    # The member may see the card but is neither the target nor a manager: refused.
    token = csrf_from((await client.get("/boards")).text)
    response = await _post(client, token, f"/escalations/{escalation_id}/close", {})
    assert response.status_code == 403
    # The leader closes it; it stays listed, closed.
    token = await _as(client, "viewer")
    assert (await _post(client, token, f"/escalations/{escalation_id}/close", {})).status_code == 200
    row = await Escalation.select(Escalation.status).where(Escalation.id == escalation_id).first()
    assert row["status"] == "closed"


async def test_reporting_to_cac_tells_its_people_and_the_administrators(clean_db, client):
    world = await factories.board("comments")
    cac = await factories.user("cac_duty", "member", "cac")
    card_id = await world.card("member", column="new", title="谣言", body="网传地铁停运")
    token = await _as(client, "member")
    response = await _post(
        client, token, f"/comments/{card_id}/escalations", {"target": "cac", "risk": "general", "reason": "疑似谣言"}
    )
    assert response.status_code == 200
    told = {row["user"] for row in await Notification.select(Notification.user)}
    assert told == {cac, world.users["admin"]}
    await _as(client, "cac_duty")  # not a member of the board: sees the report, not the board
    assert "网传地铁停运" in (await client.get("/escalations")).text
    assert (await client.get(f"/boards/{world.board_id}")).status_code == 404


async def test_bad_input_changes_nothing(clean_db, client):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new", title="一条")
    token = await _as(client, "member")
    response = await _post(
        client, token, f"/comments/{card_id}/escalations", {"target": "leader", "risk": "major", "reason": "x"}
    )
    assert response.status_code == 422
    response = await _post(
        client,
        token,
        f"/comments/{card_id}/escalations",
        # a member is not a leader
        {"target": "leader", "target_user": world.users["member"], "risk": "major", "reason": "x"},
    )
    assert response.status_code == 422
    assert not await Escalation.exists().where(Escalation.card == card_id)
    assert (await Card.select(Card.column).where(Card.id == card_id).first())["column"] == world.columns["new"]


async def test_a_member_of_another_board_cannot_see_it(clean_db, client):
    world = await factories.board("comments")
    other = await world.board("comments", {"stranger": ("member", "publicity", "member")})
    assert other.users["stranger"]
    card_id = await world.card("member", column="new", title="只在本看板", body="只在本看板的留言")
    token = await _as(client, "manager")
    await _post(
        client,
        token,
        f"/comments/{card_id}/escalations",
        {"target": "department", "target_department": world.departments["health"], "risk": "general", "reason": "转"},
    )
    escalation_id = (await Escalation.select(Escalation.id).where(Escalation.card == card_id).first())["id"]
    token = await _as(client, "stranger")
    assert (await client.get(f"/comments/{card_id}/escalations", headers={"HX-Request": "true"})).status_code == 404
    response = await _post(client, token, f"/escalations/{escalation_id}/instruct", {"instruction": "越权"})
    assert response.status_code == 404
    assert "只在本看板的留言" not in (await client.get("/escalations")).text
    # The health department's liaison it was reported to sees and answers it.
    token = await _as(client, "liaison")
    assert "只在本看板的留言" in (await client.get("/escalations")).text
    response = await _post(client, token, f"/escalations/{escalation_id}/instruct", {"instruction": "已安排回访"})
    assert response.status_code == 200
    assert (await User.select(User.id).where(User.username == "liaison").first())["id"] == world.users["liaison"]
