"""The 舆情监测 page follows its boards live, and a warning signal reaching any other page (a
board, the boards list) changes nothing there and logs no error."""

from __future__ import annotations

import pytest

from portal.warning import effects as warning_effects
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

PEOPLE = {"chenjing": ("manager", "publicity", "manager", "陈静")}


async def test_a_signal_refreshes_the_monitoring_page_and_nothing_else(clean_db, live_server, browser, redis_client):
    world = await factories.board("comments", people=PEOPLE)
    pages = []
    for path in ("/warning", f"/boards/{world.board_id}", "/boards"):
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        page.console_errors = []
        page.on(
            "console", lambda message, page=page: message.type == "error" and page.console_errors.append(message.text)
        )
        await browser_login(page, live_server, "chenjing", factories.PASSWORD)
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto(live_server + path)
        await page.wait_for_load_state("networkidle")
        pages.append(page)
    monitor, board, boards = pages
    await board.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)
    await monitor.wait_for_timeout(500)  # the page's own socket subscribed (no visible marker)

    fetched = []
    for page in pages:
        page.on("request", lambda request, page=page: "/warning/live" in request.url and fetched.append(page))
    async with monitor.expect_request(lambda request: "/warning/live" in request.url, timeout=10000):
        await warning_effects.signal(redis_client, world.board_id)
    await board.wait_for_timeout(1000)
    assert fetched == [monitor]
    for page in pages:
        assert page.console_errors == [], page.url
        await page.context.close()
