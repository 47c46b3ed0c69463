"""Cards over HTTP: create, edit, move, stale versions, notes with @mentions, filters."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.boards.tables import BoardColumn
from portal.cards.tables import Card, Note
from portal.comments.tables import CommentDetail
from portal.events.tables import Event
from portal.notifications.tables import Notification
from tests import factories
from tests.conftest import csrf_from, login

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "lina": ("member", "publicity", "member", "李娜"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
    # A health liaison who is a member of the comments board (she sees her department's cards only).
    "wangfang": ("liaison", "health", "member", "王芳"),
}


async def comments_board(*names: str) -> factories.World:
    """A comments board with the people a test needs (张伟 always: he makes the cards)."""
    return await factories.board("comments", people={name: PEOPLE[name] for name in ("zhangwei", *names)})


def as_dict(world: factories.World) -> dict:
    return {"id": world.board_id, "columns": world.columns}


async def client_for(username: str):
    client = AsyncTestClient(create_app(), base_url="http://testserver.local")
    await client.__aenter__()
    await login(client, username, factories.PASSWORD)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    return client


async def card_in(column_id: int) -> dict:
    return (
        await Card.select()
        .where((Card.column == column_id) & (Card.archived == False))
        .order_by(  # noqa: E712
            Card.position
        )
        .output(load_json=True)
        .first()
    )


async def test_quick_add_puts_the_card_on_top_and_records_it(clean_db):
    world = await comments_board()
    await world.card("zhangwei", column="new", title="早先的卡片")
    board = as_dict(world)
    client = await client_for("zhangwei")
    column = board["columns"]["new"]
    response = await client.post(
        f"/boards/{board['id']}/columns/{column}/cards", data={"title": "市民反映地铁4号线拥挤"}
    )
    assert response.status_code == 200 and "市民反映地铁4号线拥挤" in response.text
    top = await card_in(column)
    assert top["title"] == "市民反映地铁4号线拥挤" and top["version"] == 1
    assert await Event.exists().where((Event.verb == "card.created") & (Event.object_id == top["id"]))
    empty = await client.post(f"/boards/{board['id']}/columns/{column}/cards", data={"title": "  "})
    assert empty.status_code == 422 and "请输入标题" in empty.text
    await client.__aexit__(None, None, None)


async def test_stale_edit_gets_409_names_who_and_loses_nothing(clean_db):
    world = await comments_board("lina")
    await world.card("zhangwei", column="pending", title="地铁站电梯停运")
    board = as_dict(world)
    li, zhang = await client_for("lina"), await client_for("zhangwei")
    card = await card_in(board["columns"]["pending"])
    # 李娜 moves the card …
    moved = await li.post(
        f"/cards/{card['id']}/move",
        data={"column_id": board["columns"]["replied"], "after_id": "", "version": card["version"]},
    )
    assert moved.status_code == 200
    # … while 张伟 edits what he loaded before the move.
    response = await zhang.post(
        f"/cards/{card['id']}", data={"title": "张伟的新标题", "priority": "urgent", "version": card["version"]}
    )
    assert response.status_code == 409
    assert "李娜" in response.text and "移动" in response.text
    assert 'value="张伟的新标题"' in response.text  # what he typed is still in the form
    fresh = await Card.select(Card.title, Card.column, Card.version).where(Card.id == card["id"]).first()
    assert fresh == {"title": card["title"], "column": board["columns"]["replied"], "version": card["version"] + 1}
    # Saving again from the re-rendered form (it carries the fresh version) succeeds.
    version = re.search(r'name="version" value="(\d+)"', response.text).group(1)
    again = await zhang.post(
        f"/cards/{card['id']}", data={"title": "张伟的新标题", "priority": "urgent", "version": version}
    )
    assert again.status_code == 200
    assert (await Card.select(Card.title).where(Card.id == card["id"]).first())["title"] == "张伟的新标题"
    for client in (li, zhang):
        await client.__aexit__(None, None, None)


async def test_stale_move_gets_409_and_the_card_stays(clean_db):
    world = await comments_board()
    await world.card("zhangwei", column="new")
    board = as_dict(world)
    client = await client_for("zhangwei")
    card = await card_in(board["columns"]["new"])
    await client.post(
        f"/cards/{card['id']}/move", data={"column_id": board["columns"]["pending"], "version": card["version"]}
    )
    response = await client.post(
        f"/cards/{card['id']}/move", data={"column_id": board["columns"]["closed"], "version": card["version"]}
    )
    assert response.status_code == 409 and "张伟" in response.text
    assert f'data-column-id="{board["columns"]["pending"]}"' in response.text  # the fresh card, where it really is
    assert (await Card.select(Card.column).where(Card.id == card["id"]).first())["column"] == board["columns"][
        "pending"
    ]
    await client.__aexit__(None, None, None)


async def test_move_lands_directly_under_the_chosen_card(clean_db):
    world = await comments_board()
    for title in ("已回复一", "已回复二", "已回复三"):
        await world.card("zhangwei", column="replied", title=title)
    await world.card("zhangwei", column="new")
    board = as_dict(world)
    client = await client_for("zhangwei")
    target = board["columns"]["replied"]
    ids = [row["id"] for row in await Card.select(Card.id).where(Card.column == target).order_by(Card.position)]
    card = await card_in(board["columns"]["new"])
    await client.post(
        f"/cards/{card['id']}/move", data={"column_id": target, "after_id": ids[1], "version": card["version"]}
    )
    after = [row["id"] for row in await Card.select(Card.id).where(Card.column == target).order_by(Card.position)]
    assert after == ids[:2] + [card["id"]] + ids[2:]
    await client.__aexit__(None, None, None)


async def test_bad_card_input_changes_nothing(clean_db):
    world = await comments_board()
    await world.card("zhangwei", column="new", title="原来的标题")
    board = as_dict(world)
    client = await client_for("zhangwei")
    card = await card_in(board["columns"]["new"])
    for data, message in [
        ({"title": "", "version": card["version"]}, "请输入标题"),
        ({"title": "x", "link": "javascript:alert(1)", "version": card["version"]}, "http"),
        ({"title": "x", "assignee": "999999", "version": card["version"]}, "看板"),
        ({"title": "x", "priority": "whenever", "version": card["version"]}, "优先级"),
        ({"title": "x"}, "版本"),
    ]:
        response = await client.post(f"/cards/{card['id']}", data=data)
        assert response.status_code == 422 and message in response.text, (data, response.text[:300])
    assert await Card.select(Card.title, Card.version).where(Card.id == card["id"]).first() == {
        "title": card["title"],
        "version": card["version"],
    }
    await client.__aexit__(None, None, None)


async def test_mention_in_a_note_notifies_once(clean_db):
    from portal.accounts.tables import User

    world = await comments_board("lina")
    await world.card("zhangwei", column="new")
    board = as_dict(world)
    client = await client_for("zhangwei")
    card = await card_in(board["columns"]["new"])
    response = await client.post(f"/cards/{card['id']}/notes", data={"body": "@lina 请核实后回复，@李娜 辛苦"})
    assert response.status_code == 200 and "请核实后回复" in response.text
    lina = (await User.select(User.id).where(User.username == "lina").first())["id"]
    notes = await Notification.select().where(Notification.user == lina)
    assert len(notes) == 1 and notes[0]["kind"] == "mention" and "张伟" in notes[0]["title"]
    assert await Note.count().where(Note.card == card["id"]) >= 1
    li = await client_for("lina")
    page = (await li.get("/notifications")).text
    assert "张伟" in page and 'class="badge"' in page
    for c in (client, li):
        await c.__aexit__(None, None, None)


async def test_filters_are_kept_in_the_url(clean_db):
    world = await comments_board("lina")
    zhang, lina = world.users["zhangwei"], world.users["lina"]
    for fields in [
        {"title": "医保报销比例咨询", "assignee": zhang, "platform": "weibo", "priority": "high", "labels": ["表扬"]},
        {"title": "地铁4号线拥挤", "assignee": zhang, "platform": "weibo", "sentiment": "negative"},
        {"title": "公交线路调整", "assignee": lina, "platform": "weibo", "priority": "high", "sentiment": "negative"},
        {"title": "异地就医备案", "body": "医保卡怎么办", "platform": "wechat", "priority": "high"},
        {"title": "路灯不亮", "platform": "douyin", "sentiment": "positive", "labels": ["投诉"]},
    ]:
        await world.card("zhangwei", column="new", **fields)
    board = as_dict(world)
    client = await client_for("zhangwei")
    shown = lambda html: set(re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html))  # noqa: E731
    mine = shown((await client.get(f"/boards/{board['id']}?assignee=me")).text)
    from portal.accounts.tables import User

    me = (await User.select(User.id).where(User.username == "zhangwei").first())["id"]
    expected = {
        str(r["id"])
        for r in await Card.select(Card.id).where(
            (Card.board == board["id"]) & (Card.assignee == me) & (Card.archived == False)
        )
    }  # noqa: E712
    assert mine == expected and mine
    weibo = shown((await client.get(f"/boards/{board['id']}?platform=weibo&priority=high")).text)
    rows = await CommentDetail.select(CommentDetail.card).where(
        (CommentDetail.card.board == board["id"])
        & (CommentDetail.platform == "weibo")
        & (CommentDetail.card.priority == "high")
        & (CommentDetail.card.archived == False)  # noqa: E712
    )
    assert weibo and weibo == {str(r["card"]) for r in rows}
    negative = shown((await client.get(f"/boards/{board['id']}?sentiment=negative")).text)
    rows = await CommentDetail.select(CommentDetail.card).where(
        (CommentDetail.card.board == board["id"]) & (CommentDetail.sentiment == "negative")
    )
    assert negative and negative == {str(r["card"]) for r in rows}
    text = shown((await client.get(f"/boards/{board['id']}?q=医保")).text)
    rows = await CommentDetail.select(
        CommentDetail.card.title, CommentDetail.card.body, CommentDetail.author_handle
    ).where(CommentDetail.card.is_in([int(i) for i in text]))
    assert text and all("医保" in f"{r['card.title']} {r['card.body']} {r['author_handle']}" for r in rows)
    page = (await client.get(f"/boards/{board['id']}?label=表扬")).text
    labelled = shown(page)
    rows = (
        await Card.select(Card.id, Card.labels).where(Card.id.is_in([int(i) for i in labelled])).output(load_json=True)
    )
    assert 'data-filter-query="label=%E8%A1%A8%E6%89%AC"' in page
    assert labelled and all("表扬" in row["labels"] for row in rows)
    await client.__aexit__(None, None, None)


async def test_manager_edits_columns_and_viewers_are_told_to_refetch(clean_db):
    world = await comments_board("chenjing")
    await world.card("zhangwei", column="new")  # a column with cards cannot be archived
    board = as_dict(world)
    client = await client_for("chenjing")
    response = await client.post(
        f"/boards/{board['id']}/settings/columns/{board['columns']['pending']}",
        data={"name": "处理中", "meaning": "working", "wip_limit": "30"},
    )
    assert response.status_code in (200, 303)
    row = (
        await BoardColumn.select(BoardColumn.name, BoardColumn.wip_limit)
        .where(BoardColumn.id == board["columns"]["pending"])
        .first()
    )
    assert row == {"name": "处理中", "wip_limit": 30}
    bad = await client.post(
        f"/boards/{board['id']}/settings/columns/{board['columns']['pending']}",
        data={"name": "处理中", "meaning": "working", "wip_limit": "lots"},
    )
    assert bad.status_code == 422
    full = await client.post(f"/boards/{board['id']}/settings/columns/{board['columns']['new']}/archive")
    assert full.status_code == 422 and "先" in full.text
    await client.__aexit__(None, None, None)


async def test_resaving_after_a_conflict_keeps_the_other_persons_change(clean_db):
    from portal.accounts.tables import User

    world = await comments_board("chenjing", "lina")
    await world.card("zhangwei", column="pending", title="医保报销咨询", assignee=world.users["zhangwei"])
    board = as_dict(world)
    chen, zhang = await client_for("chenjing"), await client_for("zhangwei")
    card = await card_in(board["columns"]["pending"])
    lina = (await User.select(User.id).where(User.username == "lina").first())["id"]
    # 陈静 reassigns the card to 李娜 …
    await chen.post(
        f"/cards/{card['id']}",
        data={"title": card["title"], "priority": card["priority"], "assignee": lina, "version": card["version"]},
    )
    # … while 张伟 changes the title on the version he loaded (with the old assignee).
    conflict = await zhang.post(
        f"/cards/{card['id']}",
        data={
            "title": "张伟改的标题",
            "priority": card["priority"],
            "assignee": card["assignee"] or "",
            "version": card["version"],
        },
    )
    assert conflict.status_code == 409
    assert 'value="张伟改的标题"' in conflict.text  # his own change is kept in the form …
    assert re.search(rf'<option value="{lina}" selected>', conflict.text)  # … hers shows her value
    version = re.search(r'name="version" value="(\d+)"', conflict.text).group(1)
    form = dict(re.findall(r'name="(title|priority)" value="([^"]*)"', conflict.text))
    await zhang.post(
        f"/cards/{card['id']}", data={**form, "title": "张伟改的标题", "assignee": lina, "version": version}
    )
    row = await Card.select(Card.title, Card.assignee).where(Card.id == card["id"]).first()
    assert row == {"title": "张伟改的标题", "assignee": lina}
    for client in (chen, zhang):
        await client.__aexit__(None, None, None)


async def test_mentioning_someone_who_cannot_see_the_card_tells_them_nothing(clean_db):
    world = await comments_board("wangfang")  # a liaison on the comments board
    await world.card("zhangwei", column="new")  # no department: not hers
    board = as_dict(world)
    wang = world.users["wangfang"]
    client = await client_for("zhangwei")
    card = await card_in(board["columns"]["new"])
    await client.post(f"/cards/{card['id']}/notes", data={"body": "@wangfang 这条请看下"})
    assert not await Notification.exists().where(Notification.user == wang)
    await client.__aexit__(None, None, None)
