"""Logging in, the boards page and the language switch, in a real browser."""

from __future__ import annotations

import pytest

from portal.demo.services import seed_demo
from tests import factories
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser


@pytest.fixture
async def demo(clean_db):
    """The demo city: only for the test of its documented logins."""
    await seed_demo()


@pytest.fixture
async def world(clean_db):
    """A comments board with a card in each column; 张伟 works it, and an administrator."""
    people = {"admin": ("admin", None, ""), "zhangwei": ("member", "publicity", "member", "张伟")}
    world = await factories.board("comments", people=people)
    for key in world.columns:
        await world.card("zhangwei", column=key, title=f"卡片 {key}")
    return world


async def test_admin_logs_in_and_sees_the_four_demo_boards(demo, live_server, page):
    await browser_login(page, live_server, "admin", "portal-demo")
    await page.wait_for_url(f"{live_server}/stats")  # an administrator lands on the figures
    await page.goto(f"{live_server}/boards")
    assert await page.locator(".board-tile").count() == 4
    text = await page.inner_text("main")
    assert "留言评论" in text and "问题解答" in text and "互动活动" in text and "舆情事件" in text
    assert await page.locator('nav.mainnav a[href="/admin/users"]').inner_text() == "系统管理"
    # Nothing on the page was blocked by the Content-Security-Policy (no inline script or style).
    assert not [error for error in page.console_errors if "Content Security Policy" in error], page.console_errors


async def test_wrong_password_shows_a_message(world, live_server, page):
    await browser_login(page, live_server, "admin", "wrong-password")
    assert "用户名或密码错误" in await page.inner_text(".alert-error")
    assert page.url.startswith(f"{live_server}/login")
    assert not [c for c in await page.context.cookies() if c["name"] == "portal_session"]


async def test_language_switch_to_english_and_back(world, live_server, page):
    await browser_login(page, live_server, "zhangwei", factories.PASSWORD)
    await page.wait_for_url(f"{live_server}/my-work")  # a member lands on her own work
    await page.goto(f"{live_server}/boards")
    await page.click(".language-switch button[value=en]")
    await page.wait_for_selector("text=Log out")
    assert await page.inner_text("main h1") == "Boards"
    await page.click(".language-switch button[value=zh_Hans]")
    await page.wait_for_selector("text=退出登录")


async def test_boosted_navigation_and_board_page(world, live_server, page):
    await browser_login(page, live_server, "zhangwei", factories.PASSWORD)
    await page.wait_for_url(f"{live_server}/my-work")  # a member lands on her own work
    await page.goto(f"{live_server}/boards")
    await page.click(".board-tile a >> nth=0")
    await page.wait_for_selector("[data-board-id]")
    assert await page.locator("section.column").count() == 5
    assert await page.locator("article.card").count() == len(world.columns)  # one card in each column
    await page.click("nav.mainnav >> text=我的工作")
    await page.wait_for_url(f"{live_server}/my-work")
    assert await page.locator("main h1").inner_text() == "我的工作"
