"""What a browser sends over the board websocket is bounded: huge numbers, junk and
oversized messages are ignored, and none of them ends the connection."""

from __future__ import annotations

import json

import pytest

from portal.cards.tables import Card
from tests import factories
from tests.live_helpers import board_socket, csrf, htmx_post, http_login, receive_all_until, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def world(clean_db):
    people = {"zhangwei": ("member", "publicity", "member", "张伟"), "lina": ("member", "publicity", "member", "李娜")}
    return await factories.board("comments", people=people)


@pytest.fixture
def base(tmp_path):
    port = free_port()
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


BAD_MESSAGES = [
    {"type": "hello", "seq": 10**30},
    {"type": "hello", "seq": -(10**30)},
    {"type": "hello", "seq": 2**31},
    {"type": "hello", "seq": "9" * 40},
    {"type": "hello", "seq": 1.5e308},
    {"type": "hello", "seq": 0, "cards": [10**30, "x", None, -1]},
    {"type": "editing", "card": 10**30},
    {"type": "editing", "card": -(2**63)},
    {"type": "editing", "card": "1" * 400},
    {"type": "editing", "card": [1, 2]},
    {"type": "editing", "card": {"id": 1}},
    {"type": 10**30},
    {"seq": 10**30},
]


async def test_huge_numbers_and_junk_neither_fail_nor_end_the_socket(world, base):
    board = world.board_id
    card_id = await world.card("zhangwei", column="new")
    zhang = await http_login(base, "zhangwei", factories.PASSWORD)
    lina = await http_login(base, "lina", factories.PASSWORD)
    card = await Card.select(Card.id, Card.version).where(Card.id == card_id).first()
    async with board_socket(base, board, zhang, max_size=None) as socket:
        for message in BAD_MESSAGES:
            await socket.send(json.dumps(message))
        junk = ["not json", "[1, 2, 3]", "null", "[" * 100000 + "]" * 100000, "[" * 30000 + "]" * 30000, "{" * 3000]
        for raw in [*junk, b"\x00\xff" * 10]:
            await socket.send(raw)
        # Still alive and live: a colleague's change arrives.
        change = {"title": "垃圾消息之后", "version": card["version"]}
        await htmx_post(lina, f"/cards/{card['id']}", change, await csrf(lina))
        message = await receive_until(socket, "垃圾消息之后", timeout=20)
    header = json.loads(message.partition("\n")[0])
    assert header["type"] == "cards" and header["cards"] == [card["id"]]
    # And the server still answers pages.
    assert (await zhang.get(f"/boards/{board}")).status_code == 200


async def test_an_oversized_message_is_ignored(world, base):
    board = world.board_id
    first, second = [await world.card("zhangwei", column="new", title=title) for title in ("第一张", "第二张")]
    zhang = await http_login(base, "zhangwei", factories.PASSWORD)
    lina = await http_login(base, "lina", factories.PASSWORD)
    async with board_socket(base, board, lina) as watcher:
        await receive_until(watcher, "李娜", timeout=20)  # its own presence: subscribed
        async with board_socket(base, board, zhang) as socket:
            await receive_until(watcher, "张伟", timeout=20)  # presence: 张伟 is here
            await receive_until(socket, "李娜", timeout=20)  # 张伟's socket is subscribed and running too
            padded = json.dumps({"type": "editing", "card": first, "pad": " " * 5000})
            await socket.send(padded)
            await socket.send(json.dumps({"type": "editing", "card": second}))
            # The messages of one socket are handled in order: had the padded one been
            # taken, its marker would have come first.
            received = await receive_all_until(watcher, f'id="editing-{second}"', timeout=20)
        assert not any(f'id="editing-{first}"' in message for message in received)
        assert "张伟 正在编辑" in received[-1]
