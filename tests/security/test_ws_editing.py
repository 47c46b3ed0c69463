""" "张三 正在编辑" is shown only for people who may edit the card, at a bounded rate, with
the facts in the message header (not scraped from HTML)."""

from __future__ import annotations

import json

import pytest

from portal.boards.tables import Board
from portal.cards.tables import Card
from tests import factories
from tests.live_helpers import (
    board_socket,
    csrf,
    hello,
    htmx_post,
    http_login,
    receive_all_until,
    receive_until,
    subscribed,
)
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def world(clean_db):
    people = {
        "zhangwei": ("member", "publicity", "member", "张伟"),
        "lina": ("member", "publicity", "member", "李娜"),
        "hejianguo": ("viewer", "publicity", "viewer", "何建国"),  # a leader who only looks
    }
    return await factories.board("comments", people=people)


@pytest.fixture
def base(tmp_path):
    port = free_port()
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


def header_of(message: str) -> dict:
    return json.loads(message.partition("\n")[0])


async def card_ids(world: factories.World, count: int) -> list[int]:
    return [await world.card("zhangwei", column="new", title=f"卡片{index}") for index in range(count)]


async def test_a_viewer_cannot_show_editing_on_a_card(world, base):
    board = world.board_id
    first, second = await card_ids(world, 2)
    lina, leader, zhang = [
        await http_login(base, name, factories.PASSWORD) for name in ("lina", "hejianguo", "zhangwei")
    ]
    # Something to catch up on, so that the leader's hello gets an answer.
    seq = (await Board.select(Board.seq).where(Board.id == board).first())["seq"]
    card = await Card.select(Card.version).where(Card.id == second).first()
    await htmx_post(zhang, f"/cards/{second}", {"title": "有一次修改", "version": card["version"]}, await csrf(zhang))
    async with board_socket(base, board, lina) as watcher:
        await subscribed(watcher, "李娜")
        async with board_socket(base, board, leader) as viewer, board_socket(base, board, zhang) as member:
            await viewer.send(json.dumps({"type": "editing", "card": first}))
            # The viewer's messages are handled in order: once its hello is answered, its
            # editing message has been dealt with.
            await hello(viewer, seq)
            await receive_until(viewer, "有一次修改", timeout=20)
            await member.send(json.dumps({"type": "editing", "card": second}))
            received = await receive_all_until(watcher, f'id="editing-{second}"', timeout=20)
    assert not any("何建国" in m and "正在编辑" in m for m in received)
    assert not any(f'id="editing-{first}"' in m for m in received)
    header = header_of(received[-1])
    assert header["type"] == "editing" and header["card"] == second and header["name"] == "张伟"
    assert f'data-user-id="{header["user"]}"' in received[-1]


async def test_editing_messages_are_throttled(world, base):
    board = world.board_id
    cards = await card_ids(world, 3)
    lina, zhang = [await http_login(base, name, factories.PASSWORD) for name in ("lina", "zhangwei")]
    async with board_socket(base, board, lina) as watcher:
        await subscribed(watcher, "李娜")
        async with board_socket(base, board, zhang) as member:
            await receive_until(watcher, "张伟", timeout=20)  # presence
            # A script flips between two cards as fast as it can, then settles on a third.
            for index in range(200):
                await member.send(json.dumps({"type": "editing", "card": cards[index % 2]}))
            await member.send(json.dumps({"type": "editing", "card": cards[2]}))
            received = await receive_all_until(watcher, f'id="editing-{cards[2]}"', timeout=30)
    markers = [m for m in received if header_of(m)["type"] == "editing"]
    # The last wish arrives; the flood in between does not reach everyone on the board.
    assert "张伟 正在编辑" in markers[-1] and header_of(markers[-1])["card"] == cards[2]
    assert len(markers) < 20, f"{len(markers)} editing broadcasts for one person"
