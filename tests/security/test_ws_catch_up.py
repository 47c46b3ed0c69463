"""Catching up after a reconnect never tells a department-scoped viewer the id of a card
they never had: only cards their page showed are taken off it."""

from __future__ import annotations

import json
import re

import pytest

from portal.cards.tables import Card
from tests import factories
from tests.live_helpers import board_socket, csrf, htmx_post, http_login, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def world(clean_db):
    """An inquiries board: 孙丽 of the hotline dispatches, 王芳 is the health liaison."""
    people = {
        "sunli": ("member", "hotline", "member", "孙丽"),
        "wangfang": ("liaison", "health", "member", "王芳"),
    }
    return await factories.board("inquiries", people=people)


@pytest.fixture
def base(tmp_path):
    port = free_port()
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


async def test_catch_up_deletes_only_cards_the_page_showed(world, base):
    inquiries = world.board_id
    health, housing = world.departments["health"], await factories.department("housing", "住建局")
    for title, department in [("卫健委一", health), ("卫健委二", health), ("住建局的", housing)]:
        # Not yet dispatched: routing is still the centre's to change in the form (later, only 退单 re-routes).
        await world.card("sunli", column="pending_accept", title=title, department=department)
    fields = (Card.id, Card.version, Card.department)
    ours = await Card.select(*fields).where((Card.board == inquiries) & (Card.department == health)).order_by(Card.id)
    theirs = await Card.select(*fields).where((Card.board == inquiries) & (Card.department != health)).first()
    assert len(ours) >= 2 and theirs
    liaison = await http_login(base, "wangfang", factories.PASSWORD)
    editor = await http_login(base, "sunli", factories.PASSWORD)
    page = (await liaison.get(f"/boards/{inquiries}")).text
    assert f'id="card-{theirs["id"]}"' not in page
    seq = int(page.split('data-seq="', 1)[1].split('"', 1)[0])
    token = await csrf(editor)
    # While 王芳's page is away: another department's card changes, and one of hers moves
    # to another department.
    await htmx_post(
        editor,
        f"/cards/{theirs['id']}",
        {"title": "别的部门", "version": theirs["version"], "department": theirs["department"]},
        token,
    )
    moved = ours[0]
    await htmx_post(
        editor,
        f"/cards/{moved['id']}",
        {"title": "转给别的部门", "version": moved["version"], "department": housing},
        token,
    )
    async with board_socket(base, inquiries, liaison) as socket:
        shown = [int(i) for i in re.findall(r'<article class="card[^"]*" id="card-(\d+)"', page)]
        assert moved["id"] in shown
        await socket.send(json.dumps({"type": "hello", "seq": seq, "cards": shown}))
        message = await receive_until(socket, f'id="card-{moved["id"]}"', timeout=20)
        # The card she had goes away; the one she never had is not even named.
        assert f'<article id="card-{moved["id"]}" hx-swap-oob="delete">' in message
        assert theirs["id"] not in json.loads(message.partition("\n")[0])["cards"]
        assert f'card-{theirs["id"]}"' not in message and "别的部门" not in message
        # Live, too: a card leaving her department is taken off her board by the id in the header.
        second = ours[1]
        await htmx_post(
            editor,
            f"/cards/{second['id']}",
            {"title": "也转走", "version": second["version"], "department": housing},
            token,
        )
        message = await receive_until(socket, f'id="card-{second["id"]}"', timeout=20)
        assert f'<article id="card-{second["id"]}" hx-swap-oob="delete">' in message
        assert "也转走" not in message
