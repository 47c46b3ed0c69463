"""A done column in a real browser: its first page, the earlier cards loaded in place, and a
card another person closes arriving at its top while the count stays true."""

from __future__ import annotations

import pytest

from portal.boards.services import DONE_PAGE
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

PEOPLE = {"zhangwei": ("member", "publicity", "member", "张伟"), "lina": ("member", "publicity", "member", "李娜")}


async def test_earlier_cards_load_in_place_and_a_newly_closed_card_lands_on_top(clean_db, live_server, page):
    world = await factories.board("comments", people=PEOPLE)
    for index in range(DONE_PAGE + 7):
        await world.card("zhangwei", column="closed", title=f"已办结留言{index}")
    working = await world.card("lina", column="pending", title="刚刚处理完的留言")
    closed = world.columns["closed"]

    await browser_login(page, live_server, "zhangwei", factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{live_server}/boards/{world.board_id}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)
    column = page.locator(f"#column-{closed}")
    tiles = column.locator(".cards > article.card")
    assert await tiles.count() == DONE_PAGE
    assert await column.locator(".column-head .count").text_content() == str(DONE_PAGE + 7)

    # Another person closes a card: it arrives on top, and the count follows.
    lina = await world.access("lina")
    await cards.move_card(lina, working, MoveForm(column_id=closed, after_id=None, version=1))
    await page.wait_for_function(
        "([column, id]) => document.querySelector(`#column-${column} .cards > article.card`).dataset.cardId === id",
        arg=[closed, str(working)],
        timeout=10000,
    )
    await page.wait_for_function(
        "([column, n]) => document.querySelector(`#column-${column} .column-head .count`).textContent === n",
        arg=[closed, str(DONE_PAGE + 8)],
        timeout=10000,
    )

    # The earlier ones, in place, after those shown; then no more link.
    await column.get_by_role("link", name="显示更早的卡片").click()
    await page.wait_for_function(
        "([column, n]) => document.querySelectorAll(`#column-${column} .cards > article.card`).length === n",
        arg=[closed, DONE_PAGE + 8],
        timeout=10000,
    )
    assert await column.locator(".column-more a").count() == 0
    # The count is made again once the swap settles (the empty "more" is swapped first).
    await page.wait_for_function(
        "([column, n]) => document.querySelector(`#column-${column} .column-head .count`).textContent === n",
        arg=[closed, str(DONE_PAGE + 8)],
        timeout=10000,
    )
    titles = await tiles.locator("h3 a").all_text_contents()
    assert titles[0].strip() == "刚刚处理完的留言" and titles[-1].strip() == "已办结留言0"  # the oldest last
    assert len(set(titles)) == DONE_PAGE + 8  # none twice
    assert page.console_errors == []
