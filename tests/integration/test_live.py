"""Live updates through real web processes, Redis pub/sub and websocket clients."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from websockets.exceptions import ConnectionClosed

from portal.boards.tables import Board
from portal.cards.tables import Card
from portal.demo.services import seed_demo
from tests.live_helpers import board_socket, card_version, csrf, hello, htmx_post, http_login, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def demo(clean_db):
    await seed_demo()
    boards = {row["kind"]: row["id"] for row in await Board.select(Board.kind, Board.id)}
    return boards


@pytest.fixture
def two_webs(tmp_path):
    port_a, port_b = free_port(), free_port()
    with (
        portal_process("web", "--port", str(port_a), port=port_a, log=tmp_path / "a.log"),
        portal_process("web", "--port", str(port_b), port=port_b, log=tmp_path / "b.log"),
    ):
        yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"


async def first_card(board_id: int, column_key: str = "new") -> dict:
    return (
        await Card.select(Card.id, Card.version, Card.column, Card.title)
        .where(
            (Card.board == board_id) & (Card.column.key == column_key) & (Card.archived == False)  # noqa: E712
        )
        .order_by(Card.position)
        .first()
    )


async def column_id(board_id: int, key: str) -> int:
    from portal.boards.tables import BoardColumn

    return (
        await BoardColumn.select(BoardColumn.id)
        .where((BoardColumn.board == board_id) & (BoardColumn.key == key))
        .first()
    )["id"]


async def test_move_on_one_process_reaches_a_viewer_on_another_within_a_second(demo, two_webs):
    base_a, base_b = two_webs
    board = demo["comments"]
    mover = await http_login(base_a, "zhangwei")
    watcher = await http_login(base_b, "lina")
    card = await first_card(board)
    replied = await column_id(board, "replied")
    async with board_socket(base_b, board, watcher) as socket:
        await hello(socket, 10**9)
        await asyncio.sleep(0.3)  # let the subscription settle
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


async def test_every_viewer_gets_the_same_bytes(demo, two_webs):
    base_a, base_b = two_webs
    board = demo["comments"]
    users = [
        await http_login(base, name) for base, name in [(base_a, "zhangwei"), (base_b, "lina"), (base_b, "chenjing")]
    ]
    card = await first_card(board)
    sockets = [board_socket(base, board, client) for base, client in zip([base_a, base_b, base_b], users, strict=True)]
    opened = [await s.__aenter__() for s in sockets]
    try:
        await asyncio.sleep(0.3)
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


async def test_reconnecting_client_catches_up_from_its_sequence(demo, two_webs):
    base_a, base_b = two_webs
    board = demo["comments"]
    editor = await http_login(base_a, "zhangwei")
    viewer = await http_login(base_b, "lina")
    page = (await viewer.get(f"/boards/{board}")).text
    seq = int(re.search(r'data-seq="(\d+)"', page).group(1))
    card = await first_card(board)
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


async def test_too_much_missed_means_refetch(demo, two_webs):
    base_a, _ = two_webs
    board = demo["comments"]
    viewer = await http_login(base_a, "lina")
    editor = await http_login(base_a, "zhangwei")
    token = await csrf(editor)
    card = await first_card(board, "pending")
    for index in range(205):
        await htmx_post(editor, f"/boards/{board}/columns/{card['column']}/cards", {"title": f"批量{index}"}, token)
    async with board_socket(base_a, board, viewer) as socket:
        await hello(socket, 0)
        message = await receive_until(socket, 'id="board-refresh"')
    header = json.loads(message.partition("\n")[0])
    assert header["type"] == "refresh"


async def test_liaison_receives_only_her_departments_cards(demo, two_webs):
    base_a, _ = two_webs
    board = demo["inquiries"]
    from portal.accounts.tables import Department

    health = (await Department.select(Department.id).where(Department.code == "health").first())["id"]
    fields = (Card.id, Card.version, Card.department)
    ours = await Card.select(*fields).where((Card.board == board) & (Card.department == health)).first()
    theirs = await Card.select(*fields).where((Card.board == board) & (Card.department != health)).first()
    liaison = await http_login(base_a, "wangfang")
    editor = await http_login(base_a, "sunli")
    token = await csrf(editor)
    async with board_socket(base_a, board, liaison) as socket:
        await hello(socket, 10**9)
        await asyncio.sleep(0.3)
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


async def test_presence_lists_who_is_looking(demo, two_webs):
    base_a, base_b = two_webs
    board = demo["comments"]
    first, second = await http_login(base_a, "zhangwei"), await http_login(base_b, "lina")
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
async def test_websocket_handshake_checks_session_origin_and_access(demo, two_webs, who, origin, expected):
    base, _ = two_webs
    client = await http_login(base, who) if who else None
    board = demo["comments"]
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


async def test_guessed_board_id_over_websocket_is_refused(demo, two_webs):
    base, _ = two_webs
    client = await http_login(base, "wangfang")
    for board in (demo["campaigns"], 99999, 2**40):
        async with board_socket(base, board, client) as socket:
            assert await closed_with(socket) == 4404


async def test_the_bell_counts_up_live_when_someone_mentions_me(demo, two_webs):
    import websockets

    base_a, base_b = two_webs
    board = demo["comments"]
    lina = await http_login(base_b, "lina")
    cookie = "; ".join(f"{k}={v}" for k, v in lina.cookies.items())
    async with websockets.connect(
        base_b.replace("http", "ws", 1) + "/ws/me", additional_headers={"Cookie": cookie}, origin=base_b
    ) as socket:
        await asyncio.sleep(0.3)
        zhang = await http_login(base_a, "zhangwei")
        card = await first_card(board)
        await htmx_post(zhang, f"/cards/{card['id']}/notes", {"body": "@lina 这条麻烦跟进"}, await csrf(zhang))
        message = await receive_until(socket, 'id="bell"')
    assert 'class="badge"' in message and ">1<" in message
    async with websockets.connect(base_b.replace("http", "ws", 1) + "/ws/me", origin=base_b) as anonymous:
        assert await closed_with(anonymous) == 4401
