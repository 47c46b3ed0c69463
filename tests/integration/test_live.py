"""Live updates through real web processes, Redis pub/sub and websocket clients."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from websockets.exceptions import ConnectionClosed

from portal.cards.tables import Card
from tests import factories
from tests.live_helpers import (
    board_socket,
    card_version,
    csrf,
    hello,
    htmx_post,
    http_login,
    receive_until,
    subscribed,
)
from tests.processes import free_port, web_processes

pytestmark = pytest.mark.processes

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "lina": ("member", "publicity", "member", "李娜"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    "sunli": ("member", "hotline", "member", "孙丽"),
    "wangfang": ("liaison", "health", "", "王芳"),  # a health liaison, on no comments board
}


async def board_with(kind: str, *names: str, roles: dict[str, str] | None = None) -> factories.World:
    """A board of ``kind`` with the named people (``roles`` overrides a board role)."""
    people = {}
    for name in names:
        role, department, board_role, display = PEOPLE[name]
        people[name] = (role, department, (roles or {}).get(name, board_role), display)
    return await factories.board(kind, people=people)


async def login_as(base: str, username: str):
    return await http_login(base, username, factories.PASSWORD)


@pytest.fixture
def one_web(tmp_path):
    """One web process, for what needs no second one (each start costs seconds of CPU)."""
    port = free_port()
    with web_processes([port], [tmp_path / "a.log"]):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def two_webs(tmp_path):
    port_a, port_b = free_port(), free_port()
    with web_processes([port_a, port_b], [tmp_path / "a.log", tmp_path / "b.log"]):
        yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"


async def a_card(world: factories.World, column: str = "new", **fields) -> dict:
    card_id = await world.card(next(iter(world.users)), column=column, **fields)
    return await Card.select(Card.id, Card.version, Card.column, Card.title).where(Card.id == card_id).first()


async def test_move_on_one_process_reaches_a_viewer_on_another_within_a_second(clean_db, two_webs):
    base_a, base_b = two_webs
    world = await board_with("comments", "zhangwei", "lina")
    board = world.board_id
    await a_card(world, "new", title="另一张卡片")
    mover = await login_as(base_a, "zhangwei")
    watcher = await login_as(base_b, "lina")
    card = await a_card(world, "new")
    replied = world.columns["replied"]
    async with board_socket(base_b, board, watcher) as socket:
        await hello(socket, 10**9)
        await subscribed(socket, "李娜")
        token = await csrf(mover)
        response = await htmx_post(
            mover,
            f"/cards/{card['id']}/move",
            {"column_id": replied, "after_id": "", "version": card["version"]},
            token,
        )
        assert response.status_code == 200
        # Arrival is what is tested; how fast is measured by bench/board.py.
        message = await receive_until(socket, f'id="card-{card["id"]}"', timeout=5)
    assert f'data-column-id="{replied}"' in message and 'hx-swap-oob="true"' in message
    assert card_version(message, card["id"]) == card["version"] + 1
    # Both see the same order after a reload.
    page_a = (await mover.get(f"/boards/{board}")).text
    page_b = (await watcher.get(f"/boards/{board}")).text
    order = lambda html: re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html)  # noqa: E731
    assert order(page_a) == order(page_b)


async def test_every_viewer_gets_the_same_bytes(clean_db, two_webs):
    base_a, base_b = two_webs
    world = await board_with("comments", "zhangwei", "lina", "chenjing")
    board = world.board_id
    users = [
        await login_as(base, name) for base, name in [(base_a, "zhangwei"), (base_b, "lina"), (base_b, "chenjing")]
    ]
    card = await a_card(world)
    sockets = [board_socket(base, board, client) for base, client in zip([base_a, base_b, base_b], users, strict=True)]
    opened = [await s.__aenter__() for s in sockets]
    try:
        for socket, name in zip(opened, ["zhangwei", "lina", "chenjing"], strict=True):
            await subscribed(socket, PEOPLE[name][3])
        token = await csrf(users[0])
        await htmx_post(
            users[0],
            f"/cards/{card['id']}",
            {"title": "新标题：医保报销比例", "priority": "high", "version": card["version"]},
            token,
        )
        received = [await receive_until(s, "新标题：医保报销比例") for s in opened]
    finally:
        for s in sockets:
            await s.__aexit__(None, None, None)
    assert received[0] == received[1] == received[2]


async def test_reconnecting_client_catches_up_from_its_sequence(clean_db, two_webs):
    base_a, base_b = two_webs
    world = await board_with("comments", "zhangwei", "lina")
    board = world.board_id
    card = await a_card(world)
    editor = await login_as(base_a, "zhangwei")
    viewer = await login_as(base_b, "lina")
    page = (await viewer.get(f"/boards/{board}")).text
    seq = int(re.search(r'data-seq="(\d+)"', page).group(1))
    token = await csrf(editor)
    # Changes happen while the viewer is disconnected …
    await htmx_post(editor, f"/cards/{card['id']}", {"title": "断线期间的修改", "version": card["version"]}, token)
    await htmx_post(editor, f"/boards/{board}/columns/{card['column']}/cards", {"title": "断线期间的新卡片"}, token)
    # … and arrive when it reconnects and says where it was.
    async with board_socket(base_b, board, viewer) as socket:
        await hello(socket, seq)
        message = await receive_until(socket, "断线期间的修改")
    assert "断线期间的新卡片" in message
    assert f'data-seq="{seq + 2}"' in message, message[:300]


async def test_too_much_missed_means_refetch(clean_db, one_web):
    base_a = one_web
    world = await board_with("comments", "zhangwei", "lina")
    board = world.board_id
    viewer = await login_as(base_a, "lina")
    editor = await login_as(base_a, "zhangwei")
    token = await csrf(editor)
    column = world.columns["pending"]
    for index in range(205):
        await htmx_post(editor, f"/boards/{board}/columns/{column}/cards", {"title": f"批量{index}"}, token)
    async with board_socket(base_a, board, viewer) as socket:
        await hello(socket, 0)
        message = await receive_until(socket, 'id="board-refresh"')
    header = json.loads(message.partition("\n")[0])
    assert header["type"] == "refresh"


async def test_liaison_receives_only_her_departments_cards(clean_db, one_web):
    base_a = one_web
    world = await board_with("inquiries", "sunli", "wangfang", roles={"wangfang": "member"})
    board = world.board_id
    health, housing = world.departments["health"], await factories.department("housing", "住建局")
    fields = (Card.id, Card.version, Card.department)
    ours_id = await world.card("sunli", column="handling", title="卫健委来电", department=health)
    theirs_id = await world.card("sunli", column="handling", title="住建局来电", department=housing)
    ours = await Card.select(*fields).where(Card.id == ours_id).first()
    theirs = await Card.select(*fields).where(Card.id == theirs_id).first()
    liaison = await login_as(base_a, "wangfang")
    editor = await login_as(base_a, "sunli")
    token = await csrf(editor)
    async with board_socket(base_a, board, liaison) as socket:
        await hello(socket, 10**9)
        await subscribed(socket, "王芳")
        await htmx_post(
            editor,
            f"/cards/{theirs['id']}",
            {"title": "别的部门的工单", "version": theirs["version"], "department": theirs["department"]},
            token,
        )
        await htmx_post(
            editor,
            f"/cards/{ours['id']}",
            {"title": "卫健委的工单", "version": ours["version"], "department": health},
            token,
        )
        message = await receive_until(socket, f'id="card-{ours["id"]}"')
        assert "卫健委的工单" in message
        # Nothing about the other department's card came before it.
        with pytest.raises(TimeoutError):
            await receive_until(socket, "别的部门的工单", timeout=0.5)


async def test_presence_lists_who_is_looking(clean_db, two_webs):
    base_a, base_b = two_webs
    board = (await board_with("comments", "zhangwei", "lina")).board_id
    first, second = await login_as(base_a, "zhangwei"), await login_as(base_b, "lina")
    async with board_socket(base_a, board, first) as socket_a:
        await hello(socket_a, 10**9)
        async with board_socket(base_b, board, second) as socket_b:
            await hello(socket_b, 10**9)
            message = await receive_until(socket_a, "李娜")
            assert f'id="presence-{board}"' in message and "张伟" in message


@pytest.mark.parametrize(
    ("who", "origin", "expected"),
    [
        (None, None, 4401),  # no session
        ("zhangwei", "http://evil.example", 4403),  # foreign origin
        ("wangfang", None, 4404),  # a liaison is not on the comments board
        ("zhangwei", None, None),
    ],
)
async def test_websocket_handshake_checks_session_origin_and_access(clean_db, one_web, who, origin, expected):
    base = one_web
    board = (await board_with("comments", "zhangwei", "wangfang")).board_id
    client = await login_as(base, who) if who else None
    async with board_socket(base, board, client, origin=origin) as socket:
        if expected is None:
            await hello(socket, 10**9)
            await receive_until(socket, f'id="presence-{board}"')
            return
        # Refused sockets are accepted and closed at once with the reason's code: nothing else.
        assert await closed_with(socket) == expected


async def closed_with(socket) -> int:
    """The close code, after checking that nothing was sent before it."""
    with pytest.raises(ConnectionClosed):
        message = await asyncio.wait_for(socket.recv(), 10)
        pytest.fail(f"a refused socket received {message[:200]!r}")
    return socket.close_code


async def test_guessed_board_id_over_websocket_is_refused(clean_db, one_web):
    base = one_web
    campaigns = await board_with("campaigns", "wangfang")  # a real board she is not on
    client = await login_as(base, "wangfang")
    for board in (campaigns.board_id, 99999, 2**40):
        async with board_socket(base, board, client) as socket:
            assert await closed_with(socket) == 4404


async def test_the_bell_counts_up_live_when_someone_mentions_me(clean_db, two_webs):
    import websockets

    base_a, base_b = two_webs
    world = await board_with("comments", "zhangwei", "lina")
    lina = await login_as(base_b, "lina")
    cookie = "; ".join(f"{k}={v}" for k, v in lina.cookies.items())
    async with websockets.connect(
        base_b.replace("http", "ws", 1) + "/ws/me", additional_headers={"Cookie": cookie}, origin=base_b
    ) as socket:
        await asyncio.sleep(0.3)
        zhang = await login_as(base_a, "zhangwei")
        card = await a_card(world)
        await htmx_post(zhang, f"/cards/{card['id']}/notes", {"body": "@lina 这条麻烦跟进"}, await csrf(zhang))
        message = await receive_until(socket, 'id="bell"')
    assert 'class="badge"' in message and ">1<" in message
    async with websockets.connect(base_b.replace("http", "ws", 1) + "/ws/me", origin=base_b) as anonymous:
        assert await closed_with(anonymous) == 4401
