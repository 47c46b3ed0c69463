"""A campaign's plan and its approval on the server: what a plan must hold before it is
submitted, who approves or returns it, the frozen approved version, later changes as a diff
that needs re-approval, drags that stand for an action, and the same through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.boards.tables import BoardColumn, BoardMember
from portal.campaigns import review, workflow
from portal.campaigns.tables import CampaignDetail, CampaignPlanVersion
from portal.cards import services as cards
from portal.cards.forms import CardForm, MoveForm
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.events.tables import Event
from portal.notifications.tables import Notification
from portal.settings import get_settings
from tests.conftest import csrf_from, login
from tests.factories import board

START = (datetime.now(UTC) + timedelta(days=10)).replace(hour=2, minute=0, second=0, microsecond=0)


@pytest.fixture
async def world(clean_db):
    return await board("campaigns")


async def plan(world, **fields) -> int:
    """A complete plan: a Douyin 知识挑战 with goals of 5,000 participants and 800 followers."""
    return await world.card(
        "member",
        "planning",
        **{
            "title": "医保知识我来答·抖音挑战赛",
            "theme": "医保新政知识普及",
            "policy_basis": "职工医保门诊共济保障新政",
            "campaign_format": "quiz",
            "platforms": ["douyin"],
            "starts_at": START,
            "ends_at": START + timedelta(days=14),
            "targets": {"douyin": {"participants": 5000, "new_followers": 800}},
            "assignee": world.users["member"],
            **fields,
        },
    )


async def act(world, username, card_id, action, **payload):
    """Take an action as ``username``; a decision names the version awaiting it, as the
    section's buttons do."""
    if action in ("approve", "return") and "version" not in payload:
        payload["version"] = (await detail(card_id))["pending_version"]
    if action == "revert" and "version" not in payload:
        payload["version"] = await card_version(card_id)  # the card as the section showed it
    return await workflow.act(await world.access(username), card_id, action, payload)


async def card_version(card_id: int) -> int:
    return (await Card.select(Card.version).where(Card.id == card_id).first())["version"]


async def state(card_id: int) -> str:
    row = await Card.select(Card.column).where(Card.id == card_id).first()
    return workflow.state_of(await workflow.column_of(row["column"]))


async def detail(card_id: int) -> dict:
    return await CampaignDetail.select().where(CampaignDetail.card == card_id).first()


async def edit(world, username, card_id, **fields):
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    return await cards.update_card(await world.access(username), card_id, CardForm(version=version, fields=fields))


async def test_a_plan_is_submitted_returned_with_reasons_then_approved_and_frozen(world):
    card_id = await plan(world)
    result = await act(world, "member", card_id, "submit", note="请审批")
    assert result["state"] == "approval" and result["pending_version"] == 1
    # The manager hears of it.
    assert await Notification.exists().where(
        (Notification.user == world.users["manager"]) & (Notification.kind == "campaign")
    )
    # A member cannot approve; a return needs reasons.
    with pytest.raises(PermissionDenied):
        await act(world, "member", card_id, "approve")
    with pytest.raises(FormError) as error:
        await act(world, "manager", card_id, "return", reason="")
    assert "reason" in error.value.errors
    assert await state(card_id) == "approval"

    result = await act(world, "manager", card_id, "return", reason="奖励预算偏高，请压缩到 5000 元以内")
    assert result["state"] == "planning" and result["pending_version"] is None
    assert result["versions"][0]["status"] == "returned"
    assert "5000" in result["versions"][0]["reason"]
    assert await Notification.exists().where(
        (Notification.user == world.users["member"]) & (Notification.title.like("%退回%"))
    )

    await edit(world, "member", card_id, budget=4800)
    result = await act(world, "member", card_id, "submit")
    assert result["pending_version"] == 2
    result = await act(world, "manager", card_id, "approve", note="同意")
    assert result["state"] == "running" and result["approved_version"] == 2
    assert result["approved_plan"]["budget"] == 4800
    assert result["approved_plan"]["targets"] == {"douyin": {"participants": 5000, "new_followers": 800}}
    assert [v["status"] for v in result["versions"]] == ["returned", "approved"]


async def test_an_incomplete_plan_cannot_be_submitted_and_says_what_is_missing(world):
    card_id = await world.card("member", "planning", title="还没想好的活动")
    with pytest.raises(Conflict) as error:
        await act(world, "member", card_id, "submit")
    assert "主题" in error.value.message or "Theme" in error.value.message
    assert await state(card_id) == "planning"
    assert not await CampaignPlanVersion.exists().where(CampaignPlanVersion.card == card_id)


async def test_a_pending_plan_cannot_be_edited_until_withdrawn(world):
    card_id = await plan(world)
    await act(world, "member", card_id, "submit")
    with pytest.raises(FormError) as error:
        await edit(world, "member", card_id, theme="换个主题")
    assert "theme" in error.value.errors
    assert (await detail(card_id))["theme"] == "医保新政知识普及"
    # Not a plan field: the labels may still change.
    await edit(world, "member", card_id, labels=["医保"])
    result = await act(world, "member", card_id, "withdraw")
    assert result["state"] == "planning" and result["versions"][0]["status"] == "withdrawn"
    await edit(world, "member", card_id, theme="换个主题")
    assert (await detail(card_id))["theme"] == "换个主题"


async def test_a_change_after_approval_is_a_diff_that_needs_re_approval(world):
    card_id = await plan(world)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    access = await world.access("member")
    # Nothing changed: nothing to submit.
    with pytest.raises(Conflict):
        await act(world, "member", card_id, "submit")

    await edit(world, "member", card_id, targets={"douyin": {"participants": 8000, "new_followers": 800}}, budget=6000)
    shown = await workflow.plan_state(access, card_id)
    assert {change["field"] for change in shown["changes"]} == {"targets", "budget"}
    goals = next(change for change in shown["changes"] if change["field"] == "targets")
    assert "5,000" in goals["before"] and "8,000" in goals["after"]
    # The approved version stays in force: results are measured against 5,000.
    card = await cards.get_card(access, card_id)
    assert (await workflow.effective_plan(card))["targets"]["douyin"]["participants"] == 5000

    result = await act(world, "member", card_id, "submit", note="参与目标上调")
    assert result["state"] == "running" and result["pending_version"] == 2
    result = await act(world, "manager", card_id, "approve")
    assert result["approved_version"] == 2 and result["changes"] == []
    card = await cards.get_card(access, card_id)
    assert (await workflow.effective_plan(card))["targets"]["douyin"]["participants"] == 8000
    # Version 1 is kept as it was approved.
    first = (
        await CampaignPlanVersion.select(CampaignPlanVersion.plan)
        .where((CampaignPlanVersion.card == card_id) & (CampaignPlanVersion.version == 1))
        .output(load_json=True)
        .first()
    )
    assert first["plan"]["targets"]["douyin"]["participants"] == 5000


async def test_drags_stand_for_actions_and_a_campaign_runs_only_once_approved(world):
    card_id = await plan(world)
    member, manager = await world.access("member"), await world.access("manager")

    async def drag(access, key):
        version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
        return await cards.move_card(
            access, card_id, MoveForm(column_id=world.columns[key], after_id=None, version=version)
        )

    with pytest.raises(Conflict):
        await drag(member, "running")  # not approved
    await drag(member, "approval")  # = submit
    assert (await detail(card_id))["pending_version"] == 1
    with pytest.raises(PermissionDenied):
        await drag(member, "running")  # only a manager approves
    with pytest.raises(Conflict):
        await drag(manager, "planning")  # a return needs reasons: the button
    await drag(manager, "running")  # = approve
    assert (await detail(card_id))["approved_version"] == 1
    await drag(member, "review")  # = finish
    with pytest.raises(Conflict) as error:
        await drag(member, "archived")  # the review is not written yet
    assert await state(card_id) == "review"
    assert error.value.message
    await edit(world, "member", card_id, went_well="题目贴近生活", to_change="预热期太短")
    await drag(member, "archived")
    assert await state(card_id) == "archived"
    with pytest.raises(FormError):
        await edit(world, "member", card_id, theme="归档后改主题")


async def test_a_new_campaign_starts_as_a_plan_and_viewers_cannot_act(world):
    access = await world.access("member")
    with pytest.raises(Conflict):
        await cards.create_card(access, world.columns["running"], {"title": "直接执行？"})
    card_id = await plan(world)
    with pytest.raises(PermissionDenied):
        await act(world, "viewer", card_id, "submit")
    assert (await detail(card_id))["pending_version"] is None


async def test_the_plan_form_takes_goals_per_platform_and_key_moments(world, client):
    await login(client, "member")
    page = await client.get(f"/boards/{world.board_id}")
    token = csrf_from(page.text)
    response = await client.post(
        f"/boards/{world.board_id}/cards",
        data={
            "_csrf_token": token,
            "column_id": world.columns["planning"],
            "title": "局长直播间",
            "campaign_format": "livestream",
            "platforms": ["douyin", "wechat"],
            "targets.douyin.participants": "5,000",
            "targets.wechat.reads": "20000",
            "targets.weibo.reads": "",
            "moments": "2026-12-01 19:30 直播开始\n2026-12-01 21:00 抽奖",
            "budget": "3000",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code in (200, 201), response.text[:500]
    row = await CampaignDetail.select().where(CampaignDetail.card.title == "局长直播间").output(load_json=True).first()
    assert row["targets"] == {"douyin": {"participants": 5000}, "wechat": {"reads": 20000}}
    assert [m["label"] for m in row["moments"]] == ["直播开始", "抽奖"]
    assert row["budget"] == 3000

    # A goal for a platform the campaign does not run on, and a bad moment line: 422, nothing saved.
    response = await client.post(
        f"/boards/{world.board_id}/cards",
        data={
            "_csrf_token": token,
            "column_id": world.columns["planning"],
            "title": "错误的计划",
            "platforms": ["douyin"],
            "targets.weibo.reads": "100",
            "moments": "明天 直播",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert not await Card.exists().where(Card.title == "错误的计划")


async def test_the_api_takes_the_same_actions_and_the_section_shows_the_buttons(world, client):
    card_id = await plan(world)
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/campaigns/{card_id}/plan/submit", json={"note": "请审批"})
    assert response.status_code == 200 and response.json()["state"] == "approval"
    response = await client.post(f"/api/v1/campaigns/{card_id}/plan/approve", json={"version": 1})
    assert response.status_code == 403
    response = await client.post(f"/api/v1/campaigns/{card_id}/plan/nonsense", json={})
    assert response.status_code == 404

    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert 'data-action="withdraw"' in section.text and 'data-action="approve"' not in section.text

    await login(client, "manager")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert 'data-action="approve"' in section.text and 'data-action="return"' in section.text
    response = await client.post(f"/campaigns/{card_id}/plan/return", data={"reason": ""})
    assert response.status_code == 422 and "field-error" in response.text
    assert 'name="version" value="1"' in section.text
    response = await client.post(f"/campaigns/{card_id}/plan/approve", data={"version": "1"})
    assert response.status_code == 200 and 'data-state="running"' in response.text
    columns = {row["id"]: row["key"] for row in await BoardColumn.select(BoardColumn.id, BoardColumn.key)}
    assert columns[(await Card.select(Card.column).where(Card.id == card_id).first())["column"]] == "running"

    await login(client, "outsider")
    assert (await client.get(f"/campaigns/{card_id}/plan")).status_code == 404
    assert (await client.get(f"/api/v1/campaigns/{card_id}/plan")).status_code == 404


async def test_a_plan_is_created_through_the_api_with_goals_and_moments(world, client):
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    body = {
        "column_key": "planning",
        "title": "反诈直播间",
        "theme": "全民反诈",
        "campaign_format": "livestream",
        "platforms": ["douyin"],
        "starts_at": "2026-12-10T19:30:00+08:00",
        "ends_at": "2026-12-10T21:30:00+08:00",
        "moments": [{"at": "2026-12-10T19:30:00+08:00", "label": "直播开始"}],
        "targets": {"douyin": {"participants": 20000, "comments": 800}},
        "budget": 3000,
    }
    response = await client.post(f"/api/v1/boards/{world.board_id}/cards", json=body)
    assert response.status_code == 201, response.text
    card = response.json()
    assert card["targets"] == {"douyin": {"participants": 20000, "comments": 800}}
    assert card["moments"][0]["label"] == "直播开始"
    bad = await client.post(
        f"/api/v1/boards/{world.board_id}/cards",
        json={**body, "title": "坏目标", "targets": {"douyin": {"participants": -5}}},
    )
    assert bad.status_code == 422 and "targets" in bad.json()["errors"]
    assert not await Card.exists().where(Card.title == "坏目标")


async def test_a_manager_decides_on_the_version_read_not_one_submitted_since(world, client):
    card_id = await plan(world, budget=4800)
    await act(world, "member", card_id, "submit")
    # The member withdraws, raises the budget and submits again while the manager reads v1.
    await act(world, "member", card_id, "withdraw")
    await edit(world, "member", card_id, budget=90_000_000)
    await act(world, "member", card_id, "submit")
    with pytest.raises(Conflict):
        await act(world, "manager", card_id, "approve", version=1)
    with pytest.raises(FormError) as error:
        await workflow.act(await world.access("manager"), card_id, "approve", {})
    assert "version" in error.value.errors
    assert (await detail(card_id))["approved_version"] is None
    result = await act(world, "manager", card_id, "approve", version=2)
    assert result["approved_plan"]["budget"] == 90_000_000


async def test_a_plan_saved_again_unchanged_from_the_drawer_shows_no_change(world, client):
    """The API's UTC times, the form's local times and CRLF line breaks are the same plan."""
    card_id = await plan(
        world,
        moments=[{"at": "2026-12-01T02:00:00Z", "label": "直播开始"}],
        goals="参与 5000 人\n涨粉 800",
        platforms=["weibo", "douyin"],
        targets={"douyin": {"participants": 5000}},
    )
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    await login(client, "member")
    token = csrf_from((await client.get(f"/boards/{world.board_id}")).text)
    client.headers["HX-Request"] = "true"
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    response = await client.post(
        f"/cards/{card_id}",
        data={
            "_csrf_token": token,
            "version": str(version),
            "title": "医保知识我来答·抖音挑战赛",
            "theme": "医保新政知识普及",
            "policy_basis": "职工医保门诊共济保障新政",
            "campaign_format": "quiz",
            "platforms": ["douyin", "weibo"],
            "starts_at": START.astimezone(get_settings().tz).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (START + timedelta(days=14)).astimezone(get_settings().tz).strftime("%Y-%m-%dT%H:%M"),
            "moments": "2026-12-01 10:00 直播开始\r\n",
            "goals": "参与 5000 人\r\n涨粉 800",
            "targets.douyin.participants": "5000",
            "assignee": str(world.users["member"]),
            "labels": "医保",
        },
    )
    assert response.status_code == 200, response.text[:300]
    shown = await workflow.plan_state(await world.access("member"), card_id)
    assert shown["changes"] == []


async def test_a_finished_campaign_has_no_clock_left(world):
    card_id = await plan(world)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    assert (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"] is not None
    await act(world, "member", card_id, "finish")
    row = await Card.select(Card.due_at, Card.due_stage).where(Card.id == card_id).first()
    assert row["due_at"] is None or row["due_stage"] is None


async def test_a_new_end_after_approval_moves_the_due_time_only_once_approved(world):
    card_id = await plan(world)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    due = (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"]
    await edit(world, "member", card_id, ends_at=START + timedelta(days=30))
    assert (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"] == due
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    assert (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"] == START + timedelta(days=30)


async def test_a_returned_change_is_dropped_and_the_approved_plan_is_back_on_the_card(world, client):
    card_id = await plan(world, budget=4800)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    approved = (await workflow.summary(await world.access("member"), card_id))["approved_plan"]
    assert "revert" not in (await workflow.summary(await world.access("member"), card_id))["actions"]

    await edit(
        world,
        "member",
        card_id,
        title="医保知识我来答·延期版",
        budget=9000,
        starts_at=START + timedelta(days=7),
        ends_at=START + timedelta(days=21),
        moments=[{"at": (START + timedelta(days=7)).isoformat(), "label": "活动上线"}],
    )
    await act(world, "member", card_id, "submit", note="延期一周，预算增加")
    with pytest.raises(Conflict):  # awaiting a decision: withdraw it, not drop it
        await act(world, "member", card_id, "revert")
    await act(world, "manager", card_id, "return", reason="延期与医保局直播撞期，维持原方案")
    member = await world.access("member")
    shown = await workflow.plan_state(member, card_id)
    assert {change["field"] for change in shown["changes"]} == {"title", "budget", "starts_at", "ends_at", "moments"}
    assert "revert" in [action.name for action in shown["actions"]]
    with pytest.raises(PermissionDenied):
        await act(world, "viewer", card_id, "revert")

    before = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    result = await act(world, "member", card_id, "revert")
    assert result["changes"] == [] and result["approved_version"] == 1 and result["pending_version"] is None
    assert result["state"] == "running" and "revert" not in result["actions"] and "submit" not in result["actions"]
    card = await cards.get_card(member, card_id)
    assert workflow.snapshot(card) == approved  # every field as approved
    assert card["title"] == "医保知识我来答·抖音挑战赛" and card["budget"] == 4800 and card["starts_at"] == START
    assert card["version"] == before + 1  # open drawers and tiles reload
    events = await Event.select(Event.payload).where(Event.verb == "campaign.action").output(load_json=True)
    assert events[-1]["payload"]["action"] == "revert" and events[-1]["payload"]["version"] == 1
    assert [v["status"] for v in result["versions"]] == ["approved", "returned"]  # the history stays
    with pytest.raises(Conflict):  # nothing left to drop
        await act(world, "member", card_id, "revert")
    # The review's course of the campaign says so.
    timeline = await review.timeline(card_id, approved, [])
    assert [entry["kind"] for entry in timeline if entry["kind"] == "reverted"] == ["reverted"]

    # From the section and the API.
    await edit(world, "member", card_id, budget=5200)
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert 'data-action="revert"' in section.text and "data-changed" in section.text
    shown_version = re.search(r'name="version" value="(\d+)"', section.text).group(1)
    response = await client.post(f"/campaigns/{card_id}/plan/revert", data={"version": shown_version})
    assert response.status_code == 200 and 'data-action="revert"' not in response.text
    assert "data-changed" not in response.text and "放弃修改" in response.text  # the flash
    assert (await detail(card_id))["budget"] == 4800
    await edit(world, "member", card_id, budget=5200)
    missing = await client.post(f"/api/v1/campaigns/{card_id}/plan/revert", json={})
    assert missing.status_code == 422 and "version" in missing.json()["errors"]
    assert (await detail(card_id))["budget"] == 5200
    answer = await client.post(
        f"/api/v1/campaigns/{card_id}/plan/revert", json={"version": await card_version(card_id)}
    )
    assert answer.status_code == 200 and answer.json()["changes"] == [] and "revert" not in answer.json()["actions"]
    again = await client.post(f"/api/v1/campaigns/{card_id}/plan/revert", json={"version": await card_version(card_id)})
    assert again.status_code == 409

    await edit(world, "member", card_id, budget=5200)
    await login(client, "viewer")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert "data-changed" in section.text and 'data-action="revert"' not in section.text
    viewer_revert = await client.post(
        f"/api/v1/campaigns/{card_id}/plan/revert", json={"version": await card_version(card_id)}
    )
    assert viewer_revert.status_code == 403
    assert (await detail(card_id))["budget"] == 5200


TWO_MANAGERS = {
    "admin": ("admin", None, ""),
    "manager": ("manager", "publicity", "manager", "陈静"),
    "deputy": ("manager", "publicity", "manager", "王强"),
    "member": ("member", "publicity", "member"),
}


async def test_a_manager_does_not_approve_her_own_plan_while_another_manager_could(clean_db, client):
    world = await board("campaigns", people=TWO_MANAGERS)
    card_id = await plan(world)
    await act(world, "manager", card_id, "submit", note="我来提交")
    with pytest.raises(Conflict) as error:
        await act(world, "manager", card_id, "approve")
    assert "其他管理员" in error.value.message
    row = await detail(card_id)
    assert (row["pending_version"], row["approved_version"]) == (1, None) and await state(card_id) == "approval"

    # Nor by a drag; her section says who decides instead of offering the button.
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    with pytest.raises(Conflict):
        await cards.move_card(
            await world.access("manager"),
            card_id,
            MoveForm(column_id=world.columns["running"], after_id=None, version=version),
        )
    shown = await workflow.plan_state(await world.access("manager"), card_id)
    assert shown["approve_elsewhere"] and "approve" not in [action.name for action in shown["actions"]]
    assert "return" in [action.name for action in shown["actions"]]
    await login(client, "manager")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert "data-approve-elsewhere" in section.text and 'data-action="approve"' not in section.text
    answer = await client.post(f"/api/v1/campaigns/{card_id}/plan/approve", json={"version": 1})
    assert answer.status_code == 409 and "其他管理员" in answer.json()["message"]
    response = await client.post(f"/campaigns/{card_id}/plan/approve", data={"version": "1"})
    assert response.status_code == 409 and "其他管理员" in response.text
    assert (await detail(card_id))["approved_version"] is None

    # The other manager approves it.
    result = await act(world, "deputy", card_id, "approve")
    assert result["approved_version"] == 1 and result["state"] == "running"
    # Her change, later: the same rule.
    await edit(world, "manager", card_id, budget=3000)
    await act(world, "manager", card_id, "submit")
    with pytest.raises(Conflict):
        await act(world, "manager", card_id, "approve")
    assert (await act(world, "deputy", card_id, "approve"))["approved_version"] == 2


async def test_the_only_manager_of_a_board_approves_her_own_plan(world):
    card_id = await plan(world)
    await act(world, "manager", card_id, "submit")
    shown = await workflow.plan_state(await world.access("manager"), card_id)
    assert not shown["approve_elsewhere"] and "approve" in [action.name for action in shown["actions"]]
    assert (await act(world, "manager", card_id, "approve"))["approved_version"] == 1


# Dropping a change (放弃修改) after the audit ---------------------------------------------


def form_value(html: str, name: str) -> str | None:
    """The value an input of the drawer's card form carries."""
    form = re.search(r'<form class="card-form".*?</form>', html, re.S)
    match = form and re.search(rf'name="{name}"[^>]*value="([^"]*)"', form.group(0))
    return match.group(1) if match else None


async def test_a_change_is_not_dropped_over_a_colleagues_edit_made_since_it_was_read(world, client):
    card_id = await plan(world, budget=4800)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    await edit(world, "member", card_id, budget=9000)
    seen = await card_version(card_id)  # the member's section shows 放弃修改 for this version
    # Meanwhile a colleague edits the plan too.
    await edit(world, "manager", card_id, title="医保知识我来答·抖音挑战赛（第二季）")

    with pytest.raises(Conflict) as error:
        await act(world, "member", card_id, "revert", version=seen)
    assert "manager" in error.value.message  # who changed it
    card = await cards.get_card(await world.access("member"), card_id)
    assert card["title"] == "医保知识我来答·抖音挑战赛（第二季）" and card["budget"] == 9000  # nothing dropped

    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    stale = await client.post(f"/campaigns/{card_id}/plan/revert", data={"version": str(seen)})
    assert stale.status_code == 409 and "manager" in stale.text and 'class="alert alert-error"' in stale.text
    assert f'name="version" value="{await card_version(card_id)}"' in stale.text  # the section as it is now
    missing = await client.post(f"/campaigns/{card_id}/plan/revert", data={})
    assert missing.status_code == 422 and 'class="field-error"' in missing.text
    answer = await client.post(f"/api/v1/campaigns/{card_id}/plan/revert", json={"version": seen})
    assert answer.status_code == 409 and "manager" in answer.json()["message"]
    assert (await detail(card_id))["budget"] == 9000

    # Read again (the section reloads with the newer version): now both changes are dropped.
    result = await act(world, "member", card_id, "revert", version=await card_version(card_id))
    assert result["changes"] == []
    card = await cards.get_card(await world.access("member"), card_id)
    assert card["title"] == "医保知识我来答·抖音挑战赛" and card["budget"] == 4800


OWNERS = {
    "admin": ("admin", None, ""),
    "manager": ("manager", "publicity", "manager", "陈静"),
    "member": ("member", "publicity", "member", "张伟"),
    "lina": ("member", "publicity", "member", "李娜"),
}


async def test_dropping_a_change_gives_the_owner_back_as_an_edit_would_and_keeps_one_who_left(clean_db, client):
    world = await board("campaigns", people=OWNERS)
    card_id = await plan(world, budget=4800)  # 张伟 owns it
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    await edit(world, "lina", card_id, assignee=world.users["lina"], budget=9000)

    # 张伟 leaves the board: an edit could not make him the owner now, nor does 放弃修改.
    await BoardMember.delete().where(
        (BoardMember.board == world.board_id) & (BoardMember.user == world.users["member"])
    )
    await login(client, "lina")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert "data-owner-kept" in section.text and 'data-action="revert"' in section.text
    before = await card_version(card_id)
    response = await client.post(f"/campaigns/{card_id}/plan/revert", data={"version": str(before)})
    assert response.status_code == 200 and "保留当前负责人" in response.text  # the drawer says so
    card = await cards.get_card(await world.access("lina"), card_id)
    assert card["assignee"] == world.users["lina"] and card["budget"] == 4800
    result = await workflow.summary(await world.access("lina"), card_id)
    assert [change["field"] for change in result["changes"]] == ["assignee"] and result["owner_kept"]
    assert "revert" not in result["actions"] and "submit" in result["actions"]  # the new owner is submitted
    section = await client.get(f"/campaigns/{card_id}/plan")
    assert "data-owner-kept" in section.text and 'data-action="revert"' not in section.text
    assert "请将新的负责人提交审批" in section.text
    with pytest.raises(Conflict) as error:
        await act(world, "lina", card_id, "revert")
    assert "submit" in error.value.message or "提交" in error.value.message
    # Recorded as an edit of what it put back (the card's history; a stale save in an open
    # drawer keeps what was typed in the other fields).
    events = (
        await Event.select(Event.verb, Event.payload)
        .where((Event.object_type == "card") & (Event.object_id == card_id))
        .order_by(Event.id)
        .output(load_json=True)
    )
    edits = [event for event in events if event["verb"] in ("card.updated", "card.assigned")]
    assert edits[-1]["verb"] == "card.updated" and edits[-1]["payload"]["fields"] == ["budget"]
    assert edits[-1]["payload"].get("assignee") is None
    assert await cards.fields_changed_since(card_id, before) == {"budget"}

    # Back on the board: 放弃修改 makes him the owner again, recorded as the assignment an edit is.
    await BoardMember.insert(BoardMember(board=world.board_id, user=world.users["member"], role="member"))
    shown = await workflow.plan_state(await world.access("lina"), card_id)
    assert not shown["owner_kept"] and "revert" in [action.name for action in shown["actions"]]
    result = await act(world, "lina", card_id, "revert")
    assert result["changes"] == []
    assert (await Card.select(Card.assignee).where(Card.id == card_id).first())["assignee"] == world.users["member"]
    last = (
        await Event.select(Event.verb, Event.payload)
        .where((Event.object_type == "card") & (Event.object_id == card_id))
        .where(Event.verb.is_in(["card.updated", "card.assigned"]))
        .order_by(Event.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert last["verb"] == "card.assigned" and last["payload"]["assignee"] == world.users["member"]


async def test_dropping_a_change_from_the_drawer_reloads_the_drawer_with_the_approved_values(world, client):
    card_id = await plan(world, budget=4800)
    await act(world, "member", card_id, "submit")
    await act(world, "manager", card_id, "approve")
    await edit(world, "member", card_id, title="医保知识我来答·延期版", budget=9000)
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    drawer = await client.get(f"/cards/{card_id}")
    old_version = form_value(drawer.text, "version")
    assert form_value(drawer.text, "title") == "医保知识我来答·延期版" and form_value(drawer.text, "budget") == "9000"

    response = await client.post(f"/campaigns/{card_id}/plan/revert", data={"version": old_version})
    assert response.status_code == 200
    # The plan section's button is answered with the whole drawer, put in its place.
    assert response.headers["HX-Retarget"] == "#drawer" and response.headers["HX-Reswap"] == "outerHTML"
    assert '<aside id="drawer"' in response.text and "放弃修改" in response.text  # with what happened
    assert form_value(response.text, "title") == "医保知识我来答·抖音挑战赛"
    assert form_value(response.text, "budget") == "4800"
    new_version = form_value(response.text, "version")
    assert int(new_version) == await card_version(card_id) > int(old_version)
    assert f'id="card-{card_id}"' in response.text  # the tile too

    # The form now saves (the old one would have been refused as stale).
    tz = get_settings().tz
    fields = {
        "title": "医保知识我来答·抖音挑战赛",
        "theme": "医保新政知识普及",
        "policy_basis": "职工医保门诊共济保障新政",
        "campaign_format": "quiz",
        "platforms": ["douyin"],
        "starts_at": START.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (START + timedelta(days=14)).astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "targets.douyin.participants": "5000",
        "targets.douyin.new_followers": "800",
        "assignee": str(world.users["member"]),
        "budget": "5000",
    }
    assert (await client.post(f"/cards/{card_id}", data={**fields, "version": old_version})).status_code == 409
    saved = await client.post(f"/cards/{card_id}", data={**fields, "version": new_version})
    assert saved.status_code == 200 and (await detail(card_id))["budget"] == 5000


async def test_the_demo_plans_were_approved_by_another_manager_than_their_submitter(clean_db):
    from portal.demo.services import seed_demo

    await seed_demo()
    approved = await CampaignPlanVersion.select(CampaignPlanVersion.submitted_by, CampaignPlanVersion.decided_by).where(
        CampaignPlanVersion.status == "approved"
    )
    assert approved and all(row["decided_by"] is not None for row in approved)
    assert all(row["decided_by"] != row["submitted_by"] for row in approved)  # the demo board has two managers
