"""Attachments on cards over HTTP and in the worker: upload checked by content and size,
stored once by SHA-256, listed in the drawer, downloaded safely, thumbnails made by the
worker's job, deleted through the write path, orphans cleaned up, and the JSON API."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zlib

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.constants import default_queue_name
from arq.worker import Worker
from litestar.testing import AsyncTestClient
from PIL import Image

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.attachments import services as attachments
from portal.attachments import storage
from portal.attachments.effects import job_id
from portal.attachments.services import Incoming
from portal.attachments.tables import Attachment
from portal.cards.tables import Card
from portal.events.tables import Event
from portal.settings import get_settings
from tests import factories
from tests.conftest import csrf_from, login
from workers.settings import clean_attachment_orphans, make_attachment_thumbnail

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "lina": ("member", "publicity", "member", "李娜"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
}


def png(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def exe() -> bytes:
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 64
        + b"This program cannot be run in DOS mode."
    )


def media_files() -> list[str]:
    return [path.name for path in storage.stored_files()]


async def client_for(username: str):
    client = AsyncTestClient(create_app(), base_url="http://testserver.local")
    await client.__aenter__()
    await login(client, username, factories.PASSWORD)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    return client


@pytest.fixture
def media(tmp_path, monkeypatch):
    """Each test its own file store (the settings' PORTAL_MEDIA_DIR)."""
    monkeypatch.setattr(get_settings(), "media_dir_setting", tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
async def world(clean_db, media):
    world = await factories.board("comments", people=PEOPLE)
    world.values = {"card": await world.card("zhangwei", column="new", title="微博网友反映地铁4号线拥挤")}
    return world


@pytest.fixture
async def zhang(world):
    client = await client_for("zhangwei")
    yield client
    await client.__aexit__(None, None, None)


async def test_a_member_attaches_a_screenshot_and_downloads_it_safely(world, zhang):
    card_id = world.values["card"]
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    image = png()
    response = await zhang.post(
        f"/cards/{card_id}/attachments", files=[("files", ("微博截图.png", image, "image/png"))]
    )
    assert response.status_code == 200, response.text
    assert "微博截图.png" in response.text and "已添加 1 个附件" in response.text
    row = await Attachment.select().where(Attachment.card == card_id).first()
    assert row["sha256"] == hashlib.sha256(image).hexdigest() and row["size"] == len(image)
    assert row["kind"] == "image" and row["content_type"] == "image/png" and row["thumbnail"] == "pending"
    assert storage.path_of(row["sha256"]).read_bytes() == image
    # Through the write path: the card's version moved (open drawers reload), an event says so.
    card = await Card.select(Card.version).where(Card.id == card_id).first()
    assert card["version"] == version + 1
    event = (
        await Event.select(Event.payload).where(Event.verb == "card.attachment_added").output(load_json=True).first()
    )
    assert event["payload"] == {"attachments": [row["id"]], "names": ["微博截图.png"], "target": None}
    # Until the worker has made the thumbnail, the drawer shows a placeholder and asks again.
    section = await zhang.get(f"/cards/{card_id}/attachments")
    assert "正在生成预览" in section.text and "attachments-poll" in section.text

    download = await zhang.get(f"/attachments/{row['id']}")
    assert download.status_code == 200 and download.content == image
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%BE%AE%E5%8D%9A%E6%88%AA%E5%9B%BE.png" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in download.headers["content-security-policy"]
    # No thumbnail yet: its URL is not there.
    assert (await zhang.get(f"/attachments/{row['id']}/thumbnail")).status_code == 404


async def test_a_renamed_executable_is_refused_by_its_content_and_nothing_is_written(world, zhang):
    card_id = world.values["card"]
    before = media_files()
    response = await zhang.post(
        f"/cards/{card_id}/attachments", files=[("files", ("报名表.pdf", exe(), "application/pdf"))]
    )
    assert response.status_code == 422
    assert "报名表.pdf 的内容不是允许的文件类型（实际为可执行文件）" in response.text
    assert not await Attachment.exists().where(Attachment.card == card_id)
    assert media_files() == before
    assert not await Event.exists().where(Event.verb == "card.attachment_added")


async def test_a_batch_with_one_bad_file_is_refused_whole(world, zhang):
    card_id = world.values["card"]
    response = await zhang.post(
        f"/cards/{card_id}/attachments",
        files=[
            ("files", ("海报.png", png(), "image/png")),
            ("files", ("审批单.pdf", pdf(), "application/pdf")),
            ("files", ("setup.txt", b"\x00\x01\x02binary", "text/plain")),
        ],
    )
    assert response.status_code == 422 and "setup.txt" in response.text
    assert not await Attachment.exists().where(Attachment.card == card_id)
    assert media_files() == []


async def test_office_text_pdf_and_zip_files_are_accepted_by_content(world, zhang):
    card_id = world.values["card"]
    docx = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("说明.txt", "材料清单")
    files = [
        ("files", ("回复口径.docx", docx.getvalue(), "application/octet-stream")),
        ("files", ("材料.zip", plain.getvalue(), "application/zip")),
        ("files", ("审批单.pdf", pdf(), "application/pdf")),
        ("files", ("留言原文.txt", "市民留言：地铁4号线早高峰太挤。".encode("gb18030"), "text/plain")),
    ]
    response = await zhang.post(f"/cards/{card_id}/attachments", files=files)
    assert response.status_code == 200, response.text
    rows = await Attachment.select(Attachment.name, Attachment.kind, Attachment.label).order_by(Attachment.id)
    assert [(row["name"], row["kind"]) for row in rows] == [
        ("回复口径.docx", "office"),
        ("材料.zip", "zip"),
        ("审批单.pdf", "pdf"),
        ("留言原文.txt", "text"),
    ]
    assert rows[0]["label"] == "Word"
    # A text file is downloaded as bytes, never shown as a page.
    text_id = (await Attachment.select(Attachment.id).where(Attachment.kind == "text").first())["id"]
    download = await zhang.get(f"/attachments/{text_id}")
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment;")


async def test_size_limits_per_file_and_per_card(world, zhang, monkeypatch):
    card_id = world.values["card"]
    monkeypatch.setattr(get_settings(), "attachment_max_mb", 1)
    monkeypatch.setattr(get_settings(), "attachment_card_max_mb", 2)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)
    response = await zhang.post(
        f"/cards/{card_id}/attachments", files=[("files", ("大文件.pdf", big, "application/pdf"))]
    )
    assert response.status_code == 422 and "大文件.pdf" in response.text and "最大 1 MB" in response.text
    assert media_files() == []
    almost = b"%PDF-1.4\n" + b"1" * (900 * 1024)
    for number in (1, 2):
        ok = await zhang.post(
            f"/cards/{card_id}/attachments",
            files=[("files", (f"材料{number}.pdf", almost + bytes([number]), "application/pdf"))],
        )
        assert ok.status_code == 200, ok.text
    third = await zhang.post(
        f"/cards/{card_id}/attachments", files=[("files", ("材料3.pdf", almost + b"3", "application/pdf"))]
    )
    assert third.status_code == 422 and "每张卡片的附件最多 2 MB" in third.text
    assert await Attachment.count().where(Attachment.card == card_id) == 2


async def test_the_thumbnail_job_makes_a_thumbnail_through_the_worker(world, redis_client):
    """The upload's outbox effect queues the job in Redis; a real arq worker runs it."""
    access = await world.access("zhangwei")
    change = await attachments.add_attachments(
        access, world.values["card"], [Incoming.from_bytes("截图.png", png(1280, 720))]
    )
    attachment_id = change.attachment_ids[0]
    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    try:
        queued = await pool.queued_jobs()
        assert any(item.job_id == job_id(attachment_id) for item in queued), queued
        # Only this job for this worker (the comment's triage and reminders are queued too).
        others = [item.job_id for item in queued if item.job_id != job_id(attachment_id)]
        if others:
            await pool.zrem(default_queue_name, *others)
        worker = Worker(
            functions=[make_attachment_thumbnail],
            redis_pool=pool,
            burst=True,
            max_burst_jobs=1,  # the card's reminders are queued too, for later
            poll_delay=0.1,
            handle_signals=False,
        )
        await worker.main()
        await worker.close()
    finally:
        await pool.aclose()
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    assert row["thumbnail"] == "ready" and (row["width"], row["height"]) == (1280, 720)
    with Image.open(storage.path_of(row["thumbnail_sha256"])) as thumbnail:
        assert thumbnail.format == "WEBP" and max(thumbnail.size) == 320
    # Run again (arq may retry): nothing changes.
    assert await make_attachment_thumbnail({}, attachment_id) == "ready"

    client = await client_for("zhangwei")
    try:
        section = await client.get(f"/cards/{world.values['card']}/attachments")
        assert (
            f'src="/attachments/{attachment_id}/thumbnail"' in section.text and "attachments-poll" not in section.text
        )
        served = await client.get(f"/attachments/{attachment_id}/thumbnail")
        assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
        assert served.headers["x-content-type-options"] == "nosniff"
        preview = await client.get(f"/attachments/{attachment_id}/preview")
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        assert preview.headers["content-disposition"].startswith("inline;")
    finally:
        await client.__aexit__(None, None, None)
    # The same screenshot attached again gets the thumbnail at once.
    again = await attachments.add_attachments(
        access, world.values["card"], [Incoming.from_bytes("再次.png", png(1280, 720))]
    )
    row = await Attachment.select(Attachment.thumbnail).where(Attachment.id == again.attachment_ids[0]).first()
    assert row["thumbnail"] == "ready"


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims 900 megapixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


async def test_a_decompression_bomb_or_a_broken_image_gets_no_thumbnail(world):
    access = await world.access("zhangwei")
    change = await attachments.add_attachments(
        access,
        world.values["card"],
        [
            Incoming.from_bytes("炸弹.png", bomb_png()),
            Incoming.from_bytes("坏图.png", b"\x89PNG\r\n\x1a\n" + b"junk" * 10),
        ],
    )
    for attachment_id in change.attachment_ids:
        assert await make_attachment_thumbnail({}, attachment_id) == "failed"
    client = await client_for("zhangwei")
    try:
        section = await client.get(f"/cards/{world.values['card']}/attachments")
        assert section.text.count("无预览") == 2 and "attachments-poll" not in section.text
        # Still downloadable as the file it is.
        assert (await client.get(f"/attachments/{change.attachment_ids[0]}")).status_code == 200
    finally:
        await client.__aexit__(None, None, None)


async def test_deleting_keeps_the_file_while_another_card_refers_to_it_and_cleanup_removes_orphans(world):
    access = await world.access("zhangwei")
    other_card = await world.card("zhangwei", column="new", title="另一条留言")
    image = png(color=(10, 120, 10))
    first = await attachments.add_attachments(access, world.values["card"], [Incoming.from_bytes("a.png", image)])
    second = await attachments.add_attachments(access, other_card, [Incoming.from_bytes("b.png", image)])
    await make_attachment_thumbnail({}, first.attachment_ids[0])
    digest = hashlib.sha256(image).hexdigest()
    thumbnail = (await Attachment.select(Attachment.thumbnail_sha256).first())["thumbnail_sha256"]
    path = storage.path_of(digest)
    stray = storage.store_bytes(b"left behind by an upload that never committed")
    fresh = storage.store_bytes(b"an upload in progress")
    old = time.time() - 2 * 3600
    for name in (digest, thumbnail, stray):
        os.utime(storage.path_of(name), (old, old))

    await attachments.delete_attachment(access, first.attachment_ids[0])
    assert await Event.exists().where(Event.verb == "card.attachment_removed")
    assert await clean_attachment_orphans({}) == 1  # the stray file only
    assert path.exists() and storage.path_of(thumbnail).exists() and storage.path_of(fresh).exists()
    assert not storage.path_of(stray).exists()

    await attachments.delete_attachment(access, second.attachment_ids[0])
    assert path.exists()  # orphaned a moment ago: its hour starts now
    assert await attachments.remove_orphans() == []
    for name in (digest, thumbnail):  # an hour later
        os.utime(storage.path_of(name), (old, old))
    assert sorted(await attachments.remove_orphans()) == sorted([digest, thumbnail])
    assert not path.exists() and storage.path_of(fresh).exists()


async def test_only_the_uploader_or_a_manager_removes_an_attachment(world):
    access = await world.access("zhangwei")
    change = await attachments.add_attachments(access, world.values["card"], [Incoming.from_bytes("海报.png", png())])
    attachment_id = change.attachment_ids[0]
    lina = await client_for("lina")
    try:
        section = await lina.get(f"/cards/{world.values['card']}/attachments")
        assert f"/attachments/{attachment_id}/delete" not in section.text
        refused = await lina.post(f"/attachments/{attachment_id}/delete")
        assert refused.status_code == 403
        assert await Attachment.exists().where(Attachment.id == attachment_id)
    finally:
        await lina.__aexit__(None, None, None)
    chen = await client_for("chenjing")
    try:
        removed = await chen.post(f"/attachments/{attachment_id}/delete")
        assert removed.status_code == 200 and "附件已移除" in removed.text
        assert not await Attachment.exists().where(Attachment.id == attachment_id)
    finally:
        await chen.__aexit__(None, None, None)


async def test_the_api_uploads_and_lists_a_cards_attachments(world):
    token = await create_token(await get_active_user(world.users["zhangwei"]), "截图上传脚本")
    card_id = world.values["card"]
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(
            f"/api/v1/cards/{card_id}/attachments",
            headers=headers,
            files=[
                ("files", ("原帖截图.png", png(), "image/png")),
                ("files", ("审批单.pdf", pdf(), "application/pdf")),
            ],
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert [(item["name"], item["type"]) for item in body] == [
            ("原帖截图.png", "image/png"),
            ("审批单.pdf", "application/pdf"),
        ]
        assert body[0]["sha256"] == hashlib.sha256(png()).hexdigest()
        assert body[0]["urls"]["download"] == f"/attachments/{body[0]['id']}"
        downloaded = await client.get(body[0]["urls"]["api_download"], headers=headers)
        assert downloaded.status_code == 200 and downloaded.content == png()
        assert downloaded.headers["content-disposition"].startswith("attachment;")
        listed = await client.get(f"/api/v1/cards/{card_id}/attachments", headers=headers)
        assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [item["id"] for item in body]
        refused = await client.post(
            f"/api/v1/cards/{card_id}/attachments",
            headers=headers,
            files=[("files", ("报名表.pdf", exe(), "application/pdf"))],
        )
        assert refused.status_code == 422
        assert "可执行文件" in refused.json()["errors"]["files"]
        nothing = await client.post(f"/api/v1/cards/{card_id}/attachments", headers=headers, files=[])
        assert nothing.status_code in (400, 422)


async def test_signed_intake_brings_a_screenshot_with_the_comment_and_refuses_a_bad_file(clean_db, media):
    import base64
    import json

    from portal.comments import intake_services
    from portal.comments.intake import sign

    world = await factories.board("comments")
    admin = await get_active_user(world.users["admin"])
    secret = (await intake_services.create_source(admin, "weibo-relay", world.board_id)).secret

    def signed(payload: dict) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        timestamp = int(time.time())
        return body, {
            "X-Portal-Timestamp": str(timestamp),
            "X-Portal-Signature": sign(secret, timestamp, body),
            "Content-Type": "application/json",
        }

    def message(external_id: str, attachments_: list[dict]) -> dict:
        return {
            "platform": "weibo",
            "external_id": external_id,
            "author": "临江小王",
            "text": "地铁2号线早高峰太挤了，建议增加班次。",
            "received_at": "2026-11-20T14:05:00+08:00",
            "attachments": attachments_,
        }

    screenshot = png(800, 1600)
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        bad = message("wb-2", [{"name": "原帖.png", "content_base64": base64.b64encode(exe()).decode()}])
        body, headers = signed(bad)
        refused = await client.post("/api/intake/weibo-relay", content=body, headers=headers)
        assert refused.status_code == 422 and "原帖.png" in refused.json()["errors"]["files"]
        assert not await Card.exists() and media_files() == []
        garbled = message("wb-3", [{"name": "原帖.png", "content_base64": "不是base64"}])
        body, headers = signed(garbled)
        assert (await client.post("/api/intake/weibo-relay", content=body, headers=headers)).status_code == 422

        good = message("wb-1", [{"name": "原帖截图.png", "content_base64": base64.b64encode(screenshot).decode()}])
        body, headers = signed(good)
        created = await client.post("/api/intake/weibo-relay", content=body, headers=headers)
        assert created.status_code == 201, created.text
        card_id = created.json()["card_id"]
        row = await Attachment.select().where(Attachment.card == card_id).first()
        assert row["name"] == "原帖截图.png" and row["sha256"] == hashlib.sha256(screenshot).hexdigest()
        assert row["uploaded_by"] is None and row["thumbnail"] == "pending"
        # A replay of the same post changes nothing: no second attachment.
        body, headers = signed(good)
        again = await client.post("/api/intake/weibo-relay", content=body, headers=headers)
        assert again.status_code == 200 and await Attachment.count() == 1


async def test_an_orphan_is_removed_an_hour_after_its_last_attachment_goes_not_after_its_upload(world):
    """docs/deploy.md: files disappear an hour after their last row is gone (a folder copied
    after a database dump holds every file the dump names)."""
    access = await world.access("zhangwei")
    data = b"%PDF-1.4\n\u5e02\u653f\u5e9c\u590d\u51fd\n"
    change = await attachments.add_attachments(access, world.values["card"], [Incoming.from_bytes("复函.pdf", data)])
    path = storage.path_of(hashlib.sha256(data).hexdigest())
    long_ago = time.time() - 30 * 86400
    os.utime(path, (long_ago, long_ago))  # uploaded a month ago
    await attachments.delete_attachment(access, change.attachment_ids[0])
    assert await clean_attachment_orphans({}) == 0
    assert path.exists()
    an_hour_ago = time.time() - 3601
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert await clean_attachment_orphans({}) == 1
    assert not path.exists()


async def test_the_clean_up_removing_a_file_during_an_upload_of_the_same_bytes_is_harmless(world, monkeypatch):
    data = b"%PDF-1.4\nsame bytes\n"
    sha256 = storage.store_bytes(data)
    path = storage.path_of(sha256)
    real_utime = os.utime

    def removed_meanwhile(target, *args, **kwargs):
        if str(target) == str(path):
            path.unlink(missing_ok=True)  # the clean-up got there between exists() and utime()
            raise FileNotFoundError(target)
        return real_utime(target, *args, **kwargs)

    monkeypatch.setattr(storage.os, "utime", removed_meanwhile)
    storage.store(io.BytesIO(data), sha256)
    assert path.read_bytes() == data


async def test_a_card_holds_at_most_the_configured_number_of_attachments(world, zhang, monkeypatch):
    card_id = world.values["card"]
    monkeypatch.setattr(get_settings(), "attachment_card_max_files", 3)
    first = await zhang.post(
        f"/cards/{card_id}/attachments",
        files=[("files", (f"材料{n}.txt", f"第{n}份材料".encode(), "text/plain")) for n in (1, 2)],
    )
    assert first.status_code == 200
    refused = await zhang.post(
        f"/cards/{card_id}/attachments",
        files=[("files", (f"材料{n}.txt", f"第{n}份材料".encode(), "text/plain")) for n in (3, 4)],
    )
    assert refused.status_code == 422
    assert "每张卡片最多 3 个附件：已有 2 个，本次又添加 2 个" in refused.text
    assert await Attachment.count().where(Attachment.card == card_id) == 2
    third = [("files", ("材料3.txt", "第3份".encode(), "text/plain"))]
    ok = await zhang.post(f"/cards/{card_id}/attachments", files=third)
    assert ok.status_code == 200 and await Attachment.count().where(Attachment.card == card_id) == 3


async def test_an_archived_cards_attachments_stay_readable_and_unchangeable(world, zhang):
    from portal.cards import services as cards

    card_id = world.values["card"]
    access = await world.access("zhangwei")
    image = png(color=(30, 60, 90))
    attachment_id = (
        await attachments.add_attachments(access, card_id, [Incoming.from_bytes("原帖截图.png", image)])
    ).attachment_ids[0]
    await make_attachment_thumbnail({}, attachment_id)
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    await cards.archive_card(await world.access("chenjing"), card_id, version)
    assert (await Card.select(Card.archived).where(Card.id == card_id).first())["archived"]

    page = await zhang.get(f"/cards/{card_id}", headers={"HX-Request": ""})
    assert page.status_code == 200 and f'hx-get="/cards/{card_id}/attachments"' in page.text
    section = await zhang.get(f"/cards/{card_id}/attachments")
    assert section.status_code == 200 and "原帖截图.png" in section.text
    assert "attachment-form" not in section.text and "/delete" not in section.text
    download = await zhang.get(f"/attachments/{attachment_id}")
    assert download.status_code == 200 and download.content == image
    assert (await zhang.get(f"/attachments/{attachment_id}/thumbnail")).status_code == 200
    assert (await zhang.get(f"/attachments/{attachment_id}/preview")).status_code == 200
    # Read only: nothing is added or removed.
    added = await zhang.post(f"/cards/{card_id}/attachments", files=[("files", ("新.png", png(), "image/png"))])
    assert added.status_code == 404
    assert (await zhang.post(f"/attachments/{attachment_id}/delete")).status_code == 404
    assert await Attachment.count().where(Attachment.card == card_id) == 1
