"""The keyboard path: a card opened with Enter takes the focus into its drawer, the move menu
is two Tabs from the drawer's title, a card moves with seven key presses in all, and Escape
gives the focus back to the card's tile."""

from __future__ import annotations

import pytest

from portal.cards.tables import Card
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser


async def test_a_card_moves_with_the_keyboard_alone(clean_db, live_server, page):
    people = {"zhangwei": ("member", "publicity", "member", "张伟")}
    world = await factories.board("comments", people=people)
    card_id = await world.card("zhangwei", column="new", title="地铁站电梯停运")
    await browser_login(page, live_server, "zhangwei", factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{live_server}/boards/{world.board_id}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)
    await page.focus(f"#card-{card_id}")

    keys = ["Enter", "Tab", "Tab", "ArrowDown", "Tab", "Tab", "Enter"]
    await page.keyboard.press(keys[0])
    await page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg="drawer-title")
    for key in keys[1:3]:
        await page.keyboard.press(key)
    assert await page.evaluate("document.activeElement.id") == "move-column"
    async with page.expect_response(lambda r: f"/cards/{card_id}/move" in r.url) as moved:
        for key in keys[3:]:
            await page.keyboard.press(key)
    assert (await moved.value).status == 200
    assert len(keys) < 10
    row = await Card.select(Card.column).where(Card.id == card_id).first()
    assert row["column"] == world.columns["pending"]  # the next column, 处理中
    await page.wait_for_selector(f"#column-{world.columns['pending']} #card-{card_id}", timeout=10000)

    await page.keyboard.press("Escape")
    await page.wait_for_function(
        "id => document.activeElement && document.activeElement.id === id", arg=f"card-{card_id}"
    )
    assert await page.locator("#drawer").is_hidden()
    assert page.console_errors == []
