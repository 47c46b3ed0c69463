"""Browser fixtures: Debian's Chromium driven by Playwright, against a real `portal web` process."""

from __future__ import annotations

import shutil

import pytest

from tests.processes import free_port, portal_process

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config, items):
    if _chromium():
        return
    skip = pytest.mark.skip(
        reason="browser tests skipped: Debian's chromium is not installed (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


@pytest.fixture
def live_server(tmp_path):
    """A real web process on the test database and Redis; yields its base URL."""
    port = free_port()
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def page(browser):
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    await context.close()


async def browser_login(page, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await page.click("button[type=submit].primary")
