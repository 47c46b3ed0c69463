"""Attachments in real browsers: a member pastes a screenshot into a comment card's drawer,
the worker makes its thumbnail, and a colleague with the same card open sees it appear
live; a renamed executable is refused with a message naming it."""

from __future__ import annotations

import asyncio

import pytest

from portal.attachments.tables import Attachment
from portal.events.tables import Event
from tests import factories
from tests.browser.conftest import browser_login
from tests.processes import portal_process

pytestmark = pytest.mark.browser

PEOPLE = {"zhangwei": ("member", "publicity", "member", "张伟"), "lina": ("member", "publicity", "member", "李娜")}

PASTE_SCREENSHOT = """
async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 480; canvas.height = 270;
  const context = canvas.getContext("2d");
  context.fillStyle = "#e6162d"; context.fillRect(0, 0, 480, 270);
  context.fillStyle = "#ffffff"; context.fillRect(40, 40, 400, 60);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], "image.png", { type: "image/png" }));
  const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
  document.querySelector("#drawer").dispatchEvent(event);
  return event.defaultPrevented;
}
"""

DROP_EXECUTABLE = """
() => {
  const bytes = new Uint8Array([77, 90, 144, 0, 3, 0, 0, 0, 4, 0, 0, 0, 255, 255, 0, 0]);
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "报名表.pdf", { type: "application/pdf" }));
  const drawer = document.querySelector("#drawer");
  drawer.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
  drawer.dispatchEvent(drop);
  return drop.defaultPrevented;
}
"""


@pytest.fixture
async def demo(clean_db):
    world = await factories.board("comments", people=PEOPLE)
    card_id = await world.card("zhangwei", column="new", title="微博网友：地铁4号线早高峰限流")
    return {"board": world.board_id, "card": card_id}


@pytest.fixture
def worker(tmp_path):
    """A real `portal worker`: it makes the thumbnails the web process queues."""
    with portal_process("worker", log=tmp_path / "worker.log") as process:
        yield process


async def triaged(card_id: int, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await Event.exists().where((Event.verb == "comment.triaged") & (Event.object_id == card_id)):
        assert asyncio.get_running_loop().time() < deadline, "the worker did not triage the comment"
        await asyncio.sleep(0.2)


async def open_drawer(page, base, demo, username):
    await browser_login(page, base, username, factories.PASSWORD)
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{base}/boards/{demo['board']}")
    await page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)
    await page.locator(f"#card-{demo['card']} a.open-card").click()
    await page.wait_for_selector(f"#attachments-{demo['card']} h3[data-card-version]", timeout=20000)


async def test_a_pasted_screenshot_appears_as_a_thumbnail_for_every_viewer(demo, live_server, worker, page, browser):
    other_context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    other = await other_context.new_page()
    other.console_errors = []
    other.on("console", lambda message: message.type == "error" and other.console_errors.append(message.text))
    try:
        await triaged(demo["card"])  # the worker's triage changes the card: before anyone opens it
        await open_drawer(page, live_server, demo, "zhangwei")
        await open_drawer(other, live_server, demo, "lina")
        section = f"#attachments-{demo['card']}"
        async with page.expect_response(
            lambda r: r.url.endswith(f"/cards/{demo['card']}/attachments") and r.request.method == "POST"
        ) as uploaded:
            assert await page.evaluate(PASTE_SCREENSHOT) is True  # the paste was taken as an upload
        assert (await uploaded.value).status == 200
        name = page.locator(f"{section} .attachment-name")
        assert (await name.text_content()).startswith("截图-")
        # The worker makes the thumbnail; the uploader's drawer shows it once it is there …
        await page.wait_for_selector(f"{section} img[src$='/thumbnail']", timeout=30000)
        await page.locator(f"{section} img[src$='/thumbnail']").scroll_into_view_if_needed()  # loaded lazily
        # (re-asked each time: a live reload of the section may replace the element)
        await page.wait_for_function(
            "(selector) => { const img = document.querySelector(selector);"
            " return !!img && img.complete && img.naturalWidth === 320; }",
            arg=f"{section} img[src$='/thumbnail']",
            timeout=10000,
        )
        # … and so does the colleague's, without reloading anything.
        await other.wait_for_selector(f"{section} .attachment-name >> text=截图-", timeout=10000)
        await other.wait_for_selector(f"{section} img[src$='/thumbnail']", timeout=30000)
        row = await Attachment.select(Attachment.thumbnail, Attachment.width).first()
        assert row == {"thumbnail": "ready", "width": 480}
        # The upload changed no field: 张伟 edits the card next, and the save is not refused
        # as stale (the drawer's forms moved to the version his upload made).
        await page.fill("#drawer #f-title", "微博网友：地铁4号线早高峰限流（附原帖截图）")
        async with page.expect_response(
            lambda r: r.url.endswith(f"/cards/{demo['card']}") and r.request.method == "POST"
        ) as saved:
            await page.click("#drawer .card-form button[type=submit]")
        assert (await saved.value).status == 200
        await other.wait_for_selector(f"#card-{demo['card']} >> text=附原帖截图", timeout=5000)
        # The CSP let everything run, and nothing live missed its place (the worker's triage
        # of the comment also sends an early-warning signal: every page has its slot).
        for errors in (page.console_errors, other.console_errors):
            assert errors == []
    finally:
        await other_context.close()


async def test_a_renamed_executable_dropped_on_the_drawer_is_refused_with_its_name(demo, live_server, page):
    await open_drawer(page, live_server, demo, "zhangwei")
    section = f"#attachments-{demo['card']}"
    async with page.expect_response(
        lambda r: r.url.endswith(f"/cards/{demo['card']}/attachments") and r.request.method == "POST"
    ) as uploaded:
        assert await page.evaluate(DROP_EXECUTABLE) is True
    assert (await uploaded.value).status == 422
    await page.wait_for_selector(
        f"{section} .alert-error >> text=报名表.pdf 的内容不是允许的文件类型（实际为可执行文件）"
    )
    assert not await Attachment.exists()


PASTE_TEXT_WITH_AN_IMAGE = """
async () => {
  // What a spreadsheet or a web page puts on the clipboard: the text and a picture of it.
  const canvas = document.createElement("canvas");
  canvas.width = 40; canvas.height = 20;
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.setData("text/plain", "地铁4号线 早高峰 限流");
  transfer.items.add(new File([blob], "image.png", { type: "image/png" }));
  const field = document.querySelector("#drawer textarea") || document.querySelector("#drawer input[type=text]");
  field.focus();
  const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
  field.dispatchEvent(event);
  return event.defaultPrevented;
}
"""


async def test_text_pasted_into_a_field_stays_text(demo, live_server, page):
    await open_drawer(page, live_server, demo, "zhangwei")
    uploads = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.endswith(f"/cards/{demo['card']}/attachments") and uploads.append(r),
    )
    assert await page.evaluate(PASTE_TEXT_WITH_AN_IMAGE) is False  # left to the field
    await page.wait_for_timeout(500)
    assert uploads == [] and not await Attachment.exists()


async def test_a_file_chosen_from_a_notes_button_is_attached_to_that_note(demo, live_server, page):
    from portal.cards.tables import Note

    note = await Note.insert(Note(card=demo["card"], author=None, body="原帖已删除，截图留存备查")).returning(Note.id)
    note_id = note[0]["id"]
    await open_drawer(page, live_server, demo, "zhangwei")
    async with page.expect_file_chooser() as chooser:
        await page.locator(f'#note-{note_id} button[data-attach-to="note:{note_id}"]').click()
    await (await chooser.value).set_files(
        files=[{"name": "原帖截图.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]
    )
    section = page.locator(f"#attachments-{demo['card']}")
    await section.locator(".attachment-target").wait_for(timeout=10000)
    assert "附于备注：原帖已删除，截图留存备查" in await section.locator(".attachment-target").inner_text()
    row = await Attachment.select(Attachment.target_type, Attachment.target_id).first()
    assert row == {"target_type": "note", "target_id": note_id}
