"""Intake: comments posted by a collector through the signed API, and exports imported from a
spreadsheet — both make the same cards in 新留言, once per platform message."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.comments import intake_services
from portal.comments.intake import sign
from portal.comments.tables import CommentDetail, IntakeSource
from portal.core.errors import FormError
from tests import factories
from tests.conftest import csrf_from, login
from tests.processes import portal_command

RECEIVED = datetime(2026, 11, 20, 14, 5, tzinfo=UTC)


def message(external_id: str = "wb-1001", **changes) -> dict:
    return {
        "platform": "weibo",
        "external_id": external_id,
        "author": "临江小王",
        "text": "地铁2号线早高峰太挤了，建议增加班次，另外换乘通道的电梯经常停运，希望尽快修好。",
        "received_at": RECEIVED.isoformat(),
        "link": "https://weibo.com/1234/abcd",
        **changes,
    }


def signed(secret: str, payload: dict | bytes, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return body, {
        "X-Portal-Timestamp": str(timestamp),
        "X-Portal-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


async def post(client, name: str, secret: str, payload: dict | bytes, timestamp: int | None = None, **headers):
    body, signed_headers = signed(secret, payload, timestamp)
    return await client.post(f"/api/intake/{name}", content=body, headers={**signed_headers, **headers})


async def make_source(world, name: str = "weibo-relay") -> str:
    admin = await get_active_user(world.users["admin"])
    return (await intake_services.create_source(admin, name, world.board_id)).secret


async def cards_on(board_id: int) -> int:
    return await Card.count().where(Card.board == board_id)


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


# The signed API ----------------------------------------------------------------------------


async def test_a_signed_comment_lands_in_new_with_its_fields_and_clock(client, world):
    secret = await make_source(world)
    response = await post(client, "weibo-relay", secret, message())
    assert response.status_code == 201, response.text
    card_id = response.json()["card_id"]
    card = (
        await Card.select(Card.column, Card.title, Card.body, Card.received_at, Card.due_at, Card.created_by)
        .where(Card.id == card_id)
        .first()
    )
    assert card["column"] == world.columns["new"]  # 新留言
    assert card["title"] == message()["text"][:30] + "…"  # its first 30 characters, on the tile
    assert card["body"] == message()["text"]
    assert card["received_at"] == RECEIVED
    # The first reply is due 24 hours after the comment arrived, not after it was posted here.
    assert card["due_at"] == RECEIVED + timedelta(hours=24)
    assert card["created_by"] is None  # the portal itself
    detail = await CommentDetail.select().where(CommentDetail.card == card_id).first()
    assert (detail["platform"], detail["author_handle"], detail["external_id"], detail["link"]) == (
        "weibo",
        "临江小王",
        "wb-1001",
        "https://weibo.com/1234/abcd",
    )
    source = await IntakeSource.select(IntakeSource.id, IntakeSource.last_used_at).first()
    assert detail["source"] == source["id"] and source["last_used_at"] is not None

    # The member sees it on the board with its platform.
    await login(client, "member", factories.PASSWORD)
    page = await client.get(f"/boards/{world.board_id}")
    assert f'id="card-{card_id}"' in page.text and "地铁2号线早高峰太挤了" in page.text


async def test_the_same_comment_twice_is_one_card(client, world):
    secret = await make_source(world)
    first = await post(client, "weibo-relay", secret, message())
    again = await post(client, "weibo-relay", secret, message(text="改过的内容"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {"card_id": first.json()["card_id"], "duplicate": True}
    # Replaying the very same signed request within the window changes nothing either.
    body, headers = signed(secret, message())
    replays = [await client.post("/api/intake/weibo-relay", content=body, headers=headers) for _ in range(2)]
    assert [r.status_code for r in replays] == [200, 200]
    assert await cards_on(world.board_id) == 1
    # The same id on another platform is another message.
    other = await post(client, "weibo-relay", secret, message(platform="douyin"))
    assert other.status_code == 201 and await cards_on(world.board_id) == 2


async def test_two_posts_of_one_comment_at_once_make_one_card(client, world):
    secret = await make_source(world)
    answers = await asyncio.gather(*[post(client, "weibo-relay", secret, message("race-1")) for _ in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["card_id"] for a in answers}) == 1
    assert await cards_on(world.board_id) == 1


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "tampered body", "stale", "future", "no signature", "unknown source", "inactive source"],
)
async def test_badly_signed_posts_are_refused_with_401_and_write_nothing(client, world, case):
    secret = await make_source(world)
    name, key, timestamp = "weibo-relay", secret, int(time.time())
    body, headers = signed(key, message(), timestamp)
    if case == "wrong secret":
        body, headers = signed("not-the-secret", message(), timestamp)
    elif case == "tampered body":
        body = body.replace("临江小王".encode(), "别人".encode())
    elif case == "stale":
        body, headers = signed(secret, message(), timestamp - 301)
    elif case == "future":
        # Well past the window: a slow machine can spend seconds before the server reads its
        # clock, which brings a timestamp only just ahead back inside the window.
        body, headers = signed(secret, message(), timestamp + 360)
    elif case == "no signature":
        del headers["X-Portal-Signature"]
    elif case == "unknown source":
        name = "nobody"
    elif case == "inactive source":
        admin = await get_active_user(world.users["admin"])
        await intake_services.deactivate_source(admin, (await IntakeSource.select(IntakeSource.id).first())["id"])
    response = await client.post(f"/api/intake/{name}", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"]
    if case == "stale":
        assert "300" in response.json()["message"]  # the sender learns its clock is the problem
    if case in ("wrong secret", "unknown source", "inactive source"):
        # Which of these it was is not revealed.
        assert response.json()["message"] == (await post(client, "nobody", "x", message())).json()["message"]
    assert await cards_on(world.board_id) == 0


async def test_a_rotated_secret_is_accepted_for_the_grace_period_then_refused(client, world):
    old = await make_source(world)
    admin = await get_active_user(world.users["admin"])
    source_id = (await IntakeSource.select(IntakeSource.id).first())["id"]
    new = (await intake_services.rotate_source(admin, source_id)).secret
    assert new != old
    assert (await post(client, "weibo-relay", old, message("a"))).status_code == 201
    assert (await post(client, "weibo-relay", new, message("b"))).status_code == 201
    until = (await IntakeSource.select(IntakeSource.previous_valid_until).first())["previous_valid_until"]
    assert timedelta(hours=23, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=24)
    # A day later the old secret signs nothing.
    await IntakeSource.update({IntakeSource.previous_valid_until: datetime.now(UTC) - timedelta(seconds=1)}).where(
        IntakeSource.id == source_id
    )
    assert (await post(client, "weibo-relay", old, message("c"))).status_code == 401
    assert (await post(client, "weibo-relay", new, message("d"))).status_code == 201
    assert await cards_on(world.board_id) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform": "myspace"}, "platform"),
        ({"external_id": ""}, "external_id"),
        ({"text": ""}, "text"),
        ({"text": "长" * 5001}, "text"),
        ({"received_at": "2026-11-20 14:05"}, "received_at"),
        ({"received_at": "2099-01-01T00:00:00+08:00"}, "received_at"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"author": "名" * 81}, "author"),
        ({"unexpected": "field"}, "unexpected"),
    ],
)
async def test_a_bad_body_is_422_with_the_field_and_writes_nothing(client, world, change, field):
    secret = await make_source(world)
    response = await post(client, "weibo-relay", secret, message(**change))
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"], response.json()
    assert await cards_on(world.board_id) == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{}"])
async def test_a_body_that_is_no_message_is_422(client, world, body):
    secret = await make_source(world)
    response = await post(client, "weibo-relay", secret, body)
    assert response.status_code == 422 and response.json()["errors"]
    assert await cards_on(world.board_id) == 0


async def test_a_source_over_its_rate_is_told_to_wait(client, world, monkeypatch):
    monkeypatch.setattr(intake_services, "RATE_LIMIT", 2)
    secret = await make_source(world)
    answers = [(await post(client, "weibo-relay", secret, message(f"r{n}"))) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[2].headers["retry-after"]) > 0
    assert await cards_on(world.board_id) == 2


async def test_the_intake_api_is_on_the_schema_page(client, world):
    spec = (await client.get("/schema/openapi.json")).json()
    assert "post" in spec["paths"]["/api/intake/{source}"]
    assert "/api/intake/{source}" in (await client.get("/schema")).text


# Sources: the admin page and the command -----------------------------------------------


async def test_an_admin_creates_a_source_and_sees_its_secret_once(client, world):
    await login(client, "admin", factories.PASSWORD)
    page = await client.get("/admin/intake")
    token = csrf_from(page.text)
    bad = await client.post(
        "/admin/intake", data={"name": "Weibo Relay!", "board": world.board_id, "_csrf_token": token}
    )
    assert bad.status_code == 422 and "lower-case" in bad.text or "小写" in bad.text
    created = await client.post("/admin/intake", data={"name": "weibo", "board": world.board_id, "_csrf_token": token})
    assert created.status_code == 201
    secret = re.search(r'id="intake-secret">([^<]+)<', created.text).group(1)
    assert (await post(client, "weibo", secret, message())).status_code == 201
    listed = await client.get("/admin/intake")
    assert secret not in listed.text and "weibo" in listed.text
    taken = await client.post("/admin/intake", data={"name": "weibo", "board": world.board_id, "_csrf_token": token})
    assert taken.status_code == 422 and secret not in taken.text

    source_id = (await IntakeSource.select(IntakeSource.id).first())["id"]
    rotated = await client.post(f"/admin/intake/{source_id}/rotate", data={"_csrf_token": token})
    new_secret = re.search(r'id="intake-secret">([^<]+)<', rotated.text).group(1)
    assert rotated.status_code == 200 and new_secret != secret
    await client.post(f"/admin/intake/{source_id}/deactivate", data={"_csrf_token": token})
    assert (await post(client, "weibo", new_secret, message("later"))).status_code == 401


async def test_a_source_only_feeds_a_comments_board(client, world):
    inquiries = await factories.board("inquiries", {"x": ("member", "publicity", "member")})
    admin = await get_active_user(world.users["admin"])
    with pytest.raises(FormError) as refused:
        await intake_services.create_source(admin, "hotline", inquiries.board_id)
    assert "board" in refused.value.errors


async def test_the_command_prints_the_secret_once(world):
    result = await asyncio.to_thread(
        subprocess.run,
        portal_command("create-intake-source", "douyin-relay", "--board", str(world.board_id)),
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert len(secret) >= 40 and "shown only this once" in result.stderr
    stored = await IntakeSource.select(IntakeSource.secret, IntakeSource.board).first()
    assert stored == {"secret": secret, "board": world.board_id}


# Spreadsheet import ------------------------------------------------------------------------

BROKEN = {12: ("平台", "myspace"), 53: ("发布时间", "昨天下午"), 121: ("评论内容", "")}


def export(rows: int = 130, broken: dict | None = None, start: int = 0) -> bytes:
    """A Weibo back-office export: a header row, then one comment per row (row 2 is the first).
    The default's 130 rows span three of the import's batches of 50."""
    lines = ["平台,评论ID,用户昵称,评论内容,发布时间,链接"]
    broken = BROKEN if broken is None else broken
    for n in range(start, start + rows):
        cells = {
            "平台": "微博",
            "评论ID": f"wb{n:05d}",
            "用户昵称": f"网友{n}",
            "评论内容": f"第{n}条：公交线路调整后换乘不方便，希望恢复原来的站点",
            "发布时间": "2026-11-20 09:30",
            "链接": "",
        }
        if n - start + 2 in broken:
            column, value = broken[n - start + 2]
            cells[column] = value
        lines.append(",".join(cells.values()))
    return ("\n".join(lines) + "\n").encode()


async def upload(client, board_id: int, data: bytes, filename: str = "weibo.csv", platform: str = ""):
    page = await client.get(f"/boards/{board_id}/import")
    return await client.post(
        f"/boards/{board_id}/import",
        files={"file": (filename, data, "text/csv")},
        data={"platform": platform},
        headers={"x-csrftoken": csrf_from(page.text)},
        follow_redirects=False,
    )


async def run_import(client, preview_url: str) -> str:
    """Confirm, then follow the progress element batch by batch as the browser does."""
    page = await client.get(preview_url)
    token = csrf_from(page.text)
    confirmed = await client.post(preview_url + "/confirm", data={"_csrf_token": token}, follow_redirects=False)
    assert confirmed.status_code == 303
    html = (await client.get(preview_url)).text
    for _ in range(200):
        match = re.search(r'hx-post="([^"]+/batch)" hx-trigger="load"', html)
        if not match:
            return html
        response = await client.post(match.group(1), headers={"x-csrftoken": token, "HX-Request": "true"})
        assert response.status_code == 200, response.text
        html = response.text
    raise AssertionError("the import never finished")


async def test_an_export_with_three_broken_rows_imports_the_rest_and_names_them(client, world):
    await login(client, "member", factories.PASSWORD)
    uploaded = await upload(client, world.board_id, export())
    assert uploaded.status_code == 303, uploaded.text
    preview_url = uploaded.headers["location"]
    preview = (await client.get(preview_url)).text
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]+)</td></tr>", preview)
    named = [(int(row), column) for row, column, _reason in errors]
    assert named == [(12, "平台"), (53, "发布时间"), (121, "评论内容")]
    assert "myspace" in errors[0][2]
    assert re.search(r"<strong>127</strong>", preview) and preview.count("<tr><td>") == 3 + 20  # errors + first rows
    assert await cards_on(world.board_id) == 0  # nothing before the person confirms

    done = await run_import(client, preview_url)
    assert 'id="import-done"' in done
    assert re.search(r"127\D+0", done)  # 127 imported, 0 skipped
    assert await cards_on(world.board_id) == 127
    assert await Card.count().where((Card.board == world.board_id) & (Card.column == world.columns["new"])) == 127
    assert await Card.count().where(Card.created_by == world.users["member"]) == 127


async def test_duplicates_are_skipped_and_counted(client, world):
    secret = await make_source(world)
    # Two comments of the file are on the portal already; one row repeats another.
    for external_id in ("wb00001", "wb00002"):
        await post(client, "weibo-relay", secret, message(external_id))
    data = export(6, broken={}) + "微博,wb00003,网友3,又一遍,2026-11-20 09:31,\n".encode()
    await login(client, "member", factories.PASSWORD)
    preview_url = (await upload(client, world.board_id, data)).headers["location"]
    preview = (await client.get(preview_url)).text
    counts = [int(n) for n in re.findall(r"<li><strong>(\d+)</strong>", preview)]
    assert counts == [6, 0, 1, 2]  # valid, with errors, repeated in the file, already on the portal
    assert "Import 4" in preview or "导入 4" in preview
    # One more arrives through the API between the preview and the confirmation.
    await post(client, "weibo-relay", secret, message("wb00004"))
    done = await run_import(client, preview_url)
    assert re.search(r"3\D+1", done)  # 3 imported, 1 skipped as already on the portal
    assert await cards_on(world.board_id) == 2 + 1 + 3


async def test_a_file_that_cannot_be_imported_says_why(client, world):
    await login(client, "member", factories.PASSWORD)
    wrong_kind = await upload(client, world.board_id, b"%PDF-1.4", filename="comments.pdf")
    assert wrong_kind.status_code == 422 and ("CSV" in wrong_kind.text)
    too_big = await upload(client, world.board_id, b"x" * (5 * 1024 * 1024 + 1))
    assert too_big.status_code == 422 and "5 MB" in too_big.text
    missing = await upload(client, world.board_id, "平台,评论ID\n微博,1\n".encode())
    assert missing.status_code == 422 and "received_at" in missing.text
    assert await cards_on(world.board_id) == 0


async def test_a_fixed_platform_applies_to_every_row(client, world):
    await login(client, "member", factories.PASSWORD)
    data = "评论ID,评论内容,发布时间\n1,好,2026-11-20 09:30\n2,不好,2026-11-20 09:31\n".encode()
    preview_url = (await upload(client, world.board_id, data, platform="douyin")).headers["location"]
    await run_import(client, preview_url)
    platforms = await CommentDetail.select(CommentDetail.platform)
    assert [row["platform"] for row in platforms] == ["douyin", "douyin"]


@pytest.mark.parametrize(("person", "status"), [("viewer", 403), ("liaison", 404), ("outsider", 404)])
async def test_who_may_not_import(client, world, person, status):
    await login(client, person, factories.PASSWORD)
    assert (await client.get(f"/boards/{world.board_id}/import")).status_code == status
    board = await client.get(f"/boards/{world.board_id}")
    assert f"/boards/{world.board_id}/import" not in board.text


async def test_a_preview_belongs_to_its_uploader(client, world):
    await login(client, "member", factories.PASSWORD)
    preview_url = (await upload(client, world.board_id, export(3, broken={}))).headers["location"]
    await login(client, "manager", factories.PASSWORD)
    assert (await client.get(preview_url)).status_code == 404
    page = await client.get(f"/boards/{world.board_id}")
    assert f'href="/boards/{world.board_id}/import"' in page.text  # the manager may import her own
    token = csrf_from(page.text)
    assert (await client.post(preview_url + "/confirm", data={"_csrf_token": token})).status_code == 404
    assert await cards_on(world.board_id) == 0


async def test_a_batch_before_confirming_writes_nothing(client, world):
    await login(client, "member", factories.PASSWORD)
    preview_url = (await upload(client, world.board_id, export(3, broken={}))).headers["location"]
    token = csrf_from((await client.get(preview_url)).text)
    response = await client.post(preview_url + "/batch", headers={"x-csrftoken": token, "HX-Request": "true"})
    assert response.status_code == 409
    assert await cards_on(world.board_id) == 0


async def test_only_comments_boards_import(client, world):
    inquiries = await factories.board("inquiries", {"boss": ("manager", "publicity", "manager")})
    await login(client, "boss", factories.PASSWORD)
    assert (await client.get(f"/boards/{inquiries.board_id}/import")).status_code == 404
    assert "/import" not in (await client.get(f"/boards/{inquiries.board_id}")).text
