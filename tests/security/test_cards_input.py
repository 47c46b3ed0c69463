"""Card input that would break later: absurd dates are refused with a field error before
anything is written; titles (which end up in e-mail subjects) are one line; and a failure in
what runs after a saved change never turns it into an error page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.cards.tables import Card
from portal.events.tables import Outbox
from portal.reminders import services as reminders
from tests.security.test_cards_world import build_world, card_row, client_for


@pytest.fixture
async def world(clean_db):
    return await build_world()


async def _count(title: str) -> int:
    return await Card.count().where(Card.title == title)


async def test_dates_out_of_range_are_refused_and_nothing_is_written(world):
    inquiries, campaigns = world["boards"]["inquiries"], world["boards"]["campaigns"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M") + "+00:00"
    attempts = [
        (inquiries, "pending_accept", {"received_at": "9999-12-31T10:00"}, "e-received_at", "2000"),
        (inquiries, "pending_accept", {"received_at": "0001-01-01T00:00"}, "e-received_at", "2100"),
        (inquiries, "pending_accept", {"received_at": tomorrow}, "e-received_at", "不能晚于当前时间"),
        (campaigns, "planning", {"ends_at": "9999-12-31T10:00"}, "e-ends_at", "2000"),
        (campaigns, "planning", {"starts_at": "2026-05-01T10:00", "ends_at": "9999-12-31T10:00"}, "e-ends_at", "2100"),
    ]
    client = await client_for("manager")
    try:
        for number, (board, column, dates, error_id, message) in enumerate(attempts):
            title = f"日期测试{number}"
            response = await client.post(
                f"/boards/{board}/cards",
                data={"column_id": world["columns"][(board, column)], "title": title, **dates},
            )
            assert (response.status_code, error_id in response.text, message in response.text) == (422, True, True), (
                dates
            )
            assert await _count(title) == 0, dates
        # The same on an edit: the card keeps what it had.
        before = await card_row(world["card"])
        response = await client.post(
            f"/cards/{world['card']}",
            data={"title": before["title"], "received_at": "9999-01-01T00:00", "version": before["version"]},
        )
        assert response.status_code == 422 and "e-received_at" in response.text
        assert (await card_row(world["card"]))["version"] == before["version"]
        # An extension to year 9999.
        response = await client.post(
            f"/cards/{world['card']}/deadline",
            data={
                "action": "request_extension",
                "extension_until": "9999-12-31T10:00",
                "extension_reason": "等材料",
                "version": before["version"],
            },
        )
        assert response.status_code == 422 and "请输入 2000 年至 2100 年之间的日期" in response.text
        after = await card_row(world["card"])
        assert (after["extension_until"], after["version"]) == (None, before["version"])
    finally:
        await client.__aexit__(None, None, None)


async def test_titles_with_line_breaks_or_control_characters_are_refused(world):
    inquiries = world["boards"]["inquiries"]
    column = world["columns"][(inquiries, "pending_accept")]
    bad_titles = ["咨询\r\nBcc: all@example.com", "咨询\n第二行", "咨询\x00", "咨询\x1b[31m"]
    client = await client_for("member")
    try:
        for title in bad_titles:
            created = await client.post(f"/boards/{inquiries}/cards", data={"column_id": column, "title": title})
            assert created.status_code == 422 and 'id="e-title"' in created.text and "换行符" in created.text
            quick = await client.post(f"/boards/{inquiries}/columns/{column}/cards", data={"title": title})
            assert quick.status_code == 422 and "换行符" in quick.text
            row = await card_row(world["card"])
            edited = await client.post(f"/cards/{world['card']}", data={"title": title, "version": row["version"]})
            assert edited.status_code == 422 and 'id="e-title"' in edited.text
            assert (await card_row(world["card"]))["title"] == row["title"]
        assert await Card.count().where(Card.title.like("咨询%")) == 0
        # A tab or a line break in the body is fine.
        row = await card_row(world["card"])
        body = await client.post(
            f"/cards/{world['card']}",
            data={"title": row["title"], "body": "第一行\n\t第二行", "version": row["version"]},
        )
        assert body.status_code == 200
    finally:
        await client.__aexit__(None, None, None)


async def test_a_failure_after_the_commit_still_answers_with_the_saved_card(world, monkeypatch, capfd):
    async def scheduling_breaks(arq, card_id, now=None):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(reminders, "schedule_card", scheduling_breaks)
    inquiries = world["boards"]["inquiries"]
    column = world["columns"][(inquiries, "pending_accept")]
    client = await client_for("manager")
    try:
        created = await client.post(
            f"/boards/{inquiries}/cards", data={"column_id": column, "title": "提交后出错的咨询"}
        )
        quick = await client.post(f"/boards/{inquiries}/columns/{column}/cards", data={"title": "快速添加的咨询"})
        row = await card_row(world["card"])
        edited = await client.post(f"/cards/{world['card']}", data={"title": "改过的标题", "version": row["version"]})
    finally:
        await client.__aexit__(None, None, None)
    assert created.status_code == 200 and "提交后出错的咨询" in created.text
    assert quick.status_code == 200 and "快速添加的咨询" in quick.text
    assert edited.status_code == 200 and "改过的标题" in edited.text
    assert await _count("提交后出错的咨询") == 1 and await _count("快速添加的咨询") == 1
    assert (await card_row(world["card"]))["title"] == "改过的标题"
    # Each failure is one line in the log, naming the effect, its card and the error; the
    # effect stays in the outbox, to be retried.
    failures = [line for line in capfd.readouterr().err.splitlines() if "date value out of range" in line]
    assert len(failures) == 3 and all("arm_reminders" in line and '"card_id"' in line for line in failures)
    assert await Outbox.count().where((Outbox.effect == "arm_reminders") & Outbox.done_at.is_null()) == 3
