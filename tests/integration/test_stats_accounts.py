"""Account figures (账号数据): accounts kept by managers, a day's figures recorded by hand, through
the API and from a spreadsheet (CSV in GB18030, XLSX), a day recorded again keeping the figures
not given, every bad cell of a file reported with nothing written, and the period's growth and
interaction rate worked out by hand and compared with the service, the page, the API and the
export. Managers and administrators write; members get 403; nobody signed out gets in."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.core.errors import FormError, PermissionDenied
from portal.events.tables import Event
from portal.stats import accounts, accounts_import
from portal.stats.accounts_tables import AccountFigure, MediaAccount
from tests.conftest import csrf_from, login


def day(offset: int) -> date:
    """``offset`` days before the portal's today (worked out each time: a run may cross midnight)."""
    return accounts.today() - timedelta(days=offset)


@pytest.fixture
async def people(users):
    return {name: await get_active_user(user_id) for name, user_id in users.items()}


async def account(people, name="临江发布", platform="wechat", **extra) -> int:
    return await accounts.create_account(people["manager"], {"name": name, "platform": platform, **extra})


async def stored(account_id: int) -> dict[date, tuple]:
    F = AccountFigure
    rows = await F.select(F.day, F.followers, F.reads, F.interactions, F.source).where(F.account == account_id)
    return {accounts._as_date(r["day"]): (r["followers"], r["reads"], r["interactions"], r["source"]) for r in rows}


async def bearer(people, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(people[name], 'accounts')}"}


# Accounts --------------------------------------------------------------------------------------


async def test_managers_keep_the_accounts_and_every_change_is_audited(people, departments):
    wechat = await account(people, platform="微信公众号", department_id=str(departments["publicity"]))
    weibo = await account(people, platform="weibo")
    listed = await accounts.list_accounts()
    assert [(a["name"], a["platform"], a["department_id"]) for a in listed] == [
        ("临江发布", "wechat", departments["publicity"]),
        ("临江发布", "weibo", None),
    ]
    with pytest.raises(FormError) as same:
        await account(people, platform="WeChat")
    assert "临江发布" in same.value.errors["name"]
    with pytest.raises(FormError) as bad:
        await accounts.create_account(people["admin"], {"name": "", "platform": "12345 hotline"})
    assert set(bad.value.errors) == {"name", "platform"}
    for role in ("member", "viewer", "liaison"):
        with pytest.raises(PermissionDenied):
            await accounts.create_account(people[role], {"name": "临江医保", "platform": "wechat"})

    await accounts.update_account(people["admin"], weibo, {"active": False, "department_id": departments["health"]})
    assert (await accounts.get_account(weibo))["active"] is False
    assert (await accounts.get_account(weibo))["department_id"] == departments["health"]
    with pytest.raises(FormError):  # renamed onto another account
        await accounts.update_account(people["admin"], weibo, {"platform": "wechat"})
    verbs = (
        await Event.select(Event.verb, Event.object_id).where(Event.object_type == "media_account").order_by(Event.id)
    )
    assert verbs == [
        {"verb": "media_account.created", "object_id": wechat},
        {"verb": "media_account.created", "object_id": weibo},
        {"verb": "media_account.updated", "object_id": weibo},
    ]


# Hand entry and the API ----------------------------------------------------------------------


async def test_recording_a_day_again_keeps_the_figures_not_given(people):
    account_id = await account(people)
    await accounts.record_one(
        people["manager"],
        account_id,
        {"date": day(1).isoformat(), "followers": "286,400", "reads": "25000", "interactions": ""},
        source="hand",
    )
    await accounts.record_one(people["admin"], account_id, {"date": day(1), "interactions": 900}, source="api")
    assert await stored(account_id) == {day(1): (286_400, 25_000, 900, "api")}
    await accounts.record_one(people["manager"], account_id, {"date": day(1), "reads": 26_100}, source="hand")
    assert await stored(account_id) == {day(1): (286_400, 26_100, 900, "hand")}

    with pytest.raises(FormError) as bad:
        await accounts.record_one(
            people["manager"], account_id, {"date": day(-1).isoformat(), "followers": "-5"}, source="hand"
        )
    assert set(bad.value.errors) == {"date", "followers"}
    with pytest.raises(FormError) as empty:
        await accounts.record_one(people["manager"], account_id, {"date": day(2).isoformat()}, source="hand")
    assert set(empty.value.errors) == {"__all__"}
    with pytest.raises(PermissionDenied):
        await accounts.record_one(people["member"], account_id, {"date": day(2), "followers": 1}, source="hand")
    assert await stored(account_id) == {day(1): (286_400, 26_100, 900, "hand")}
    figures_events = await Event.count().where(Event.verb == "media_account.figures")
    assert figures_events == 3


async def test_the_api_records_lists_all_or_nothing_and_reads_them_back(client, people):
    account_id = await account(people, name="临江公安", platform="douyin")
    manager = await bearer(people, "manager")
    url = f"/api/v1/accounts/{account_id}/figures"
    days = [
        {"date": day(3).isoformat(), "followers": 1000, "reads": 5000, "interactions": 250},
        {"date": day(2).isoformat(), "followers": 1100, "reads": 3000},
    ]
    response = await client.post(url, json=days, headers=manager)
    assert response.status_code == 201, response.text
    assert response.json()["recorded"] == 2
    assert [f["followers"] for f in response.json()["figures"]] == [1000, 1100]

    bad = await client.post(
        url,
        json=[{"date": day(1).isoformat(), "followers": 1200}, {"date": "2026-02-30", "reads": "many"}],
        headers=manager,
    )
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"1.date", "1.reads"}
    assert len(await stored(account_id)) == 2  # nothing of the refused list

    again = await client.post(url, json={"date": day(2).isoformat(), "interactions": 120}, headers=manager)
    assert again.status_code == 201
    read = await client.get(f"{url}?from={day(3).isoformat()}&to={day(2).isoformat()}", headers=manager)
    assert read.json()["figures"] == [
        {"date": day(3).isoformat(), "followers": 1000, "reads": 5000, "interactions": 250, "source": "api"},
        {"date": day(2).isoformat(), "followers": 1100, "reads": 3000, "interactions": 120, "source": "api"},
    ]
    summary = read.json()["summary"]
    assert (summary["growth"], summary["reads"], summary["interactions"]) == (100, 8000, 370)
    assert summary["interaction_rate"] == pytest.approx(370 / 8000)

    created = await client.post("/api/v1/accounts", json={"name": "临江发布", "platform": "抖音号"}, headers=manager)
    assert created.status_code == 201 and created.json()["platform"] == "douyin"
    changed = await client.patch(f"/api/v1/accounts/{created.json()['id']}", json={"active": False}, headers=manager)
    assert changed.json()["active"] is False and changed.json()["name"] == "临江发布"
    clash = await client.patch(f"/api/v1/accounts/{account_id}", json={"name": "临江发布"}, headers=manager)
    assert clash.status_code == 422 and "name" in clash.json()["errors"]

    member = await bearer(people, "member")
    listed = (await client.get("/api/v1/accounts", headers=member)).json()
    assert [(a["name"], a["platform"], a["active"]) for a in listed] == [
        ("临江公安", "douyin", True),
        ("临江发布", "douyin", False),
    ]
    assert (await client.post(url, json=days[0], headers=member)).status_code == 403
    assert (
        await client.post("/api/v1/accounts", json={"name": "x", "platform": "weibo"}, headers=member)
    ).status_code == 403
    assert (await client.get(f"{url}?from=yesterday", headers=member)).status_code == 400
    assert (await client.get("/api/v1/accounts/999999/figures", headers=member)).status_code == 404
    assert (await client.get("/api/v1/accounts")).status_code == 401


# The period's figures, by hand ---------------------------------------------------------------


async def build_period(people) -> dict[str, int]:
    """Two WeChat accounts and a Weibo one, the period the last 10 days (day(9) … day(0))."""
    wechat = await account(people, name="临江发布")
    medicare = await account(people, name="临江医保")
    weibo = await account(people, name="临江发布", platform="weibo")
    await accounts.record(
        people["manager"],
        wechat,
        [
            {"date": day(12), "followers": 10_000},  # before the period: where growth starts
            {"date": day(11), "reads": 99_999},  # before the period: not counted
            {"date": day(9), "followers": 10_050, "reads": 2000, "interactions": 60},
            {"date": day(5), "reads": 3000, "interactions": 90},  # no total that day
            {"date": day(1), "followers": 10_300, "reads": 5000, "interactions": 250},
        ],
        source="hand",
    )
    await accounts.record(  # first counted inside the period: growth from its first total
        people["manager"],
        medicare,
        [
            {"date": day(8), "followers": 400, "reads": 1000, "interactions": 10},
            {"date": day(2), "followers": 500},
        ],
        source="hand",
    )
    await accounts.record(  # a total before the period only: it stands, no growth measured
        people["manager"], weibo, [{"date": day(20), "followers": 7000, "reads": 800}], source="hand"
    )
    return {"wechat": wechat, "medicare": medicare, "weibo": weibo}


async def test_growth_and_interaction_rate_as_worked_out_by_hand(people, client):
    ids = await build_period(people)
    period = accounts.Period(day(9), day(0))
    result = await accounts.summary(period)
    lines = {line.account["id"]: line for line in result.lines}

    wechat = lines[ids["wechat"]]
    assert (wechat.followers, wechat.start_followers, wechat.growth) == (10_300, 10_000, 300)
    assert wechat.growth_rate == pytest.approx(300 / 10_000)
    assert (wechat.reads, wechat.interactions) == (10_000, 400)
    assert wechat.interaction_rate == pytest.approx(0.04)

    medicare = lines[ids["medicare"]]
    assert (medicare.followers, medicare.start_followers, medicare.growth) == (500, 400, 100)
    assert medicare.growth_rate == pytest.approx(0.25)
    assert medicare.interaction_rate == pytest.approx(0.01)

    weibo = lines[ids["weibo"]]
    assert (weibo.followers, weibo.followers_on, weibo.growth, weibo.reads) == (7000, day(20), None, None)
    assert weibo.interaction_rate is None

    platforms = {line.key: line for line in result.platforms}
    assert (platforms["wechat"].followers, platforms["wechat"].growth) == (10_800, 400)
    assert platforms["wechat"].growth_rate == pytest.approx(400 / 10_400)
    assert platforms["wechat"].interaction_rate == pytest.approx(410 / 11_000)
    assert (result.total.followers, result.total.growth, result.total.reads) == (17_800, 400, 11_000)

    # The API says the same, as fractions.
    await login(client, "viewer")
    query = f"from={day(9).isoformat()}&to={day(0).isoformat()}"
    api = (await client.get(f"/api/v1/accounts/summary?{query}")).json()
    by_id = {row["account"]: row for row in api["accounts"]}
    assert by_id[ids["wechat"]]["growth"] == 300
    assert by_id[ids["wechat"]]["growth_rate"] == pytest.approx(0.03)
    assert by_id[ids["medicare"]]["interaction_rate"] == pytest.approx(0.01)
    assert api["total"]["interaction_rate"] == pytest.approx(410 / 11_000)

    # So does the page: the row of each account, the platform rows and the chart's table.
    page = await client.get(f"/stats/accounts?{query}")
    assert page.status_code == 200
    html = page.text
    row = html.split(f'data-account="{ids["wechat"]}" data-platform="wechat"')[1].split("</tr>")[0]
    assert ">10,300<" in row and "+300" in row and "+3.00%" in row and "10,000" in row and "4.00%" in row
    row = html.split(f'data-account="{ids["medicare"]}"')[1].split("</tr>")[0]
    assert "+100" in row and "+25.00%" in row and "1.00%" in row
    total = html.split('data-platform-row="total"')[1].split("</tr>")[0]
    assert "17,800" in total and "+400" in total and "3.73%" in total  # 410 / 11,000
    assert html.count('class="metric-chart acct-chart"') == 2  # the Weibo account has no total in the period
    assert f'data-day="{day(1).isoformat()}"' in html
    assert 'action="/stats/accounts/figures"' not in html  # a viewer reads, no forms

    # The export: the same rows.
    exported = await client.get(f"/stats/accounts/export.csv?{query}")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 3 and len(rows[0]) == 9
    wechat_row = next(r for r in rows[1:] if r[0] == "临江发布" and r[3] == "10300")
    assert wechat_row[4:] == ["300", "3.0%", "10000", "400", "4.0%"]
    workbook = openpyxl.load_workbook(io.BytesIO((await client.get(f"/stats/accounts/export.xlsx?{query}")).content))
    assert len(workbook.sheetnames) == 3


# Spreadsheets ----------------------------------------------------------------------------------


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_gb18030_csv_and_an_xlsx_import_as_the_platforms_export_them(people):
    wechat = await account(people, name="临江发布")
    douyin = await account(people, name="临江发布", platform="douyin")
    medicare = await account(people, name="临江医保")
    sheet = [
        ["临江市政务新媒体数据周报"],  # a title above the header
        ["账号", "平台", "日期", "粉丝数", "阅读量", "互动量"],
        ["临江发布", "微信公众号", day(3).strftime("%Y/%m/%d"), "10,000", "2000", "80"],
        ["临江发布", "抖音", day(3).strftime("%Y年%m月%d日"), "50000", "90000", ""],
        ["临江医保", "", day(3).isoformat(), "400", "", "5"],  # on one platform only: no platform needed
        ["", "", "", "", "", ""],
    ]
    result = await accounts_import.import_file(people["manager"], "周报.csv", csv_bytes(sheet, "gb18030"))
    assert (result.count, result.accounts) == (3, 3)
    assert await stored(wechat) == {day(3): (10_000, 2000, 80, "import")}
    assert await stored(douyin) == {day(3): (50_000, 90_000, None, "import")}
    assert await stored(medicare) == {day(3): (400, None, 5, "import")}

    # A platform's own export of one account (no account column; English headers; date cells),
    # chosen on the form; a day already there keeps what the file leaves out.
    workbook = xlsx_bytes([["Date", "Followers", "Reads"], [day(3), 10_010, None], [day(2), 10_100, 2500]])
    result = await accounts_import.import_file(people["admin"], "export.xlsx", workbook, account_id=wechat)
    assert result.count == 2
    assert await stored(wechat) == {day(3): (10_010, 2000, 80, "import"), day(2): (10_100, 2500, None, "import")}


async def test_every_bad_cell_is_reported_and_nothing_is_imported(people):
    wechat = await account(people, name="临江发布")
    await account(people, name="临江发布", platform="weibo")
    sheet = [
        ["账号", "平台", "日期", "粉丝数", "阅读量", "互动量"],
        ["临江发布", "微信", day(2).isoformat(), "10000", "2000", "80"],  # right
        ["临江发布", "", day(2).isoformat(), "10000", "", ""],  # on two platforms: which?
        ["临江日报", "微博", day(2).isoformat(), "1", "", ""],  # no such account
        ["临江发布", "微信", "昨天", "很多", "-3", ""],  # a bad date, two bad figures
        ["临江发布", "微信", day(2).isoformat(), "", "", ""],  # the same day again (and no figure)
        ["临江发布", "快手", day(-2).isoformat(), "5", "", ""],  # unknown platform, a future day
    ]
    with pytest.raises(accounts_import.AccountImportError) as refused:
        await accounts_import.import_file(people["manager"], "bad.csv", csv_bytes(sheet, "gb18030"))
    described = accounts_import.errors_of(refused.value)
    assert [(e.row, e.column) for e in refused.value.rows] == [
        (3, "平台"),
        (4, "账号"),
        (5, "日期"),
        (5, "粉丝数"),
        (5, "阅读量"),
        (6, ""),
        (7, "平台"),
        (7, "日期"),
    ]
    assert any("临江日报" in text for text in described)
    assert any("快手" in text for text in described)
    assert await stored(wechat) == {}

    # A right file but for the same day twice: the second row is named.
    twice = [sheet[0], sheet[1], ["临江发布", "wechat", day(2).isoformat(), "10001", "", ""]]
    with pytest.raises(accounts_import.AccountImportError) as duplicate:
        await accounts_import.import_file(people["manager"], "twice.csv", csv_bytes(twice, "utf-8"))
    assert [(e.row, e.column) for e in duplicate.value.rows] == [(3, "日期")]
    assert await stored(wechat) == {}

    with pytest.raises(accounts_import.AccountImportError) as no_figures:
        await accounts_import.import_file(
            people["manager"], "x.csv", csv_bytes([["账号", "日期"], ["a", "b"]], "utf-8")
        )
    assert "粉丝数" in no_figures.value.errors["file"]
    with pytest.raises(PermissionDenied):
        await accounts_import.import_file(people["member"], "x.csv", csv_bytes(sheet, "utf-8"))


# The page --------------------------------------------------------------------------------------


async def test_managers_use_the_page_members_read_it_and_strangers_log_in_first(client, people, departments):
    assert (await client.get("/stats/accounts", follow_redirects=False)).status_code == 303
    assert (await client.get("/stats/accounts", follow_redirects=True)).url.path == "/login"

    await login(client, "manager")
    page = await client.get("/stats/accounts")
    token = csrf_from(page.text)
    added = await client.post(
        "/stats/accounts/new",
        data={
            "name": "临江卫健",
            "platform": "wechat",
            "department_id": str(departments["health"]),
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    account_id = (await MediaAccount.select(MediaAccount.id).first())["id"]

    recorded = await client.post(
        "/stats/accounts/figures",
        data={"account": str(account_id), "date": day(1).isoformat(), "followers": "68,300", "_csrf_token": token},
        follow_redirects=True,
    )
    assert recorded.status_code == 200 and "68,300" in recorded.text
    refused = await client.post(
        "/stats/accounts/figures",
        data={"account": str(account_id), "date": day(1).isoformat(), "reads": "lots", "_csrf_token": token},
    )
    assert refused.status_code == 422 and 'aria-invalid="true" aria-describedby="figures-error-reads"' in refused.text
    assert await stored(account_id) == {day(1): (68_300, None, None, "hand")}

    upload = await client.post(
        "/stats/accounts/import",
        data={"account": "", "_csrf_token": token},
        files={"file": ("bad.csv", csv_bytes([["账号", "日期", "粉丝数"], ["临江卫健", "昨天", "1"]], "gb18030"))},
    )
    assert upload.status_code == 422 and "data-import-errors" in upload.text and "日期" in upload.text
    upload = await client.post(
        "/stats/accounts/import",
        data={"account": str(account_id), "_csrf_token": token},
        files={"file": ("ok.csv", csv_bytes([["日期", "互动量"], [day(1).isoformat(), "77"]], "gb18030"))},
        follow_redirects=True,
    )
    assert upload.status_code == 200 and "data-flash" in upload.text
    assert await stored(account_id) == {day(1): (68_300, None, 77, "import")}

    changed = await client.post(
        f"/stats/accounts/{account_id}",
        data={"name": "临江卫健委", "platform": "wechat", "department_id": "", "_csrf_token": token},
        follow_redirects=True,
    )
    assert changed.status_code == 200
    assert (await accounts.get_account(account_id))["active"] is False  # the box left unticked

    await client.post("/logout", data={"_csrf_token": token})
    await login(client, "member")
    page = await client.get("/stats/accounts?from=2026-13-01&platform=hotline")
    assert page.status_code == 200
    assert 'data-problem="from"' in page.text and 'data-problem="platform"' in page.text
    assert 'action="/stats/accounts/figures"' not in page.text
    token = csrf_from(page.text)
    for url, data in [
        ("/stats/accounts/figures", {"account": str(account_id), "date": day(1).isoformat(), "followers": "1"}),
        ("/stats/accounts/new", {"name": "x", "platform": "weibo"}),
        (f"/stats/accounts/{account_id}", {"name": "x", "platform": "weibo", "active": "1"}),
    ]:
        assert (await client.post(url, data={**data, "_csrf_token": token})).status_code == 403
    assert await stored(account_id) == {day(1): (68_300, None, 77, "import")}


# The demo --------------------------------------------------------------------------------------


async def test_the_demo_accounts_have_ninety_days_and_seeding_twice_adds_nothing(clean_db):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    added = await accounts.seed_accounts(now)
    assert added == len(accounts.DEMO_ACCOUNTS) * accounts.DEMO_DAYS
    assert await accounts.seed_accounts(now) == 0
    result = await accounts.summary(accounts.default_period(30))
    assert len(result.lines) == len(accounts.DEMO_ACCOUNTS)
    assert all(line.growth and line.growth > 0 and 0 < line.interaction_rate < 0.1 for line in result.lines)
