"""Attachments, attacked: markup (SVG, HTML) never reaches a browser as a page, a file's
URL answers 404 to whoever may not see its card, citizen materials on an inquiry stay with
those who may see the citizen's details (each download audited), names cannot smuggle paths
or headers, and uploads need the CSRF token."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from portal.app import create_app
from portal.attachments import services as attachments
from portal.attachments import storage
from portal.attachments.services import Incoming
from portal.attachments.tables import Attachment
from portal.events.tables import Event
from portal.settings import get_settings
from tests import factories
from tests.conftest import csrf_from, login

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
    b'<script>fetch("/api/v1/boards")</script></svg>'
)
HTML = "<!DOCTYPE html><html><body><script>alert('xss')</script>报名表</body></html>".encode()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def media(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "media_dir_setting", tmp_path / "media")
    return tmp_path / "media"


class People:
    def __init__(self) -> None:
        self.clients: dict[str, AsyncTestClient] = {}

    async def __call__(self, username: str) -> AsyncTestClient:
        if username not in self.clients:
            client = AsyncTestClient(create_app(), base_url="http://testserver.local")
            await client.__aenter__()
            if username != "anonymous":
                await login(client, username, factories.PASSWORD)
                client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
            client.headers["HX-Request"] = "true"
            self.clients[username] = client
        return self.clients[username]


@pytest.fixture
async def people(clean_db, media):
    people = People()
    yield people
    for client in people.clients.values():
        await client.__aexit__(None, None, None)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("海报.svg", SVG),
        ("报名表.html", HTML),
        ("截图.png", HTML),
        ("说明.txt", b"  \n<svg><script>alert(1)</script></svg>"),
    ],
)
async def test_svg_and_html_are_refused_whatever_they_are_called(people, name, content):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    response = await member.post(f"/cards/{card_id}/attachments", files=[("files", (name, content, "image/svg+xml"))])
    assert response.status_code == 422
    assert f"{name} 的内容不是允许的文件类型（实际为网页或 SVG 图像）" in response.text
    assert not await Attachment.exists()
    assert list(storage.stored_files()) == []


async def test_an_image_named_like_a_page_is_refused_and_a_misnamed_one_gets_its_own_extension(people):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    response = await member.post(f"/cards/{card_id}/attachments", files=[("files", ("截图.html", png(), "text/html"))])
    assert response.status_code == 422
    assert "截图.html" in response.text and ".html" in response.text
    assert not await Attachment.exists() and list(storage.stored_files()) == []

    response = await member.post(f"/cards/{card_id}/attachments", files=[("files", ("截图.jpeg", png(), "image/jpeg"))])
    assert response.status_code == 200
    row = await Attachment.select().first()
    assert row["content_type"] == "image/png" and row["name"] == "截图.png"
    assert "截图.png" in response.text and "截图.jpeg" not in response.text  # the drawer shows the same name
    disposition = (await member.get(f"/attachments/{row['id']}")).headers["content-disposition"]
    assert disposition.endswith("filename*=UTF-8''%E6%88%AA%E5%9B%BE.png")
    for url in (f"/attachments/{row['id']}", f"/attachments/{row['id']}/preview"):
        served = await member.get(url)
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]


async def test_a_files_url_answers_404_to_whoever_may_not_see_its_card(people):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new", title="网友反映公交站台破损")
    access = await world.access("member")
    attachment_id = (
        await attachments.add_attachments(access, card_id, [Incoming.from_bytes("站台.png", png())])
    ).attachment_ids[0]
    await attachments.make_thumbnail(attachment_id)
    for person, expected in [
        ("admin", 200),
        ("manager", 200),
        ("member", 200),
        ("viewer", 200),
        ("liaison", 404),
        ("outsider", 404),
    ]:
        client = await people(person)
        for suffix in ("", "/preview", "/thumbnail"):
            response = await client.get(f"/attachments/{attachment_id}{suffix}")
            assert response.status_code == expected, (person, suffix, response.status_code)
        section = await client.get(f"/cards/{card_id}/attachments")
        assert section.status_code == expected, person
        api = await client.get(f"/api/v1/cards/{card_id}/attachments")
        assert api.status_code == expected, person
    anonymous = await people("anonymous")
    response = await anonymous.get(f"/attachments/{attachment_id}", follow_redirects=False)
    assert response.status_code in (302, 303, 401) and b"PNG" not in response.content
    # A viewer reads but does not upload or remove.
    viewer = await people("viewer")
    assert (
        await viewer.post(f"/cards/{card_id}/attachments", files=[("files", ("a.png", png(), "image/png"))])
    ).status_code == 403
    assert (await viewer.post(f"/attachments/{attachment_id}/delete")).status_code == 403
    # A liaison of another department cannot remove it either: it does not exist for her.
    liaison = await people("liaison")
    assert (await liaison.post(f"/attachments/{attachment_id}/delete")).status_code == 404
    assert await Attachment.exists().where(Attachment.id == attachment_id)


async def test_citizen_materials_on_an_inquiry_go_only_to_those_who_may_see_the_citizens_details(people):
    """Masked roles (a member, a viewer) see how many materials there are, not the files: 403
    (they may see the card). The responsible department's liaison and the managers download
    them, and every download — and every refused attempt — is in the audit log."""
    world = await factories.board("inquiries")
    health, publicity = await factories.department("health"), await factories.department("publicity")
    card_id = await world.card("manager", title="市民咨询医保报销", department=health)
    other_id = await world.card("manager", title="另一部门的咨询", department=publicity)
    manager_access = await world.access("manager")
    attachment_id = (
        await attachments.add_attachments(manager_access, card_id, [Incoming.from_bytes("发票.png", png())])
    ).attachment_ids[0]
    other_attachment = (
        await attachments.add_attachments(manager_access, other_id, [Incoming.from_bytes("病历.pdf", b"%PDF-1.4\n")])
    ).attachment_ids[0]

    for person in ("member", "viewer"):
        client = await people(person)
        section = await client.get(f"/cards/{card_id}/attachments")
        assert section.status_code == 200 and "发票.png" not in section.text
        assert "另有 1 份市民材料" in section.text
        assert (await client.get(f"/api/v1/cards/{card_id}/attachments")).json() == []
        for suffix in ("", "/preview", "/thumbnail"):
            assert (await client.get(f"/attachments/{attachment_id}{suffix}")).status_code == 403, (person, suffix)
    refused = await Event.count().where(
        (Event.verb == "attachment.download_refused") & (Event.object_id == attachment_id)
    )
    assert refused == 6

    for person in ("liaison", "manager", "admin"):
        client = await people(person)
        section = await client.get(f"/cards/{card_id}/attachments")
        assert "发票.png" in section.text, person
        download = await client.get(f"/attachments/{attachment_id}")
        assert download.status_code == 200 and download.content == png(), person
    audited = (
        await Event.select(Event.actor, Event.payload)
        .where((Event.verb == "attachment.downloaded") & (Event.object_id == attachment_id))
        .order_by(Event.id)
        .output(load_json=True)
    )
    assert [row["actor"] for row in audited] == [world.users[name] for name in ("liaison", "manager", "admin")]
    assert audited[0]["payload"]["card"] == card_id and audited[0]["payload"]["name"] == "发票.png"

    # The health liaison: another department's case and its materials do not exist for her.
    liaison = await people("liaison")
    assert (await liaison.get(f"/attachments/{other_attachment}")).status_code == 404
    assert (await liaison.get(f"/cards/{other_id}/attachments")).status_code == 404
    assert not await Event.exists().where((Event.object_type == "attachment") & (Event.object_id == other_attachment))


async def test_a_member_may_open_the_materials_she_uploaded_herself(people):
    world = await factories.board("inquiries")
    card_id = await world.card("manager", title="咨询公积金提取", department=await factories.department("health"))
    member = await people("member")
    response = await member.post(
        f"/cards/{card_id}/attachments", files=[("files", ("身份证复印件.png", png(), "image/png"))]
    )
    assert response.status_code == 200 and "身份证复印件.png" in response.text
    row = await Attachment.select(Attachment.id).first()
    assert (await member.get(f"/attachments/{row['id']}")).status_code == 200
    assert await Event.exists().where((Event.verb == "attachment.downloaded") & (Event.object_id == row["id"]))
    viewer = await people("viewer")
    assert (await viewer.get(f"/attachments/{row['id']}")).status_code == 403


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ('..\\..\\etc/通知"\u202egpj.exe.txt', '通知"gpj.exe.txt'),
        ("a\u2067gpj.exe\u2069.txt", "agpj.exe.txt"),  # bidi isolates (category Cf) are dropped
        ("说\u200b明\u2066\u2069\ufeff.txt", "说明.txt"),
        ("数据.json", "数据.json.txt"),  # text: its extension is one of txt, csv, log, md
        ("清单.csv", "清单.csv"),
    ],
)
async def test_names_cannot_carry_paths_headers_or_direction_marks(people, sent, saved):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    response = await member.post(
        f"/cards/{card_id}/attachments", files=[("files", (sent, "正文".encode(), "text/plain"))]
    )
    assert response.status_code == 200, response.text
    row = await Attachment.select().first()
    assert row["name"] == saved
    disposition = (await member.get(f"/attachments/{row['id']}")).headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and fallback.endswith("." + saved.rsplit(".", 1)[1])
    assert "\r" not in disposition and "\n" not in disposition
    assert not any(ch in disposition for ch in ("\u202e", "\u2066", "\u2067", "\u2069"))


OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def ole(stream_name: str) -> bytes:
    """A minimal OLE compound file holding one empty stream called ``stream_name``."""
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    header = (
        OLE_SIGNATURE
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    fat = struct.pack("<II", 0xFFFFFFFD, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, child: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", free, free, child)
            + b"\x00" * 36
            + struct.pack("<III", end, 0, 0)
        )

    return header + fat + entry("Root Entry", 5, 1) + entry(stream_name, 2, free) + b"\x00" * 256


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("安装.msi", ole("\u4840\u3b3f\u43f2"), "不是 Word、Excel 或 PowerPoint"),
        ("申请表.doc", OLE_SIGNATURE + b"\x00" * 504, "损坏"),
        ("run.vbs", b'CreateObject("WScript.Shell").Run "calc"\r\n', ".vbs"),
        ("a.bat", b"@echo off\r\ndel /q *\r\n", ".bat"),
        ("报名表.html", "报名表\n<img src=x onerror=alert(1)>".encode(), "网页或 SVG 图像"),
        ("说明.txt", b"a" * 9000 + b"\n<svg onload=alert(1)>", "网页或 SVG 图像"),
        ("说明.txt", "第一行\n<a href=x onclick=alert(1)>点这里</a>".encode(), "网页或 SVG 图像"),
        ("工具.jar", zipped({"META-INF/MANIFEST.MF": b"Main-Class: A\n", "A.class": b"\xca\xfe"}), "应用"),
        ("工具.zip", zipped({"META-INF/MANIFEST.MF": b"Main-Class: A\n", "A.class": b"\xca\xfe"}), "应用"),
        ("应用.zip", zipped({"classes.dex": b"dex\n035", "AndroidManifest.xml": b"\x03\x00"}), "应用"),
        (
            "安装包.docx",
            zipped({"[Content_Types].xml": b"<Types/>", "AppxManifest.xml": b"<Package/>"}),
            "应用",
        ),
        ("脚本.js", b"alert(1)", ".js"),
    ],
)
async def test_installers_scripts_and_app_packages_are_refused(people, name, content, message):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    response = await member.post(f"/cards/{card_id}/attachments", files=[("files", (name, content, "text/plain"))])
    assert response.status_code == 422, response.text
    assert name in response.text and message in response.text
    assert not await Attachment.exists() and list(storage.stored_files()) == []


@pytest.mark.parametrize(
    ("name", "content", "saved", "label"),
    [
        ("申请表.doc", ole("WordDocument"), "申请表.doc", "Word"),
        ("统计.xls", ole("Workbook"), "统计.xls", "Excel"),
        ("统计.doc", ole("Book"), "统计.xls", "Excel"),  # the extension follows the content
        ("汇报", ole("PowerPoint Document"), "汇报.ppt", "PowerPoint"),
        ("表格.xlsx", zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}), "表格.xlsx", "Excel"),
        (
            "内含程序.zip",
            zipped({"setup.exe": b"MZ\x90\x00", "run.bat": b"@echo off"}),
            "内含程序.zip",
            "ZIP",
        ),  # zips are never opened by the portal: what they hold stays packed
        ("没有部件.docx", zipped({"[Content_Types].xml": b"<Types/>"}), "没有部件.zip", "ZIP"),
    ],
)
async def test_office_files_are_known_by_their_streams_and_parts(people, name, content, saved, label):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    response = await member.post(f"/cards/{card_id}/attachments", files=[("files", (name, content, "text/plain"))])
    assert response.status_code == 200, response.text
    row = await Attachment.select().first()
    assert (row["name"], row["label"]) == (saved, label)


def bad_version_zip() -> bytes:
    data = bytearray(zipped({"说明.txt": "材料".encode()}))
    directory = data.find(b"PK\x01\x02")
    data[directory + 6] = 0xBD  # "version needed to extract" 18.9: zipfile raises NotImplementedError
    return bytes(data)


def many_entries_zip(count: int) -> bytes:
    return zipped({f"{number}.txt": b"" for number in range(count)})


async def test_a_crafted_or_enormous_zip_is_refused_with_a_message(people):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    damaged = await member.post(
        f"/cards/{card_id}/attachments", files=[("files", ("材料.zip", bad_version_zip(), "application/zip"))]
    )
    assert damaged.status_code == 422 and "材料.zip" in damaged.text and "损坏的 zip 压缩包" in damaged.text
    crowded = await member.post(
        f"/cards/{card_id}/attachments", files=[("files", ("照片.zip", many_entries_zip(10_001), "application/zip"))]
    )
    assert crowded.status_code == 422
    assert "照片.zip" in crowded.text and "10000" in crowded.text
    fine = await member.post(
        f"/cards/{card_id}/attachments", files=[("files", ("照片.zip", many_entries_zip(100), "application/zip"))]
    )
    assert fine.status_code == 200
    assert [row["name"] for row in await Attachment.select(Attachment.name)] == ["照片.zip"]


async def test_an_upload_without_the_csrf_header_is_refused(people):
    """The upload route reads no body before the header is checked: the token as a form field
    (what the CSRF middleware would read the whole body for) is not enough either."""
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    token = member.headers.pop("x-csrftoken")
    try:
        response = await member.post(f"/cards/{card_id}/attachments", files=[("files", ("a.png", png(), "image/png"))])
        assert response.status_code == 403
        response = await member.post(
            f"/cards/{card_id}/attachments",
            data={"_csrf_token": token},
            files=[("files", ("a.png", png(), "image/png"))],
        )
        assert response.status_code == 403
        assert not await Attachment.exists()
    finally:
        member.headers["x-csrftoken"] = token
    anonymous = await people("anonymous")
    response = await anonymous.post(
        f"/cards/{card_id}/attachments", files=[("files", ("a.png", png(), "image/png"))], follow_redirects=False
    )
    assert response.status_code in (302, 303, 401) and not await Attachment.exists()


async def test_a_body_past_the_routes_limit_is_refused_before_it_is_read(people, monkeypatch):
    from portal.attachments import controllers

    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    member = await people("member")
    # The declared length is past the limit: refused before a byte of the body is read.
    body = b'--zz\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n%PDF-1.4\n\r\n--zz--\r\n'
    response = await member.post(
        f"/cards/{card_id}/attachments",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=zz", "content-length": str(controllers.MAX_BODY + 1)},
    )
    assert response.status_code == 413
    assert not await Attachment.exists() and list(storage.stored_files()) == []


async def test_citizen_thumbnails_are_audited_once_a_day_and_never_cached(people):
    world = await factories.board("inquiries")
    card_id = await world.card("manager", title="咨询医保报销", department=await factories.department("health"))
    access = await world.access("manager")
    attachment_id = (
        await attachments.add_attachments(access, card_id, [Incoming.from_bytes("身份证.png", png())])
    ).attachment_ids[0]
    await attachments.make_thumbnail(attachment_id)
    liaison = await people("liaison")
    for _ in range(3):
        thumbnail = await liaison.get(f"/attachments/{attachment_id}/thumbnail")
        assert thumbnail.status_code == 200 and thumbnail.headers["cache-control"] == "no-store"
    preview = await liaison.get(f"/attachments/{attachment_id}/preview")
    assert preview.headers["cache-control"] == "no-store"
    audited = (
        await Event.select(Event.actor, Event.payload)
        .where((Event.verb == "attachment.downloaded") & (Event.object_id == attachment_id))
        .order_by(Event.id)
        .output(load_json=True)
    )
    assert [row["payload"]["how"] for row in audited] == ["thumbnail", "preview"]
    assert {row["actor"] for row in audited} == {world.users["liaison"]}

    # A file missing from the store: 404, and no download is recorded.
    row = await Attachment.select(Attachment.sha256).where(Attachment.id == attachment_id).first()
    storage.path_of(row["sha256"]).unlink()
    assert (await liaison.get(f"/attachments/{attachment_id}")).status_code == 404
    assert await Event.count().where((Event.verb == "attachment.downloaded") & (Event.object_id == attachment_id)) == 2


async def test_thumbnails_of_ordinary_cards_may_be_cached_and_are_not_audited(people):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new")
    access = await world.access("member")
    attachment_id = (
        await attachments.add_attachments(access, card_id, [Incoming.from_bytes("海报.png", png())])
    ).attachment_ids[0]
    await attachments.make_thumbnail(attachment_id)
    member = await people("member")
    thumbnail = await member.get(f"/attachments/{attachment_id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["cache-control"].startswith("private, max-age=")
    assert not await Event.exists().where(Event.object_type == "attachment")


def test_a_zip64_archive_with_too_many_entries_is_refused_before_it_is_opened():
    """Past 65,535 entries zipfile writes a zip64 end record: counted all the same."""
    from portal.attachments.types import Refused, sniff_bytes

    found = sniff_bytes(many_entries_zip(70_000), "照片.zip")
    assert isinstance(found, Refused) and "%(n)s" in found.message  # "… holds more than 10000 files …"
