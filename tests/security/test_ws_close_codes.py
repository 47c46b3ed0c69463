"""A refused or lost websocket is accepted and then closed with a code the page understands
(4401 log in again, 4403 not allowed, 4404 no access), with the reason in the user's
language: never a failed handshake, which browsers report as 1006 and retry forever."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from tests import factories
from tests.live_helpers import board_socket, csrf, hello, http_login, live_socket, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def boards(clean_db):
    people = {
        "zhangwei": ("member", "publicity", "member", "张伟"),
        "wangfang": ("liaison", "health", "", "王芳"),  # a health liaison, not on the comments board
    }
    return {"comments": (await factories.board("comments", people=people)).board_id}


async def login_as(base: str, username: str):
    return await http_login(base, username, factories.PASSWORD)


@pytest.fixture
def base(tmp_path):
    port = free_port()
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


async def close_of(socket) -> tuple[int, str]:
    """The opened socket's close code and reason; nothing may arrive before them."""
    with pytest.raises(ConnectionClosed):
        message = await asyncio.wait_for(socket.recv(), 20)
        pytest.fail(f"a refused socket received {message[:200]!r}")
    return socket.close_code, socket.close_reason


async def test_no_session_means_log_in_again(boards, base):
    async with board_socket(base, boards["comments"], None) as socket:
        assert await close_of(socket) == (4401, "登录已失效，请重新登录")
    async with live_socket(base, "/ws/me", None) as socket:
        assert (await close_of(socket))[0] == 4401


async def test_an_ended_session_means_log_in_again(boards, base, redis_client):
    zhang = await login_as(base, "zhangwei")
    # The session vanished (a Redis restart, FLUSHALL, expiry): the cookie is worthless.
    await redis_client.flushdb()
    async with board_socket(base, boards["comments"], zhang) as socket:
        assert await close_of(socket) == (4401, "登录已失效，请重新登录")
    async with live_socket(base, "/ws/me", zhang) as socket:
        assert (await close_of(socket))[0] == 4401


async def test_a_foreign_page_is_not_allowed(boards, base):
    zhang = await login_as(base, "zhangwei")
    async with board_socket(base, boards["comments"], zhang, origin="http://evil.example") as socket:
        code, reason = await close_of(socket)
    assert code == 4403 and "实时更新已停止" in reason
    async with live_socket(base, "/ws/me", zhang, origin="http://evil.example") as socket:
        assert (await close_of(socket))[0] == 4403


async def test_a_board_without_access_is_not_found(boards, base):
    liaison = await login_as(base, "wangfang")  # not on the comments board
    for board in (boards["comments"], 999999):
        async with board_socket(base, board, liaison) as socket:
            code, reason = await close_of(socket)
        assert code == 4404 and "实时更新已停止" in reason


async def test_the_reason_speaks_the_users_language(boards, base):
    client = await login_as(base, "zhangwei")
    await client.post("/language", data={"language": "en"}, headers={"x-csrftoken": await csrf(client)})
    async with board_socket(base, boards["comments"], client, origin="http://evil.example") as socket:
        code, reason = await close_of(socket)
    assert code == 4403 and reason.startswith("Live updates stopped")
    # And an allowed socket still opens and works.
    async with board_socket(base, boards["comments"], client) as socket:
        await hello(socket, 10**9)
        await receive_until(socket, f'id="presence-{boards["comments"]}"', timeout=10)
