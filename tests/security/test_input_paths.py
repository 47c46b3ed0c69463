"""Absurd input in the address (ids beyond what a database stores, NUL bytes) and bad
calendar input answer 4xx with a page that says so, never 500."""

from __future__ import annotations

import pytest

from portal.boards.tables import Board
from tests.conftest import csrf_from, login

NUMBERS = [str(2**63 + 5), str(2**31), "-" + str(2**63 + 5), "-1", "9" * 40]

ID_URLS = [
    ("GET", "/boards/{n}"),
    ("GET", "/boards/{n}/settings"),
    ("GET", "/cards/{n}"),
    ("GET", "/admin/users/{n}"),
    ("POST", "/notifications/{n}/read"),
    ("POST", "/boards/{board}/settings/columns/{n}"),
    ("POST", "/boards/{board}/settings/columns/{n}/move"),
    ("POST", "/boards/{board}/settings/columns/{n}/archive"),
    ("POST", "/boards/{board}/settings/members/{n}/remove"),
    ("POST", "/boards/{board}/settings/webhooks/{n}/remove"),
    ("POST", "/admin/users/{n}"),
    ("POST", "/admin/users/{n}/password"),
    ("POST", "/admin/users/{n}/active"),
    ("POST", "/admin/departments/{n}"),
    ("POST", "/cards/{n}/move"),
    ("POST", "/cards/{n}/notes"),
    ("POST", "/boards/{n}/cards"),
]


@pytest.fixture
async def admin_client(client, users):
    await login(client, "admin")
    board = await Board.insert(Board(name="板", kind="comments"))
    return client, board[0]["id"]


async def test_ids_beyond_the_database_are_not_found(admin_client):
    client, board = admin_client
    token = csrf_from((await client.get("/boards")).text)
    answers = {}
    for method, template in ID_URLS:
        for number in NUMBERS:
            url = template.format(n=number, board=board)
            if method == "GET":
                response = await client.get(url)
            else:
                response = await client.post(url, data={"_csrf_token": token, "name": "x", "active": "0"})
            answers[url] = (response.status_code, "页面不存在" in response.text or "does not exist" in response.text)
    assert {url: answer for url, answer in answers.items() if answer != (404, True)} == {}


async def test_nul_bytes_in_the_path_are_not_found(admin_client):
    client, _board = admin_client
    assert (await client.get("/static/app.js")).status_code == 200
    for url in ["/static/app.js%00.png", "/static/%00", "/static/app.js%00", "/boards%00", "/cards/1%00"]:
        response = await client.get(url)
        assert response.status_code == 404, url


async def test_a_bad_or_missing_day_is_refused_with_a_message(admin_client):
    from portal.sla.tables import CalendarDay, CalendarYear

    client, _board = admin_client
    token = csrf_from((await client.get("/calendar")).text)  # (seeds the calendar)
    before = (await CalendarDay.count(), await CalendarYear.count())
    for data in [{}, {"day": "tomorrow"}, {"day": "2026-02-30"}, {"day": "9999-12-31"}, {"day": "0001-01-01"}]:
        response = await client.post("/calendar/days", data={**data, "kind": "holiday", "_csrf_token": token})
        assert response.status_code == 422, data
        assert 'id="e-day"' in response.text and "日期" in response.text  # the form says what is wrong
    bad_kind = await client.post("/calendar/days", data={"day": "2026-05-06", "kind": "x", "_csrf_token": token})
    assert bad_kind.status_code == 422 and 'id="e-kind"' in bad_kind.text
    assert (await CalendarDay.count(), await CalendarYear.count()) == before  # nothing changed


async def test_import_refuses_years_outside_the_range_instead_of_using_this_year(admin_client):
    from portal.sla.tables import CalendarYear

    client, _board = admin_client
    token = csrf_from((await client.get("/calendar")).text)
    for year in ["9999", "1", "0", "-5", str(2**70)]:
        response = await client.post(
            "/calendar/import", data={"year": year, "days": f"{year}-01-01,休", "_csrf_token": token}
        )
        assert response.status_code == 422, year
        assert "2000 到 2100" in response.text, year
    assert not await CalendarYear.exists().where(CalendarYear.source == "import")


async def test_preview_far_from_now_is_400_with_a_message(admin_client):
    client, _board = admin_client
    for start in ["9999-12-31T10:00:00%2B08:00", "0001-01-01T00:00:00%2B00:00", "1999-06-01T10:00:00Z"]:
        for mode in ("working_days", "working_hours", "natural_hours"):
            response = await client.get(f"/api/sla/preview?start={start}&duration=300&mode={mode}")
            assert response.status_code == 400, (start, mode)
            assert "start" in response.json()["fields"] and "2000" in response.json()["error"]
            fragment = await client.get(f"/calendar/preview?start={start}&duration=3&mode={mode}")
            assert fragment.status_code == 422 and "2000" in fragment.text
    assert (await client.get("/api/sla/preview?start=2100-12-31T10:00:00Z&duration=300&mode=working_days")).is_success
