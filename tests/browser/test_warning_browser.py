"""The 舆情监测 page follows its boards live, and a warning signal reaching any other page (a
board, the boards list) changes nothing there and logs no error."""

from __future__ import annotations

import asyncio

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


async def test_a_manager_acknowledges_an_alert_and_makes_it_an_incident(clean_db, live_server, page):
    """From a bell's link: the alert is marked on the 舆情监测 page; 确认 acknowledges it, and
    转为事件 (confirmed in the dialog) opens the incident and lands on its card, which names the
    topic and links back to the alert."""
    from datetime import UTC, datetime

    from portal.warning.simulate import Simulation
    from portal.warning.tables import WarningAlert

    world = await factories.board("comments", people=PEOPLE)
    await world.board("incidents")
    await Simulation(world.board_id).send("我要上访，小区拆迁补偿一直不到位", datetime.now(UTC))
    alert_id = (await WarningAlert.select(WarningAlert.id).first())["id"]

    await browser_login(page, live_server, "chenjing", factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{live_server}/warning?alert={alert_id}#alert-{alert_id}")
    row = page.locator(f"#alert-{alert_id}")
    assert await row.get_attribute("aria-current") == "true"
    assert "focused" in (await row.get_attribute("class"))

    async with page.expect_response(lambda r: r.url.endswith(f"/warning/alerts/{alert_id}/acknowledge")) as answered:
        await row.locator('button[data-action="acknowledge"]').click()
    assert (await answered.value).status == 200
    await page.locator(f'#alert-{alert_id}:not(:has(button[data-action="acknowledge"]))').wait_for(timeout=5000)
    assert "已确认" in await page.locator(f"#alert-{alert_id}").inner_text()
    assert (await WarningAlert.select(WarningAlert.acknowledged_at).first())["acknowledged_at"] is not None

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.locator(f'#alert-{alert_id} button[data-action="incident"]').click()
    await page.wait_for_url(lambda url: "/cards/" in url, timeout=10000)
    card_id = (await WarningAlert.select(WarningAlert.incident_card).first())["incident_card"]
    assert page.url.endswith(f"/cards/{card_id}")
    section = page.locator(f"#incident-workflow-{card_id}")
    await section.locator("h3").wait_for(timeout=5000)
    assert "上访" in await section.locator(".incident-topic").inner_text()
    back = await section.locator("a.incident-alert").get_attribute("href")
    assert back == f"/warning?alert={alert_id}#alert-{alert_id}"
    # Back on the page, the alert's row links to the incident.
    await page.goto(f"{live_server}/warning")
    link = page.locator(f"#alert-{alert_id} a.incident-link")
    assert await link.get_attribute("href") == f"/cards/{card_id}"
    assert page.console_errors == []
