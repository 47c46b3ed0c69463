"""督办: the managers' overdue list by who holds each case, with the figures per department; a
督办 notice recorded on the case and told to the department's liaisons and its leaders (only
those who may see the case), refused to anyone but a board manager, and a bad note writes
nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.events.tables import Event, Outbox
from portal.inquiries import supervision, workflow
from portal.inquiries.tables import InquiryDetail, InquiryStep
from portal.notifications.tables import Notification
from tests.conftest import csrf_from, login
from tests.factories import board

PEOPLE = {
    "centre": ("member", "centre", "member"),
    "boss": ("manager", "centre", "manager"),
    "yb": ("liaison", "medins", "member"),  # 医保局's liaison
    "rs": ("liaison", "hrss", "member"),  # 人社局's liaison
    "ybleader": ("viewer", "medins", "viewer"),  # 医保局's 分管领导, watching the board
    "ybhead": ("manager", "medins", ""),  # 医保局's head, not on the board: may not see it
    "ybadmin": ("admin", "medins", ""),  # an administrator of 医保局: sees every board
}


@pytest.fixture
async def world(clean_db):
    return await board("inquiries", PEOPLE)


async def act(world, username, card_id, action, **payload):
    return await workflow.act(await world.access(username), card_id, action, payload)


async def dispatched(world, title, lead="medins"):
    card_id = await world.card("centre", "pending_accept", title=title)
    await act(world, "centre", card_id, "accept", category="policy", urgency="urgent")
    await act(world, "centre", card_id, "dispatch", lead_department=world.departments[lead])
    return card_id


async def overdue(*card_ids, hours=3):
    await Card.update({Card.due_at: datetime.now(UTC) - timedelta(hours=hours)}).where(Card.id.is_in(list(card_ids)))


async def supervise_steps(card_id):
    return await InquiryStep.select().where((InquiryStep.card == card_id) & (InquiryStep.action == "supervise"))


async def told(card_id):
    rows = await Notification.select(Notification.user, Notification.title).where(Notification.card_id == card_id)
    return {row["user"] for row in rows if row["title"].startswith(("督办", "Supervision"))}


async def api_client(client, username):
    await login(client, username)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    return client


async def test_the_overdue_list_groups_cases_by_who_holds_them(world):
    late_yb = await dispatched(world, "医保局逾期未签收")
    late_rs = await dispatched(world, "人社局逾期办理", lead="hrss")
    await act(world, "rs", late_rs, "sign")
    in_time = await dispatched(world, "医保局未逾期")
    waiting = await world.card("centre", "pending_accept", title="中心逾期未受理")
    await overdue(late_yb, late_rs, waiting)
    context = await supervision.overdue(await get_active_user(world.users["boss"]))
    groups = {group["department"]: [row["id"] for row in group["rows"]] for group in context["groups"]}
    assert groups == {
        world.departments["medins"]: [late_yb],
        world.departments["hrss"]: [late_rs],
        "centre": [waiting],
    }
    assert in_time not in [card for ids in groups.values() for card in ids]
    counts = {row["department"]: row for row in context["counts"]}
    assert counts[world.departments["medins"]]["overdue"] == 1 and counts[world.departments["hrss"]]["overdue"] == 1
    assert context["total"] == 3 and context["centre_overdue"] == 1


async def test_counts_per_department_read_the_steps(world):
    first = await dispatched(world, "督办两次的医保咨询")
    second = await dispatched(world, "重办的医保咨询")
    await act(world, "yb", second, "sign")
    await act(world, "yb", second, "submit_answer", answer="答复")
    await act(world, "centre", second, "approve")
    await act(world, "centre", second, "follow_up", verdict="dissatisfied")
    boss = await world.access("boss")
    await supervision.supervise(boss, first, "请今日内签收")
    await supervision.supervise(boss, first, "再次督办")
    await supervision.supervise(boss, second, "重办请加快")
    # One notice from long ago: counted in all, not in the last 30 days.
    await InquiryStep.update({InquiryStep.created_at: datetime.now(UTC) - timedelta(days=40)}).where(
        (InquiryStep.card == second) & (InquiryStep.action == "supervise")
    )
    counts = await supervision.department_counts()
    assert counts[world.departments["medins"]] == {"supervised": 3, "supervised_recent": 2, "reopened": 1}
    assert world.departments["hrss"] not in counts
    # The overdue page shows them.
    await overdue(first)
    context = await supervision.overdue(await get_active_user(world.users["boss"]))
    row = next(row for row in context["counts"] if row["department"] == world.departments["medins"])
    assert row == {
        "department": world.departments["medins"],
        "overdue": 1,
        "supervised": 3,
        "supervised_recent": 2,
        "reopened": 1,
    }


async def test_the_overdue_page_is_for_managers_only(world, client):
    late = await dispatched(world, "医保局逾期未签收")
    await overdue(late)
    for username in ("centre", "yb", "ybleader"):
        await login(client, username)
        assert (await client.get("/inquiries/overdue")).status_code == 403, username
        await client.post("/logout", data={"_csrf_token": csrf_from((await client.get("/boards")).text)})
    await login(client, "boss")
    page = await client.get("/inquiries/overdue")
    assert page.status_code == 200 and "医保局逾期未签收" in page.text
    assert f"/inquiries/overdue/departments/{world.departments['medins']}/supervise" in page.text


async def test_a_manager_issues_a_notice_recorded_and_told(world, client):
    card_id = await dispatched(world, "医保局逾期未签收")
    await overdue(card_id)
    await login(client, "boss")
    page = await client.get(f"/inquiries/{card_id}/supervision")
    assert page.status_code == 200 and 'data-supervise-count="0"' in page.text and 'name="note"' in page.text
    response = await client.post(
        f"/inquiries/{card_id}/supervise",
        data={"note": "请今日内签收并答复", "_csrf_token": csrf_from(page.text)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    # The section is this one (the loop's catch-all /{action} does not take the route).
    assert 'data-supervise-count="1"' in response.text and "请今日内签收并答复" in response.text
    assert "could not be told" in response.text or "无法" in response.text  # 医保局's head is not on the board
    [step] = await supervise_steps(card_id)
    assert step["department"] == world.departments["medins"] and step["from_state"] == step["to_state"] == "dispatched"
    assert step["actor"] == world.users["boss"] and step["text"] == "请今日内签收并答复"
    assert (await InquiryDetail.select().where(InquiryDetail.card == card_id).first())["supervise_count"] == 1
    # The liaison and the leaders who may see the case are told; the head off the board is not;
    # the other department's liaison neither.
    assert await told(card_id) == {world.users["yb"], world.users["ybleader"], world.users["ybadmin"]}
    event = await Event.select().where(Event.verb == "inquiry.supervised").output(load_json=True).first()
    assert event["object_id"] == card_id and event["payload"]["step"] == step["id"]
    robots = await Outbox.select(Outbox.payload).where(Outbox.effect == "robots").output(load_json=True)
    assert any("请今日内签收并答复" in row["payload"]["text"] for row in robots)
    # The liaison sees the notice in her drawer, with no form to issue one.
    await client.post("/logout", data={"_csrf_token": csrf_from((await client.get("/boards")).text)})
    await login(client, "yb")
    page = await client.get(f"/inquiries/{card_id}/supervision")
    assert 'data-supervise-count="1"' in page.text and "请今日内签收并答复" in page.text
    assert 'name="note"' not in page.text


async def test_the_api_route_is_preferred_to_the_loops_catch_all(world, client):
    card_id = await dispatched(world, "医保局逾期未签收")
    await api_client(client, "boss")
    response = await client.post(f"/api/v1/inquiries/{card_id}/supervise", json={"note": "请加快办理"})
    assert response.status_code == 200, response.text
    assert response.json()["supervise_count"] == 1 and response.json()["told"] == 3
    assert response.json()["not_told"] == 1
    assert len(await supervise_steps(card_id)) == 1
    # The loop's own actions still go to the loop.
    response = await client.post(f"/api/v1/inquiries/{card_id}/no_such_action", json={})
    assert response.status_code == 404


@pytest.mark.parametrize("username", ["centre", "yb", "ybleader"])
async def test_refused_to_anyone_but_a_manager(world, client, username):
    card_id = await dispatched(world, "医保局逾期未签收")
    with pytest.raises(PermissionDenied):
        await supervision.supervise(await world.access(username), card_id, "越权督办")
    await api_client(client, username)
    response = await client.post(f"/api/v1/inquiries/{card_id}/supervise", json={"note": "越权督办"})
    assert response.status_code == 403
    response = await client.post(f"/inquiries/{card_id}/supervise", data={"note": "越权督办"})
    assert response.status_code == 403
    assert await supervise_steps(card_id) == [] and await told(card_id) == set()


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": "催" * 501}, {"note": 5}])
async def test_a_bad_note_is_refused_and_writes_nothing(world, client, body):
    card_id = await dispatched(world, "医保局逾期未签收")
    await api_client(client, "boss")
    before = await Event.count()
    response = await client.post(f"/api/v1/inquiries/{card_id}/supervise", json=body)
    assert response.status_code == 422 and "note" in response.json()["errors"]
    assert await supervise_steps(card_id) == [] and await Event.count() == before
    assert (await InquiryDetail.select().where(InquiryDetail.card == card_id).first())["supervise_count"] == 0


async def test_a_bad_note_in_the_drawer_shows_the_message(world, client):
    card_id = await dispatched(world, "医保局逾期未签收")
    await login(client, "boss")
    page = await client.get(f"/inquiries/{card_id}/supervision")
    response = await client.post(
        f"/inquiries/{card_id}/supervise",
        data={"note": "", "_csrf_token": csrf_from(page.text)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and 'class="field-error"' in response.text
    assert await supervise_steps(card_id) == []


async def test_a_closed_case_is_not_supervised(world):
    card_id = await dispatched(world, "已办结的医保咨询")
    await act(world, "yb", card_id, "sign")
    await act(world, "yb", card_id, "submit_answer", answer="答复")
    await act(world, "centre", card_id, "approve")
    await act(world, "centre", card_id, "follow_up", verdict="satisfied")
    with pytest.raises(Conflict):
        await supervision.supervise(await world.access("boss"), card_id, "办结后督办")
    with pytest.raises(FormError):  # the note is checked before the state
        await supervision.supervise(await world.access("boss"), card_id, "")
    assert await supervise_steps(card_id) == []


async def test_a_department_is_supervised_on_all_its_overdue_cases(world, client):
    first = await dispatched(world, "医保局逾期一")
    second = await dispatched(world, "医保局逾期二")
    other = await dispatched(world, "人社局逾期", lead="hrss")
    await overdue(first, second, other)
    await login(client, "boss")
    page = await client.get("/inquiries/overdue")
    medins = world.departments["medins"]
    response = await client.post(
        f"/inquiries/overdue/departments/{medins}/supervise",
        data={"note": "医保局请集中清理逾期件", "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 200, response.text
    assert len(await supervise_steps(first)) == 1 and len(await supervise_steps(second)) == 1
    assert await supervise_steps(other) == []
    row = re.search(rf'<tr data-department="{medins}">(.*?)</tr>', response.text, re.S).group(1)
    assert re.search(r'data-count="supervised">2<', row) and re.search(r'data-count="supervised_recent">2<', row)
    # One case from the list, with a bad note first.
    response = await client.post(
        f"/inquiries/overdue/{other}/supervise", data={"note": "", "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 422 and await supervise_steps(other) == []
    response = await client.post(
        f"/inquiries/overdue/{other}/supervise", data={"note": "人社局请今日办结", "_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 200 and len(await supervise_steps(other)) == 1
