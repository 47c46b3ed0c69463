"""The dashboard's filters: a period of local days and what to narrow the figures to.

A period is a run of whole local days (the portal's time zone, ``get_settings().tz``):
``start`` is the first day's midnight, ``end`` the midnight after the last day (exclusive), both
aware datetimes. Parsed from the query parameters the pages, the exports and the API share:

- ``period``: ``week`` (this week, Monday to Sunday), ``month`` (this month, the default),
  ``last_week``, ``last_month``, or ``custom`` with ``from`` and ``to`` (``YYYY-MM-DD``, both
  days included); ``from``/``to`` without ``period`` mean ``custom``;
- ``board``: one board the person may see; ``department``: the responsible department;
  ``kind``: one kind of card (comments, inquiries, campaigns).

Bad input raises ``FormError`` with one message per field; nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from portal.core.errors import FormError
from portal.core.forms import MAX_ID
from portal.core.identity import CurrentUser
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

PERIODS = {
    "week": _l("This week"),
    "month": _l("This month"),
    "last_week": _l("Last week"),
    "last_month": _l("Last month"),
    "custom": _l("Custom period"),
}
KINDS = ("comments", "inquiries", "campaigns")
MAX_DAYS = 731  # two years of days in one period: a longer one is a mistake, not a question
FIRST_YEAR, LAST_YEAR = 2000, 2100
_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")


@dataclass(frozen=True)
class Filters:
    start: datetime  # the first day's local midnight
    end: datetime  # the local midnight after the last day (exclusive)
    label: str
    board: int | None = None
    department: int | None = None
    kind: str | None = None
    period: str = "month"  # week, month, last_week, last_month or custom

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def days(self) -> list[date]:
        count = (self.end.date() - self.start.date()).days
        return [self.first_day + timedelta(days=offset) for offset in range(count)]

    def query(self) -> dict[str, str]:
        """The query parameters that give these filters again (for links and exports)."""
        params = {"period": self.period}
        if self.period == "custom":
            params.update({"from": self.first_day.isoformat(), "to": self.last_day.isoformat()})
        for name in ("board", "department", "kind"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        return params

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {
                "from": self.first_day.isoformat(),
                "to": self.last_day.isoformat(),
                "label": self.label,
                "key": self.period,
            },
            "filters": {"board": self.board, "department": self.department, "kind": self.kind},
        }


def today() -> date:
    return datetime.now(get_settings().tz).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=get_settings().tz)


def period_days(period: str, on: date | None = None) -> tuple[date, date]:
    """The first and last day of a named period around ``on`` (default today)."""
    day = on or today()
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if period == "last_week":
        first = day - timedelta(days=day.weekday() + 7)
        return first, first + timedelta(days=6)
    month_first = day.replace(day=1)
    next_month = (month_first + timedelta(days=32)).replace(day=1)
    if period == "month":
        return month_first, next_month - timedelta(days=1)
    if period == "last_month":
        last = month_first - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(period)


def filters_for(first: date, last: date, period: str = "custom", **narrowing: Any) -> Filters:
    label = _("%(first)s to %(last)s", first=first.isoformat(), last=last.isoformat())
    if period != "custom":
        label = str(PERIODS[period])
    return Filters(midnight(first), midnight(last + timedelta(days=1)), label, period=period, **narrowing)


def default_filters() -> Filters:
    """This month, nothing narrowed: what the dashboard shows when asked for nothing (or for
    something it could not read)."""
    return filters_for(*period_days("month"), period="month")


def parse_day(value: str) -> date | None:
    match = _DAY.match(value or "")
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _id(value: str) -> int | None:
    raw = (value or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


def _param(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def parse_period(params: Mapping[str, Any]) -> tuple[date, date, str]:
    """(first day, last day, period key) from ``period``/``from``/``to``; FormError otherwise."""
    period = _param(params, "period")
    raw_from, raw_to = _param(params, "from"), _param(params, "to")
    errors: dict[str, str] = {}
    if not period:
        period = "custom" if (raw_from or raw_to) else "month"
    if period not in PERIODS:
        raise FormError({"period": _("Choose this week, this month, last week, last month or your own days.")})
    if period != "custom":
        return (*period_days(period), period)
    first, last = parse_day(raw_from), parse_day(raw_to)
    if first is None:
        errors["from"] = _("Enter the first day as year-month-day, e.g. 2026-11-01.")
    if last is None:
        errors["to"] = _("Enter the last day as year-month-day, e.g. 2026-11-30.")
    if first is not None and last is not None:
        if last < first:
            errors["to"] = _("The last day comes before the first.")
        elif (last - first).days + 1 > MAX_DAYS:
            errors["to"] = _("Choose at most %(days)s days.", days=MAX_DAYS)
    if errors:
        raise FormError(errors)
    return first, last, period  # type: ignore[return-value]


async def parse_filters(user: CurrentUser, params: Mapping[str, Any]) -> Filters:
    """The filters asked for in these query parameters, checked against what ``user`` may
    see (a board she is not on is not a choice: it is refused like one that does not exist).
    FormError with a message per bad field."""
    from portal.stats.scope import scope_for

    errors: dict[str, str] = {}
    try:
        first, last, period = parse_period(params)
    except FormError as error:
        errors.update(error.errors)
        first, last, period = *period_days("month"), "month"
    narrowing: dict[str, Any] = {}
    raw_board = _param(params, "board")
    if raw_board:
        board = _id(raw_board)
        scope = await scope_for(user)
        if board is None or board not in scope.boards:
            errors["board"] = _("Choose one of your boards.")
        else:
            narrowing["board"] = board
    raw_department = _param(params, "department")
    if raw_department:
        department = _id(raw_department)
        if department is None or department not in await department_ids():
            errors["department"] = _("Choose a department.")
        else:
            narrowing["department"] = department
    raw_kind = _param(params, "kind")
    if raw_kind:
        if raw_kind not in KINDS:
            errors["kind"] = _("Choose comments, inquiries or campaigns.")
        else:
            narrowing["kind"] = raw_kind
    if errors:
        raise FormError(errors)
    return filters_for(first, last, period, **narrowing)


async def filters_or_default(user: CurrentUser, params: Mapping[str, Any]) -> tuple[Filters, dict[str, str]]:
    """For a page: the filters asked for, or this month with the messages saying what was wrong."""
    try:
        return await parse_filters(user, params), {}
    except FormError as error:
        return default_filters(), error.errors


async def department_ids() -> set[int]:
    from portal.accounts.tables import Department

    return {row["id"] for row in await Department.select(Department.id)}
