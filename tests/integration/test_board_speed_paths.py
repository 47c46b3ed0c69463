"""The board page's fast paths show what the slow ones showed: its statements are built once
per process (portal.core.prepared) and counted here, a liaison's statements are her
department's own, and the filter menu's labels come from the cards she may see."""

from __future__ import annotations

import re

import pytest

from portal.boards.services import DONE_PAGE
from portal.cards.tables import Card
from portal.db import engine
from tests import factories
from tests.conftest import login

PEOPLE = {
    "admin": ("admin", None, ""),
    "manager": ("manager", "publicity", "manager"),
    "member": ("member", "publicity", "member"),
    "liaison": ("liaison", "health", "member"),
    "liaison2": ("liaison", "transport", "member"),
}


@pytest.fixture
def statements(monkeypatch):
    """The SQL statements run from here on, as the engine receives them."""
    seen: list[str] = []
    db = type(engine())
    original = db.run_querystring

    async def counting(self, querystring, *args, **kwargs):
        seen.append(querystring.compile_string(self.engine_type)[0])
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(db, "run_querystring", counting)
    return seen


def tile_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html)}


def label_menu(html: str) -> list[str]:
    menu = re.search(r'<select name="label">(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option\s*(?:selected)?>([^<]+)</option>", menu)


async def closed_in_bulk(world: factories.World, count: int) -> None:
    """``count`` closed cards, written straight to the table (only their number matters)."""
    await Card.insert(
        *[
            Card(board=world.board_id, column=world.columns["closed"], position=10_000.0 + i, title=f"旧留言{i}")
            for i in range(count)
        ]
    )


async def test_a_board_page_is_five_statements_whoever_asks(client, statements):
    world = await factories.board("comments", PEOPLE)
    health = world.departments["health"]
    await world.card("member", title="开着的", labels=["交通"], department=health)
    await world.card("member", column="closed", title="办完的", labels=["医保"], department=health)
    await closed_in_bulk(world, DONE_PAGE + 4)  # a done column with a "more" link
    for username in ("admin", "member", "liaison"):
        client.cookies.clear()
        await login(client, username)
        await client.get(f"/boards/{world.board_id}")  # the first build of each statement
        statements.clear()
        page = await client.get(f"/boards/{world.board_id}")
        assert page.status_code == 200
        # The signed-in user with her bell's count; the board, her membership and its columns;
        # the open cards; the done column's first page with how many more it has; the people.
        assert len(statements) == 5, (username, statements)
        if username != "liaison":
            assert 'data-remaining="5"' in page.text  # 55 closed: 50 shown, 5 more
            assert label_menu(page.text) == ["交通", "医保"]
    # A filtered page reads the labels of all the cards the viewer may see for its menu.
    client.cookies.clear()
    await login(client, "member")
    statements.clear()
    filtered = await client.get(f"/boards/{world.board_id}?label=交通")
    assert len(statements) == 6
    assert tile_ids(filtered.text) and "办完的" not in filtered.text
    assert label_menu(filtered.text) == ["交通", "医保"]


async def test_each_liaison_sees_her_own_departments_cards_and_labels(client):
    # Statements are kept per department: a second liaison must not get the first one's.
    world = await factories.board("comments", PEOPLE)
    health, transport = world.departments["health"], world.departments["transport"]
    ours = {
        await world.card("member", title="医保报销", labels=["医保"], department=health),
        await world.card("member", column="closed", title="已办医保", labels=["门诊"], department=health),
    }
    theirs = {
        await world.card("member", title="公交线路", labels=["公交"], department=transport),
        await world.card("member", column="closed", title="已办公交", labels=["地铁"], department=transport),
    }
    shared = await world.card("member", title="两家协办", labels=["协办"], department=transport)
    await Card.update({Card.assisting_departments: [health]}).where(Card.id == shared)
    nobodys = await world.card("member", title="没有分派", labels=["其他"])

    for _ in range(2):  # each again, after the other's statements were built
        await login(client, "liaison")
        page = (await client.get(f"/boards/{world.board_id}")).text
        assert tile_ids(page) == ours | {shared}
        assert label_menu(page) == sorted(["医保", "门诊", "协办"])
        await login(client, "liaison2")
        page = (await client.get(f"/boards/{world.board_id}")).text
        assert tile_ids(page) == theirs | {shared}
        assert label_menu(page) == sorted(["公交", "地铁", "协办"])
    await login(client, "member")
    page = (await client.get(f"/boards/{world.board_id}")).text
    assert tile_ids(page) == ours | theirs | {shared, nobodys}


async def test_the_list_view_shows_the_labels(client):
    world = await factories.board("comments", PEOPLE)
    card_id = await world.card("member", title="带标签", labels=["交通", "公交"])
    await login(client, "member")
    await client.get(f"/boards/{world.board_id}")  # the board page first (its tiles kept)
    listed = (await client.get(f"/boards/{world.board_id}?view=list")).text
    row = re.search(rf'<tr id="list-card-{card_id}".*?</tr>', listed, re.S).group(0)
    assert '<span class="tag">交通</span>' in row and '<span class="tag">公交</span>' in row
