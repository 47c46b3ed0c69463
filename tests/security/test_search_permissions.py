"""Search shows only what its reader may see (issue #16): a liaison only her department's cases,
nobody the cards of a board she is not on, and nobody a citizen's number — not in a title, not
in a snippet, not by searching for it; the API obeys the same rules as the page."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.core.errors import FormError
from portal.search import services as search
from tests import factories
from tests.conftest import login

PHONE = "13812345678"


@pytest.fixture
async def world(clean_db):
    search.forget_categories()
    world = await factories.board("inquiries")
    health, publicity = world.departments["health"], world.departments["publicity"]
    world.mine = await world.card(
        "manager", title="医保报销咨询", body=f"市民来电询问医保报销，联系电话{PHONE}", department=health,
        citizen_name="李女士", citizen_phone=PHONE,
    )  # fmt: skip
    world.assisting = await world.card(
        "manager", title="医保报销投诉", department=publicity, assisting_departments=[health]
    )
    world.others = await world.card("manager", title="医保报销政策", department=publicity)
    world.unrouted = await world.card("manager", title="医保报销材料")
    return world


async def found(world, username: str, query: str = "医保报销", **params) -> list[int]:
    user = await get_active_user(world.users[username])
    q, filters, page = await search.parse(user, {"q": query, **{k: str(v) for k, v in params.items()}})
    return sorted(hit.card_id for hit in (await search.search(user, q, filters, page)).hits)


async def test_a_liaison_finds_only_her_departments_cases(world):
    assert await found(world, "liaison") == sorted([world.mine, world.assisting])
    assert await found(world, "member") == sorted([world.mine, world.assisting, world.others, world.unrouted])
    # Narrowing to another department does not widen what she sees.
    assert await found(world, "liaison", department=world.departments["publicity"]) == [world.assisting]
    assert await found(world, "liaison", state="archived") == []


async def test_a_liaison_without_a_department_finds_nothing(world):
    await factories.user("drifter", role="liaison", department_code=None)
    from portal.boards.tables import BoardMember

    await BoardMember.insert(BoardMember(board=world.board_id, user=await factories.user("drifter"), role="member"))
    world.users["drifter"] = await factories.user("drifter")
    assert await found(world, "drifter") == []


async def test_nobody_finds_the_cards_of_a_board_she_is_not_on(world):
    assert await found(world, "outsider") == []
    user = await get_active_user(world.users["outsider"])
    with pytest.raises(FormError) as refused:
        await search.parse(user, {"q": "医保", "board": str(world.board_id)})
    assert "board" in refused.value.errors
    # An archived card of the board stays hidden from her too.
    access = await world.access("manager")
    from portal.cards import services as cards

    await cards.archive_card(access, world.others, None)
    assert await found(world, "outsider") == []
    assert world.others in await found(world, "member")


async def test_a_citizens_number_is_never_shown_nor_searchable(world):
    for username in ("viewer", "member", "manager", "liaison", "admin"):
        user = await get_active_user(world.users[username])
        results = await search.search(user, "医保报销咨询", search.SearchFilters())
        hit = next(hit for hit in results.hits if hit.card_id == world.mine)
        shown = " ".join([hit.title, hit.snippet, str(hit.title_html), str(hit.snippet_html)])
        assert PHONE not in shown and "138****5678" in hit.snippet, username
        # Searching for the number finds nothing, whoever asks.
        assert (await search.search(user, PHONE, search.SearchFilters())).hits == [], username
        assert (await search.search(user, "12345678", search.SearchFilters())).hits == [], username


async def test_the_api_obeys_the_same_rules(world):
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:

        async def api(username: str, **params) -> tuple[int, dict]:
            token = await create_token(await get_active_user(world.users[username]), "search")
            response = await client.get(
                "/api/v1/search", params={"q": "医保报销", **params}, headers={"Authorization": f"Bearer {token}"}
            )
            return response.status_code, response.json()

        status, body = await api("liaison")
        assert status == 200 and sorted(row["id"] for row in body["results"]) == sorted([world.mine, world.assisting])
        assert PHONE not in str(body)
        status, body = await api("outsider")
        assert status == 200 and body["results"] == [] and body["total"] == 0
        status, body = await api("outsider", board=world.board_id)
        assert status == 422 and "board" in body["errors"]
        status, body = await api("member", q=PHONE)
        assert status == 200 and body["results"] == []
        # Not logged in: no search at all.
        anonymous = await client.get("/api/v1/search", params={"q": "医保报销"})
        assert anonymous.status_code == 401


async def test_the_page_obeys_the_same_rules(world, client):
    await login(client, "liaison")
    page = await client.get("/search", params={"q": "医保报销"})
    assert page.status_code == 200
    assert f"card={world.mine}" in page.text and f"card={world.assisting}" in page.text
    assert f"card={world.others}" not in page.text and f"card={world.unrouted}" not in page.text
    assert PHONE not in page.text


async def test_the_category_filter_offers_only_the_topics_one_may_see(world, client):
    """The filter's choices come from the index: another board's topics, or the cases routed to
    another department, are not the reader's to learn from it."""
    from portal.comments.tables import CommentDetail
    from portal.inquiries.tables import InquiryDetail
    from portal.search import indexer
    from portal.stats.scope import scope_for

    comments = await factories.board(
        "comments", {"manager": ("manager", "publicity", "manager"), "liaison": ("liaison", "health", "")}
    )
    comment = await comments.card("manager", title="地铁施工噪音", platform="weibo")
    await CommentDetail.update({CommentDetail.topic: "夜间施工"}).where(CommentDetail.card == comment)
    await InquiryDetail.update({InquiryDetail.category: "保密专题"}).where(InquiryDetail.card == world.others)
    await InquiryDetail.update({InquiryDetail.category: "医保专题"}).where(InquiryDetail.card == world.mine)
    await indexer.reindex([comment, world.others, world.mine])

    async def categories(username: str) -> list[str]:
        return await search.known_categories(await scope_for(await get_active_user(world.users[username])))

    assert await categories("manager") == sorted(["医保专题", "保密专题", "夜间施工"])
    assert await categories("member") == sorted(["医保专题", "保密专题"])  # not on the comments board
    assert await categories("liaison") == ["医保专题"]  # only her department's cases
    assert await categories("outsider") == []
    await login(client, "liaison")
    page = await client.get("/search", params={"q": "医保"})
    assert page.status_code == 200 and "医保专题" in page.text
    assert "保密专题" not in page.text and "夜间施工" not in page.text
