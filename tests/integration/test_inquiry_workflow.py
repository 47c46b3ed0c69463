"""The inquiry loop on the server: every action by who may take it, refused for anyone else
and out of turn (409), drags that stand for an action, each stage's clock, 退单 and 重办."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.boards.tables import BoardColumn
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.inquiries import workflow
from portal.inquiries.tables import InquiryDetail, InquiryStep
from portal.notifications.tables import Notification
from portal.sla.tables import CardClock
from tests.conftest import csrf_from, login
from tests.factories import board

PEOPLE = {
    "centre": ("member", "centre", "member"),  # the 12345 centre's staff
    "boss": ("manager", "centre", "manager"),
    "yb": ("liaison", "medins", "member"),  # 医保局's liaison
    "rs": ("liaison", "hrss", "member"),  # 人社局's liaison
    "zj": ("liaison", "housing", "member"),  # a department the case never reaches
    "watcher": ("viewer", "centre", "viewer"),
}


@pytest.fixture
async def world(clean_db):
    return await board("inquiries", PEOPLE)


async def act(world, username, card_id, action, **payload):
    return await workflow.act(await world.access(username), card_id, action, payload)


async def state(card_id: int) -> str:
    row = await Card.select(Card.column).where(Card.id == card_id).first()
    return workflow.state_of(await workflow.column_of(row["column"]))


async def detail(card_id: int) -> dict:
    return await InquiryDetail.select().where(InquiryDetail.card == card_id).first()


async def new_case(world) -> int:
    return await world.card(
        "centre", "pending_accept", title="异地就医报销比例是多少？", body="我在外地住院，医保怎么报销"
    )


async def dispatched(world) -> int:
    card_id = await new_case(world)
    await act(world, "centre", card_id, "accept", category="policy", urgency="紧急")
    await act(
        world,
        "centre",
        card_id,
        "dispatch",
        lead_department=world.departments["medins"],
        assisting_departments=[world.departments["hrss"]],
        instructions="请医保局牵头答复，人社局协办",
    )
    return card_id


async def test_full_loop_across_two_departments(world):
    card_id = await dispatched(world)
    assert await state(card_id) == "dispatched"
    # The lead department's liaison was told at once; the assisting one too; nobody else.
    told = {row["user"] for row in await Notification.select(Notification.user).where(Notification.card_id == card_id)}
    assert world.users["yb"] in told and world.users["rs"] in told and world.users["zj"] not in told
    case = await act(world, "yb", card_id, "sign")
    assert case["state"] == "handling"
    await act(world, "rs", card_id, "opinion", text="异地就医需先备案，人社局无异议")
    await act(world, "yb", card_id, "contact", note="电话联系市民，说明备案流程")
    case = await act(world, "yb", card_id, "submit_answer", answer="备案后按本地比例报销。")
    assert case["state"] == "review"
    case = await act(world, "centre", card_id, "send_back", reason="请补充报销比例")
    assert case["state"] == "handling"
    await act(world, "yb", card_id, "submit_answer", answer="备案后住院报销比例为 80%。")
    case = await act(world, "centre", card_id, "approve")
    assert case["state"] == "answered"
    case = await act(world, "centre", card_id, "follow_up", verdict="不满意", remarks="市民认为比例太低")
    assert case["state"] == "handling" and case["reopen_count"] == 1
    assert (await Card.select(Card.clock_round).where(Card.id == card_id).first())["clock_round"] == 2
    await act(world, "yb", card_id, "submit_answer", answer="已说明政策依据并提供咨询电话。")
    await act(world, "centre", card_id, "approve")
    case = await act(world, "centre", card_id, "follow_up", verdict="satisfied")
    assert case["state"] == "closed" and case["actions"] == []
    actions = [row["action"] for row in await InquiryStep.select(InquiryStep.action).where(InquiryStep.card == card_id)]
    assert actions == [
        "accept",
        "dispatch",
        "sign",
        "opinion",
        "contact",
        "submit_answer",
        "send_back",
        "submit_answer",
        "approve",
        "follow_up",
        "submit_answer",
        "approve",
        "follow_up",
    ]
    row = await detail(card_id)
    assert row["reopen_count"] == 1 and row["verdict"] == "satisfied" and row["urgency"] == "urgent"


@pytest.mark.parametrize(
    ("username", "action", "payload"),
    [
        ("yb", "accept", {"category": "policy", "urgency": "normal"}),  # a liaison does not accept
        ("watcher", "accept", {"category": "policy", "urgency": "normal"}),  # a viewer does nothing
        ("centre", "sign", {}),  # signing is the department's
        ("centre", "approve", {}),  # nothing to approve yet
        ("centre", "dispatch", {"lead_department": 0}),  # not accepted yet (and no such department)
        ("centre", "follow_up", {"verdict": "satisfied"}),
    ],
)
async def test_refused_actions_on_a_new_case_change_nothing(world, username, action, payload):
    card_id = await new_case(world)
    before = await Card.select(Card.version, Card.column).where(Card.id == card_id).first()
    with pytest.raises((Conflict, FormError, NotFound, PermissionDenied)):
        await act(world, username, card_id, action, **payload)
    assert await Card.select(Card.version, Card.column).where(Card.id == card_id).first() == before
    assert not await InquiryStep.exists().where(InquiryStep.card == card_id)


async def test_who_may_do_what_once_dispatched(world):
    card_id = await dispatched(world)
    for username, action, payload in [
        ("rs", "sign", {}),  # the assisting department does not sign
        ("centre", "submit_answer", {"answer": "x"}),  # not signed for yet, and not the centre's
        ("yb", "approve", {}),
    ]:
        with pytest.raises(Conflict):
            await act(world, username, card_id, action, **payload)
    with pytest.raises(NotFound):  # a department the case is not routed to may not even see it
        await act(world, "zj", card_id, "sign")
    case = await workflow.case(await world.access("yb"), card_id)
    assert set(case["actions"]) == {"sign", "return"}
    assert set((await workflow.case(await world.access("rs"), card_id))["actions"]) == {"opinion"}


async def test_return_sends_the_case_back_to_the_centre_with_its_reason(world):
    card_id = await dispatched(world)
    with pytest.raises(FormError):
        await act(world, "yb", card_id, "return", reason="")
    case = await act(world, "yb", card_id, "return", reason="不属于医保局职责，应由人社局办理")
    assert case["state"] == "new"
    step = await InquiryStep.select().where(InquiryStep.action == "return").first()
    assert step["text"].startswith("不属于") and step["department"] == world.departments["medins"]
    # The centre who dispatched it is told; the accept clock runs again from now.
    assert await Notification.exists().where(
        (Notification.user == world.users["centre"]) & (Notification.card_id == card_id)
    )
    card = await Card.select(Card.due_stage, Card.due_at).where(Card.id == card_id).first()
    assert card["due_stage"] == "accept" and card["due_at"] > datetime.now(UTC)


async def test_each_stage_runs_its_own_clock(world):
    card_id = await dispatched(world)
    seen = {}

    async def clock():
        return await Card.select(Card.due_stage, Card.due_at).where(Card.id == card_id).first()

    seen["dispatched"] = await clock()
    await act(world, "yb", card_id, "sign")
    seen["handling"] = await clock()
    await act(world, "yb", card_id, "submit_answer", answer="答复")
    seen["review"] = await clock()
    await act(world, "centre", card_id, "send_back", reason="再核实")
    seen["sent back"] = await clock()
    await act(world, "yb", card_id, "submit_answer", answer="答复二")
    await act(world, "centre", card_id, "approve")
    seen["answered"] = await clock()
    assert [seen[key]["due_stage"] for key in seen] == ["sign", "answer", "review", "answer", "follow_up"]
    assert all(value["due_at"] is not None for value in seen.values())
    # Sent back, the answer clock runs again from the return, not from the first signing.
    assert seen["sent back"]["due_at"] >= seen["handling"]["due_at"]
    stages = {row["stage"] for row in await CardClock.select(CardClock.stage).where(CardClock.card_id == card_id)}
    assert stages == {"accept", "sign", "answer", "review", "follow_up"}
    # Each step that started a stage recorded its deadline in the timeline.
    steps = await workflow.steps(card_id)
    assert all(step["due_at"] is not None for step in steps if step["action"] in ("dispatch", "sign", "approve"))


async def _column(world, key: str) -> int:
    return world.columns[key]


async def move(world, username, card_id, key):
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    access = await world.access(username)
    return await cards.move_card(
        access, card_id, MoveForm(column_id=world.columns[key], after_id=None, version=version)
    )


async def test_a_drag_is_an_allowed_action_or_nothing(world):
    card_id = await dispatched(world)
    with pytest.raises(Conflict):
        await move(world, "yb", card_id, "closed")  # a liaison cannot drag to 办结
    with pytest.raises(Conflict):
        await move(world, "centre", card_id, "handling")  # the centre does not sign for the department
    await move(world, "yb", card_id, "handling")  # dragging to 办理中 is signing for it
    assert await state(card_id) == "handling"
    assert await InquiryStep.exists().where((InquiryStep.card == card_id) & (InquiryStep.action == "sign"))
    with pytest.raises(Conflict):  # no answer written yet: use the button
        await move(world, "yb", card_id, "review")
    await InquiryDetail.update({InquiryDetail.answer: "答复正文"}).where(InquiryDetail.card == card_id)
    await move(world, "yb", card_id, "review")
    assert await state(card_id) == "review"
    with pytest.raises(Conflict):
        await move(world, "yb", card_id, "answered")  # approval is the centre's
    await move(world, "centre", card_id, "answered")
    with pytest.raises(Conflict):  # closing needs the citizen's verdict: the follow-up button
        await move(world, "centre", card_id, "closed")
    assert await state(card_id) == "answered"


async def test_a_new_case_starts_at_the_first_state(world):
    access = await world.access("centre")
    with pytest.raises(Conflict):
        await cards.create_card(access, world.columns["handling"], {"title": "直接办理中？"})
    assert not await Card.exists().where(Card.title == "直接办理中？")


async def test_the_api_takes_the_same_actions(world, client):
    card_id = await new_case(world)
    await login(client, "centre")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/inquiries/{card_id}/accept", json={"category": "policy", "urgency": "特急"})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "new" and "dispatch" in response.json()["actions"]
    response = await client.post(f"/api/v1/inquiries/{card_id}/dispatch", json={"lead_department": 999999})
    assert response.status_code == 422 and "lead_department" in response.json()["errors"]
    response = await client.post(
        f"/api/v1/inquiries/{card_id}/dispatch", json={"lead_department": world.departments["medins"]}
    )
    assert response.status_code == 200 and response.json()["state"] == "dispatched"
    response = await client.post(f"/api/v1/inquiries/{card_id}/approve", json={})
    assert response.status_code == 409 and response.json()["message"]
    response = await client.post(f"/api/v1/inquiries/{card_id}/no_such_action", json={})
    assert response.status_code == 404
    response = await client.get(f"/api/v1/inquiries/{card_id}")
    assert [step["action"] for step in response.json()["steps"]] == ["accept", "dispatch"]


async def test_the_drawer_section_shows_only_allowed_buttons(world, client):
    card_id = await dispatched(world)
    await login(client, "yb")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    page = await client.get(f"/inquiries/{card_id}/workflow")
    assert page.status_code == 200
    assert 'data-action="sign"' in page.text and 'data-action="approve"' not in page.text
    response = await client.post(f"/inquiries/{card_id}/approve", data={})
    assert response.status_code == 409 and "alert-error" in response.text
    response = await client.post(f"/inquiries/{card_id}/sign", data={})
    assert response.status_code == 200 and 'data-state="handling"' in response.text
    columns = {row["id"]: row["key"] for row in await BoardColumn.select(BoardColumn.id, BoardColumn.key)}
    row = await Card.select(Card.column).where(Card.id == card_id).first()
    assert columns[row["column"]] == "handling"


async def test_the_drawer_form_cannot_do_what_only_the_loop_may(world):
    from portal.cards.forms import CardForm

    card_id = await dispatched(world)
    await act(world, "yb", card_id, "sign")
    await act(world, "yb", card_id, "submit_answer", answer="初稿")
    await act(world, "centre", card_id, "approve")

    async def edit(username, **fields):
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        return await cards.update_card(await world.access(username), card_id, CardForm(version=version, fields=fields))

    with pytest.raises(FormError) as refused:  # an approved answer is not rewritten unreviewed
        await edit("yb", answer="悄悄改过的答复")
    assert "answer" in refused.value.errors
    with pytest.raises(FormError) as refused:  # routing a dispatched case is the loop's
        await edit("centre", department=world.departments["hrss"])
    assert "department" in refused.value.errors
    row = await detail(card_id)
    assert row["answer"] == "初稿"
    assert (await Card.select(Card.department).where(Card.id == card_id).first())["department"] == world.departments[
        "medins"
    ]
    await edit("centre", title="异地就医报销比例（已答复）")  # other fields stay editable


async def test_notices_never_carry_a_citizens_number(world):
    card_id = await world.card("centre", "pending_accept", title="市民13812345678咨询医保报销")
    await act(world, "centre", card_id, "accept", category="policy", urgency="normal")
    await act(world, "centre", card_id, "dispatch", lead_department=world.departments["medins"], instructions="")
    titles = [
        row["title"] for row in await Notification.select(Notification.title).where(Notification.card_id == card_id)
    ]
    assert titles and all("13812345678" not in title and "138****5678" in title for title in titles)
