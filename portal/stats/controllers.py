"""The evaluation's pages: the dashboard (/stats), the cards behind a figure (/stats/cards), the
printable weekly or monthly report (/stats/report) and the exports of its tables
(/stats/export.csv, /stats/export.xlsx). Thin: the filters come from portal.stats.period, the
figures from portal.stats.figures, the files from portal.stats.export, the charts' geometry
from portal.stats.charts; this module only orders rows for a sorted column and builds links.

Everyone logged in may look: the figures only ever cover the cards the person may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.response import Template

from portal.accounts.services import get_user, list_departments
from portal.boards.tables import BoardMember
from portal.core.choices import INQUIRY_CATEGORIES, PLATFORMS, SENTIMENTS
from portal.core.errors import FormError, NotFound
from portal.core.forms import MAX_ID
from portal.core.templating import department_name
from portal.i18n import gettext as _
from portal.stats import charts, export
from portal.stats.period import PERIODS, Filters, filters_or_default, parse_filters, period_days
from portal.stats.scope import Scope, scope_for

# The figures (and numpy under them) are imported at the first dashboard, not at start: a
# third of a second of every process's start, for a page few processes ever serve.


def _figures():
    from portal.stats import figures

    return figures


DASHBOARD = "pages/stats/dashboard.html"
CARDS = "pages/stats/cards.html"
REPORT = "pages/stats/report.html"

# Columns of the members and departments tables, and the order a first click sorts them in
# (names A to Z, figures largest first).
SORT_COLUMNS = {
    "name": "asc",
    "received": "desc",
    "done": "desc",
    "on_time": "desc",
    "late": "desc",
    "on_time_rate": "desc",
    "overdue_now": "desc",
    "supervised": "desc",
    "reopened": "desc",
    "satisfaction": "desc",
    "resolution_median": "desc",  # the slowest first
}
# Figures in the people tables that are bad news when not zero.
ALERT_COLUMNS = ("late", "overdue_now", "supervised", "reopened")
REPORT_PERIODS = ("week", "last_week", "month", "last_month")


# Formatting ---------------------------------------------------------------------------------


def pct(fraction: float | None) -> str:
    """A fraction as the page shows it (and the XLSX's "0.0%" cells): "85.7%", "—" for none."""
    if fraction is None:
        return "—"
    return f"{fraction * 100:.1f}%"


def hours_minutes(minutes: int | None) -> str:
    """Working minutes as hours and minutes: "3 小时 20 分钟", "45 分钟", "—" for none."""
    if minutes is None:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return _("%(minutes)s min", minutes=rest)
    if not rest:
        return _("%(hours)s h", hours=f"{hours:,}")
    return _("%(hours)s h %(minutes)s min", hours=f"{hours:,}", minutes=rest)


# Sorting ------------------------------------------------------------------------------------


def sort_param(params: Mapping[str, Any]) -> tuple[str, str]:
    """The column to sort the members and departments tables by and its direction; ("", "")
    keeps the figures' own order. An unknown column or direction is ignored, not an error."""
    column = str(params.get("sort") or "")
    if column not in SORT_COLUMNS:
        return "", ""
    direction = str(params.get("dir") or "")
    return column, direction if direction in ("asc", "desc") else SORT_COLUMNS[column]


def sort_rows(rows: list[dict[str, Any]], column: str, direction: str, ident: str = "") -> list[dict[str, Any]]:
    """Rows ordered by ``column``; rows without a value (no rate yet) last either way, ties
    by name. The row whose ``ident`` is None (the cards no one is assigned, no department is
    responsible for) stays last: it is not one of the people compared."""
    if not column:
        return rows
    last = [row for row in rows if ident and row.get(ident, 0) is None]
    rows = [row for row in rows if not (ident and row.get(ident, 0) is None)]
    present = [row for row in rows if row.get(column) is not None]
    missing = [row for row in rows if row.get(column) is None]
    by_name = sorted(present, key=lambda row: str(row.get("name") or ""))
    if column == "name":
        ordered = sorted(by_name, key=lambda row: str(row.get("name") or ""), reverse=direction == "desc")
    else:
        ordered = sorted(by_name, key=lambda row: row[column], reverse=direction == "desc")
    return ordered + sorted(missing, key=lambda row: str(row.get("name") or "")) + last


# Links --------------------------------------------------------------------------------------


class Links:
    """The URLs a page of these filters links to, each carrying the same filters."""

    def __init__(self, filters: Filters, sort: str = "", direction: str = "") -> None:
        self.filters = filters
        self.params = filters.query()
        self.sort = sort
        self.direction = direction

    def query(self, **extra: Any) -> str:
        return urlencode({**self.params, **{k: v for k, v in extra.items() if v is not None}})

    def cards(self, figure: str | None, key: str | None = None, kind: str | None = None) -> str | None:
        if not figure:
            return None
        extra: dict[str, Any] = {"figure": figure, "key": key}
        if kind and not self.filters.kind:
            extra["kind"] = kind
        return "/stats/cards?" + self.query(**extra)

    def sort_by(self, column: str, table: str) -> str:
        if column == self.sort:
            direction = "asc" if self.direction == "desc" else "desc"
        else:
            direction = SORT_COLUMNS[column]
        return "/stats?" + self.query(sort=column, dir=direction) + f"#table-{table}"

    def export(self, extension: str, table: str) -> str:
        return f"/stats/export.{extension}?" + self.query(table=table)

    def report(self, period: str) -> str:
        """The report's query for a named period, keeping the board and department."""
        params = {k: v for k, v in self.params.items() if k not in ("period", "from", "to")}
        return urlencode({"period": period, **params})

    def dashboard(self) -> str:
        return "/stats?" + self.query()


# What the figures link to ---------------------------------------------------------------


def rate_figures() -> dict[str, dict[str, Any]]:
    """For each rate: the figure behind its numerator and its denominator (portal.stats.figures
    .cards_behind), the kind of card it counts, and what it counts, in words."""
    return {
        "acceptance": {
            "numerator": "accepted",
            "denominator": "received",
            "kind": "inquiries",
            "hint": _("inquiries accepted / inquiries received"),
        },
        "resolution": {
            "numerator": "resolved",
            "denominator": "received",
            "kind": None,
            "hint": _("cards now done / cards received"),
        },
        "satisfaction": {
            "numerator": "satisfied",
            "denominator": "verdicts",
            "kind": None,
            "hint": _("satisfied or basically satisfied / all follow-up verdicts"),
        },
        "reply": {
            "numerator": "replied",
            "denominator": "received",
            "kind": "comments",
            "hint": _("comments with a sent reply / comments received"),
        },
    }


def figure_labels() -> dict[str, str]:
    return {
        "received": _("Number received"),
        "accepted": _("Accepted"),
        "not_accepted": _("Not accepted"),
        "resolved": _("Now done"),
        "replied": _("Replied"),
        "unreplied": _("Not replied"),
        "satisfied": _("Satisfied"),
        "dissatisfied": _("Dissatisfied"),
        "verdicts": _("Follow-up verdicts"),
        "first_response": _("First response given"),
        "done": _("Done in the period"),
        "on_time": _("Deadlines met"),
        "late": _("Deadlines missed"),
        "overdue_now": _("Overdue now"),
        "supervised": _("Supervision notices (督办)"),
        "reopened": _("Reopened (重办)"),
        "platform": _("Received by platform"),
        "category": _("Received by category"),
        "sentiment": _("Received by sentiment"),
    }


def backlog_hints() -> dict[str, str]:
    return {
        "overdue_now": _("open cards past their due time"),
        "supervised": _("supervision notices issued in the period"),
        "reopened": _("cases reopened in the period"),
    }


def people_columns() -> list[dict[str, Any]]:
    """The columns of the members and departments tables on screen (the files have the same,
    portal.stats.export.people_columns)."""
    screen = {"resolution_median": _("Median resolution time")}
    return [
        {
            "key": column.key,
            "label": screen.get(column.key, column.label),
            "kind": column.kind,
            "alert": column.key in ALERT_COLUMNS,
        }
        for column in export.people_columns()
    ]


def time_figures() -> dict[str, str]:
    return {"first_response": "first_response", "resolution": "done"}


def sentiment_legend() -> list[dict[str, str]]:
    labels = {"positive": _("Positive"), "neutral": _("Neutral"), "negative": _("Negative")}
    return [{"key": kind, "label": labels[kind], "colour": charts.SENTIMENT_COLOURS[kind]} for kind in labels]


# Context ------------------------------------------------------------------------------------


async def _choices(request: Request, scope: Scope | None = None) -> dict[str, Any]:
    scope = scope or await scope_for(request.user)
    return {"boards": list(scope.boards.values()), "departments": await list_departments()}


def _scope_note(request: Request, filters: Filters, choices: dict[str, Any]) -> str:
    parts = []
    if filters.board is not None:
        board = next((b for b in choices["boards"] if b["id"] == filters.board), None)
        parts.append(_("board %(name)s", name=board["name"] if board else filters.board))
    if filters.department is not None:
        department = next((d for d in choices["departments"] if d["id"] == filters.department), None)
        name = department_name(department["name_zh"], department["name_en"]) if department else filters.department
        parts.append(_("department %(name)s", name=name))
    if request.user.is_admin:
        base = _("Over every board.")
    elif request.user.role == "liaison":
        base = _("Over the cards routed to your department on your boards.")
    else:
        base = _("Over the cards on the boards you belong to.")
    if parts:
        return base + " " + _("Narrowed to %(what)s.", what="、".join(str(part) for part in parts))
    return base


def _helpers(links: Links) -> dict[str, Any]:
    return {
        "cards_url": links.cards,
        "sort_url": links.sort_by,
        "export_url": links.export,
        "report_query": links.report,
        "dashboard_url": links.dashboard(),
        "pct": pct,
        "hm": hours_minutes,
        "short_name": charts.short_name,
        "platform_names": export.platform_names,
        "rate_labels": export.rate_labels(),
        "backlog_labels": export.backlog_labels(),
        "backlog_hints": backlog_hints(),
        "time_labels": {"first_response": _("First response"), "resolution": _("Resolution")},
        "time_figures": time_figures(),
        "rate_figures": rate_figures(),
        "people_columns": people_columns(),
        "period_choices": [(key, str(label)) for key, label in PERIODS.items()],
    }


def _chart_set(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "by_day": charts.day_bars(data["volume"]["by_day"]),
        "platforms": charts.named_bars(data["volume"]["by_platform"], "platform"),
        "categories": charts.named_bars(data["categories"], "category", limit=10),
        "sentiment": charts.sentiment_bars(data["sentiment"]),
    }


def _form_values(params: Mapping[str, Any], filters: Filters, errors: dict[str, str]) -> dict[str, str]:
    """What the filters form shows: what was asked when it was wrong (to correct it), else the
    filters in force."""
    if errors:
        return {name: str(params.get(name) or "") for name in ("period", "from", "to", "board", "department", "kind")}
    values = filters.query()
    values.setdefault("from", filters.first_day.isoformat())
    values.setdefault("to", filters.last_day.isoformat())
    return values


def form_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The filters form sends a named period with the dates it shows and, hidden, the period
    it was shown for (``shown``). When the select was changed (period ≠ shown) the dates are
    the old period's and mean nothing: the chosen period counts. When it was not, dates
    changed by hand mean those dates (a custom period)."""
    values = {name: params.get(name) for name in params}
    values.pop("shown", None)
    period, first, last, shown = (str(params.get(name) or "").strip() for name in ("period", "from", "to", "shown"))
    if period in PERIODS and period != "custom":
        if shown and shown != period:
            values.pop("from", None)
            values.pop("to", None)
        elif first and last and (first, last) != tuple(day.isoformat() for day in period_days(period)):
            values["period"] = "custom"
    return values


async def dashboard_context(request: Request) -> dict[str, Any]:
    params = form_params(request.query_params)
    filters, errors = await filters_or_default(request.user, params)
    sort, direction = sort_param(request.query_params)
    data = await _figures().dashboard(request.user, filters)
    data = {
        **data,
        "members": sort_rows(data["members"], sort, direction, "user"),
        "departments": sort_rows(data["departments"], sort, direction, "department"),
    }
    links = Links(filters, sort, direction)
    choices = await _choices(request)
    return {
        **_helpers(links),
        **choices,
        "data": data,
        "filters": filters,
        "errors": errors,
        "values": _form_values(params, filters, errors),
        "sort": sort,
        "dir": direction,
        "charts": _chart_set(data),
        "sentiment_legend": sentiment_legend(),
        "scope_note": _scope_note(request, filters, choices),
        "accounts_url": "/stats/accounts",
    }


async def _strict_filters(request: Request) -> Filters:
    """For a file or a list: the filters as asked, or 422 with the messages (a download must not
    quietly be of another period than the one asked for)."""
    return await parse_filters(request.user, request.query_params)


# Describing what a list of cards is --------------------------------------------------------


def _whole(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID


async def _visible_member(user_id: int, scope: Scope) -> bool:
    """The person is a member of one of the boards the reader may see (only such a name is
    shown: a link's id must not reveal who anyone else is)."""
    if not scope.boards:
        return False
    return await BoardMember.exists().where((BoardMember.user == user_id) & BoardMember.board.is_in(list(scope.boards)))


async def describe_key(key: str, choices: dict[str, Any], scope: Scope) -> str:
    """A figure's narrowing in words: "member:12" → the member's name (one on the reader's
    boards; else the key as it is), "stage:answer" → 答复 …"""
    name, _sep, value = key.partition(":")
    if name == "member" and value == "none":
        return _("Unassigned")
    if name == "department" and value == "none":
        return _("No department given")
    if name == "member" and _whole(value):
        if not await _visible_member(int(value), scope):
            return key
        try:
            return (await get_user(int(value)))["display_name"]
        except NotFound:
            return key
    if name == "department" and _whole(value):
        department = next((d for d in choices["departments"] if d["id"] == int(value)), None)
        return department_name(department["name_zh"], department["name_en"]) if department else key
    labels = {
        "platform": lambda v: _("Platform not given") if v == "none" else PLATFORMS.label(v),
        "sentiment": SENTIMENTS.label,
        "stage": _figures().STAGES.label,
        "category": INQUIRY_CATEGORIES.label,
        "day": str,
    }
    if name not in labels:
        return key
    try:
        return str(labels[name](value))
    except (KeyError, ValueError):
        return key


# The controller -----------------------------------------------------------------------------


class StatsController(Controller):
    path = "/stats"

    @get("/")
    async def dashboard_page(self, request: Request) -> Template:
        """Bad filters show their messages, and this month's figures (nothing else changes)."""
        context = await dashboard_context(request)
        return Template(DASHBOARD, context=context, status_code=422 if context["errors"] else 200)

    @get("/cards")
    async def cards_page(self, request: Request) -> Template:
        """The cards a figure counts, each opening on its board; only cards this person may see."""
        figure = str(request.query_params.get("figure") or "")
        key = str(request.query_params.get("key") or "") or None
        scope = await scope_for(request.user)
        choices = await _choices(request, scope)
        rows: list[dict[str, Any]] = []
        filters, errors = await filters_or_default(request.user, request.query_params)
        if not errors:
            try:
                rows = await _figures().cards_behind(request.user, filters, figure, key)
            except FormError as error:
                errors = error.errors
        links = Links(filters)
        kind_filter = filters.kind
        what = [figure_labels().get(figure.partition(":")[0], figure)]
        if not errors:  # a figure or key that is none is not described (it may be anything)
            if figure.partition(":")[2]:
                what.append(await describe_key(figure, choices, scope))
            if key:
                bare = key if ":" in key else f"{_figures().BARE_KEY.get(figure, 'day')}:{key}"
                what.append(await describe_key(bare, choices, scope))
        context = {
            **_helpers(links),
            **choices,
            "figure": figure,
            "key": key,
            "what": "，".join(part for part in what if part),
            "rows": rows,
            "limit": 500,
            "errors": errors,
            "filters": filters,
            "kind_filter": kind_filter,
            "scope_note": _scope_note(request, filters, choices),
            "now": datetime.now(UTC),
        }
        return Template(CARDS, context=context, status_code=422 if errors else 200)

    @get("/report")
    async def report_page(self, request: Request) -> Template:
        """The printable report: this week's unless another period is asked for."""
        params = dict(request.query_params)
        if not any(params.get(name) for name in ("period", "from", "to")):
            params["period"] = "week"
        filters, errors = await filters_or_default(request.user, params)
        data = await _figures().dashboard(request.user, filters)
        links = Links(filters)
        choices = await _choices(request)
        weekly = filters.period in ("week", "last_week")
        monthly = filters.period in ("month", "last_month")
        title = _("Weekly report") if weekly else (_("Monthly report") if monthly else _("Statistical report"))
        context = {
            **_helpers(links),
            **choices,
            "data": data,
            "filters": filters,
            "errors": errors,
            "title": title,
            "charts": _chart_set(data),
            "sentiment_legend": sentiment_legend(),
            "report_periods": [(key, str(PERIODS[key])) for key in REPORT_PERIODS],
            "scope_note": _scope_note(request, filters, choices),
            "now": datetime.now(UTC),
            "sort": "",
            "dir": "",
        }
        return Template(REPORT, context=context, status_code=422 if errors else 200)

    @get("/export.csv")
    async def export_csv(self, request: Request) -> Response:
        name = _table_name(request, allow_all=False)
        filters = await _strict_filters(request)
        data = await _figures().dashboard(request.user, filters)
        table = export.table(data, name)
        return Response(
            export.to_csv(table),
            media_type=export.CSV_TYPE,
            headers={
                "Content-Disposition": export.disposition(table.title, name, data["period"], "csv"),
                "Cache-Control": "no-store",
            },
        )

    @get("/export.xlsx")
    async def export_xlsx(self, request: Request) -> Response:
        name = _table_name(request, allow_all=True)
        filters = await _strict_filters(request)
        data = await _figures().dashboard(request.user, filters)
        chosen = export.tables(data) if name == "all" else [export.table(data, name)]
        title = _("All tables") if name == "all" else chosen[0].title
        return Response(
            export.to_xlsx(chosen),
            media_type=export.XLSX_TYPE,
            headers={
                "Content-Disposition": export.disposition(title, name, data["period"], "xlsx"),
                "Cache-Control": "no-store",
            },
        )


def _table_name(request: Request, allow_all: bool) -> str:
    name = str(request.query_params.get("table") or ("all" if allow_all else ""))
    if name in export.table_names() or (allow_all and name == "all"):
        return name
    titles = "、".join(export.table_titles().values())
    raise FormError({"table": _("Choose a table to export: %(tables)s.", tables=titles)})
