"""The geometry of a campaign's chart of figures against goals: pure functions, no database.

``charts(series, goals, …)`` takes the snapshots (``portal.campaigns.metrics.series``) and the
goals against results (``portal.campaigns.metrics.against_goals``) and answers everything
templates/partials/campaigns/_chart.html draws: for each figure with a goal, the total over
all platforms as it grew over time (a line), the goal (a dashed horizontal line), the axes'
ticks with their labels; and the same numbers as a table. The markup stays in the template,
so the drawer and the review page draw the same chart.

Snapshots are running totals per platform, so a figure's total at a time is the sum over
platforms of each platform's last known value of it: from its newest snapshot at or before that
time that gives the figure (a snapshot may leave a figure out; a platform that has not given it
yet adds nothing). A figure's total is measured over the platforms its goal is set for, as the
total row of ``against_goals`` is.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from portal.campaigns.choices import METRICS

# The drawing's own units (the SVG viewBox); it scales to the width of its container.
WIDTH = 640
HEIGHT = 240
LEFT = 72  # room for the figures on the vertical axis ("500,000")
RIGHT = 20
TOP = 28  # room for the axis title above the plot
BOTTOM = 44  # room for the times and the axis title below the plot

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Steps between the times marked on the horizontal axis, the smallest that marks at most MAX_X_TICKS.
TIME_STEPS = (
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
)
MAX_X_TICKS = 6
Y_TICKS = 4  # about this many steps up the vertical axis


@dataclass(frozen=True)
class Tick:
    at: float  # position along its axis, in drawing units
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    at: datetime
    value: int


class Frame:
    """The drawing frame every chart shares (campaigns, figures, accounts): its size and the
    plot area inside the margins, in drawing units."""

    width = WIDTH
    height = HEIGHT
    left = LEFT
    right = WIDTH - RIGHT
    top = TOP
    bottom = HEIGHT - BOTTOM


@dataclass
class Chart(Frame):
    """One figure's line against its goal, in drawing units (origin top left)."""

    metric: str
    label: str
    goal: int
    result: int  # the latest total
    pct: int | None
    points: list[Point]
    goal_y: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def polyline(self) -> str:
        """The line's points as SVG's ``points`` attribute wants them."""
        return " ".join(f"{point.x:g},{point.y:g}" for point in self.points)

    @property
    def met(self) -> bool:
        return self.result >= self.goal


@dataclass
class ChartSet:
    """Every chart of a campaign, and the table of the same numbers (one row per time)."""

    charts: list[Chart] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)  # {"metric", "label", "goal"}
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"at": datetime, "values": [int, …]}


# Numbers ------------------------------------------------------------------------------------


def totals_over_time(
    series: list[dict[str, Any]],
    metrics: tuple[str, ...],
    platforms: Mapping[str, Collection[str]] | None = None,
) -> list[tuple[datetime, dict[str, int | None]]]:
    """At each snapshot time (oldest first), each figure's total: the sum over every platform
    (of ``platforms[metric]`` when given: the platforms its goal is set for) of its last known
    value of the figure at that time, carried forward past snapshots that leave it out (None
    in a snapshot: not given); None while none of them has given it."""
    known: dict[str, dict[str, int]] = {}  # platform → figure → last value given
    totals: list[tuple[datetime, dict[str, int | None]]] = []
    for snapshot in sorted(series, key=lambda row: row["at"]):
        figures_known = known.setdefault(snapshot["platform"], {})
        for metric in metrics:
            if snapshot.get(metric) is not None:
                figures_known[metric] = int(snapshot[metric])
        total: dict[str, int | None] = {}
        for metric in metrics:
            counted = [
                figures[metric]
                for platform, figures in known.items()
                if metric in figures and (platforms is None or platform in platforms.get(metric, ()))
            ]
            total[metric] = sum(counted) if counted else None
        if totals and totals[-1][0] == snapshot["at"]:
            totals[-1] = (snapshot["at"], total)  # several platforms at one time: one point
        else:
            totals.append((snapshot["at"], total))
    return totals


def nice_step(span: float, steps: int = Y_TICKS) -> int:
    """A round step (1, 2, 2.5 or 5 times a power of ten, at least 1) that divides ``span``
    into about ``steps`` parts."""
    if span <= 0:
        return 1
    raw = span / steps
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw and float(step).is_integer():
            return int(step)
    return int(10 * power)


def value_ticks(top_value: int, steps: int = Y_TICKS) -> list[int]:
    """The figures marked on the vertical axis: 0, then round steps up to the first one at or
    above ``top_value``."""
    step = nice_step(top_value, steps)
    count = max(1, math.ceil(top_value / step))
    return [step * index for index in range(count + 1)]


def time_ticks(start: datetime, end: datetime, tz: tzinfo) -> tuple[timedelta, list[datetime]]:
    """The times marked on the horizontal axis between ``start`` and ``end`` (aware): at most
    MAX_X_TICKS, on whole hours or local midnights, and the step between them."""
    span = end - start
    step = next((step for step in TIME_STEPS if span / step <= MAX_X_TICKS - 1), TIME_STEPS[-1])
    local = start.astimezone(tz)
    if step >= DAY:
        day = local.date() if local.time() == time(0) else local.date() + DAY
        ticks = []
        while (tick := datetime.combine(day, time(0), tzinfo=tz)) <= end:
            ticks.append(tick)
            day += step
        return step, ticks
    hours = int(step / HOUR)
    first = local.replace(minute=0, second=0, microsecond=0)
    if first < local:
        first += HOUR
    while first.hour % hours:
        first += HOUR
    ticks, tick = [], first
    while tick <= end:
        ticks.append(tick)
        tick += step
    return step, ticks


def _time_label(tick: datetime, step: timedelta, tz: tzinfo, first: bool) -> str:
    local = tick.astimezone(tz)
    if step >= DAY:
        return local.strftime("%m-%d")
    if first or (local.hour == 0 and local.minute == 0):
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M")


def _number(value: int) -> str:
    return f"{value:,}"


# Geometry -----------------------------------------------------------------------------------


def line_chart(
    metric: str,
    label: str,
    goal: int,
    points: list[tuple[datetime, int]],
    tz: tzinfo,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Chart:
    """One figure's totals over time (oldest first, at least one) against its goal. The time
    axis runs from the campaign's start (or the first snapshot, if earlier) to the later of
    the last snapshot and ``end``."""
    first_at, last_at = points[0][0], points[-1][0]
    t0 = min(first_at, start) if start else first_at
    t1 = max(last_at, end) if end else last_at
    if t1 <= t0:  # one moment: centre it in two hours
        t0, t1 = t0 - HOUR, t1 + HOUR
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    highest = max([goal, *(value for _at, value in points), 1])
    y_values = value_ticks(math.ceil(highest * 1.05))
    y_top = y_values[-1]

    def x_of(at: datetime) -> float:
        return round(left + (right - left) * ((at - t0) / (t1 - t0)), 1)

    def y_of(value: int) -> float:
        return round(bottom - (bottom - top) * (value / y_top), 1)

    step, times = time_ticks(t0, t1, tz)
    result = points[-1][1]
    return Chart(
        metric=metric,
        label=label,
        goal=goal,
        result=result,
        pct=result * 100 // goal if goal else None,
        points=[Point(x_of(at), y_of(value), at, value) for at, value in points],
        goal_y=y_of(goal),
        y_ticks=[Tick(y_of(value), _number(value)) for value in y_values],
        x_ticks=[Tick(x_of(tick), _time_label(tick, step, tz, index == 0)) for index, tick in enumerate(times)],
    )


def charts(
    series: list[dict[str, Any]],
    goals: list[dict[str, Any]],
    tz: tzinfo,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ChartSet:
    """A chart per figure whose total has a goal (in METRICS order), once a platform with that
    goal has a snapshot; its total is over those platforms, as ``against_goals``' total row.
    And the table of the totals at each snapshot time (None: not reported yet)."""
    totals_goal = {row["metric"]: row["goal"] for row in goals if row["platform"] is None and row["goal"]}
    measured: dict[str, set[str]] = {}
    for row in goals:
        if row["platform"] is not None and row["goal"]:
            measured.setdefault(row["metric"], set()).add(row["platform"])
    metrics = tuple(metric for metric in METRICS.values if metric in totals_goal)
    chart_set = ChartSet(
        columns=[{"metric": metric, "label": METRICS.label(metric), "goal": totals_goal[metric]} for metric in metrics]
    )
    if not metrics or not series:
        return chart_set
    totals = [
        (at, figures)
        for at, figures in totals_over_time(series, metrics, measured)
        if any(value is not None for value in figures.values())
    ]
    if not totals:  # figures only on platforms without a goal
        return chart_set
    chart_set.rows = [{"at": at, "values": [figures[metric] for metric in metrics]} for at, figures in totals]
    for metric in metrics:
        points = [(at, figures[metric]) for at, figures in totals if figures[metric] is not None]
        if points:
            chart_set.charts.append(
                line_chart(metric, METRICS.label(metric), totals_goal[metric], points, tz, start=start, end=end)
            )
    return chart_set
