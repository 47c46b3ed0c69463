"""Revocation reaches open websockets at once, however chatty the browser is: logout,
a disabled account, a reset password or a removal from the board closes the socket with
a code the page understands; a session that simply vanishes is caught by the timer."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests import factories
from tests.live_helpers import board_socket, csrf, hello, htmx_post, http_login, live_socket, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def demo(clean_db):
    """A comments board with a card: 张伟 and 李娜 work it, 陈静 manages it; an administrator."""
    people = {
        "admin": ("admin", None, ""),
        "zhangwei": ("member", "publicity", "member", "张伟"),
        "lina": ("member", "publicity", "member", "李娜"),
        "chenjing": ("manager", "publicity", "manager", "陈静"),
    }
    world = await factories.board("comments", people=people)
    await world.card("zhangwei", column="new")
    return {"boards": {"comments": world.board_id}, "users": world.users}


async def login_as(base: str, username: str):
    return await http_login(base, username, factories.PASSWORD)


@contextlib.contextmanager
def web(tmp_path, recheck_seconds: str):
    port = free_port()
    env = {"PORTAL_LIVE_RECHECK_SECONDS": recheck_seconds}
    with portal_process("web", "--port", str(port), port=port, env=env, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def base(tmp_path):
    # The timer is far away: whatever closes a socket here is the change itself.
    with web(tmp_path, "600") as url:
        yield url


async def chatty_until_closed(socket, card_id: int, timeout: float = 30) -> int:
    """Keep telling the server "I am editing" (as an open drawer would) until it closes
    the socket; return the close code."""

    async def chatter():
        with contextlib.suppress(ConnectionClosed):
            while True:
                await socket.send(json.dumps({"type": "editing", "card": card_id}))
                await asyncio.sleep(0.1)

    async def drain():
        with contextlib.suppress(ConnectionClosed):
            while True:
                await socket.recv()

    talking = asyncio.create_task(chatter())
    try:
        await asyncio.wait_for(drain(), timeout)
    except TimeoutError:
        pytest.fail(f"the socket was still open {timeout} s after access ended")
    finally:
        talking.cancel()
    return socket.close_code


async def open_chatty_board(base, board_id, client):
    socket = await board_socket(base, board_id, client)
    await hello(socket, 10**9)
    await receive_until(socket, f'id="presence-{board_id}"', timeout=10)
    return socket


async def a_card(board_id: int) -> int:
    from portal.cards.tables import Card

    return (await Card.select(Card.id).where(Card.board == board_id).first())["id"]


async def test_logout_closes_the_board_socket_and_the_bell_socket_at_once(demo, base):
    board = demo["boards"]["comments"]
    zhang = await login_as(base, "zhangwei")
    socket = await open_chatty_board(base, board, zhang)
    async with live_socket(base, "/ws/me", zhang) as bell:
        token = await csrf(zhang)
        talking = asyncio.create_task(chatty_until_closed(socket, await a_card(board)))
        await asyncio.sleep(0.3)
        response = await zhang.post("/logout", data={"_csrf_token": token}, headers={"x-csrftoken": token})
        assert response.status_code == 303
        assert await talking == 4401
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(bell.recv(), 30)
        assert bell.close_code == 4401


@pytest.mark.parametrize("action", ["disable", "reset_password"])
async def test_an_administrator_ending_the_account_closes_its_sockets(demo, base, action):
    board = demo["boards"]["comments"]
    zhang = await login_as(base, "zhangwei")
    admin = await login_as(base, "admin")
    socket = await open_chatty_board(base, board, zhang)
    talking = asyncio.create_task(chatty_until_closed(socket, await a_card(board)))
    await asyncio.sleep(0.3)
    user_id = demo["users"]["zhangwei"]
    token = await csrf(admin, "/admin/users")
    if action == "disable":
        response = await admin.post(f"/admin/users/{user_id}/active", data={"active": "0", "_csrf_token": token})
    else:
        password = "Qx7-violet-harbour-2231"
        response = await admin.post(
            f"/admin/users/{user_id}/password",
            data={"password": password, "password_confirm": password, "_csrf_token": token},
        )
    assert response.status_code == 303, response.text[:300]
    assert await talking == 4401


async def test_removal_from_the_board_closes_the_board_socket(demo, base):
    board = demo["boards"]["comments"]
    zhang = await login_as(base, "zhangwei")
    manager = await login_as(base, "chenjing")
    socket = await open_chatty_board(base, board, zhang)
    talking = asyncio.create_task(chatty_until_closed(socket, await a_card(board)))
    await asyncio.sleep(0.3)
    token = await csrf(manager, f"/boards/{board}/settings")
    user_id = demo["users"]["zhangwei"]
    response = await manager.post(f"/boards/{board}/settings/members/{user_id}/remove", data={"_csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    assert await talking == 4404
    # 李娜, still a member, keeps her live board: a card change reaches her.
    lina = await login_as(base, "lina")
    async with board_socket(base, board, lina) as watcher:
        await hello(watcher, 10**9)
        await receive_until(watcher, f'id="presence-{board}"', timeout=10)
        card = await a_card(board)
        from portal.cards.tables import Card

        version = (await Card.select(Card.version).where(Card.id == card).first())["version"]
        await htmx_post(lina, f"/cards/{card}", {"title": "仍然实时", "version": version}, await csrf(lina))
        await receive_until(watcher, "仍然实时", timeout=15)


async def test_a_vanished_session_is_caught_by_the_timer_however_chatty_the_browser(demo, tmp_path, redis_client):
    with web(tmp_path, "1") as base:
        board = demo["boards"]["comments"]
        zhang = await login_as(base, "zhangwei")
        socket = await open_chatty_board(base, board, zhang)
        talking = asyncio.create_task(chatty_until_closed(socket, await a_card(board)))
        await asyncio.sleep(0.3)
        # The session ends without anyone announcing it (expired, Redis lost it).
        token = zhang.cookies["portal_session"]
        assert await redis_client.delete(f"portal:session:{token}") == 1
        assert await talking == 4401
