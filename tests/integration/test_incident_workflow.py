"""The incident's course on the server (监测 → 研判 → 处置 → 回应 → 平息): opening one from an
alert with its comments, the statement approved before it is published (by a manager, the
version read), instructions, the review required to close, drags, clocks per level, and the
same rules through the JSON API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.incidents import services, workflow
from portal.incidents.tables import IncidentComment, IncidentStatement
from portal.notifications.tables import Notification
from tests.conftest import csrf_from, login
from tests.factories import board

PEOPLE = {
    "duty": ("member", "publicity", "member"),  # 值班员
    "chief": ("manager", "publicity", "manager"),  # 网信办 manager
    "leader": ("viewer", "publicity", "viewer"),
    "outsider": ("member", "health", ""),
}


@pytest.fixture
async def world(clean_db):
    incidents = await board("incidents", PEOPLE)
    incidents.comments = await incidents.board("comments")
    return incidents


async def user(world, username):
    return await get_active_user(world.users[username])


async def opened(world, level="orange", comments=()) -> int:
    return await services.open_incident(
        await user(world, "duty"),
        title="暴雨后地铁2号线停运传言",
        level=level,
        topic_id=7,
        comment_card_ids=list(comments),
        alert_id=3,
    )


async def act(world, username, card_id, action, **payload):
    return await workflow.act(await world.access(username), card_id, action, payload)


async def state(card_id: int) -> str:
    row = await Card.select(Card.column).where(Card.id == card_id).first()
    return workflow.state_of(await cards.column_any(row["column"]))


async def test_open_incident_links_its_comments_on_the_incidents_board(world):
    first = await world.comments.card("duty", title="地铁2号线是不是停运了？")
    second = await world.comments.card("duty", title="听说2号线全线停了")
    card_id = await opened(world, comments=[first, second, first])
    card = await cards.get_card(await world.access("duty"), card_id)
    assert card["board"] == world.board_id and await state(card_id) == "monitoring"
    assert (card["level"], card["topic_id"], card["alert_id"], card["priority"]) == ("orange", 7, 3, "high")
    links = await IncidentComment.select(IncidentComment.comment).where(IncidentComment.incident == card_id)
    assert sorted(row["comment"] for row in links) == sorted([first, second])
    shown = await services.linked_comments(await world.access("duty"), card_id)
    assert {tile["title"] for tile in shown} == {"地铁2号线是不是停运了？", "听说2号线全线停了"}
    assert await services.incidents_for_alert(3) == [card_id]
    timeline = await services.timeline(card_id, world.board_id)
    assert timeline[-1]["payload"]["action"] == "open" and timeline[-1]["payload"]["comments"] == [first, second]


async def test_open_incident_refuses_bad_input_and_writes_nothing(world):
    with pytest.raises(FormError) as error:
        await opened(world, level="purple")
    assert "level" in error.value.errors
    with pytest.raises(FormError) as error:
        await opened(world, comments=[999999])
    assert "comment_card_ids" in error.value.errors
    incident_card = await opened(world)
    with pytest.raises(FormError):  # an incident card is not a comment
        await opened(world, comments=[incident_card])
    assert await Card.count().where(Card.board == world.board_id) == 1
    # Someone with no incidents board to work on (a viewer, an outsider) cannot open one.
    for username in ("leader", "outsider"):
        with pytest.raises(Conflict):
            await services.open_incident(
                await user(world, username), title="x", level="red", topic_id=None, comment_card_ids=[], alert_id=None
            )


@pytest.mark.parametrize(("level", "hours"), [("red", 1), ("orange", 1), ("yellow", 4), ("blue", 24)])
async def test_the_first_response_clock_runs_by_level(world, level, hours):
    card_id = await opened(world, level=level)
    card = await Card.select(Card.received_at, Card.due_at, Card.due_stage).where(Card.id == card_id).first()
    assert card["due_stage"] == "first_response"
    assert card["due_at"] - card["received_at"] == timedelta(hours=hours)


async def clock(card_id: int) -> dict:
    return await Card.select(Card.due_stage, Card.due_at, Card.received_at).where(Card.id == card_id).first()


async def test_a_higher_level_shortens_the_running_clock(world):
    card_id = await opened(world, level="blue")
    assert (await clock(card_id))["due_at"] - (await clock(card_id))["received_at"] == timedelta(hours=24)
    await act(world, "duty", card_id, "assess", level="red")
    row = await clock(card_id)
    assert row["due_stage"] == "first_response" and row["due_at"] - row["received_at"] == timedelta(hours=1)


async def test_the_statement_review_is_due_on_its_own_time_beside_the_first_response(world, client):
    card_id = await opened(world, level="yellow")
    first = await clock(card_id)
    await act(world, "duty", card_id, "assess", level="yellow")
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    result = await act(world, "duty", card_id, "submit-statement", text="口径")
    # The card's clock stays the first response; the decision is due 2 hours after submission.
    assert (await clock(card_id))["due_stage"] == "first_response"
    assert (await clock(card_id))["due_at"] == first["due_at"]
    submitted = (await workflow.versions(card_id))[0]["submitted_at"]
    assert datetime.fromisoformat(result["review_due_at"]) == submitted + timedelta(hours=2)
    await login(client, "chief")
    page = await client.get(f"/incidents/{card_id}/workflow")
    assert page.text.count('class="statement-review-due"') == 1 and page.text.count('data-review-due="') == 1
    with pytest.raises(Conflict):  # nothing calms down with a statement awaiting review
        await act(world, "duty", card_id, "calm")
    result = await act(world, "chief", card_id, "return-statement", version=1, reason="补充")
    assert result["review_due_at"] is None
    back = await clock(card_id)
    assert (back["due_stage"], back["due_at"]) == ("first_response", first["due_at"])


async def _under_review(world, level="blue") -> int:
    card_id = await opened(world, level=level)
    await act(world, "duty", card_id, "assess", level=level)
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    return card_id


async def _version(card_id: int) -> int:
    return (await Card.select(Card.version).where(Card.id == card_id).first())["version"]


async def test_a_level_raised_during_the_review_keeps_the_first_response_at_the_new_level(world):
    card_id = await _under_review(world, "blue")
    await act(world, "duty", card_id, "submit-statement", text="口径")
    result = await act(world, "duty", card_id, "assess", level="orange")
    row = await clock(card_id)
    assert row["due_stage"] == "first_response" and row["due_at"] - row["received_at"] == timedelta(hours=1)
    submitted = (await workflow.versions(card_id))[0]["submitted_at"]
    assert datetime.fromisoformat(result["review_due_at"]) == submitted + timedelta(hours=1)  # 橙: 1 hour
    await act(world, "chief", card_id, "approve-statement", version=1)
    row = await clock(card_id)
    assert row["due_stage"] == "first_response" and row["due_at"] - row["received_at"] == timedelta(hours=1)


async def test_an_approved_extension_survives_a_statement_round(world):
    card_id = await opened(world, level="blue")
    until = (await clock(card_id))["due_at"] + timedelta(hours=48)
    await cards.request_extension(await world.access("duty"), card_id, await _version(card_id), until, "等待核实")
    await cards.decide_extension(await world.access("chief"), card_id, await _version(card_id), True)
    assert (await clock(card_id))["due_at"] == until
    await act(world, "duty", card_id, "assess", level="blue")
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    await act(world, "duty", card_id, "submit-statement", text="口径")
    assert (await clock(card_id))["due_at"] == until
    await act(world, "chief", card_id, "return-statement", version=1, reason="补充")
    row = await clock(card_id)
    assert (row["due_stage"], row["due_at"]) == ("first_response", until)


async def test_a_pause_survives_a_statement_round(world):
    card_id = await _under_review(world, "blue")
    await cards.pause_card(await world.access("duty"), card_id, await _version(card_id), "等待上级通报")
    paused = await Card.select(Card.paused_at, Card.due_at).where(Card.id == card_id).first()
    await act(world, "duty", card_id, "submit-statement", text="口径")
    await act(world, "chief", card_id, "return-statement", version=1, reason="补充")
    row = await Card.select(Card.paused_at, Card.due_at, Card.due_stage).where(Card.id == card_id).first()
    assert (row["due_stage"], row["paused_at"], row["due_at"]) == (
        "first_response",
        paused["paused_at"],
        paused["due_at"],
    )


async def test_a_drag_within_a_state_keeps_the_statement_awaiting_review(world):
    from portal.boards.tables import BoardColumn

    rows = await BoardColumn.insert(
        BoardColumn(board=world.board_id, key="handling2", name="处置二", meaning="working", position=25)
    )
    card_id = await _under_review(world, "blue")
    first = await clock(card_id)
    await act(world, "duty", card_id, "submit-statement", text="口径")
    form = MoveForm(column_id=rows[0]["id"], after_id=None, version=await _version(card_id))
    await cards.move_card(await world.access("duty"), card_id, form)
    detail = await workflow.incident(await world.access("duty"), card_id)
    assert detail["pending_version"] == 1 and detail["review_due_at"] is not None
    assert (await clock(card_id))["due_at"] == first["due_at"]


async def test_full_course_statement_approved_before_it_is_published(world):
    comment = await world.comments.card("duty", title="2号线停运了吗")
    card_id = await opened(world, comments=[comment])
    result = await act(
        world,
        "duty",
        card_id,
        "assess",
        level="red",
        assessment="传言扩散快，涉及交通",
        responsible=[world.users["chief"]],
    )
    assert result["state"] == "assessing" and result["level"] == "red"
    assert (await Card.select(Card.priority).where(Card.id == card_id).first())["priority"] == "urgent"
    await act(world, "duty", card_id, "respond-plan", plan="联系地铁集团核实，准备辟谣口径")
    assert await state(card_id) == "handling"
    # Nothing approved yet: publishing is refused, nothing written.
    with pytest.raises(Conflict):
        await act(world, "duty", card_id, "publish-statement", version=1)
    await act(world, "duty", card_id, "submit-statement", text="经核实，地铁2号线运营正常。")
    told = {row["user"] for row in await Notification.select(Notification.user).where(Notification.card_id == card_id)}
    assert world.users["chief"] in told
    # A member cannot approve; a second submission waits for the decision.
    with pytest.raises(Conflict):
        await act(world, "duty", card_id, "approve-statement", version=1)
    with pytest.raises(Conflict):
        await act(world, "duty", card_id, "submit-statement", text="另一版")
    await act(world, "chief", card_id, "return-statement", version=1, reason="补充核实时间")
    await act(world, "duty", card_id, "submit-statement", text="经核实，截至18时地铁2号线运营正常。")
    # The version decided is the one read: approving version 1 (returned) is refused.
    with pytest.raises(Conflict):
        await act(world, "chief", card_id, "approve-statement", version=1)
    await act(world, "chief", card_id, "approve-statement", version=2)
    await act(world, "chief", card_id, "instruct", text="请持续关注，及时发布权威信息")
    with pytest.raises(Conflict):  # publishing names the approved version
        await act(world, "duty", card_id, "publish-statement", version=1)
    result = await act(world, "duty", card_id, "publish-statement", version=2)
    assert result["state"] == "responding" and result["published_version"] == 2
    versions = (
        await IncidentStatement.select().where(IncidentStatement.card == card_id).order_by(IncidentStatement.version)
    )
    assert [(v["status"], v["published_at"] is not None) for v in versions] == [("returned", False), ("approved", True)]
    assert versions[1]["text"] == "经核实，截至18时地铁2号线运营正常。"
    # Publishing completed the first-response clock.
    assert (await Card.select(Card.due_stage).where(Card.id == card_id).first())["due_stage"] is None
    await act(world, "duty", card_id, "calm")
    assert await state(card_id) == "calmed"
    # Closing needs the review.
    with pytest.raises(Conflict):
        await act(world, "duty", card_id, "close")
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    with pytest.raises(Conflict):
        await cards.archive_card(await world.access("duty"), card_id, version)
    await act(world, "duty", card_id, "review", text="口径发布及时；核实环节可提前")
    assert (await act(world, "duty", card_id, "close"))["archived"] is True
    assert (await Card.select(Card.archived).where(Card.id == card_id).first())["archived"] is True
    actions = [
        event["payload"].get("action")
        for event in await services.timeline(card_id, world.board_id)
        if event["verb"] == "incident.action"
    ]
    assert actions == [
        "open",
        "assess",
        "respond-plan",
        "submit-statement",
        "return-statement",
        "submit-statement",
        "approve-statement",
        "instruct",
        "publish-statement",
        "calm",
        "review",
        "close",
    ]


async def test_refusals_write_nothing_and_viewers_get_403(world):
    card_id = await opened(world)
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    with pytest.raises(Conflict):  # not in 监测
        await act(world, "duty", card_id, "calm")
    with pytest.raises(Conflict):  # a member gives no instruction (managers and leaders do)
        await act(world, "duty", card_id, "instruct", text="请处理")
    with pytest.raises(FormError) as error:
        await act(world, "duty", card_id, "assess", level="green")
    assert "level" in error.value.errors
    with pytest.raises(PermissionDenied):
        await act(world, "leader", card_id, "assess", level="red")
    with pytest.raises(NotFound):
        await act(world, "duty", card_id, "no-such-action")
    assert (await Card.select(Card.version).where(Card.id == card_id).first())["version"] == version
    assert await state(card_id) == "monitoring"


async def test_a_drafter_approves_her_own_statement_only_when_the_board_has_no_other_manager(world, client):
    from portal.boards.tables import BoardMember
    from tests.factories import user as make_user

    deputy = world.users["deputy"] = await make_user("deputy", "manager", "publicity", "副主任")
    await BoardMember.insert(BoardMember(board=world.board_id, user=deputy, role="manager"))
    card_id = await opened(world)
    await act(world, "chief", card_id, "assess", level="orange")
    await act(world, "chief", card_id, "respond-plan", plan="核实")
    await act(world, "chief", card_id, "submit-statement", text="经核实，地铁2号线运营正常。")
    with pytest.raises(Conflict) as error:
        await act(world, "chief", card_id, "approve-statement", version=1)
    assert "another manager" in error.value.message or "另一位" in error.value.message
    assert "approve-statement" not in (await workflow.incident(await world.access("chief"), card_id))["actions"]
    # Through the drawer: no button for the drafter, and the same refusal if posted anyway.
    await login(client, "chief")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    section = await client.get(f"/incidents/{card_id}/workflow")
    assert 'data-action="approve-statement"' not in section.text and 'data-action="return-statement"' in section.text
    refused = await client.post(f"/incidents/{card_id}/approve-statement", data={"version": "1"})
    assert refused.status_code == 409 and "alert-error" in refused.text
    pending = await IncidentStatement.select(IncidentStatement.status).where(IncidentStatement.card == card_id)
    assert [row["status"] for row in pending] == ["submitted"]
    # The other manager approves it; the drafter publishes.
    await act(world, "deputy", card_id, "approve-statement", version=1)
    await act(world, "chief", card_id, "publish-statement", version=1)
    # Alone on the board, a manager may approve her own draft rather than block the response.
    await BoardMember.delete().where((BoardMember.board == world.board_id) & (BoardMember.user == deputy))
    await act(world, "chief", card_id, "submit-statement", text="补充：2号线已恢复运营。")
    result = await act(world, "chief", card_id, "approve-statement", version=2)
    assert result["approved_version"] == 2


async def test_a_leader_gives_an_instruction_and_nothing_else(world, client):
    card_id = await opened(world)
    leader = await world.access("leader")
    assert [a.name for a in workflow.allowed(leader, await cards.get_card(leader, card_id), "monitoring")] == [
        "instruct"
    ]
    result = await act(world, "leader", card_id, "instruct", text="请网信办牵头，1小时内发布权威信息")
    assert result["instruction"] == "请网信办牵头，1小时内发布权威信息"
    with pytest.raises(PermissionDenied):
        await act(world, "leader", card_id, "link-comments", comment_card_ids=[])
    await login(client, "leader")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    section = await client.get(f"/incidents/{card_id}/workflow")
    assert 'summary data-action="instruct"' in section.text and 'data-action="assess"' not in section.text
    response = await client.post(f"/api/v1/incidents/{card_id}/instruct", json={"text": "注意核实后再发布"})
    assert response.status_code == 200 and response.json()["instruction"] == "注意核实后再发布"
    assert (await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "red"})).status_code == 403
    timeline = await services.timeline(card_id, world.board_id)
    instructions = [e for e in timeline if e["verb"] == "incident.action" and e["payload"]["action"] == "instruct"]
    assert [e["payload"]["text"] for e in instructions] == ["请网信办牵头，1小时内发布权威信息", "注意核实后再发布"]


async def test_drags_are_actions_or_a_409_naming_the_button(world):
    card_id = await opened(world)
    access = await world.access("duty")

    async def drag(column):
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        return await cards.move_card(
            access, card_id, MoveForm(column_id=world.columns[column], after_id=None, version=version)
        )

    await drag("assessing")  # 研判: the assessment with what the card holds
    assert await state(card_id) == "assessing"
    with pytest.raises(Conflict) as error:
        await drag("handling")  # no plan written yet
    assert "处置方案" in error.value.message or "Plan the response" in error.value.message
    with pytest.raises(Conflict):
        await drag("calmed")  # 研判 → 平息 is no step
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    with pytest.raises(Conflict) as error:
        await drag("responding")  # nothing approved to publish
    assert "发布回应" in error.value.message or "Publish the statement" in error.value.message
    await act(world, "duty", card_id, "submit-statement", text="口径")
    await act(world, "chief", card_id, "approve-statement", version=1)
    await drag("responding")
    assert await state(card_id) == "responding"
    detail = await workflow.incident(access, card_id)
    assert detail["published_version"] == 1
    await drag("calmed")
    assert await state(card_id) == "calmed"
    with pytest.raises(Conflict):
        await drag("handling")  # no way back


async def test_the_api_speaks_the_same_rules(world, client):
    card_id = await opened(world)
    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "橙", "assessment": "扩散中"})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "assessing" and response.json()["level"] == "orange"
    response = await client.post(f"/api/v1/incidents/{card_id}/submit-statement", json={"text": "口径"})
    assert response.status_code == 409  # a statement follows the handling plan
    response = await client.post(f"/api/v1/incidents/{card_id}/respond-plan", json={"plan": "核实"})
    assert response.status_code == 200 and response.json()["state"] == "handling"
    response = await client.post(f"/api/v1/incidents/{card_id}/submit-statement", json={"text": ""})
    assert response.status_code == 422 and "text" in response.json()["errors"]
    response = await client.post(f"/api/v1/incidents/{card_id}/submit-statement", json={"text": "口径一"})
    assert response.status_code == 200 and response.json()["pending_version"] == 1
    response = await client.post(f"/api/v1/incidents/{card_id}/approve-statement", json={"version": 1})
    assert response.status_code == 409 and response.json()["message"]
    response = await client.post(f"/api/v1/incidents/{card_id}/publish-statement", json={})
    assert response.status_code == 422 and "version" in response.json()["errors"]
    response = await client.post(f"/api/v1/incidents/{card_id}/publish-statement", json={"version": 1})
    assert response.status_code == 409
    response = await client.get(f"/api/v1/incidents/{card_id}")
    body = response.json()
    assert body["statements"][0]["status"] == "submitted" and "approve-statement" not in body["actions"]
    assert [entry["payload"].get("action") for entry in body["timeline"] if entry["verb"] == "incident.action"] == [
        "open",
        "assess",
        "respond-plan",
        "submit-statement",
    ]


async def test_viewers_may_read_but_get_403_for_actions(world, client):
    card_id = await opened(world)
    await login(client, "leader")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    assert (await client.get(f"/api/v1/incidents/{card_id}")).status_code == 200
    response = await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "red"})
    assert response.status_code == 403


async def test_those_who_may_not_see_the_board_get_404(world, client):
    card_id = await opened(world)
    await login(client, "outsider")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    assert (await client.get(f"/api/v1/incidents/{card_id}")).status_code == 404
    assert (await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "red"})).status_code == 404
    assert (await client.get(f"/incidents/{card_id}/workflow")).status_code == 404


async def test_the_drawer_section_offers_the_manager_the_approval(world, client):
    card_id = await opened(world)
    await act(world, "duty", card_id, "assess", level="orange")
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    await act(world, "duty", card_id, "submit-statement", text="口径一")
    await login(client, "chief")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    page = await client.get(f"/incidents/{card_id}/workflow")
    assert page.status_code == 200
    assert 'data-action="approve-statement"' in page.text and 'data-action="publish-statement"' not in page.text
    response = await client.post(f"/incidents/{card_id}/approve-statement", data={"version": "1"})
    assert response.status_code == 200 and 'data-action="publish-statement"' in response.text
    response = await client.post(f"/incidents/{card_id}/review", data={"text": "x"})
    assert response.status_code == 409 and "alert-error" in response.text


async def test_the_demo_city_has_incidents_in_different_states(clean_db, client):
    from portal.boards.tables import Board
    from portal.demo.services import seed_demo

    await seed_demo()
    board_row = await Board.select(Board.id).where(Board.kind == "incidents").first()
    rows = await Card.select(Card.id, Card.title, Card.column, Card.due_stage).where(Card.board == board_row["id"])
    by_title = {row["title"]: row for row in rows}
    subway = by_title["暴雨后地铁2号线停运传言"]
    assert workflow.state_of(await cards.column_any(subway["column"])) == "handling"
    assert subway["due_stage"] == "first_response"
    water = by_title["某小区供水异味投诉扩散"]
    assert workflow.state_of(await cards.column_any(water["column"])) == "responding"
    assert len(await workflow.comments_of(subway["id"])) == 2
    await login(client, "liuyang", "portal-demo")
    client.headers["HX-Request"] = "true"
    page = await client.get(f"/incidents/{subway['id']}/workflow")
    assert page.status_code == 200 and 'data-action="approve-statement"' in page.text
    assert "网传地铁停运是谣言吗" in page.text
    page = await client.get(f"/boards/{board_row['id']}")
    assert page.status_code == 200 and "暴雨后地铁2号线停运传言" in page.text


async def test_the_deadlines_page_shows_the_clocks_per_level(world, client):
    await login(client, "chief")
    page = await client.get("/sla/policies")
    assert page.status_code == 200
    assert page.text.count('<optgroup label="') >= 2  # inquiries' categories and incidents' levels
    assert 'value="orange"' in page.text


async def test_the_form_edits_the_draft_and_level_but_not_a_statement_under_review(world):
    from portal.cards.forms import CardForm

    card_id = await opened(world, level="blue")
    access = await world.access("duty")

    async def edit(**fields):
        card = await cards.get_card(access, card_id)
        base = {"title": card["title"], "priority": card["priority"], "level": card["level"]}
        return await cards.update_card(access, card_id, CardForm(card["version"], {**base, **fields}))

    await edit(level="orange", statement="草稿")
    row = await clock(card_id)
    assert row["due_at"] - row["received_at"] == timedelta(hours=1)
    # The level sets the priority that goes with it, as 研判 does (the form sent the old one).
    assert (await Card.select(Card.priority).where(Card.id == card_id).first())["priority"] == "high"
    await act(world, "duty", card_id, "assess", level="orange")
    await act(world, "duty", card_id, "respond-plan", plan="核实")
    await act(world, "duty", card_id, "submit-statement", text="草稿")
    with pytest.raises(FormError) as error:
        await edit(statement="偷偷改")
    assert "statement" in error.value.errors
    assert (await workflow.versions(card_id))[0]["text"] == "草稿"


async def test_more_comments_are_linked_once_each_and_only_visible_ones(world):
    card_id = await opened(world)
    comment = await world.comments.card("duty", title="2号线停运了？")
    result = await act(world, "duty", card_id, "link-comments", comment_card_ids=f"{comment}, {comment}")
    assert result["state"] == "monitoring"
    await act(world, "duty", card_id, "link-comments", comment_card_ids=[comment])
    assert await workflow.comments_of(card_id) == [comment]
    with pytest.raises(FormError) as error:
        await act(world, "duty", card_id, "link-comments", comment_card_ids=[card_id])
    assert "comment_card_ids" in error.value.errors


async def test_an_alerts_comments_the_actor_may_not_see_are_left_out_not_fatal(world):
    elsewhere = await world.board("comments", {"stranger": ("member", "health", "member")})
    hidden = await elsewhere.card("stranger", title="别的看板的留言")
    shown = await world.comments.card("duty", title="2号线停运了？")
    card_id = await opened(world, comments=[hidden, shown])
    assert await workflow.comments_of(card_id) == [shown]
    with pytest.raises(FormError):  # linked by hand, an unseen comment is refused
        await act(world, "duty", card_id, "link-comments", comment_card_ids=[hidden])


async def test_archiving_from_the_drawer_before_the_review_says_why(world, client):
    card_id = await opened(world)
    await login(client, "duty")
    token = csrf_from((await client.get("/boards")).text)
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    response = await client.post(
        f"/cards/{card_id}/archive",
        data={"version": str(version)},
        headers={"x-csrftoken": token, "HX-Request": "true"},
    )
    assert response.status_code == 409 and "复盘" in response.text
    assert (await Card.select(Card.archived).where(Card.id == card_id).first())["archived"] is False


async def test_an_existing_database_gets_the_incident_policies_from_its_migration(world):
    import importlib

    from portal.sla import services as sla
    from portal.sla.tables import SlaPolicy

    # A database upgraded from before incidents: policies written, none for incidents.
    await sla.list_policies()
    await SlaPolicy.delete().where(SlaPolicy.board_kind == "incidents")
    sla.invalidate()
    migration = importlib.import_module("migrations.portal_2026_11_27t01_12_48_000000")
    await (await migration.forwards()).run()
    await (await migration.forwards()).run()  # twice: still one row each
    rows = await SlaPolicy.select(SlaPolicy.stage, SlaPolicy.category, SlaPolicy.amount).where(
        SlaPolicy.board_kind == "incidents"
    )
    found = {(row["stage"], row["category"]): row["amount"] for row in rows}
    assert len(rows) == len(found) == 10
    assert found[("first_response", "red")] == 1 and found[("statement_review", "yellow")] == 2
    sla.invalidate()
    card_id = await opened(world, level="red")
    row = await clock(card_id)
    assert row["due_stage"] == "first_response" and row["due_at"] - row["received_at"] == timedelta(hours=1)


async def test_the_migration_leaves_a_fresh_database_and_an_administrators_rows_alone(clean_db):
    import importlib

    from portal.sla.tables import SlaPolicy

    migration = importlib.import_module("migrations.portal_2026_11_27t01_12_48_000000")
    await SlaPolicy.delete(force=True)
    await (await migration.forwards()).run()
    assert await SlaPolicy.count() == 0  # the defaults come on first use
    await SlaPolicy.insert(
        SlaPolicy(
            board_kind="incidents", stage="first_response", priority="", category="", amount=2, mode="natural_hours"
        )
    )
    await (await migration.forwards()).run()
    assert await SlaPolicy.count() == 1


async def test_an_older_approval_is_not_published_after_a_newer_version_was_returned(world, client):
    card_id = await _under_review(world, "blue")
    await act(world, "duty", card_id, "submit-statement", text="v1 数字有误")
    await act(world, "chief", card_id, "approve-statement", version=1)
    result = await act(world, "duty", card_id, "submit-statement", text="v2 更正")
    assert result["approved_version"] is None  # a newer version withdraws the approval
    result = await act(world, "chief", card_id, "return-statement", version=2, reason="措辞")
    assert "publish-statement" not in result["actions"]
    before = await _version(card_id)
    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/incidents/{card_id}/publish-statement", json={"version": 1})
    assert response.status_code == 409 and response.json()["message"]
    assert await _version(card_id) == before and await state(card_id) == "handling"
    assert all(row["published_at"] is None for row in await workflow.versions(card_id))
    with pytest.raises(Conflict):  # nor by a drag to 回应
        form = MoveForm(column_id=world.columns["responding"], after_id=None, version=before)
        await cards.move_card(await world.access("duty"), card_id, form)
    assert await state(card_id) == "handling"


async def test_the_publish_button_names_the_approved_version(world, client):
    card_id = await _under_review(world, "blue")
    await act(world, "duty", card_id, "submit-statement", text="口径")
    await act(world, "chief", card_id, "approve-statement", version=1)
    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    page = await client.get(f"/incidents/{card_id}/workflow")
    assert '<input type="hidden" name="version" value="1">' in page.text
    response = await client.post(f"/incidents/{card_id}/publish-statement", data={"version": "1"})
    assert response.status_code == 200 and await state(card_id) == "responding"


async def test_re_assessing_through_the_api_keeps_what_it_leaves_out(world, client):
    card_id = await opened(world, level="blue")
    chief = world.users["chief"]
    await act(world, "duty", card_id, "assess", level="blue", assessment="研判要点", responsible=[chief])
    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "red"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["level"], body["assessment"], body["responsible"]) == ("red", "研判要点", [chief])
    # Said explicitly, they change: an empty list clears the people.
    response = await client.post(f"/api/v1/incidents/{card_id}/assess", json={"level": "red", "responsible": []})
    assert response.json()["responsible"] == [] and response.json()["assessment"] == "研判要点"


async def test_a_stale_card_version_is_refused_and_the_fresh_section_shown(world, client):
    card_id = await opened(world, level="blue")
    await act(world, "duty", card_id, "assess", level="blue", assessment="第一版")
    read = await _version(card_id)
    await act(world, "duty", card_id, "assess", level="blue", assessment="同事改过的研判", card_version=read)
    for name, payload in (
        ("assess", {"level": "blue", "assessment": "覆盖"}),
        ("respond-plan", {"plan": "覆盖"}),
        ("instruct", {"text": "覆盖"}),
    ):
        who = "chief" if name == "instruct" else "duty"
        with pytest.raises(Conflict):
            await act(world, who, card_id, name, card_version=read, **payload)
    detail = await workflow.incident(await world.access("duty"), card_id)
    assert (detail["assessment"], detail["plan"], detail["instruction"]) == ("同事改过的研判", "", "")
    # The drawer's forms send the card's version; a stale one gets 409 and the fresh section.
    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    page = await client.get(f"/incidents/{card_id}/workflow")
    assert f'name="card_version" value="{await _version(card_id)}"' in page.text
    response = await client.post(
        f"/incidents/{card_id}/assess", data={"level": "blue", "assessment": "覆盖", "card_version": str(read)}
    )
    assert response.status_code == 409 and "同事改过的研判" in response.text
    assert (await workflow.incident(await world.access("duty"), card_id))["assessment"] == "同事改过的研判"


async def test_a_review_with_a_stale_card_version_is_refused(world):
    card_id = await _under_review(world, "blue")
    await act(world, "duty", card_id, "calm")
    read = await _version(card_id)
    await act(world, "duty", card_id, "review", text="复盘一", card_version=read)
    with pytest.raises(Conflict):
        await act(world, "duty", card_id, "review", text="复盘二", card_version=read)
    assert (await workflow.incident(await world.access("duty"), card_id))["review"] == "复盘一"


async def test_incidents_are_not_counted_in_the_dashboard_figures(world):
    from portal.stats import figures

    assert figures.case_kinds() == ("comments", "inquiries")
    assert figures.first_stages() == {"comments": "first_response", "inquiries": "accept"}


async def test_a_calmed_incidents_statement_is_refused_for_the_right_reason(world):
    from portal.cards.forms import CardForm

    card_id = await _under_review(world, "blue")
    await act(world, "duty", card_id, "calm")
    card = await cards.get_card(await world.access("duty"), card_id)
    fields = {"title": card["title"], "priority": card["priority"], "level": card["level"], "statement": "改"}
    with pytest.raises(FormError) as error:
        await cards.update_card(await world.access("duty"), card_id, CardForm(card["version"], fields))
    message = error.value.errors["statement"]
    assert "awaiting review" not in message and "正在审核" not in message
    assert "calmed down" in message or "平息" in message


async def test_the_timeline_keeps_the_latest_events_oldest_first(world):
    from portal.events.tables import Event

    card_id = await opened(world, level="blue")
    base = {"board_id": world.board_id, "verb": "card.noted", "object_type": "card", "object_id": card_id}
    await Event.insert(*(Event(**base, seq=n - 10_000, payload={"n": n}) for n in range(services.TIMELINE_LIMIT)))
    await act(world, "duty", card_id, "assess", level="blue", assessment="最新")
    events = await services.timeline(card_id, world.board_id)
    assert len(events) == services.TIMELINE_LIMIT
    assert events[-1]["payload"].get("action") == "assess"  # the newest is kept, last
    assert [event["seq"] for event in events] == sorted(event["seq"] for event in events)


async def test_a_topic_s_name_is_shown_only_to_those_who_see_its_board_and_the_origin_is_not_edited(world, client):
    """An incident made from an alert names its topic to those who see the topic's comments
    board on the warning pages; the incidents board's other people see only its number. The
    topic and the alert are set by 转为事件 alone: the card form has no fields for them, and
    neither the form nor the API may set or change them (a number typed in would show the
    name of a topic on a board its writer does not see)."""
    from portal.cards.forms import CardForm
    from portal.warning.tables import WarningTopic

    hidden = await world.board("comments", {"chief": ("manager", "publicity", "manager")})  # duty is not on it
    rows = await WarningTopic.insert(WarningTopic(board=hidden.board_id, name="江滨 拆迁 补偿")).returning(
        WarningTopic.id
    )
    topic_id = rows[0]["id"]
    card_id = await services.open_incident(
        await user(world, "chief"), title="事件", level="orange", topic_id=topic_id, comment_card_ids=[], alert_id=5
    )
    chief, duty = await user(world, "chief"), await user(world, "duty")
    assert await services.topic_name(chief, topic_id) == "江滨 拆迁 补偿"
    assert await services.topic_name(duty, topic_id) == f"#{topic_id}"

    await login(client, "duty")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    section = (await client.get(f"/incidents/{card_id}/workflow")).text
    assert "拆迁" not in section and f"#{topic_id}" in section
    body = (await client.get(f"/api/v1/incidents/{card_id}")).json()
    assert body["topic_name"] == f"#{topic_id}" and body["topic_id"] == topic_id

    # The card form: no fields for them; one sent anyway is refused, and nothing changes.
    access = await world.access("duty")
    card = await cards.get_card(access, card_id)
    base = {
        "title": card["title"],
        "priority": card["priority"],
        "level": card["level"],
        "version": str(card["version"]),
    }
    people = {person for person in world.users.values()}
    for name, value in (("topic_id", str(topic_id + 1)), ("alert_id", "6")):
        parsed = CardForm.parse({**base, name: value}, "incidents", creating=False, people=people, departments=set())
        with pytest.raises(FormError) as error:
            await cards.update_card(access, card_id, parsed)
        assert "转为事件" in error.value.errors[name]
    plain = CardForm.parse(
        {**base, "title": "事件（更新）"}, "incidents", creating=False, people=people, departments=set()
    )
    assert "topic_id" not in plain.fields and "alert_id" not in plain.fields
    await cards.update_card(access, card_id, plain)  # an ordinary edit keeps the origin
    card = await cards.get_card(access, card_id)
    assert (card["title"], card["topic_id"], card["alert_id"]) == ("事件（更新）", topic_id, 5)
    with pytest.raises(FormError) as error:  # a new card (the form, the API) cannot name one
        CardForm.parse({"title": "手工", "topic_id": str(topic_id)}, "incidents", creating=True, people=people,
                       departments=set())  # fmt: skip
    assert "topic_id" in error.value.errors

    # The API's edit: a change is refused with the reason; the stored ones sent back are fine.
    patched = await client.patch(
        f"/api/v1/cards/{card_id}", json={"version": card["version"], "topic_id": topic_id + 1}
    )
    assert patched.status_code == 422, patched.text
    assert "转为事件" in patched.json()["errors"]["topic_id"]
    patched = await client.patch(
        f"/api/v1/cards/{card_id}", json={"version": card["version"], "alert_id": 5, "title": "事件（再次更新）"}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["topic_id"], patched.json()["alert_id"]) == (topic_id, 5)
    created = await client.post(
        f"/api/v1/boards/{world.board_id}/cards",
        json={"title": "手工", "column_key": "monitoring", "topic_id": topic_id},
    )
    assert created.status_code == 422 and "topic_id" in created.json()["errors"]
    assert await Card.count().where(Card.board == world.board_id) == 1
