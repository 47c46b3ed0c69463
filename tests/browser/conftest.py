"""Browser fixtures: Debian's Chromium driven by Playwright, against a real `portal web` process."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import pytest

from portal import REPO_DIR
from tests.processes import free_port, portal_command, stop_group, wait_until_up

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


# Web processes started ahead: while one browser test runs, the next one's `portal web`
# boots (about three seconds of imports), so that a test waits for its server only when
# it is the first. Each test still gets a process of its own, fresh (nothing cached from
# an earlier test), and stopped after it.
_READY: list[tuple[subprocess.Popen, int, IO[bytes]]] = []
_LOGS = Path(tempfile.mkdtemp(prefix="portal-browser-web-"))


def _start_web() -> tuple[subprocess.Popen, int, IO[bytes]]:
    port = free_port()
    out = open(_LOGS / f"web-{port}.log", "wb")  # noqa: SIM115 - closed when the process stops
    process = subprocess.Popen(
        portal_command("web", "--port", str(port)),
        cwd=REPO_DIR,
        env=dict(os.environ),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, port, out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _chromium():
        wanted = sum(1 for test in (item, nextitem) if test is not None and "live_server" in test.fixturenames)
        while len(_READY) < wanted:
            _READY.append(_start_web())
    yield


def pytest_sessionfinish(session):
    while _READY:
        process, _port, out = _READY.pop()
        stop_group(process)
        out.close()
    shutil.rmtree(_LOGS, ignore_errors=True)


@pytest.fixture
def live_server():
    """A real web process on the test database and Redis, its own; yields its base URL."""
    process, port, out = _READY.pop(0) if _READY else _start_web()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(process)
        out.close()


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
