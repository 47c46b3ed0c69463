"""The JSON API as a script uses it: a personal token, boards, cards, moves, history, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token, list_tokens, revoke_token
from portal.app import create_app
from portal.cards.tables import Card
from tests import factories
from tests.conftest import csrf_from, login


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


@pytest.fixture
async def api():
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        yield client


async def token_for(world, username: str) -> dict[str, str]:
    token = await create_token(await get_active_user(world.users[username]), "测试脚本")
    return {"Authorization": f"Bearer {token}"}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_script_creates_a_comment_and_moves_it_out_and_back_without_resetting_its_clock(world, api):
    headers = await token_for(world, "member")
    boards = (await api.get("/api/v1/boards", headers=headers)).json()
    assert [board["kind"] for board in boards] == ["comments"]
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    created = await api.post(
        f"/api/v1/boards/{world.board_id}/cards",
        headers=headers,
        json={
            "title": "地铁站电梯停运",
            "column_key": "pending",
            "platform": "weibo",
            "received_at": received.isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    card = created.json()
    assert card["kind"] == "comments" and card["platform"] == "weibo" and card["stage"] == "first_response"
    assert parse_time(card["due_at"]) == received + timedelta(hours=24)

    for key in ("reported", "pending"):
        moved = await api.post(
            f"/api/v1/cards/{card['id']}/move", headers=headers, json={"column_key": key, "version": card["version"]}
        )
        assert moved.status_code == 200, moved.text
        card = moved.json()
        assert card["column"]["key"] == key
    # Back in 待处理: the first-reply clock still counts from the comment's receipt.
    assert parse_time(card["due_at"]) == received + timedelta(hours=24)

    history = (await api.get(f"/api/v1/cards/{card['id']}/history", headers=headers)).json()
    assert [row["stage"] for row in history] == ["pending", "reported", "pending"]
    assert history[0]["left_at"] and history[1]["left_at"] and history[2]["left_at"] is None
    assert all(row["entered_by"] == "member" for row in history)


async def test_stale_versions_bad_fields_and_bad_json_answer_409_422_and_400(world, api):
    headers = await token_for(world, "member")
    card_id = await world.card(column="new", title="原标题")
    first = await api.patch(f"/api/v1/cards/{card_id}", headers=headers, json={"version": 1, "title": "新标题"})
    assert first.status_code == 200 and first.json()["title"] == "新标题" and first.json()["version"] == 2
    stale = await api.patch(f"/api/v1/cards/{card_id}", headers=headers, json={"version": 1, "priority": "urgent"})
    assert stale.status_code == 409
    assert stale.json()["card"]["title"] == "新标题" and "member" in stale.json()["message"]
    bad = await api.post(
        f"/api/v1/boards/{world.board_id}/cards",
        headers=headers,
        json={"title": "", "received_at": "9999-01-01T00:00:00", "column_key": "new"},
    )
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) >= {"title", "received_at"}
    malformed = await api.post(
        f"/api/v1/boards/{world.board_id}/cards", headers={**headers, "content-type": "application/json"}, content=b"{"
    )
    assert malformed.status_code == 400
    unknown_column = await api.post(
        f"/api/v1/boards/{world.board_id}/cards", headers=headers, json={"title": "x", "column_key": "nope"}
    )
    assert unknown_column.status_code == 422
    assert await Card.count().where(Card.board == world.board_id) == 1  # nothing else was written


async def test_tokens_authenticate_until_revoked_and_nothing_answers_without_one(world, api):
    user = await get_active_user(world.users["member"])
    token = await create_token(user, "一次性")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/notifications", headers=headers)).status_code == 200
    anonymous = await api.get("/api/v1/boards")
    assert anonymous.status_code == 401 and "Bearer" in anonymous.json()["message"]
    assert (await api.get("/api/v1/boards", headers={"Authorization": "Bearer pt_guess"})).status_code == 401
    token_id = (await list_tokens(user))[0]["id"]
    await revoke_token(user, token_id)
    assert (await api.get("/api/v1/boards", headers=headers)).status_code == 401


async def test_permissions_are_the_pages_rules(world, api):
    card_id = await world.card(column="new")
    outsider = await token_for(world, "outsider")
    assert (await api.get(f"/api/v1/cards/{card_id}", headers=outsider)).status_code == 404
    assert (await api.get(f"/api/v1/boards/{world.board_id}/cards", headers=outsider)).status_code == 404
    viewer = await token_for(world, "viewer")
    assert (await api.get(f"/api/v1/cards/{card_id}", headers=viewer)).status_code == 200
    refused = await api.post(
        f"/api/v1/cards/{card_id}/move", headers=viewer, json={"column_key": "pending", "version": 1}
    )
    assert refused.status_code == 403


async def test_session_writes_need_the_csrf_header_and_token_writes_do_not(world, api):
    await login(api, "member", factories.PASSWORD)
    body = {"title": "会话创建", "column_key": "new"}
    without = await api.post(f"/api/v1/boards/{world.board_id}/cards", json=body)
    assert without.status_code == 403
    token = csrf_from((await api.get("/boards")).text)
    with_header = await api.post(f"/api/v1/boards/{world.board_id}/cards", json=body, headers={"x-csrftoken": token})
    assert with_header.status_code == 201


async def test_the_api_is_listed_on_the_schema_page(api):
    spec = (await api.get("/schema/openapi.json")).json()
    for path in ("/api/v1/boards", "/api/v1/boards/{board_id}/cards", "/api/v1/cards/{card_id}/move"):
        assert path in spec["paths"]
    page = await api.get("/schema")
    assert page.status_code == 200 and "/api/v1/cards/{card_id}/history" in page.text


async def test_a_token_made_on_the_account_page_is_shown_once_and_can_be_revoked(world, api):
    await login(api, "member", factories.PASSWORD)
    page = await api.get("/account")
    made = await api.post("/account/tokens", data={"name": "微博导入脚本", "_csrf_token": csrf_from(page.text)})
    assert made.status_code == 200 and "只显示这一次" in made.text
    token = re.search(r'<code id="new-token">(pt_[^<]+)</code>', made.text).group(1)
    again = await api.get("/account")
    assert token not in again.text and "微博导入脚本" in again.text
    headers = {"Authorization": f"Bearer {token}"}
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as script:  # no session cookie
        assert (await script.get("/api/v1/boards", headers=headers)).status_code == 200
        token_id = re.search(r"/account/tokens/(\d+)/revoke", again.text).group(1)
        await api.post(f"/account/tokens/{token_id}/revoke", data={"_csrf_token": csrf_from(again.text)})
        assert (await script.get("/api/v1/boards", headers=headers)).status_code == 401
