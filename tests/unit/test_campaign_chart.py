"""The chart's geometry: totals over platforms as they grew, round figures up the side, whole
hours or days along the bottom, the goal where its figure is, the line inside the plot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.campaigns import chart
from portal.campaigns.metrics import FIGURES, MAX_PCT, goal_rows, participants_pct

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


def snapshot(platform: str, hours: int, participants: int, reads: int = 0) -> dict:
    return {
        "platform": platform,
        "at": T0 + timedelta(hours=hours),
        "participants": participants,
        "comments": 0,
        "shares": 0,
        "new_followers": 0,
        "reads": reads,
        "source": "import",
    }


def test_totals_carry_each_platforms_latest_snapshot_forward():
    series = [
        snapshot("douyin", 0, 1000),
        snapshot("wechat", 0, 200),  # same time: one point
        snapshot("douyin", 24, 3000),
        snapshot("wechat", 48, 700),
    ]
    totals = chart.totals_over_time(series, ("participants",))
    assert [(at - T0, figures["participants"]) for at, figures in totals] == [
        (timedelta(0), 1200),
        (timedelta(hours=24), 3200),  # WeChat still at 200
        (timedelta(hours=48), 3700),
    ]


def given(platform: str, hours: int, **figures: int) -> dict:
    """A snapshot that gives only ``figures`` (the others None: not given)."""
    return {"platform": platform, "at": T0 + timedelta(hours=hours), **dict.fromkeys(FIGURES), **figures}


def test_a_figure_a_snapshot_leaves_out_carries_its_last_known_value_forward():
    series = [
        given("douyin", 0, participants=4000, reads=90000),
        given("wechat", 1, participants=300),  # no reads from WeChat yet: it adds nothing to them
        given("douyin", 2, participants=5600),  # reads not given: still 90,000, not 0
        given("wechat", 3, reads=20000),
    ]
    totals = chart.totals_over_time(series, ("participants", "reads", "shares"))
    assert [(at - T0, figures["participants"], figures["reads"], figures["shares"]) for at, figures in totals] == [
        (timedelta(0), 4000, 90000, None),
        (timedelta(hours=1), 4300, 90000, None),
        (timedelta(hours=2), 5900, 90000, None),
        (timedelta(hours=3), 5900, 110000, None),  # WeChat's participants still 300
    ]
    targets = {"douyin": {"reads": 100000}, "wechat": {"reads": 50000}}
    latest = {"douyin": {**dict.fromkeys(FIGURES), "participants": 5600, "reads": 90000}}
    latest["wechat"] = {**dict.fromkeys(FIGURES), "participants": 300, "reads": 20000}
    rows = goal_rows(targets, latest, ["douyin", "wechat"])
    reads = chart.charts(series, rows, SHANGHAI).charts[0]
    assert reads.metric == "reads" and [point.value for point in reads.points] == [90000, 90000, 90000, 110000]
    assert reads.result == 110000 and reads.pct == 73
    assert participants_pct(targets, latest) is None  # no participants goal


def test_the_stored_participants_counter_is_capped():
    """A goal of 1 against 30 million participants: 3,000,000,000 % would overflow an int4."""
    assert participants_pct({"douyin": {"participants": 1}}, {"douyin": {"participants": 30_000_000}}) == MAX_PCT
    assert participants_pct({"douyin": {"participants": 1000}}, {"douyin": {"participants": None}}) == 0


def test_round_steps_up_the_side():
    assert chart.nice_step(5250) == 2000  # about four steps of a round size
    assert chart.value_ticks(5880) == [0, 2000, 4000, 6000]
    assert chart.value_ticks(840) == [0, 250, 500, 750, 1000]
    assert chart.value_ticks(3) == [0, 1, 2, 3]
    assert chart.value_ticks(1) == [0, 1]


def test_days_or_hours_along_the_bottom_at_local_midnights_and_whole_hours():
    step, ticks = chart.time_ticks(T0, T0 + timedelta(days=14), SHANGHAI)
    assert step == timedelta(days=3) and len(ticks) <= chart.MAX_X_TICKS
    assert all(tick.astimezone(SHANGHAI).hour == 0 and tick.minute == 0 for tick in ticks)
    assert ticks[0].astimezone(SHANGHAI).day == 21  # the first local midnight after the start
    step, ticks = chart.time_ticks(T0 + timedelta(minutes=20), T0 + timedelta(hours=9), SHANGHAI)
    assert step == timedelta(hours=2)
    assert [tick.astimezone(SHANGHAI).hour for tick in ticks] == [20, 22, 0, 2]


def test_the_line_against_its_goal_inside_the_plot():
    points = [(T0, 1800), (T0 + timedelta(days=1), 4200), (T0 + timedelta(days=2), 5600)]
    line = chart.line_chart("participants", "参与人数", 5000, points, SHANGHAI, start=T0 - timedelta(days=1))
    assert line.result == 5600 and line.pct == 112 and line.met
    assert line.y_ticks[0].label == "0" and line.y_ticks[-1].label == "6,000"
    top, bottom = line.y_ticks[-1].at, line.y_ticks[0].at
    assert (top, bottom) == (line.top, line.bottom)
    # The goal sits where 5,000 is on the axis: 5/6 of the way up.
    assert abs((bottom - line.goal_y) / (bottom - top) - 5000 / 6000) < 0.01
    xs = [point.x for point in line.points]
    assert xs == sorted(xs) and line.left < xs[0] and xs[-1] == line.right  # the start is to the left of the data
    assert all(line.top <= point.y <= line.bottom for point in line.points)
    assert line.polyline.count(",") == 3 and line.points[-1].y < line.goal_y  # above the goal
    assert all(line.left <= tick.at <= line.right for tick in line.x_ticks)
    # One snapshot: drawn in the middle of two hours.
    single = chart.line_chart("reads", "阅读量", 100, [(T0, 40)], SHANGHAI)
    assert single.points[0].x == (single.left + single.right) / 2 and single.pct == 40 and not single.met


def test_charts_only_for_figures_with_a_goal_with_the_same_numbers_as_a_table():
    series = [snapshot("douyin", 0, 1800, reads=9000), snapshot("douyin", 24, 5600, reads=21000)]
    targets = {"douyin": {"participants": 5000}}
    latest = {"douyin": {key: series[-1][key] for key in FIGURES}}
    rows = goal_rows(targets, latest, ["douyin"])
    assert {
        "platform": None,
        "metric": "participants",
        "goal": 5000,
        "result": 5600,
        "pct": 112,
        "unmeasured": 0,
    } in rows
    assert {"platform": "douyin", "metric": "reads", "goal": None, "result": 21000, "pct": None} in rows
    assert participants_pct(targets, latest) == 112
    charts = chart.charts(series, rows, SHANGHAI)
    assert [c.metric for c in charts.charts] == ["participants"]
    assert [column["metric"] for column in charts.columns] == ["participants"]
    assert [row["values"] for row in charts.rows] == [[1800], [5600]]
    assert chart.charts([], rows, SHANGHAI).charts == []


def test_a_total_with_a_goal_counts_only_the_platforms_the_goal_is_set_for():
    """WeChat's reads have a goal of 100,000, Douyin's none: Douyin's views must not make the
    goal look met twice over, on the tile, in the table or in the chart."""
    targets = {"wechat": {"participants": 3000, "reads": 100000}, "douyin": {"participants": 5000}}
    series = [
        snapshot("douyin", 0, 2000, reads=80000),  # before WeChat reports: no reads total yet
        snapshot("wechat", 24, 1000, reads=60000),
        snapshot("douyin", 48, 5000, reads=120000),
    ]
    latest = {"douyin": {**dict.fromkeys(FIGURES, 0), "participants": 5000, "reads": 120000}}
    latest["wechat"] = {**dict.fromkeys(FIGURES, 0), "participants": 1000, "reads": 60000}
    rows = goal_rows(targets, latest, ["wechat", "douyin"])
    total = {row["metric"]: row for row in rows if row["platform"] is None}
    assert total["reads"] == {
        "platform": None,
        "metric": "reads",
        "goal": 100000,
        "result": 60000,
        "pct": 60,
        "unmeasured": 120000,
    }
    assert total["participants"]["result"] == 6000 and total["participants"]["pct"] == 75
    assert participants_pct(targets, latest) == 75
    charts = chart.charts(series, rows, SHANGHAI)
    assert [c.metric for c in charts.charts] == ["participants", "reads"]
    assert [row["values"] for row in charts.rows] == [[2000, None], [3000, 60000], [6000, 60000]]
    reads = charts.charts[1]
    assert [point.value for point in reads.points] == [60000, 60000] and reads.pct == 60
