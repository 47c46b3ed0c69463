"""The dashboard's tables as files: CSV (UTF-8 with a byte-order mark, so that Excel in China
opens it as UTF-8 and not as GBK) and XLSX (openpyxl: numbers as numbers, fractions as cells
formatted as percentages, days as dates, and everything a person typed — names, titles —
forced to text cells, never a formula).

``tables(data)`` turns ``portal.stats.figures.dashboard(…)`` into named tables of typed
columns; the page shows the same rows, so a file and the page always agree. Pure: no database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from portal.campaigns.review import content_disposition, text_cell
from portal.core.choices import PLATFORMS
from portal.i18n import gettext as _

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Column kinds: how a value is written. "text" is user text (a name, a title): always a text
# cell, and in CSV never read as a formula.
TEXT, LABEL, INT, FRACTION, MINUTES, DAY = "text", "label", "int", "fraction", "minutes", "day"
# What a spreadsheet program takes for the start of a formula (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
# What an XLSX cell cannot hold, stripped from user text in both files (as portal.campaigns
# .review.text_cell does): control characters but tab and line breaks, lone surrogates.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = INT
    width: int = 12


@dataclass
class Table:
    name: str  # the ?table= value
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def values(self, row: dict[str, Any]) -> list[Any]:
        return [row.get(column.key) for column in self.columns]


def table_names() -> list[str]:
    return list(_BUILDERS)


def table_titles() -> dict[str, str]:
    return {name: builder({}).title for name, builder in _BUILDERS.items()}


# The tables --------------------------------------------------------------------------------


def _rates(data: dict[str, Any]) -> Table:
    labels = rate_labels()
    rates = data.get("rates") or {}
    return Table(
        "rates",
        _("Rates"),
        [
            Column("figure", _("Figure"), LABEL, 16),
            Column("value", _("Rate"), FRACTION),
            Column("numerator", _("Counted")),
            Column("denominator", _("Out of")),
        ],
        [{"figure": labels[name], **(rates.get(name) or {})} for name in labels if name in rates],
    )


def _times(data: dict[str, Any]) -> Table:
    labels = {"first_response": _("First response"), "resolution": _("Resolution")}
    times = data.get("times") or {}
    return Table(
        "times",
        _("Working time"),
        [
            Column("figure", _("Figure"), LABEL, 16),
            Column("median", _("Median (working minutes)"), MINUTES, 20),
            Column("p90", _("90th percentile (working minutes)"), MINUTES, 24),
            Column("count", _("Cards")),
        ],
        [{"figure": labels[name], **(times.get(name) or {})} for name in labels if name in times],
    )


def _deadlines(data: dict[str, Any]) -> Table:
    rows = (data.get("deadlines") or {}).get("by_stage") or []
    return Table(
        "deadlines",
        _("Deadline compliance"),
        [
            Column("label", _("Stage"), LABEL, 16),
            Column("on_time", _("In time")),
            Column("late", _("Late")),
            Column("rate", _("On-time rate"), FRACTION),
        ],
        list(rows),
    )


def _overdue(data: dict[str, Any]) -> Table:
    deadlines = data.get("deadlines") or {}
    labels = backlog_labels()
    return Table(
        "overdue",
        _("Overdue, supervised, reopened"),
        [Column("figure", _("Figure"), LABEL, 22), Column("count", _("Cards"))],
        [{"figure": labels[name], "count": deadlines[name]} for name in labels if name in deadlines],
    )


def _volume(data: dict[str, Any]) -> Table:
    return Table(
        "volume",
        _("Received by day"),
        [Column("day", _("Day"), DAY), Column("count", _("Number received"))],
        list((data.get("volume") or {}).get("by_day") or []),
    )


def _platforms(data: dict[str, Any]) -> Table:
    return Table(
        "platforms",
        _("Received by platform"),
        [Column("label", _("Platform"), LABEL, 16), Column("count", _("Number received"))],
        list((data.get("volume") or {}).get("by_platform") or []),
    )


def _categories(data: dict[str, Any]) -> Table:
    return Table(
        "categories",
        _("Categories"),
        [Column("label", _("Category"), LABEL, 20), Column("count", _("Number received"))],
        list(data.get("categories") or []),
    )


def _sentiment(data: dict[str, Any]) -> Table:
    return Table(
        "sentiment",
        _("Sentiment by day"),
        [
            Column("day", _("Day"), DAY),
            Column("positive", _("Positive")),
            Column("neutral", _("Neutral")),
            Column("negative", _("Negative")),
        ],
        list(data.get("sentiment") or []),
    )


def people_columns(first: Column | None = None) -> list[Column]:
    """The members' and departments' figures (after ``first``, the name)."""
    return [
        *([first] if first else []),
        Column("received", _("Number received")),
        Column("done", _("Done")),
        Column("on_time", _("In time")),
        Column("late", _("Late")),
        Column("on_time_rate", _("On-time rate"), FRACTION),
        Column("overdue_now", _("Overdue now")),
        Column("supervised", _("Supervised (督办)")),
        Column("reopened", _("Reopened (重办)")),
        Column("satisfaction", _("Satisfaction rate"), FRACTION, 14),
        Column("resolution_median", _("Median resolution time (working minutes)"), MINUTES, 22),
    ]


def _members(data: dict[str, Any]) -> Table:
    return Table(
        "members",
        _("Members"),
        people_columns(Column("name", _("Member"), TEXT, 14)),
        list(data.get("members") or []),
    )


def _departments(data: dict[str, Any]) -> Table:
    return Table(
        "departments",
        _("Departments"),
        people_columns(Column("name", _("Department"), TEXT, 16)),
        list(data.get("departments") or []),
    )


def _campaigns(data: dict[str, Any]) -> Table:
    return Table(
        "campaigns",
        _("Campaign effect"),
        [
            Column("title", _("Campaign"), TEXT, 30),
            Column("platforms_text", _("Platforms"), LABEL, 20),
            Column("participants", _("Participants")),
            Column("participants_goal", _("Participants goal")),
            Column("participants_share", _("Participants against goal"), FRACTION, 14),
            Column("new_followers", _("New followers")),
            Column("new_followers_goal", _("New followers goal")),
            Column("interaction_rate", _("Interaction rate"), FRACTION, 14),
        ],
        [
            {
                **row,
                "platforms_text": "、".join(platform_names(row.get("platforms") or [])),
                "participants_share": None if row.get("participants_pct") is None else row["participants_pct"] / 100,
            }
            for row in data.get("campaigns") or []
        ],
    )


_BUILDERS: dict[str, Callable[[dict[str, Any]], Table]] = {
    "rates": _rates,
    "times": _times,
    "deadlines": _deadlines,
    "overdue": _overdue,
    "volume": _volume,
    "platforms": _platforms,
    "categories": _categories,
    "sentiment": _sentiment,
    "members": _members,
    "departments": _departments,
    "campaigns": _campaigns,
}


def rate_labels() -> dict[str, str]:
    return {
        "acceptance": _("Acceptance rate (受理率)"),
        "resolution": _("Resolution rate (办结率)"),
        "satisfaction": _("Satisfaction rate (满意率)"),
        "reply": _("Reply rate (回复率)"),
    }


def backlog_labels() -> dict[str, str]:
    return {
        "overdue_now": _("Overdue now"),
        "supervised": _("Supervision notices (督办)"),
        "reopened": _("Reopened (重办)"),
    }


def platform_names(codes: list[str]) -> list[str]:
    return [str(PLATFORMS.label(code)) for code in codes]


def table(data: dict[str, Any], name: str) -> Table:
    """One named table (KeyError for a name that is none)."""
    return _BUILDERS[name](data)


def tables(data: dict[str, Any]) -> list[Table]:
    return [builder(data) for builder in _BUILDERS.values()]


# Writing -----------------------------------------------------------------------------------


def _csv_value(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if column.kind == FRACTION:
        # As the page shows it; Excel reads "85.7%" as the number 0.857.
        return f"{value * 100:.1f}%"
    if column.kind in (TEXT, LABEL):  # a label may be a name someone typed (a topic, a department)
        text = _UNWRITABLE.sub("", str(value))
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.label for column in table.columns])
    for row in table.rows:
        values = zip(table.columns, table.values(row), strict=True)
        writer.writerow([_csv_value(column, value) for column, value in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(chosen: list[Table]) -> bytes:
    """A workbook with a sheet per table: a bold header row, frozen; counts and minutes as
    numbers, fractions as percentage cells, days as dates, user text as text cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook()
    book.remove(book.active)
    for current in chosen:
        ws = book.create_sheet(_UNSAFE_NAME.sub(" ", current.title)[:31])
        for index, column in enumerate(current.columns, start=1):
            text_cell(ws.cell(1, index), column.label)
            ws.cell(1, index).font = bold
            ws.column_dimensions[get_column_letter(index)].width = column.width
        ws.freeze_panes = "A2"
        for row_number, row in enumerate(current.rows, start=2):
            for index, (column, value) in enumerate(zip(current.columns, current.values(row), strict=True), start=1):
                cell = ws.cell(row_number, index)
                if value is None:
                    continue
                if column.kind in (TEXT, LABEL):
                    text_cell(cell, value)
                elif column.kind == DAY:
                    try:
                        cell.value = date.fromisoformat(str(value))
                        cell.number_format = "yyyy-mm-dd"
                    except ValueError:
                        text_cell(cell, value)
                elif column.kind == FRACTION:
                    cell.value = float(value)
                    cell.number_format = "0.0%"
                else:
                    cell.value = int(value)
                    cell.number_format = "#,##0"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download_name(title: str, period: dict[str, Any], extension: str) -> str:
    """E.g. "数据统计 成员 2026-11-01至2026-11-30.xlsx"."""
    span = _("%(start)s to %(end)s", start=period.get("from", ""), end=period.get("to", ""))
    name = _UNSAFE_NAME.sub(" ", f"{_('Statistics')} {title} {span}").strip()
    return f"{name}.{extension}"


def disposition(title: str, name: str, period: dict[str, Any], extension: str) -> str:
    fallback = f"stats-{name}-{period.get('from', '')}-{period.get('to', '')}.{extension}"
    return content_disposition(download_name(title, period, extension), fallback)
