"""The geometry of the dashboard's charts: pure functions, no database, no markup.

Each function takes a list from ``portal.stats.figures.dashboard(…)`` and answers what
templates/partials/stats/_bars.html, _hbars.html and _stacked.html draw as inline SVG (no
script, no style attributes: the CSP allows none): bars in drawing units (origin top left),
the ticks up the side with round figures (``portal.campaigns.chart.value_ticks``, as the
campaign chart), the labels along the bottom. Every chart is also shown as a table of the same
numbers by the page, so a chart never has to carry every label itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from portal.campaigns.chart import Tick, value_ticks

# The drawing's own units (the SVG viewBox); it scales to the width of its container.
WIDTH = 640
HEIGHT = 220
LEFT = 52  # room for the counts on the vertical axis ("1,000")
RIGHT = 16
TOP = 26  # room for the legend / axis title above the plot
BOTTOM = 36  # room for the days below the plot
MAX_X_LABELS = 8  # days named along the bottom, at most

# Horizontal bars (platforms, categories): one row per item, the names on the left.
H_WIDTH = 480
H_LEFT = 104  # room for a name of up to 8 Chinese characters
H_RIGHT = 56  # room for the count after the longest bar
H_ROW = 26
H_TOP = 8
H_BOTTOM = 8
H_NAME_MAX = 8  # characters of a name drawn in full; longer ones end in "…" (the table has it all)

# Sentiment, bottom to top, and the colours of its segments (dark enough for paper and a
# legend beside them, so the chart does not rely on colour alone: the table says the same).
SENTIMENTS = ("negative", "neutral", "positive")
SENTIMENT_COLOURS = {"positive": "#187232", "neutral": "#868e99", "negative": "#b42318"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # what the bar stands for, in full (the day, the platform's name)
    key: str = ""  # the sentiment of a stacked segment, the code of a platform …
    colour: str = "#1f5fbf"


@dataclass
class BarChart:
    """Vertical bars over days (one bar, or a stack of segments, per day)."""

    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)
    total: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: float = WIDTH - RIGHT
    top: int = TOP
    bottom: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return self.total == 0


@dataclass
class HBarChart:
    """Horizontal bars, one per named item, largest first as given."""

    bars: list[Bar] = field(default_factory=list)
    total: int = 0
    width: int = H_WIDTH
    height: int = H_TOP + H_BOTTOM
    left: int = H_LEFT
    right: float = H_WIDTH - H_RIGHT

    @property
    def empty(self) -> bool:
        return self.total == 0


def _day_label(day: str) -> str:
    """ "2026-11-05" → "11-05"."""
    try:
        return date.fromisoformat(day).strftime("%m-%d")
    except ValueError:
        return day


def _x_slots(count: int, left: float, right: float) -> tuple[float, float]:
    """The width of each day's slot and of its bar (a gap between bars while they are wide
    enough to show one)."""
    slot = (right - left) / count
    return slot, max(round(slot * 0.72, 1), 0.5) if slot >= 3 else round(slot, 2)


def _x_labels(days: list[str], left: float, slot: float) -> list[Tick]:
    """At most MAX_X_LABELS days named, evenly spread, the first always."""
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    return [
        Tick(round(left + slot * (index + 0.5), 1), _day_label(day))
        for index, day in enumerate(days)
        if index % every == 0
    ]


def _y_scale(highest: int, top: float, bottom: float) -> tuple[list[Tick], Any]:
    values = value_ticks(max(highest, 1))
    y_top = values[-1]

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * (value / y_top), 1)

    return [Tick(y_of(value), f"{value:,}") for value in values], y_of


def day_bars(by_day: list[dict[str, Any]]) -> BarChart:
    """The volume by day (``[{"day": "2026-11-01", "count": 3}, …]``, oldest first) as bars."""
    chart = BarChart()
    if not by_day:
        return chart
    chart.total = sum(int(row["count"]) for row in by_day)
    slot, bar_width = _x_slots(len(by_day), chart.left, chart.right)
    chart.y_ticks, y_of = _y_scale(max(int(row["count"]) for row in by_day), chart.top, chart.bottom)
    for index, row in enumerate(by_day):
        value = int(row["count"])
        y = y_of(value)
        chart.bars.append(
            Bar(
                x=round(chart.left + slot * index + (slot - bar_width) / 2, 2),
                y=y,
                width=bar_width,
                height=round(chart.bottom - y, 1),
                value=value,
                label=str(row["day"]),
            )
        )
    chart.x_labels = _x_labels([str(row["day"]) for row in by_day], chart.left, slot)
    return chart


def sentiment_bars(by_day: list[dict[str, Any]]) -> BarChart:
    """Sentiment over time (``[{"day", "positive", "neutral", "negative"}, …]``): per day a
    stack, negative at the bottom, positive on top."""
    chart = BarChart()
    if not by_day:
        return chart
    totals = [sum(int(row.get(kind) or 0) for kind in SENTIMENTS) for row in by_day]
    chart.total = sum(totals)
    slot, bar_width = _x_slots(len(by_day), chart.left, chart.right)
    chart.y_ticks, y_of = _y_scale(max(totals), chart.top, chart.bottom)
    for index, row in enumerate(by_day):
        below = 0
        for kind in SENTIMENTS:
            value = int(row.get(kind) or 0)
            if not value:
                continue
            y_top, y_base = y_of(below + value), y_of(below)
            chart.bars.append(
                Bar(
                    x=round(chart.left + slot * index + (slot - bar_width) / 2, 2),
                    y=y_top,
                    width=bar_width,
                    height=round(y_base - y_top, 1),
                    value=value,
                    label=str(row["day"]),
                    key=kind,
                    colour=SENTIMENT_COLOURS[kind],
                )
            )
            below += value
    chart.x_labels = _x_labels([str(row["day"]) for row in by_day], chart.left, slot)
    return chart


def short_name(name: str, limit: int = H_NAME_MAX) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def named_bars(rows: list[dict[str, Any]], key: str, limit: int = 12) -> HBarChart:
    """Counts by name (platforms, categories: ``[{key: code, "label": …, "count": n}, …]``) as
    horizontal bars, the first ``limit`` rows as given (the figures come largest first)."""
    chart = HBarChart()
    shown = [row for row in rows if int(row["count"])][:limit]
    if not shown:
        return chart
    chart.total = sum(int(row["count"]) for row in shown)
    chart.height = H_TOP + H_ROW * len(shown) + H_BOTTOM
    highest = max(int(row["count"]) for row in shown)
    span = chart.right - chart.left
    for index, row in enumerate(shown):
        value = int(row["count"])
        chart.bars.append(
            Bar(
                x=chart.left,
                y=H_TOP + H_ROW * index + 4,
                width=max(round(span * value / highest, 1), 1),
                height=H_ROW - 8,
                value=value,
                label=str(row.get("label") or row.get(key) or ""),
                key=str(row.get(key) or ""),
            )
        )
    return chart
