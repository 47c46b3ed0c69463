"""The board page renders without waste and never stale: templates compiled once outside
development, each tile's HTML kept per content and language (portal/boards/tiles.py), the
signed-in user and the bell's count in one statement."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.accounts.tables import User
from portal.core.templating import build_environment, environment
from portal.settings import Settings
from tests import factories
from tests.conftest import csrf_from, login


def test_templates_are_compiled_once_outside_development(monkeypatch):
    # The tests run as production does: no stat() of every template on every render.
    assert environment().auto_reload is False
    monkeypatch.setenv("PORTAL_DEVELOPMENT", "1")
    assert Settings().development is True
    assert build_environment(Settings().development).auto_reload is True
    monkeypatch.setenv("PORTAL_DEVELOPMENT", "0")
    assert build_environment(Settings().development).auto_reload is False


def _tiles(html: str) -> list[str]:
    return re.findall(r'<article class="card.*?</article>', html, re.S)


async def test_an_edit_shows_at_once_on_the_next_load(client):
    world = await factories.board("comments")
    card_id = await world.card("member", title="第一版标题", platform="weibo", labels=["交通"])
    await login(client, "member")
    first = (await client.get(f"/boards/{world.board_id}")).text
    assert "第一版标题" in first
    # Served again from the kept tiles: the same tiles, byte for byte.
    assert _tiles((await client.get(f"/boards/{world.board_id}")).text) == _tiles(first)

    response = await client.post(
        f"/cards/{card_id}",
        data={
            "title": "第二版标题",
            "version": 1,
            "platform": "weibo",
            "labels": "交通, 公交",
            "assignee": world.users["member"],
        },
        headers={"x-csrftoken": csrf_from(first), "HX-Request": "true"},
    )
    assert response.status_code == 200, response.text[:300]
    html = (await client.get(f"/boards/{world.board_id}")).text
    assert "第二版标题" in html and "第一版标题" not in html
    assert '<span class="tag">公交</span>' in html
    assert '<span class="assignee">member</span>' in html

    # What the tile shows but the card's version does not cover: the assignee's name.
    await User.update({User.display_name: "张伟"}).where(User.id == world.users["member"])
    html = (await client.get(f"/boards/{world.board_id}")).text
    assert '<span class="assignee">张伟</span>' in html and '<span class="assignee">member</span>' not in html


async def test_each_language_gets_its_own_tiles(client):
    world = await factories.board("comments")
    await world.card("member", title="语言测试", platform="weibo")
    await login(client, "member")
    chinese = (await client.get(f"/boards/{world.board_id}")).text
    await User.update({User.language: "en"}).where(User.id == world.users["member"])
    english = (await client.get(f"/boards/{world.board_id}")).text
    assert "微博" in _tiles(chinese)[0]
    assert "微博" not in _tiles(english)[0] and "Weibo" in _tiles(english)[0]


async def test_an_edit_shows_at_once_in_either_language(client):
    # Both languages' tiles are kept before the edit: neither may be served after it.
    world = await factories.board("comments")
    card_id = await world.card("member", title="旧标题", platform="weibo", labels=["交通"])
    await login(client, "member")

    async def tile_in(language: str) -> str:
        await User.update({User.language: language}).where(User.id == world.users["member"])
        page = (await client.get(f"/boards/{world.board_id}")).text
        return next(tile for tile in _tiles(page) if f'id="card-{card_id}"' in tile)

    before = {"zh_Hans": await tile_in("zh_Hans"), "en": await tile_in("en")}
    assert "旧标题" in before["zh_Hans"] and "旧标题" in before["en"]
    assert await tile_in("zh_Hans") == before["zh_Hans"]  # kept, byte for byte
    page = (await client.get(f"/boards/{world.board_id}")).text
    response = await client.post(
        f"/cards/{card_id}",
        data={"title": "新标题", "version": 1, "platform": "douyin", "labels": "公交"},
        headers={"x-csrftoken": csrf_from(page), "HX-Request": "true"},
    )
    assert response.status_code == 200, response.text[:300]
    for language, platform in (("en", "Douyin"), ("zh_Hans", "抖音"), ("en", "Douyin")):
        tile = await tile_in(language)
        assert "新标题" in tile and "旧标题" not in tile, language
        assert platform in tile, language
        assert '<span class="tag">公交</span>' in tile and "交通" not in tile, language


async def test_the_bell_counts_unread_notifications_on_every_page(client):
    from portal.notifications.tables import Notification

    world = await factories.board("comments")
    card_id = await world.card("member")
    await login(client, "member")
    bell = re.compile(r'id="bell"[^>]*>.*?</a>', re.S)
    before = bell.search((await client.get("/boards")).text).group(0)
    # Two unread of member's count; one already read and one of somebody else's do not.
    for index, (username, read_at) in enumerate(
        [("member", None), ("member", None), ("member", datetime.now(UTC)), ("manager", None)]
    ):
        await Notification.insert(
            Notification(
                user=world.users[username],
                kind="mention",
                title="有人提到了你",
                card_id=card_id,
                dedupe_key=f"t{index}",
                read_at=read_at,
            )
        )
    after = bell.search((await client.get("/boards")).text).group(0)
    assert 'data-unread="2"' in after and "data-unread" not in before


async def test_a_board_as_a_sortable_list(client):
    from datetime import timedelta

    from portal.cards.tables import Card

    world = await factories.board("comments")
    first = await world.card("member", column="new", title="甲：最晚到期", priority="low")
    second = await world.card("member", column="pending", title="乙：最早到期", priority="urgent")
    third = await world.card("member", column="replied", title="丙：没有时限")
    now = datetime.now(UTC)
    await Card.update({Card.due_at: now + timedelta(days=3)}).where(Card.id == first)
    await Card.update({Card.due_at: now + timedelta(hours=2)}).where(Card.id == second)
    await Card.update({Card.due_at: None}).where(Card.id == third)
    await login(client, "member")
    board = (await client.get(f"/boards/{world.board_id}")).text
    assert f"/boards/{world.board_id}?view=list" in board

    def order(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'<tr id="list-card-(\d+)"', html)]

    by_column = (await client.get(f"/boards/{world.board_id}?view=list")).text
    assert order(by_column) == [first, second, third]
    by_due = (await client.get(f"/boards/{world.board_id}?view=list&sort=due")).text
    assert order(by_due) == [second, first, third]  # no deadline last
    assert 'aria-sort="ascending"' in by_due
    by_due_desc = (await client.get(f"/boards/{world.board_id}?view=list&sort=due&order=desc")).text
    assert order(by_due_desc) == [first, second, third]  # still last
    by_priority = (await client.get(f"/boards/{world.board_id}?view=list&sort=priority")).text
    assert order(by_priority)[0] == second
    # Filters hold; nonsense is the default order.
    filtered = (await client.get(f"/boards/{world.board_id}?view=list&priority=urgent")).text
    assert order(filtered) == [second]
    assert order((await client.get(f"/boards/{world.board_id}?view=list&sort=evil")).text) == [first, second, third]
