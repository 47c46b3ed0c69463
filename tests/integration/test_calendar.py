"""The calendar page, admin changes and imports, and the deadline preview (page and JSON)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.sla import services
from portal.sla.tables import CalendarDay, CalendarYear
from tests.conftest import login, post_form


@pytest.fixture(autouse=True)
def fresh_calendar_cache():
    services.invalidate()
    yield
    services.invalidate()


async def test_calendar_is_seeded_from_the_package_and_shows_national_day(client, users):
    await login(client, "member")
    html = (await client.get("/calendar?year=2026")).text
    assert 'id="d-2026-10-01" class="day holiday"' in html
    assert 'id="d-2026-10-10" class="day makeup_workday"' in html
    assert 'id="no-data"' not in html
    assert await CalendarYear.exists().where(CalendarYear.year == "2026")


async def test_a_year_without_data_says_so(client, users):
    await login(client, "member")
    html = (await client.get("/calendar?year=2031")).text
    assert 'id="no-data"' in html and "2031" in html


@pytest.mark.parametrize(
    ("query", "due"),
    [
        ("start=2026-11-27T17:00:00%2B08:00&duration=1&mode=working_hours", "2026-11-30T09:30:00+08:00"),
        ("start=2026-09-30T10:00:00%2B08:00&duration=3&mode=working_days", "2026-10-10T17:30:00+08:00"),
        ("start=2026-09-30T20:00:00%2B08:00&duration=24&mode=natural_hours", "2026-10-01T20:00:00+08:00"),
        ("start=2026-11-27T09:00:00Z&duration=1&mode=working_hours", "2026-11-30T09:30:00+08:00"),  # 17:00 in Shanghai
    ],
)
async def test_preview_api(client, users, query, due):
    await login(client, "viewer")
    response = await client.get(f"/api/sla/preview?{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["due_at"] == due and body["missing_years"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-11-27T17:00:00&duration=1&mode=working_hours", "offset"),
        ("start=yesterday&duration=1&mode=working_hours", "ISO 8601"),
        ("start=2026-11-27T17:00:00%2B08:00&duration=-3&mode=working_hours", "duration"),
        ("start=2026-11-27T17:00:00%2B08:00&duration=1&mode=fortnights", "mode"),
        ("start=2026-11-27T17:00:00%2B08:00&duration=99999999&mode=working_days", "duration"),
    ],
)
async def test_preview_api_bad_input_is_400_with_a_message(client, users, query, field):
    await login(client, "member")
    response = await client.get(f"/api/sla/preview?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]


async def test_preview_api_needs_login(client, users):
    response = await client.get("/api/sla/preview?start=2026-11-27T17:00:00%2B08:00&duration=1&mode=working_hours")
    assert response.status_code == 401


async def test_preview_warns_about_years_without_data(client, users):
    await login(client, "member")
    body = (await client.get("/api/sla/preview?start=2031-12-30T10:00:00%2B08:00&duration=3&mode=working_days")).json()
    assert body["missing_years"] == [2031, 2032]  # the deadline runs into January


async def test_admin_changes_a_day_and_deadlines_follow(client, users):
    await login(client, "admin")
    response = await post_form(client, "/calendar/days", {"day": "2026-12-01", "kind": "holiday"}, page_url="/calendar")
    assert response.status_code == 200
    assert (await CalendarDay.select(CalendarDay.kind).where(CalendarDay.day == date(2026, 12, 1)).first())[
        "kind"
    ] == "holiday"
    body = (await client.get("/api/sla/preview?start=2026-11-30T10:00:00%2B08:00&duration=1&mode=working_days")).json()
    assert body["due_at"] == "2026-12-02T17:30:00+08:00"


async def test_non_admin_cannot_change_the_calendar(client, users):
    await login(client, "manager")
    response = await post_form(client, "/calendar/days", {"day": "2026-12-01", "kind": "holiday"}, page_url="/calendar")
    assert response.status_code == 403
    assert not await CalendarDay.exists().where(CalendarDay.day == date(2026, 12, 1))


async def test_import_next_year(client, users):
    await login(client, "admin")
    days = "2027-01-01,休,元旦\n2027-02-06 班\n# a comment\n2027-02-11，holiday，春节\n"
    response = await post_form(client, "/calendar/import", {"year": "2027", "days": days}, page_url="/calendar")
    assert response.status_code == 200
    html = (await client.get("/calendar?year=2027")).text
    assert 'id="no-data"' not in html and 'id="d-2027-02-06" class="day makeup_workday"' in html
    body = (await client.get("/api/sla/preview?start=2027-02-05T10:00:00%2B08:00&duration=1&mode=working_days")).json()
    assert body["due_at"] == "2027-02-06T17:30:00+08:00" and body["missing_years"] == []


async def test_a_bad_import_says_which_lines_and_changes_nothing(client, users):
    await login(client, "admin")
    await services.get_calendar()  # seeded from the package
    before = await CalendarDay.count()
    response = await post_form(
        client,
        "/calendar/import",
        {"year": "2027", "days": "2027-01-01,休\n2027-13-01,休\n2026-05-01,休\n2027-02-06,maybe"},
        page_url="/calendar",
    )
    assert response.status_code == 422
    for fragment in ("2027-13-01", "2026-05-01", "第 4 行"):
        assert fragment in response.text
    assert await CalendarDay.count() == before
    assert not await CalendarYear.exists().where(CalendarYear.year == "2027")


async def test_manager_sets_the_comments_clock_and_new_comments_follow_it(client, users):
    from datetime import UTC, datetime, timedelta

    from portal.accounts.services import get_active_user
    from portal.boards.access import access_for
    from portal.boards.forms import BoardForm
    from portal.boards.services import create_board
    from portal.boards.tables import BoardColumn
    from portal.cards import services as cards
    from portal.cards.tables import Card
    from portal.sla.tables import SlaPolicy

    await login(client, "manager")
    page = await client.get("/sla/policies")
    assert page.status_code == 200 and "first_response" in page.text
    policy = await SlaPolicy.select().where((SlaPolicy.board_kind == "comments") & (SlaPolicy.priority == "")).first()
    response = await post_form(
        client,
        "/sla/policies",
        {
            "policy_id": policy["id"],
            "board_kind": "comments",
            "stage": "first_response",
            "priority": "",
            "category": "",
            "amount": "12",
            "mode": "natural_hours",
        },
        page_url="/sla/policies",
    )
    assert response.status_code == 200
    count = await SlaPolicy.count()  # the kinds' defaults, written on first use
    bad = await post_form(
        client,
        "/sla/policies",
        {"board_kind": "comments", "stage": "accept", "amount": "0", "mode": "fortnights"},
        page_url="/sla/policies",
    )
    assert bad.status_code == 422 and await SlaPolicy.count() == count
    manager = await get_active_user(users["manager"])
    board = await create_board(manager, BoardForm(name="测试", kind="comments", description=""))
    column = (
        await BoardColumn.select(BoardColumn.id)
        .where((BoardColumn.board == board) & (BoardColumn.key == "new"))
        .first()
    )["id"]
    received = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    change = await cards.create_card(
        await access_for(manager, board), column, {"title": "新留言", "received_at": received}
    )
    assert (await Card.select(Card.due_at).where(Card.id == change.card_id).first())["due_at"] == received + timedelta(
        hours=12
    )


async def test_members_cannot_change_policies(client, users):
    await login(client, "member")
    assert (await client.get("/sla/policies")).status_code == 403


async def test_managing_one_board_is_not_enough_to_change_everyones_policies(client, users):
    from portal.boards.tables import Board, BoardMember

    board = (await Board.insert(Board(name="值班", kind="comments")))[0]["id"]
    await BoardMember.insert(BoardMember(board=board, user=users["member"], role="manager"))
    await login(client, "member")
    assert (await client.get("/sla/policies")).status_code == 403


async def test_two_processes_seeding_the_calendar_at_once_leave_it_whole(clean_db):
    """Web and worker jobs starting together both find the calendar empty: neither fails,
    and every year is there once."""
    import asyncio

    first, second = await asyncio.gather(services.seed_from_package(), services.seed_from_package())
    years = [row["year"] for row in await CalendarYear.select(CalendarYear.year)]
    assert len(years) == len(set(years)) and years
    assert first + second == len(years)
    assert await CalendarDay.count().where(CalendarDay.day == date(2025, 10, 1)) == 1
