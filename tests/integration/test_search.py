"""Full-text search (issue #16, part 3): Chinese queries without spaces, ranking, filters,
archived cards, edits, notes and replies — the index follows every card write by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards import services as cards
from portal.cards.forms import CardForm, NoteForm
from portal.cards.tables import Card
from portal.comments import replies
from portal.comments.replies import ReplyInput, ReturnInput
from portal.comments.tables import Reply
from portal.core.errors import FormError
from portal.search import indexer
from portal.search import services as search
from portal.search.tables import SearchDoc
from tests import factories
from tests.conftest import login


@pytest.fixture
async def world(clean_db):
    search.forget_categories()
    return await factories.board("comments")


async def find(world, username: str, query: str, **params) -> search.Results:
    user = await get_active_user(world.users[username])
    q, filters, page = await search.parse(user, {"q": query, **{k: str(v) for k, v in params.items()}})
    return await search.search(user, q, filters, page)


async def ids(world, username: str, query: str, **params) -> list[int]:
    return [hit.card_id for hit in (await find(world, username, query, **params)).hits]


async def test_a_chinese_query_without_spaces_finds_the_words_apart(world):
    wanted = await world.card(
        title="地铁临时停运怎么办", body="今天早上2号线因暴雨临时停运，上班迟到了。", platform="weibo"
    )
    await world.card(title="公交改线", body="37路公交改线后不经过学校了", platform="weibo")
    assert await ids(world, "member", "地铁停运") == [wanted]
    assert await ids(world, "member", "暴雨 停运") == [wanted]
    assert await ids(world, "member", "公交改线") != [wanted]
    hit = (await find(world, "member", "地铁停运")).hits[0]
    assert "<mark>地铁</mark>" in str(hit.title_html) and "<mark>停运</mark>" in str(hit.title_html)
    assert hit.link == f"/boards/{world.board_id}?card={wanted}"


async def test_the_better_match_comes_first(world):
    weak = await world.card(title="咨询", body="周末地铁人多，还有停运的消息吗", platform="weibo")
    strong = await world.card(title="地铁停运", body="地铁停运了，地铁什么时候恢复？停运通知在哪看", platform="weibo")
    assert await ids(world, "member", "地铁停运") == [strong, weak]
    # Newest first, when asked.
    assert await ids(world, "member", "地铁停运", sort="newest") == [strong, weak]


async def test_filters_each_narrow_the_results(world):
    other = await world.board("inquiries")
    weibo = await world.card(title="医保报销太慢", platform="weibo", received_at=datetime.now(UTC) - timedelta(days=40))
    wechat = await world.card(title="医保报销材料", platform="wechat")
    inquiry = await other.card(title="异地医保报销", category="policy", department=world.departments["health"])
    everything = set(await ids(world, "member", "医保报销"))
    assert everything == {weibo, wechat, inquiry}
    assert await ids(world, "member", "医保报销", board=world.board_id) in ([weibo, wechat], [wechat, weibo])
    assert await ids(world, "member", "医保报销", kind="inquiries") == [inquiry]
    assert await ids(world, "member", "医保报销", platform="wechat") == [wechat]
    assert await ids(world, "member", "医保报销", category="policy") == [inquiry]
    assert await ids(world, "member", "医保报销", department=world.departments["health"]) == [inquiry]
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    assert set(await ids(world, "member", "医保报销", **{"from": month_ago})) == {wechat, inquiry}
    assert await ids(world, "member", "医保报销", to=month_ago) == [weibo]
    closed = await world.card(title="医保报销已经解决", column="closed", platform="weibo")
    assert await ids(world, "member", "医保报销", state="closed") == [closed]
    assert closed not in await ids(world, "member", "医保报销", state="open")


async def test_an_archived_card_is_still_found_and_says_so(world):
    card_id = await world.card(title="上个月地铁停运的留言", column="closed", platform="weibo")
    access = await world.access("member")
    version = (await cards.get_card(access, card_id))["version"]
    await cards.archive_card(access, card_id, version)
    found = await find(world, "member", "地铁停运")
    assert [hit.card_id for hit in found.hits] == [card_id]
    assert found.hits[0].state == "archived" and found.hits[0].state_label == "已归档"
    assert found.hits[0].link == f"/cards/{card_id}"  # its own page: read only, restorable
    assert await ids(world, "member", "地铁停运", state="archived") == [card_id]
    assert await ids(world, "member", "地铁停运", state="open") == []


async def test_an_edited_card_is_found_by_its_new_words_not_its_old_ones(world):
    card_id = await world.card(title="暴雨积水", body="小区门口积水严重", platform="weibo")
    assert await ids(world, "member", "积水") == [card_id]
    access = await world.access("member")
    card = await cards.get_card(access, card_id)
    form = CardForm(version=card["version"], fields={"title": "学区划分", "body": "明年学区怎么划分"})
    await cards.update_card(access, card_id, form)
    assert await ids(world, "member", "学区划分") == [card_id]
    assert await ids(world, "member", "积水") == []


async def test_notes_and_replies_are_found(world):
    card_id = await world.card(title="咨询", body="请问怎么办理", platform="weibo", sentiment="neutral")
    access = await world.access("member")
    await cards.add_note(access, card_id, NoteForm(body="已转交公积金中心核实"))
    assert await ids(world, "member", "公积金中心") == [card_id]
    await replies.submit(
        await world.access("manager"), card_id, ReplyInput(body="您好，提取公积金请带身份证到服务大厅办理。")
    )
    assert await ids(world, "member", "服务大厅") == [card_id]
    hit = (await find(world, "member", "服务大厅")).hits[0]
    assert "<mark>服务大厅</mark>" in str(hit.snippet_html) or "<mark>服务</mark>" in str(hit.snippet_html)


async def test_an_author_is_found(world):
    card_id = await world.card(title="投诉", body="噪音扰民", platform="weibo", author_handle="临江小王")
    assert await ids(world, "member", "临江小王") == [card_id]


async def test_paging_twenty_a_page(world):
    made = [await world.card(title=f"地铁停运第{n}条", platform="weibo") for n in range(23)]
    first = await find(world, "member", "地铁停运")
    second = await find(world, "member", "地铁停运", page=2)
    assert first.total == 23 and second.total == 23 and first.pages == 2
    assert len(first.hits) == 20 and len(second.hits) == 3
    assert {hit.card_id for hit in first.hits + second.hits} == set(made)


async def test_user_text_is_escaped_in_snippets(world):
    await world.card(title="<script>alert(1)</script> 地铁", body="<b>停运</b>", platform="weibo")
    hit = (await find(world, "member", "地铁停运")).hits[0]
    assert "<script>" not in str(hit.title_html) and "&lt;script&gt;" in str(hit.title_html)
    assert "<b>" not in str(hit.snippet_html) and "&lt;b&gt;<mark>停运</mark>" in str(hit.snippet_html)


async def test_bad_input_is_refused_field_by_field(world):
    user = await get_active_user(world.users["member"])
    with pytest.raises(FormError) as refused:
        await search.parse(user, {"q": "地铁", "board": "x", "from": "yesterday", "state": "gone", "page": "0"})
    assert set(refused.value.errors) == {"board", "from", "state", "page"}


async def test_the_backfill_indexes_cards_missing_from_the_index(world):
    card_id = await world.card(title="学区划分意见", platform="weibo")
    await SearchDoc.delete(force=True)
    assert await ids(world, "member", "学区划分") == []
    assert await indexer.backfill(batch=1) == 1
    assert await ids(world, "member", "学区划分") == [card_id]
    assert await indexer.backfill() == 0


async def test_the_search_page_and_the_api(world, client):
    card_id = await world.card(title="地铁临时停运", body="早高峰停运", platform="weibo")
    await login(client, "member")
    empty = await client.get("/search")
    assert empty.status_code == 200 and "输入" in empty.text
    page = await client.get("/search", params={"q": "地铁停运"})
    assert page.status_code == 200
    assert f"/boards/{world.board_id}?card={card_id}" in page.text and "<mark>停运</mark>" in page.text
    # A filter changed (htmx): only the results come back, in place.
    partial = await client.get(
        "/search",
        params={"q": "地铁停运", "state": "open"},
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    )
    assert partial.status_code == 200 and "<form" not in partial.text and f"card={card_id}" in partial.text
    none = await client.get("/search", params={"q": "火星移民"})
    assert "没有找到" in none.text
    api = await client.get("/api/v1/search", params={"q": "地铁停运"})
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["total"] == 1 and body["results"][0]["id"] == card_id
    assert body["results"][0]["url"] == f"/boards/{world.board_id}?card={card_id}"
    bad = await client.get("/api/v1/search", params={"q": "地铁", "state": "x", "from": "2026-13-01"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"state", "from"}
    missing = await client.get("/api/v1/search")
    assert missing.status_code == 422 and "q" in missing.json()["errors"]


async def test_an_older_reading_of_a_card_never_overwrites_a_newer_one(world):
    """Two writes a moment apart, their effects in two processes: the slower one, which read
    the card before the second write, must not put the first write's words back."""
    card_id = await world.card(title="路灯不亮", platform="weibo")
    doc = await SearchDoc.select(SearchDoc.card_version).where(SearchDoc.card == card_id).first()
    await SearchDoc.update({SearchDoc.card_version: doc["card_version"] + 5}).where(SearchDoc.card == card_id)
    await Card.update({Card.title: "路灯修好了"}).where(Card.id == card_id)  # read at an older version
    await indexer.reindex([card_id])
    assert await ids(world, "member", "路灯不亮") == [card_id]
    assert await ids(world, "member", "修好") == []


async def test_indexing_every_card_again_cuts_unchanged_text_into_words_again(world):
    """``portal search-index --all`` after the segmentation changed: the words of every card are
    written again, although no card's text changed."""
    card_id = await world.card(title="学区划分意见", body="明年学区怎么划分", platform="weibo")
    await SearchDoc.update({SearchDoc.title_terms: "", SearchDoc.terms: ""}).where(SearchDoc.card == card_id)
    assert await ids(world, "member", "学区划分") == []
    assert await indexer.backfill(everything=True) == 1
    assert await ids(world, "member", "学区划分") == [card_id]


async def test_a_reading_from_before_a_note_never_overwrites_the_notes_words(world):
    """A note raises no card version: two notes a moment apart, the first one's run slower —
    what it read before the second note must not take the second note's words away."""
    card_id = await world.card(title="咨询", body="请问怎么办理", platform="weibo")
    access = await world.access("member")
    await cards.add_note(access, card_id, NoteForm(body="已电话联系"))
    before = await indexer._read([card_id])  # the first note's run reads the card …
    await cards.add_note(access, card_id, NoteForm(body="已转交公积金中心核实"))  # … the second note is indexed
    assert await ids(world, "member", "公积金中心") == [card_id]
    stale = [indexer._document(card_id, before[card_id])]
    indexer._cut(stale)
    await indexer._write(stale)  # … then the first run writes what it read
    assert await ids(world, "member", "公积金中心") == [card_id]
    # A newer reading still replaces it.
    await Card.update({Card.title: "公积金提取咨询"}).where(Card.id == card_id)
    await cards.add_note(access, card_id, NoteForm(body="已办结"))
    assert await ids(world, "member", "提取") == [card_id]


@pytest.mark.parametrize("value", ["\x00", "交通\x00", "\x1b[0m", "\x7f"])
async def test_control_characters_are_refused_on_the_page_and_the_api(world, client, value):
    card_id = await world.card(title="地铁临时停运", platform="weibo")
    await login(client, "member")
    for name in ("category", "q", "platform", "board"):
        params = {"q": "地铁", name: value}
        page = await client.get("/search", params=params)
        assert page.status_code == 422, (name, page.text[:300])
        assert "控制字符" in page.text and "\x00" not in page.text
        api = await client.get("/api/v1/search", params=params)
        assert api.status_code == 422 and name in api.json()["errors"], (name, api.text)
    # The same search without it works.
    page = await client.get("/search", params={"q": "地铁"})
    assert page.status_code == 200 and f"card={card_id}" in page.text


async def test_a_search_reads_the_persons_boards_once(world, client, monkeypatch):
    from portal.stats import scope as scopes

    await world.card(title="地铁临时停运", platform="weibo")
    await login(client, "member")
    calls = []
    original = scopes.scope_for

    async def counted(user):
        calls.append(user.id)
        return await original(user)

    monkeypatch.setattr(scopes, "scope_for", counted)
    page = await client.get("/search", params={"q": "地铁停运", "board": str(world.board_id)})
    assert page.status_code == 200 and "地铁" in page.text
    assert len(calls) == 1
    calls.clear()
    api = await client.get("/api/v1/search", params={"q": "地铁停运", "board": str(world.board_id)})
    assert api.status_code == 200 and api.json()["total"] == 1
    assert len(calls) == 1


async def test_the_pager_never_offers_a_page_it_refuses(world, client, monkeypatch):
    monkeypatch.setattr(search, "MAX_PAGE", 2)
    for n in range(45):
        await world.card(title=f"地铁停运第{n}条", platform="weibo")
    last = await find(world, "member", "地铁停运", page=2)
    assert last.total == 45 and last.pages == 2 and not last.has_next
    await login(client, "member")
    page = await client.get("/search", params={"q": "地铁停运", "page": "2"})
    assert page.status_code == 200 and 'rel="next"' not in page.text and 'rel="prev"' in page.text
    api = await client.get("/api/v1/search", params={"q": "地铁停运", "page": "2"})
    assert api.status_code == 200 and api.json()["pages"] == 2 and api.json()["total"] == 45
    beyond = await client.get("/api/v1/search", params={"q": "地铁停运", "page": "3"})
    assert beyond.status_code == 422 and "page" in beyond.json()["errors"]


async def test_a_returned_draft_is_not_found_a_sent_reply_is(world):
    card_id = await world.card(title="投诉公交", body="公交总是晚点", platform="weibo", sentiment="negative")
    member = await world.access("member")
    manager = await get_active_user(world.users["manager"])
    await replies.submit(member, card_id, ReplyInput(body="已转交公交集团调度中心核实"))
    assert await ids(world, "member", "调度中心") == [card_id]  # a draft waiting for approval
    await cards.add_note(member, card_id, NoteForm(body="等待审核"))  # the card is indexed again meanwhile
    draft = await Reply.select(Reply.id).where(Reply.card == card_id).first()
    await replies.return_reply(manager, draft["id"], ReturnInput(reason="请写明处理时限"))
    assert await ids(world, "member", "调度中心") == []
    await replies.submit(member, card_id, ReplyInput(body="您好，公交集团已承诺三日内调整班次"))
    sent = await Reply.select(Reply.id).where(Reply.card == card_id).order_by(Reply.id, ascending=False).first()
    await replies.approve(manager, sent["id"])
    assert await ids(world, "member", "调整班次") == [card_id]
    assert await ids(world, "member", "调度中心") == []
