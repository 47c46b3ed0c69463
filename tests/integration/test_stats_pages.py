"""The evaluation's pages as a manager, a leader, a member and a liaison see them: the dashboard
with the figures of a small city built through the services, the landing page by role, the
cards behind a figure (exactly those, none the person may not see), sorting, the CSV and XLSX
exports (the same numbers as the page and the API), the printable report, and bad filters
(a message, this month's figures, nothing written). The charts' geometry is checked without a
server."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from portal.accounts.services import get_active_user
from portal.cards.tables import Card
from portal.comments import replies
from portal.comments.replies import ReplyInput
from portal.events.tables import Event
from portal.inquiries import supervision, workflow
from portal.settings import get_settings
from portal.stats import charts, controllers, export, figures
from portal.stats.period import filters_for, period_days
from tests import factories
from tests.conftest import login

TZ = get_settings().tz
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.astimezone(TZ).date()
FIRST = TODAY - timedelta(days=7)
PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat()}


@pytest.fixture(autouse=True)
def _dates_of_today():
    """The dates above are worked out at import; a run that crosses midnight (in the portal's
    time zone) between collecting and running a test works them out again for it, as the
    portal's own "today" has moved on."""
    global NOW, TODAY, FIRST, PERIOD
    if datetime.now(TZ).date() != TODAY:
        NOW = datetime.now(UTC).replace(microsecond=0)
        TODAY = NOW.astimezone(TZ).date()
        FIRST = TODAY - timedelta(days=7)
        PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat()}


PEOPLE = {
    "admin": ("admin", None, "", "管理员甲"),  # on no board: a name no one else should read
    "manager": ("manager", "publicity", "manager", "陈静"),
    "member": ("member", "publicity", "member", "张伟"),
    # A name that a spreadsheet would take for a formula: it must stay text in the files.
    "member2": ("member", "health", "member", "=2+3"),
    "liaison": ("liaison", "health", "member", "王芳"),
    "viewer": ("viewer", "publicity", "viewer", "何建国"),
}


# Reading pages ------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The rows of every table with an id (cell texts), and the attributes of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "table" and attributes.get("id"):
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def rows_by_name(html: str, table: str) -> dict[str, list[str]]:
    """A table's body rows by their first cell (the header row left out)."""
    return {row[0]: row[1:] for row in read(html).tables[table][1:]}


FIGURE_LINK = re.compile(
    r'<a href="([^"]+)" class="figure-link" data-figure="([^"]+)"(?: data-key="([^"]*)")?>([\d,]+)</a>'
)


def figure_links(html: str) -> list[dict[str, str]]:
    """Every number that links to the cards behind it: href, figure, key and the number shown."""
    return [
        {"href": href.replace("&amp;", "&"), "data-figure": figure, "data-key": key, "number": number(text)}
        for href, figure, key, text in FIGURE_LINK.findall(html)
    ]


def number(text: str) -> int:
    return int(text.replace(",", ""))


# The city -----------------------------------------------------------------------------------


class City:
    def __init__(self, comments: factories.World, inquiries: factories.World) -> None:
        self.comments, self.inquiries = comments, inquiries
        self.ids: dict[str, int] = {}

    @property
    def users(self) -> dict[str, int]:
        return self.comments.users

    async def user(self, name: str):
        return await get_active_user(self.users[name])


@pytest.fixture
async def city(clean_db) -> City:
    """Comments C1 (replied), C2, C3 (30 hours unanswered: overdue); inquiries I1 (health:
    accepted, answered, satisfied) and I2 (publicity: never accepted, supervised)."""
    comments = await factories.board("comments", PEOPLE, name="网友留言")
    inquiries = await comments.board("inquiries", name="12345 工单")
    city = City(comments, inquiries)
    users = comments.users

    async def comment(name, *, ago, platform, sentiment, assignee):
        city.ids[name] = await comments.card(
            "manager",
            column="new",
            title=f"留言 {name}",
            platform=platform,
            sentiment=sentiment,
            received_at=NOW - ago,
            assignee=users[assignee],
        )
        return city.ids[name]

    c1 = await comment("C1", ago=timedelta(hours=3), platform="weibo", sentiment="negative", assignee="member")
    await replies.submit(await comments.access("manager"), c1, ReplyInput(body="您好，已转交相关部门处理。"))
    await comment("C2", ago=timedelta(hours=2), platform="wechat", sentiment="positive", assignee="member2")
    await comment("C3", ago=timedelta(hours=30), platform="wechat", sentiment="neutral", assignee="member")

    manager = await inquiries.access("manager")
    health, publicity = comments.departments["health"], comments.departments["publicity"]
    i1 = await inquiries.card(
        "manager",
        column="pending_accept",
        title="工单 I1 联系电话 13812345678",
        received_at=NOW - timedelta(days=2),
        department=health,
        assignee=users["member2"],
        channel="hotline",
    )
    await workflow.act(manager, i1, "accept", {"category": "policy", "urgency": "normal"})
    await workflow.act(manager, i1, "answer_directly", {"answer": "已答复。"})
    await workflow.act(manager, i1, "follow_up", {"verdict": "satisfied"})
    i2 = await inquiries.card(
        "manager",
        column="pending_accept",
        title="工单 I2",
        received_at=NOW - timedelta(days=5),
        department=publicity,
        channel="website",
        category="complaint",
    )
    await supervision.supervise(manager, i2, "请尽快受理")
    city.ids.update({"I1": i1, "I2": i2})
    return city


async def figures_for(city: City, username: str) -> dict:
    return await figures.dashboard(await city.user(username), filters_for(FIRST, TODAY))


# The dashboard ------------------------------------------------------------------------------


async def test_manager_lands_on_the_dashboard_with_the_citys_figures(city, client):
    response = await login(client, "manager")
    assert response.url.path == "/stats"  # GET / sent the manager to the figures
    page = await client.get("/stats", params=PERIOD)
    assert page.status_code == 200
    html = page.text
    assert 'style="' not in html and "<script>" not in html  # the CSP allows neither
    assert 'aria-current="page">数据统计</a>' in html

    # 三率 and the reply rate, each with what it counts and out of what: worked out by hand.
    tiles = {
        name: re.search(
            rf'data-rate="{name}">.*?stat-value[^>]*>([^<]+)</p>\s*<p class="stat-detail">(.*?)</p>', html, re.S
        )
        for name in ("acceptance", "resolution", "satisfaction", "reply")
    }
    assert tiles["acceptance"].group(1) == "50.0%"  # I1 of I1, I2
    assert tiles["satisfaction"].group(1) == "100.0%"  # I1's verdict: satisfied
    assert tiles["reply"].group(1) == "33.3%"  # C1 of C1–C3
    assert re.sub(r"<[^>]+>", "", tiles["reply"].group(2)).split() == ["1", "/", "3"]
    data = await figures_for(city, "manager")
    resolution = data["rates"]["resolution"]
    assert resolution["denominator"] == 5
    assert tiles["resolution"].group(1) == f"{resolution['value'] * 100:.1f}%"

    # Overdue now (C3; I2 is overdue too, past its one working day, unless the calendar says
    # otherwise: the page says what the figures say), 督办 I2.
    overdue = re.search(r'data-figure="overdue_now">.*?stat-value">(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", overdue).strip() == str(data["deadlines"]["overdue_now"])
    assert data["deadlines"]["overdue_now"] >= 1 and data["deadlines"]["supervised"] == 1

    # Members: received per assignee, as the page shows them.
    members = rows_by_name(html, "table-members")
    assert number(members["张伟"][0]) == 2 and number(members["=2+3"][0]) == 2
    departments = rows_by_name(html, "table-departments")  # the factories name them by code
    assert number(departments["health"][0]) == 1  # I1
    assert {row["name"]: row["received"] for row in data["departments"]} == {
        name: number(cells[0]) for name, cells in departments.items()
    }

    # Volume as a chart and as a table: every day of the period, C1–C3 and I1, I2 in all.
    assert 'id="chart-volume"' in html and "<svg" in html
    volume = rows_by_name(html, "table-volume")
    assert len(volume) == 8 and sum(number(cells[0]) for cells in volume.values()) == 5
    platforms = rows_by_name(html, "table-platforms")
    assert number(platforms["微信"][0]) == 2
    # Every table is captioned and every header cell scoped.
    parsed = read(html)
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in parsed.elements if tag == "th")
    assert html.count("<caption>") >= len(parsed.tables)


async def test_a_leader_sees_the_same_dashboard_and_a_member_lands_on_the_boards(city, client):
    response = await login(client, "viewer")
    assert response.url.path == "/stats"
    page = await client.get("/stats", params=PERIOD)
    assert page.status_code == 200
    members = rows_by_name(page.text, "table-members")
    assert number(members["张伟"][0]) == 2
    assert "33.3%" in page.text  # the reply rate, as for the manager

    client.cookies.clear()
    assert (await login(client, "member")).url.path == "/my-work"
    client.cookies.clear()
    assert (await login(client, "liaison")).url.path == "/my-work"

    # Someone on no board may look too: nothing to count, said so.
    await factories.user("newcomer", "manager", "health")
    client.cookies.clear()
    assert (await login(client, "newcomer")).url.path == "/stats"
    empty = await client.get("/stats", params=PERIOD)
    assert empty.status_code == 200 and "本期没有成员负责的卡片" in empty.text and "figure-link" not in empty.text


# The cards behind a figure ------------------------------------------------------------------


async def test_each_number_opens_exactly_its_cards_and_none_the_person_may_not_see(city, client):
    ids = city.ids
    await login(client, "manager")
    html = (await client.get("/stats", params=PERIOD)).text
    links = figure_links(html)
    reply_numerator = next(link for link in links if link["data-figure"] == "replied")
    query = parse_qs(urlsplit(reply_numerator["href"]).query)
    assert query["kind"] == ["comments"] and query["from"] == [FIRST.isoformat()]

    listed = await client.get(reply_numerator["href"])
    assert listed.status_code == 200
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', listed.text))) == {ids["C1"]}
    assert f'href="/boards/{city.comments.board_id}?card={ids["C1"]}"' in listed.text

    received = await client.get("/stats/cards", params={**PERIOD, "figure": "received"})
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', received.text))) == set(ids.values())
    assert "13812345678" not in received.text  # a citizen's number stays masked in lists

    member_link = next(
        link
        for link in links
        if link["data-figure"] == "received" and link.get("data-key") == f"member:{city.users['member']}"
    )
    by_member = await client.get(member_link["href"])
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', by_member.text))) == {ids["C1"], ids["C3"]}
    assert "张伟" in by_member.text

    # Every number on the dashboard opens a list of exactly that many cards.
    assert len(links) >= 20
    for link in links:
        behind = await client.get(link["href"])
        assert behind.status_code == 200, link
        assert len(re.findall(r'data-card-id="\d+"', behind.text)) == link["number"], link

    # The liaison (卫健委) is on both boards but sees only what is routed to her department.
    client.cookies.clear()
    await login(client, "liaison")
    hers = await client.get("/stats/cards", params={**PERIOD, "figure": "received"})
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', hers.text))) == {ids["I1"]}
    # A board she is not on is refused like one that does not exist: a message, no cards.
    other = await factories.board("comments", {"manager": ("manager", "publicity", "manager")}, name="另一个")
    await other.card("manager", title="别人的留言")
    refused = await client.get("/stats/cards", params={**PERIOD, "figure": "received", "board": other.board_id})
    assert refused.status_code == 422 and "data-card-id" not in refused.text
    assert 'id="figure-errors"' in refused.text
    unknown = await client.get("/stats/cards", params={**PERIOD, "figure": "everything"})
    assert unknown.status_code == 422 and "data-card-id" not in unknown.text


async def test_the_people_tables_add_up_and_odd_keys_or_names_are_not_given_away(city, client):
    ids = city.ids
    await login(client, "manager")
    html = (await client.get("/stats", params=PERIOD)).text
    # I2 has no assignee, C1–C3 no responsible department: each a row of its own, so that the
    # tables add up to what was received and to what is overdue now.
    members, departments = rows_by_name(html, "table-members"), rows_by_name(html, "table-departments")
    assert list(members)[-1] == "未分配" and list(departments)[-1] == "未指定部门"
    overdue = number(
        re.sub(r"<[^>]+>", "", re.search(r'data-figure="overdue_now">.*?stat-value">(.*?)</p>', html, re.S).group(1))
    )
    column = [col["key"] for col in controllers.people_columns()].index("overdue_now")
    for table in (members, departments):
        assert sum(number(cells[0]) for cells in table.values()) == 5
        assert sum(number(cells[column]) for cells in table.values()) == overdue
    unassigned = await client.get("/stats/cards", params={**PERIOD, "figure": "received", "key": "member:none"})
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', unassigned.text))) == {ids["I2"]}
    assert "未分配" in unassigned.text
    nowhere = await client.get("/stats/cards", params={**PERIOD, "figure": "department:none"})
    assert set(map(int, re.findall(r'data-card-id="(\d+)"', nowhere.text))) == {ids["C1"], ids["C2"], ids["C3"]}
    assert "未指定部门" in nowhere.text

    # Keys that only look like numbers are refused with a message, not a server error.
    for params in ({"key": "member:²"}, {"key": "department:²"}, {"figure": "member:²"}, {"key": "member:0x1"}):
        odd = await client.get("/stats/cards", params={**PERIOD, "figure": "received", **params})
        assert odd.status_code == 422 and "data-card-id" not in odd.text, params

    # A member is named only when she is on one of the reader's boards: the admin is on none.
    admin = await client.get(
        "/stats/cards", params={**PERIOD, "figure": "received", "key": f"member:{city.users['admin']}"}
    )
    assert admin.status_code == 200 and "管理员甲" not in admin.text
    client.cookies.clear()
    await login(client, "liaison")
    admin = await client.get(
        "/stats/cards", params={**PERIOD, "figure": "received", "key": f"member:{city.users['admin']}"}
    )
    assert admin.status_code == 200 and "管理员甲" not in admin.text
    fellow = await client.get(
        "/stats/cards", params={**PERIOD, "figure": "received", "key": f"member:{city.users['member']}"}
    )
    assert fellow.status_code == 200 and "张伟" in fellow.text


def test_csv_cells_lose_the_control_characters_an_xlsx_cannot_hold():
    table = export.table({"members": [{"name": "张\x07伟\x00", "received": 1}]}, "members")
    rows = list(csv.reader(io.StringIO(export.to_csv(table).decode("utf-8-sig"))))
    assert rows[1][:2] == ["张伟", "1"]


# Sorting ------------------------------------------------------------------------------------


async def test_members_and_departments_sort_by_any_column(city, client):
    await login(client, "manager")

    def names(html: str, table: str) -> list[str]:
        return [row[0] for row in read(html).tables[table][1:]]

    # The cards no one is assigned (I2) stay last, whatever the order of the people.
    by_name = (await client.get("/stats", params={**PERIOD, "sort": "name", "dir": "asc"})).text
    assert names(by_name, "table-members") == ["=2+3", "张伟", "未分配"]
    assert 'aria-sort="ascending"' in by_name
    by_name_down = (await client.get("/stats", params={**PERIOD, "sort": "name", "dir": "desc"})).text
    assert names(by_name_down, "table-members") == ["张伟", "=2+3", "未分配"]

    # By overdue now, most first: 张伟 holds C3. The header links keep the filters and flip the order.
    overdue = (await client.get("/stats", params={**PERIOD, "sort": "overdue_now"})).text
    assert names(overdue, "table-members")[0] == "张伟"
    head = re.search(r'<a href="([^"]+)" class="sort-link" data-sort="overdue_now"', overdue).group(1)
    query = parse_qs(urlsplit(head.replace("&amp;", "&")).query)
    assert query["dir"] == ["asc"] and query["from"] == [FIRST.isoformat()]

    # The slowest departments first; a department with no value (publicity: nothing done, no
    # deadline came due) sorts last either way.
    for column in ("on_time_rate", "resolution_median"):
        for direction in ("desc", "asc"):
            html = (await client.get("/stats", params={**PERIOD, "sort": column, "dir": direction})).text
            assert names(html, "table-departments") == ["health", "publicity", "未指定部门"], (column, direction)
            publicity = read(html).tables["table-departments"][-2]
            assert publicity[0] == "publicity" and "—" in publicity

    # An unknown column is ignored, not an error.
    assert (await client.get("/stats", params={**PERIOD, "sort": "password"})).status_code == 200


# Exports ------------------------------------------------------------------------------------


async def test_csv_and_xlsx_hold_the_numbers_of_the_page_and_the_api(city, client):
    from openpyxl import load_workbook

    await login(client, "manager")
    page = (await client.get("/stats", params=PERIOD)).text
    api = (await client.get("/api/v1/stats", params=PERIOD)).json()
    on_page = rows_by_name(page, "table-members")

    response = await client.get("/stats/export.csv", params={**PERIOD, "table": "members"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="stats-members-') and "filename*=UTF-8''" in disposition
    assert "成员" in unquote(disposition.split("filename*=UTF-8''")[1])
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], {row[0].lstrip("'"): row for row in rows[1:]}
    assert header[:3] == ["成员", "收到量", "已完成"]
    assert body["=2+3"][0] == "'=2+3"  # never a formula
    for member in api["members"]:
        assert int(body[member["name"]][1]) == member["received"] == number(on_page[member["name"]][0])
        assert int(body[member["name"]][2]) == member["done"]

    response = await client.get("/stats/export.xlsx", params={**PERIOD, "table": "members"})
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert cells["=2+3"][0].data_type == "s"  # text, not a formula
    for member in api["members"]:
        row = cells[member["name"]]
        assert row[1].value == member["received"] and isinstance(row[1].value, int)
        rate_cell = row[5]
        assert rate_cell.value == member["on_time_rate"]
        if rate_cell.value is not None:
            assert rate_cell.number_format == "0.0%"

    # The rates, as fractions formatted as percentages; the same as the page's tiles.
    rates = load_workbook(
        io.BytesIO((await client.get("/stats/export.xlsx", params={**PERIOD, "table": "rates"})).content)
    )
    values = {row[0].value: row for row in rates.worksheets[0].iter_rows(min_row=2)}
    reply = values["回复率"]
    assert reply[1].value == pytest.approx(1 / 3) and reply[1].number_format == "0.0%"
    assert (
        (reply[2].value, reply[3].value)
        == (1, 3)
        == (api["rates"]["reply"]["numerator"], api["rates"]["reply"]["denominator"])
    )
    reply_csv = (await client.get("/stats/export.csv", params={**PERIOD, "table": "rates"})).content.decode("utf-8-sig")
    assert "回复率,33.3%,1,3" in reply_csv

    # Every table in one workbook; days as dates.
    everything = load_workbook(io.BytesIO((await client.get("/stats/export.xlsx", params=PERIOD)).content))
    assert len(everything.worksheets) == 11
    volume = everything["按日收到"] if "按日收到" in everything.sheetnames else everything.worksheets[4]
    assert volume.cell(2, 1).is_date and sum(row[1].value for row in volume.iter_rows(min_row=2)) == 5

    for bad in ({"table": "passwords"}, {**PERIOD, "table": "members", "period": "decade"}):
        refused = await client.get("/stats/export.csv", params=bad)
        assert refused.status_code == 422 and not refused.content.startswith(b"\xef\xbb\xbf")


# The report ---------------------------------------------------------------------------------


async def test_the_weekly_and_monthly_reports_print_as_they_are(city, client):
    await login(client, "viewer")
    weekly = await client.get("/stats/report", params={"period": "week"})
    assert weekly.status_code == 200
    html = weekly.text
    assert "<h1>周报</h1>" in html and 'class="page stats-report"' in html
    assert "print.js" in html and "data-print" in html and 'class="review-tools no-print"' in html
    assert 'style="' not in html
    assert {
        "table-rates",
        "table-times",
        "table-deadlines",
        "table-overdue",
        "table-departments",
        "table-members",
    } <= set(read(html).tables)
    assert "figure-link" not in html  # paper has no links
    monthly = await client.get("/stats/report", params={"period": "last_month"})
    assert "<h1>月报</h1>" in monthly.text
    assert re.search(r'href="/stats/report\?period=last_month"[^>]*aria-current="page"', monthly.text)
    first = TODAY.replace(day=1)
    last_month_end = first - timedelta(days=1)
    assert (
        f'data-from="{last_month_end.replace(day=1).isoformat()}" data-to="{last_month_end.isoformat()}"'
        in monthly.text
    )

    css = (await client.get(re.search(r'href="(/static/app[^"]*\.css[^"]*)"', html).group(1))).text
    assert "@page stats-report { size: A4" in css
    printed = css[css.index("@page stats-report") :]
    assert "body:has(.stats-report) .topbar" in printed  # no navigation on paper


# Bad filters --------------------------------------------------------------------------------


async def test_bad_filters_show_a_message_and_change_nothing(city, client):
    await login(client, "manager")
    before = (await Card.count(), await Event.count())
    for params, field in [
        ({"period": "decade"}, "period"),
        ({"period": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"board": "999999"}, "board"),
        ({"department": "abc"}, "department"),
    ]:
        response = await client.get("/stats", params=params)
        assert response.status_code == 422, params
        assert 'id="filter-errors"' in response.text and f'id="sfe-{field}"' in response.text, params
        # This month's figures instead.
        assert f"{TODAY.replace(day=1).isoformat()} – " in response.text
        assert "table-members" in response.text
    # Dates changed by hand in the form count, although the period select still says 本月.
    chosen = await client.get(
        "/stats", params={"period": "month", "shown": "month", "from": FIRST.isoformat(), "to": TODAY.isoformat()}
    )
    assert chosen.status_code == 200 and f"{FIRST.isoformat()} – {TODAY.isoformat()}" in chosen.text
    assert sum(number(cells[0]) for cells in rows_by_name(chosen.text, "table-volume").values()) == 5
    # Picking 本周 in the select: the browser sends the form as shown (this month's dates, the
    # period they were shown for) with the new choice, and this week is what counts.
    form = (await client.get("/stats")).text
    sent = dict(re.findall(r'name="(from|to|shown)" (?:type="(?:date|hidden)" )?value="([^"]*)"', form))
    assert sent["shown"] == "month" and sent["from"] == TODAY.replace(day=1).isoformat()
    week = await client.get("/stats", params={**sent, "period": "week", "board": "", "kind": "", "department": ""})
    monday, sunday = period_days("week")
    assert week.status_code == 200 and f"{monday.isoformat()} – {sunday.isoformat()}" in week.text
    assert '<option value="week" selected>' in week.text and 'name="shown" value="week"' in week.text
    report = await client.get("/stats/report", params={"period": "decade"})
    assert report.status_code == 422 and 'id="filter-errors"' in report.text
    assert (await Card.count(), await Event.count()) == before


# My work ------------------------------------------------------------------------------------


async def test_my_work_lists_what_i_finished_this_week(city, client):
    await login(client, "member2")
    html = (await client.get("/my-work")).text
    assert "本周已完成" in html
    done_this_week = await figures.cards_behind(
        await city.user("member2"),
        filters_for(
            TODAY - timedelta(days=TODAY.weekday()), TODAY - timedelta(days=TODAY.weekday()) + timedelta(days=6)
        ),
        "done",
        f"member:{city.users['member2']}",
    )
    finished = set(map(int, re.findall(r'id="my-done-(\d+)"', html)))
    assert finished == {card["id"] for card in done_this_week} == {city.ids["I1"]}  # closed just now
    client.cookies.clear()
    await login(client, "member")
    assert "本周还没有完成的工作" in (await client.get("/my-work")).text


# Charts -------------------------------------------------------------------------------------


def test_bars_stand_on_the_axis_in_proportion_and_stacks_add_up():
    chart = charts.day_bars(
        [{"day": "2026-11-01", "count": 2}, {"day": "2026-11-02", "count": 0}, {"day": "2026-11-03", "count": 5}]
    )
    assert chart.total == 7 and len(chart.bars) == 3
    assert all(bar.y + bar.height == pytest.approx(chart.bottom, abs=0.2) for bar in chart.bars)
    assert chart.bars[0].height / chart.bars[2].height == pytest.approx(2 / 5, rel=0.02)
    assert chart.bars[1].height == 0 and chart.bars[0].x < chart.bars[1].x < chart.bars[2].x
    assert [tick.label for tick in chart.x_labels] == ["11-01", "11-02", "11-03"]
    assert chart.y_ticks[0].label == "0" and int(chart.y_ticks[-1].label) >= 5

    month = charts.day_bars([{"day": f"2026-11-{day:02d}", "count": day} for day in range(1, 31)])
    assert len(month.x_labels) <= charts.MAX_X_LABELS and month.x_labels[0].label == "11-01"
    assert all(bar.x + bar.width <= month.right + 0.01 for bar in month.bars)

    stacked = charts.sentiment_bars([{"day": "2026-11-01", "positive": 1, "neutral": 2, "negative": 3}])
    assert [bar.key for bar in stacked.bars] == ["negative", "neutral", "positive"]
    assert stacked.bars[0].y + stacked.bars[0].height == pytest.approx(stacked.bottom, abs=0.2)
    assert stacked.bars[-1].y == pytest.approx(min(bar.y for bar in stacked.bars))
    assert sum(bar.height for bar in stacked.bars) == pytest.approx(stacked.bottom - stacked.bars[-1].y, abs=0.3)

    named = charts.named_bars(
        [{"platform": "wechat", "label": "微信", "count": 4}, {"platform": None, "label": "未填写", "count": 2}],
        "platform",
    )
    assert named.bars[0].width == pytest.approx(named.right - named.left) and named.bars[1].width == pytest.approx(
        (named.right - named.left) / 2, abs=0.2
    )
    assert charts.named_bars([], "platform").empty and charts.day_bars([]).empty
    assert charts.short_name("一二三四五六七八九十") == "一二三四五六七…"
