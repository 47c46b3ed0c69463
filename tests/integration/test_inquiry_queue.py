"""部门待办: a liaison's queue of what is routed to her department — to sign for, in hand, sent
back (with the reason), reopened, and what she assists on until she gives her opinion — and
nothing of any other department's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.inquiries import queue, workflow
from tests.conftest import login
from tests.factories import board

PEOPLE = {
    "centre": ("member", "centre", "member"),
    "boss": ("manager", "centre", "manager"),
    "yb": ("liaison", "medins", "member"),  # 医保局's liaison
    "rs": ("liaison", "hrss", "member"),  # 人社局's liaison
    "zj": ("liaison", "housing", "member"),  # 住建局's liaison
}


@pytest.fixture
async def world(clean_db):
    return await board("inquiries", PEOPLE)


async def act(world, username, card_id, action, **payload):
    return await workflow.act(await world.access(username), card_id, action, payload)


async def dispatched(world, title, lead="medins", assisting=()):
    card_id = await world.card("centre", "pending_accept", title=title)
    await act(world, "centre", card_id, "accept", category="policy", urgency="urgent")
    await act(
        world,
        "centre",
        card_id,
        "dispatch",
        lead_department=world.departments[lead],
        assisting_departments=[world.departments[d] for d in assisting],
    )
    return card_id


@pytest.fixture
async def cases(world):
    """One case in each of 医保局's groups, and one routed to 住建局 only."""
    ids = {}
    ids["to_sign"] = await dispatched(world, "待签收的医保咨询", assisting=("hrss",))
    ids["handling"] = await dispatched(world, "办理中的医保咨询")
    await act(world, "yb", ids["handling"], "sign")
    ids["sent_back"] = await dispatched(world, "被审核退回的医保咨询")
    await act(world, "yb", ids["sent_back"], "sign")
    await act(world, "yb", ids["sent_back"], "submit_answer", answer="初稿")
    await act(world, "centre", ids["sent_back"], "send_back", reason="请补充报销比例")
    ids["returned"] = await dispatched(world, "被退单的医保咨询")
    await act(world, "yb", ids["returned"], "return", reason="不属于医保局职责")
    ids["reopened"] = await dispatched(world, "重办的医保咨询")
    await act(world, "yb", ids["reopened"], "sign")
    await act(world, "yb", ids["reopened"], "submit_answer", answer="答复")
    await act(world, "centre", ids["reopened"], "approve")
    await act(world, "centre", ids["reopened"], "follow_up", verdict="dissatisfied", remarks="不满意")
    ids["housing"] = await dispatched(world, "住建局的咨询", lead="housing")
    return ids


async def groups_for(world, username, department=None):
    user = await get_active_user(world.users[username])
    context = await queue.department_queue(user, department)
    return {key: [row["id"] for row in rows] for key, _label, rows in context["groups"]}, context


async def test_a_liaison_sees_her_departments_cases_by_what_she_must_do(world, cases):
    groups, context = await groups_for(world, "yb")
    assert context["department"] == world.departments["medins"] and not context["choose"]
    assert sorted(groups.pop("sent_back")) == sorted([cases["sent_back"], cases["returned"]])
    assert groups == {
        "reopened": [cases["reopened"]],
        "to_sign": [cases["to_sign"]],
        "handling": [cases["handling"]],
        "assisting": [],
    }
    rows = {row["id"]: row for _key, _label, rows in context["groups"] for row in rows}
    # The reason of each sending back is shown with it, and the deadline of the stage.
    assert rows[cases["sent_back"]]["reason"] == "请补充报销比例"
    assert rows[cases["returned"]]["reason"] == "不属于医保局职责"
    assert rows[cases["to_sign"]]["due_at"] is not None and rows[cases["to_sign"]]["urgency"] == "urgent"
    assert rows[cases["to_sign"]]["link"] == f"/boards/{world.board_id}?card={cases['to_sign']}"


async def test_asking_for_another_department_gives_a_liaison_her_own(world, cases):
    groups, context = await groups_for(world, "yb", world.departments["housing"])
    assert context["department"] == world.departments["medins"]
    assert cases["housing"] not in [card for ids in groups.values() for card in ids]


async def test_an_assisting_department_sees_the_case_until_it_gives_its_opinion(world, cases):
    groups, _context = await groups_for(world, "rs")
    assert groups["assisting"] == [cases["to_sign"]]
    assert sum(len(ids) for ids in groups.values()) == 1  # nothing else of 医保局's
    await act(world, "rs", cases["to_sign"], "opinion", text="人社局无异议")
    groups, _context = await groups_for(world, "rs")
    assert groups["assisting"] == []


async def test_another_departments_liaison_sees_none_of_them(world, cases, client):
    groups, _context = await groups_for(world, "zj")
    assert groups["to_sign"] == [cases["housing"]]
    assert sum(len(ids) for ids in groups.values()) == 1
    await login(client, "zj")
    page = await client.get("/inquiries/queue")
    assert page.status_code == 200
    assert "住建局的咨询" in page.text
    assert "医保咨询" not in page.text


async def test_the_page_shows_each_group_with_its_cases(world, cases, client):
    overdue = datetime.now(UTC) - timedelta(hours=2)
    await Card.update({Card.due_at: overdue}).where(Card.id == cases["handling"])
    await login(client, "yb")
    page = await client.get("/inquiries/queue")
    assert page.status_code == 200
    assert "/inquiries/queue" in page.text  # the nav link (部门待办)
    sections = dict(re.findall(r'data-group="(\w+)">(.*?)</section>', page.text, re.S))
    assert "待签收的医保咨询" in sections["to_sign"] and f"?card={cases['to_sign']}" in sections["to_sign"]
    assert "办理中的医保咨询" in sections["handling"]
    assert "请补充报销比例" in sections["sent_back"] and "不属于医保局职责" in sections["sent_back"]
    assert "重办的医保咨询" in sections["reopened"]
    # The overdue case's due time is marked (red); the others are not.
    row = re.search(rf'data-card="{cases["handling"]}">(.*?)</tr>', sections["handling"], re.S).group(1)
    assert 'class="due overdue"' in row
    row = re.search(rf'data-card="{cases["to_sign"]}">(.*?)</tr>', sections["to_sign"], re.S).group(1)
    assert "overdue" not in row


async def test_the_centre_chooses_a_department(world, cases, client):
    groups, context = await groups_for(world, "centre")
    assert context["choose"] and context["department"] is None and not any(groups.values())
    groups, _context = await groups_for(world, "centre", world.departments["medins"])
    assert groups["to_sign"] == [cases["to_sign"]]
    await login(client, "centre")
    page = await client.get(f"/inquiries/queue?department={world.departments['housing']}")
    assert page.status_code == 200 and "住建局的咨询" in page.text and "医保咨询" not in page.text
    assert (await client.get("/inquiries/queue?department=abc")).status_code == 200  # no choice made
