"""A running campaign's figures: snapshots recorded through the API, by hand and from a
spreadsheet (CSV in UTF-8 or GB18030, XLSX), updated when recorded again, refused before the
campaign runs and after it is archived, measured against the goals of the plan in force, and
shown in the drawer's section, its chart and on the tile. A figure a snapshot leaves out is not
given: it is no 0, and the figure keeps its last known value."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.campaigns import metrics, metrics_import
from portal.campaigns.tables import CampaignDetail, CampaignMetric
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError
from portal.events.tables import Event
from portal.settings import get_settings
from tests.conftest import csrf_from, login
from tests.factories import board

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
START = NOW - timedelta(days=3)
TZ = get_settings().tz


def local(at: datetime) -> str:
    """A time as a person types it in a sheet: local, without an offset."""
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
async def world(clean_db):
    return await board("campaigns")


@pytest.fixture
async def api():
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        yield client


async def bearer(world, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(await get_active_user(world.users[username]), 'metrics')}"}


async def campaign(world, column: str = "running", **fields) -> int:
    """A Douyin 知识挑战 with goals of 5,000 participants and 800 new followers."""
    return await world.card(
        "member",
        column,
        **{
            "title": "医保知识我来答·抖音挑战赛",
            "campaign_format": "quiz",
            "platforms": ["douyin"],
            "starts_at": START,
            "ends_at": START + timedelta(days=14),
            "targets": {"douyin": {"participants": 5000, "new_followers": 800}},
            "assignee": world.users["member"],
            **fields,
        },
    )


async def snapshots(card_id: int) -> list[dict]:
    return await metrics.series(card_id)


async def pct(card_id: int) -> int | None:
    row = await CampaignDetail.select(CampaignDetail.participants_pct).where(CampaignDetail.card == card_id).first()
    return row["participants_pct"]


async def version(card_id: int) -> int:
    return (await Card.select(Card.version).where(Card.id == card_id).first())["version"]


THREE_ROWS = [
    ("抖音", NOW - timedelta(days=2), 1800, 300, 410, 260),
    ("douyin", NOW - timedelta(days=1), 4200, 700, 690, 540),
    ("Douyin", NOW - timedelta(hours=1), 5600, 950, 820, 760),
]


def sheet_rows(headers: list[str]) -> list[list]:
    return [headers, *[[name, local(at), p, c, s, f] for name, at, p, c, s, f in THREE_ROWS]]


def csv_bytes(rows: list[list], encoding: str) -> bytes:
    return "\r\n".join(",".join(str(cell) for cell in row) for row in rows).encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["“医保知识我来答”抖音挑战赛 数据"])  # a title line above the header, as exports have
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


async def test_the_api_records_and_lists_snapshots_and_recording_one_again_updates_the_figures_sent(world, api):
    card_id = await campaign(world)
    headers = await bearer(world, "member")
    first_at = NOW - timedelta(days=1)
    response = await api.post(
        f"/api/v1/campaigns/{card_id}/metrics",
        headers=headers,
        json={"platform": "douyin", "at": first_at.isoformat(), "participants": 2100, "new_followers": 300},
    )
    assert response.status_code == 201, response.text
    assert response.json()["recorded"] == 1 and response.json()["participants_pct"] == 42
    before = await version(card_id)

    # A list at once; the later time carries the latest figures.
    later = [
        {"platform": "douyin", "at": (NOW - timedelta(hours=3)).isoformat(), "participants": 4000, "reads": 90000},
        {"platform": "抖音", "at": local(NOW - timedelta(hours=1)), "participants": "5,600", "new_followers": 760},
    ]
    response = await api.post(f"/api/v1/campaigns/{card_id}/metrics", headers=headers, json=later)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recorded"] == 2 and [s["participants"] for s in body["snapshots"]] == [2100, 4000, 5600]
    # Reads were given once, at T-3h: the later snapshot leaves them out, it does not zero them.
    assert [s["reads"] for s in body["snapshots"]] == [None, 90000, None]
    assert body["latest"]["douyin"] == {
        "participants": 5600,
        "comments": None,
        "shares": None,
        "new_followers": 760,
        "reads": 90000,
    }
    reads = next(row for row in body["against_goals"] if row["platform"] is None and row["metric"] == "reads")
    assert reads["goal"] is None and reads["result"] == 90000
    total = next(row for row in body["against_goals"] if row["platform"] is None and row["metric"] == "participants")
    assert total == {
        "platform": None,
        "metric": "participants",
        "goal": 5000,
        "result": 5600,
        "pct": 112,
        "unmeasured": 0,
    }
    followers = next(
        row for row in body["against_goals"] if row["platform"] == "douyin" and row["metric"] == "new_followers"
    )
    assert followers["goal"] == 800 and followers["result"] == 760 and followers["pct"] == 95
    assert await version(card_id) == before + 1  # the drawer's live section reloads
    event = (
        await Event.select(Event.payload)
        .where(Event.verb == "campaign.metrics")
        .order_by(Event.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert event["payload"] == {"platforms": ["douyin"], "count": 2, "source": "api"}

    # The first snapshot recorded again (a corrected figure) replaces it: no second row.
    response = await api.post(
        f"/api/v1/campaigns/{card_id}/metrics",
        headers=headers,
        json={"platform": "douyin", "at": first_at.isoformat(), "participants": 2500, "new_followers": 310},
    )
    assert response.status_code == 201
    listed = (await api.get(f"/api/v1/campaigns/{card_id}/metrics", headers=headers)).json()
    assert [(s["participants"], s["reads"], s["source"]) for s in listed["snapshots"]] == [
        (2500, None, "api"),
        (4000, 90000, "api"),
        (5600, None, "api"),
    ]
    assert listed["latest"]["douyin"]["participants"] == 5600 and listed["latest"]["douyin"]["reads"] == 90000
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 3
    assert await pct(card_id) == 112


async def test_reads_given_once_stay_the_result_when_later_snapshots_or_a_correction_leave_them_out(world, api, client):
    """4,000 participants and 90,000 reads at T-3h, then 5,600 participants alone at T-1h: the
    reads so far are 90,000 of the 100,000 goal (not 0), in the API, the section and the chart;
    the T-3h snapshot recorded again with a corrected participants count keeps its reads."""
    card_id = await campaign(world, targets={"douyin": {"participants": 5000, "reads": 100000}})
    headers = await bearer(world, "member")
    three_hours_ago = (NOW - timedelta(hours=3)).isoformat()
    for item in (
        {"platform": "douyin", "at": three_hours_ago, "participants": 4000, "reads": 90000},
        {"platform": "douyin", "at": (NOW - timedelta(hours=1)).isoformat(), "participants": 5600, "reads": None},
    ):
        response = await api.post(f"/api/v1/campaigns/{card_id}/metrics", headers=headers, json=item)
        assert response.status_code == 201, response.text
    body = response.json()
    assert body["latest"]["douyin"]["reads"] == 90000 and body["latest"]["douyin"]["participants"] == 5600
    reads = next(row for row in body["against_goals"] if row["platform"] is None and row["metric"] == "reads")
    assert (reads["result"], reads["goal"], reads["pct"]) == (90000, 100000, 90)

    response = await api.post(
        f"/api/v1/campaigns/{card_id}/metrics",
        headers=headers,
        json={"platform": "douyin", "at": three_hours_ago, "participants": 4100},
    )
    assert response.status_code == 201, response.text
    assert [(s["participants"], s["reads"]) for s in response.json()["snapshots"]] == [(4100, 90000), (5600, None)]
    assert response.json()["latest"]["douyin"]["reads"] == 90000
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 2
    assert await pct(card_id) == 112

    await login(client, "member")
    client.headers["HX-Request"] = "true"
    html = (await client.get(f"/campaigns/{card_id}/metrics")).text
    total = html.split('data-total="reads"', 1)[1].split("</td>", 1)[0]
    assert "90,000</span> / 100,000" in total and 'data-pct="90"' in total
    assert '<figure class="metric-chart" data-metric="reads" data-pct="90">' in html
    newest = html.split("data-snapshot=", 1)[1].split("</tr>", 1)[0]  # the T-1h snapshot: reads not given
    assert "5,600" in newest and '<td data-figure="reads"><span class="muted"' in newest
    assert '<td data-figure="reads">0</td>' not in html


async def test_a_blank_cell_in_a_sheet_is_not_given_and_a_row_without_any_figure_is_refused(world):
    card_id = await campaign(world)
    access = await world.access("member")
    rows = [
        ["平台", "时间", "参与人数", "阅读量"],
        ["抖音", local(NOW - timedelta(hours=3)), 4000, 90000],
        ["抖音", local(NOW - timedelta(hours=1)), 5600, ""],
    ]
    await metrics_import.import_file(access, card_id, "数据.csv", csv_bytes(rows, "utf-8"))
    assert [(r["participants"], r["reads"]) for r in await snapshots(card_id)] == [(4000, 90000), (5600, None)]
    assert (await metrics.latest(card_id))["douyin"]["reads"] == 90000

    # The sheet again with the T-3h participants blank and its reads corrected: the reads change,
    # the participants stay.
    rows[1][2:] = ["", 95000]
    await metrics_import.import_file(access, card_id, "数据.csv", csv_bytes(rows, "utf-8"))
    assert [(r["participants"], r["reads"]) for r in await snapshots(card_id)] == [(4000, 95000), (5600, None)]

    with pytest.raises(metrics_import.MetricsImportError) as error:
        await metrics_import.import_file(
            access, card_id, "数据.csv", csv_bytes([*rows, ["抖音", local(NOW), "", ""]], "utf-8")
        )
    assert [(row.row, row.column) for row in error.value.rows] == [(4, "")]
    assert len(await snapshots(card_id)) == 2


async def test_an_absurd_ratio_against_a_goal_of_one_is_stored_capped(world):
    """30 million participants against a goal of 1 would be 3,000,000,000 %: more than an int4."""
    card_id = await campaign(world, targets={"douyin": {"participants": 1}})
    recorded = await metrics.record_one(
        await world.access("member"),
        card_id,
        {"platform": "douyin", "at": NOW - timedelta(hours=1), "participants": 30_000_000},
        source="hand",
    )
    assert recorded.participants_pct == metrics.MAX_PCT == await pct(card_id)


async def test_figures_are_refused_before_the_campaign_runs_and_once_archived_and_checked_cell_by_cell(world, api):
    planning = await campaign(world, "planning")
    access = await world.access("member")
    good = {"platform": "douyin", "at": NOW - timedelta(hours=2), "participants": 100}
    with pytest.raises(Conflict) as refused:
        await metrics.record_one(access, planning, good, source="hand")
    assert "执行中" in refused.value.message
    archived = await campaign(world, "archived")
    response = await api.post(
        f"/api/v1/campaigns/{archived}/metrics",
        headers=await bearer(world, "member"),
        json={**good, "at": good["at"].isoformat()},
    )
    assert response.status_code == 409 and response.json()["message"]

    # In review, late final figures are still welcome.
    review = await campaign(world, "review")
    assert (await metrics.record_one(access, review, good, source="hand")).count == 1

    running = await campaign(world)
    response = await api.post(
        f"/api/v1/campaigns/{running}/metrics",
        headers=await bearer(world, "member"),
        json={"platform": "weibo", "at": good["at"].isoformat(), "participants": 10},
    )
    assert response.status_code == 422 and "platform" in response.json()["errors"]
    with pytest.raises(FormError) as bad:
        await metrics.record(
            access,
            running,
            [
                {"platform": "douyin", "at": NOW + timedelta(hours=2), "participants": 10},  # the future
                {"platform": "douyin", "at": START - timedelta(days=2), "participants": 10},  # long before the start
                {"platform": "douyin", "at": NOW - timedelta(hours=1), "participants": -1, "comments": "1.5"},
                {"platform": "douyin", "at": NOW - timedelta(hours=1)},  # no figure at all
                good,  # a good one is not recorded either
            ],
            source="api",
        )
    assert set(bad.value.errors) == {"0.at", "1.at", "2.participants", "2.comments", "3.__all__"}
    assert await CampaignMetric.count().where(CampaignMetric.card == running) == 0
    assert await pct(running) is None


@pytest.mark.parametrize(
    ("encoding", "headers"),
    [
        ("gb18030", ["平台", "时间", "参与人数", "评论数", "转发数", "新增粉丝"]),
        ("utf-8", ["platform", "at", "participants", "comments", "shares", "new_followers"]),
    ],
)
async def test_a_csv_imports_three_snapshots_as_excel_and_wps_save_it(world, encoding, headers):
    card_id = await campaign(world)
    access = await world.access("member")
    result = await metrics_import.import_file(access, card_id, "抖音数据.csv", csv_bytes(sheet_rows(headers), encoding))
    assert result.count == 3 and result.participants_pct == 112
    rows = await snapshots(card_id)
    assert [(r["platform"], r["participants"], r["new_followers"], r["source"]) for r in rows] == [
        ("douyin", 1800, 260, "import"),
        ("douyin", 4200, 540, "import"),
        ("douyin", 5600, 760, "import"),
    ]
    assert rows[-1]["at"] == NOW - timedelta(hours=1)
    # The same file again replaces the same three snapshots.
    await metrics_import.import_file(access, card_id, "抖音数据.csv", csv_bytes(sheet_rows(headers), encoding))
    assert len(await snapshots(card_id)) == 3


async def test_an_xlsx_upload_shows_participants_at_112_percent_in_the_section_and_on_the_tile(world, client):
    card_id = await campaign(world)
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    data = xlsx_bytes(sheet_rows(["平台", "时间", "参与人数", "评论数", "转发数", "新增粉丝"]))
    response = await client.post(
        f"/campaigns/{card_id}/metrics/import",
        files={"file": ("抖音数据.xlsx", data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert 'data-total="participants"' in html and "5,600</span> / 5,000 · " in html and 'data-pct="112"' in html
    assert "<svg" in html and 'data-metric="participants"' in html and 'stroke-dasharray="6 4"' in html
    assert "style=" not in html  # the CSP forbids inline styles
    assert f'data-card-version="{await version(card_id)}"' in html
    assert len(await snapshots(card_id)) == 3
    page = await client.get(f"/boards/{world.board_id}")
    assert 'data-participants-pct="112"' in page.text

    # By hand: a later snapshot, then one with a bad figure (422, the form keeps what was typed).
    response = await client.post(
        f"/campaigns/{card_id}/metrics",
        data={"platform": "douyin", "at": local(NOW), "participants": "5,800", "new_followers": ""},
    )
    assert response.status_code == 200 and 'data-pct="116"' in response.text
    response = await client.post(
        f"/campaigns/{card_id}/metrics", data={"platform": "douyin", "at": local(NOW), "participants": "很多"}
    )
    assert response.status_code == 422 and "field-error" in response.text and 'value="很多"' in response.text
    assert len(await snapshots(card_id)) == 4


async def test_an_import_with_one_bad_cell_records_nothing_and_names_its_row_and_column(world, client):
    card_id = await campaign(world)
    rows = sheet_rows(["平台", "时间", "参与人数", "评论数", "转发数", "新增粉丝"])
    rows[2][2] = "42OO"  # the second snapshot's participants, with letters O for zeros
    data = ("医保知识挑战赛 数据表\r\n" + "\r\n".join(",".join(map(str, row)) for row in rows)).encode("utf-8-sig")
    access = await world.access("member")
    with pytest.raises(metrics_import.MetricsImportError) as error:
        await metrics_import.import_file(access, card_id, "data.csv", data)
    # The title is row 1, the header row 2: the second snapshot is row 4 in Excel.
    assert [(row.row, row.column) for row in error.value.rows] == [(4, "参与人数")]
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 0

    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/campaigns/{card_id}/metrics/import", files={"file": ("data.csv", data, "text/csv")})
    assert response.status_code == 422
    listed = response.text.split("data-import-errors", 1)[1].split("</ul>", 1)[0]
    assert "4" in listed and "参与人数" in listed
    response = await client.post(
        f"/campaigns/{card_id}/metrics/import", files={"file": ("data.txt", b"hello", "text/plain")}
    )
    assert response.status_code == 422 and "field-error" in response.text
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 0


async def test_viewers_see_the_figures_but_cannot_record_and_outsiders_see_nothing(world, client, api):
    card_id = await campaign(world)
    await metrics.record_one(
        await world.access("member"),
        card_id,
        {"platform": "douyin", "at": NOW - timedelta(hours=1), "participants": 2500},
        source="hand",
    )
    assert await pct(card_id) == 50

    body = {"platform": "douyin", "at": NOW.isoformat(), "participants": 3000}
    response = await api.post(f"/api/v1/campaigns/{card_id}/metrics", headers=await bearer(world, "viewer"), json=body)
    assert response.status_code == 403
    listed = await api.get(f"/api/v1/campaigns/{card_id}/metrics", headers=await bearer(world, "viewer"))
    assert listed.status_code == 200 and len(listed.json()["snapshots"]) == 1
    for method in ("get", "post"):
        kwargs = {"json": body} if method == "post" else {}
        response = await getattr(api, method)(
            f"/api/v1/campaigns/{card_id}/metrics", headers=await bearer(world, "outsider"), **kwargs
        )
        assert response.status_code == 404

    await login(client, "viewer")
    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/metrics")
    assert section.status_code == 200 and "2,500</span> / 5,000" in section.text
    assert "data-metric-submit" not in section.text and "metrics/import" not in section.text
    await login(client, "outsider")
    assert (await client.get(f"/campaigns/{card_id}/metrics")).status_code == 404
    assert await CampaignMetric.count().where(CampaignMetric.card == card_id) == 1


async def test_demo_figures_rise_towards_the_goals_up_to_the_end(world):
    access = await world.access("member")
    ended = await campaign(
        world,
        "review",
        platforms=["douyin", "wechat"],
        targets={"douyin": {"participants": 5000}, "wechat": {"participants": 3000, "reads": 100000}},
        starts_at=NOW - timedelta(days=40),
        ends_at=NOW - timedelta(days=10),
    )
    await metrics.seed_metrics(ended, "review", await cards.get_card(access, ended), NOW)
    rows = await snapshots(ended)
    for platform in ("douyin", "wechat"):
        mine = [row for row in rows if row["platform"] == platform]
        assert 10 <= len(mine) <= 17 and mine[-1]["at"] == NOW - timedelta(days=10)
        assert [row["participants"] for row in mine] == sorted(row["participants"] for row in mine)
    assert 60 <= await pct(ended) <= 130
    planned = await campaign(world, "planning")
    await metrics.seed_metrics(planned, "planning", await cards.get_card(access, planned), NOW)
    assert await snapshots(planned) == []
