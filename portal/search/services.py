"""Search: ``search(user, query, filters, page)`` — one service, one implementation per engine.

What a person finds is what she may see: the cards of the open boards she is a member of
(administrators: every open board) and, for a liaison, only the cards routed to her
department (responsible or assisting) — the rule of ``portal.boards.access``, written as SQL
by ``portal.stats.scope`` and applied inside the search statement, so that paging counts only
what she may see. Archived cards are found too (state 已归档).

The text searched is the index's (``portal.search.indexer``); the words are jieba's
(``portal.search.text``). The engine does the matching and the ranking
(``portal.search.backends``): FTS5 and bm25 on SQLite, a tsvector with its GIN index and
ts_rank on PostgreSQL. Results are the most relevant first, or the newest first.

Filters (query parameters of the page and of ``GET /api/v1/search``): ``q`` (required),
``board``, ``kind``, ``from``/``to`` (YYYY-MM-DD, the day the message was received, both
included), ``platform``, ``category``, ``department`` (responsible), ``state`` (open,
closed, archived), ``sort`` (relevance, newest), ``page``. Bad input raises FormError with a
message per field (a control character in any of them too: PostgreSQL refuses a NUL).

A request reads the person's boards and access once (``portal.stats.scope.scope_for``) and
hands the ``Scope`` to ``parse``, ``search`` and ``known_categories``.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from portal.cards.kinds import all_kinds, is_kind, kind_label
from portal.core.choices import INQUIRY_CATEGORIES, PLATFORMS
from portal.core.errors import FormError
from portal.core.forms import MAX_ID
from portal.core.identity import CurrentUser
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.search import text as search_text
from portal.stats import scope as scopes
from portal.stats.period import midnight, parse_day

if TYPE_CHECKING:
    from portal.stats.scope import Scope

PER_PAGE = 20
MAX_PAGE = 500  # 10,000 results deep: further is a query to narrow, not to page through
STATES = {"open": _l("Still open"), "closed": _l("Closed (done)"), "archived": _l("Archived")}
SORTS = {"relevance": _l("Most relevant"), "newest": _l("Newest")}


@dataclass(frozen=True)
class SearchFilters:
    board: int | None = None
    kind: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    platform: str | None = None
    category: str | None = None
    department: int | None = None
    state: str | None = None
    sort: str = "relevance"

    @property
    def start(self) -> datetime | None:
        return midnight(self.first_day) if self.first_day else None

    @property
    def end(self) -> datetime | None:
        return midnight(self.last_day + timedelta(days=1)) if self.last_day else None

    def query(self) -> dict[str, str]:
        """As query parameters (for the page's links)."""
        params: dict[str, str] = {}
        for name in ("board", "kind", "platform", "category", "department", "state"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        if self.first_day:
            params["from"] = self.first_day.isoformat()
        if self.last_day:
            params["to"] = self.last_day.isoformat()
        if self.sort != "relevance":
            params["sort"] = self.sort
        return params

    def as_json(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "kind": self.kind,
            "from": self.first_day.isoformat() if self.first_day else None,
            "to": self.last_day.isoformat() if self.last_day else None,
            "platform": self.platform,
            "category": self.category,
            "department": self.department,
            "state": self.state,
            "sort": self.sort,
        }


@dataclass
class Hit:
    card_id: int
    board_id: int
    board_name: str
    kind: str
    title: str  # as shown: numbers masked
    title_html: Markup
    snippet: str
    snippet_html: Markup
    state: str  # open, closed, archived
    state_label: str  # the column's name, or 已归档
    received_at: datetime | None
    department: int | None
    platform: str | None
    category: str | None
    rank: float

    @property
    def link(self) -> str:
        """An open card opens in its board's drawer; an archived one on its own page (read
        only, restorable: portal.cards.controllers)."""
        if self.state == "archived":
            return f"/cards/{self.card_id}"
        return f"/boards/{self.board_id}?card={self.card_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.card_id,
            "board": {"id": self.board_id, "name": self.board_name},
            "kind": self.kind,
            "title": self.title,
            "title_html": str(self.title_html),
            "snippet": self.snippet,
            "snippet_html": str(self.snippet_html),
            "state": self.state,
            "state_label": self.state_label,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "department": self.department,
            "platform": self.platform,
            "category": self.category,
            "url": self.link,
        }


@dataclass
class Results:
    query: str
    terms: list[str]
    filters: SearchFilters
    page: int
    total: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """The pages there are to turn to: never more than the MAX_PAGE ``parse`` accepts."""
        return min(MAX_PAGE, max(1, -(-self.total // PER_PAGE)))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def as_json(self) -> dict[str, Any]:
        return {
            "q": self.query,
            "terms": self.terms,
            "filters": self.filters.as_json(),
            "page": self.page,
            "per_page": PER_PAGE,
            "total": self.total,
            "pages": self.pages,
            "results": [hit.as_json() for hit in self.hits],
        }


# Input ----------------------------------------------------------------------------------


PARAMETERS = ("q", "board", "kind", "from", "to", "platform", "category", "department", "state", "sort", "page")
WHITESPACE = frozenset("\t\n\r")


def has_control(value: str) -> bool:
    """A control character (NUL …) or a lone surrogate: no text anybody typed; PostgreSQL
    refuses it outright. Tabs and line breaks are whitespace (a pasted query)."""
    return any(unicodedata.category(char) in ("Cc", "Cs") and char not in WHITESPACE for char in value)


def _param(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _id(raw: str) -> int | None:
    if not (raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


async def parse(
    user: CurrentUser, params: Mapping[str, Any], scope: Scope | None = None
) -> tuple[str, SearchFilters, int]:
    """(query, filters, page) from query parameters; FormError with a message per bad field.
    An empty query is not an error here: the page shows what to type, the API asks for one.
    ``scope``: the user's, if the request has read it already."""
    from portal.accounts.tables import Department

    errors: dict[str, str] = {}
    for name in PARAMETERS:
        if has_control(_param(params, name)):
            errors[name] = _("Remove the control characters: they cannot be searched for.")
    if errors:
        raise FormError(errors)
    query = search_text.normalize(_param(params, "q"))
    values: dict[str, Any] = {}
    raw = _param(params, "board")
    if raw:
        board = _id(raw)
        if board is None or board not in (scope or await scopes.scope_for(user)).boards:
            errors["board"] = _("Choose one of your boards.")
        else:
            values["board"] = board
    raw = _param(params, "kind")
    if raw:
        if not is_kind(raw):
            errors["kind"] = _("Choose a kind of card.")
        else:
            values["kind"] = raw
    for name, key in (("from", "first_day"), ("to", "last_day")):
        raw = _param(params, name)
        if raw:
            day = parse_day(raw)
            if day is None:
                errors[name] = _("Enter a day as year-month-day, e.g. 2026-11-01.")
            else:
                values[key] = day
    if values.get("first_day") and values.get("last_day") and values["last_day"] < values["first_day"]:
        errors["to"] = _("The last day comes before the first.")
    raw = _param(params, "platform")
    if raw:
        if raw not in PLATFORMS:
            errors["platform"] = _("Choose a platform.")
        else:
            values["platform"] = raw
    raw = _param(params, "category")
    if raw:
        if len(raw) > 20:
            errors["category"] = _("Choose a category.")
        else:
            values["category"] = raw
    raw = _param(params, "department")
    if raw:
        department = _id(raw)
        if department is None or not await Department.exists().where(Department.id == department):
            errors["department"] = _("Choose a department.")
        else:
            values["department"] = department
    raw = _param(params, "state")
    if raw:
        if raw not in STATES:
            errors["state"] = _("Choose open, closed or archived.")
        else:
            values["state"] = raw
    raw = _param(params, "sort")
    if raw:
        if raw not in SORTS:
            errors["sort"] = _("Sort by relevance or newest first.")
        else:
            values["sort"] = raw
    page = 1
    raw = _param(params, "page")
    if raw:
        number = _id(raw)
        if number is None or number > MAX_PAGE:
            errors["page"] = _("Choose a page from 1 to %(last)s.", last=MAX_PAGE)
        else:
            page = number
    if errors:
        raise FormError(errors)
    return query, SearchFilters(**values), page


def text_of(params: Mapping[str, Any]) -> str:
    """The query as typed (normalized, control characters left out), whatever else was wrong."""
    typed = _param(params, "q")
    if has_control(typed):
        typed = "".join(char for char in typed if not has_control(char))
    return search_text.normalize(typed)


# The categories of the cards each scope sees, by the scope's SQL condition (people who see
# the same cards share the entry): (when read, the categories).
_categories: dict[str, tuple[float, list[str]]] = {}
CATEGORIES_TTL = 300.0  # seconds: topics come and go slowly; a scan of the index per page is not worth it
CATEGORIES_KEPT = 200  # scopes remembered


async def known_categories(scope: Scope) -> list[str]:
    """The categories (a comment's topic, an inquiry's category) of the indexed cards this
    person may see, for the filter: another board's or another department's topics are not
    hers to learn."""
    from portal.search import backends

    visible = backends.visible_condition(scope, "c", SearchFilters())
    if visible is None:
        return []
    now = time.monotonic()
    cached = _categories.get(visible)
    if cached is not None and now - cached[0] <= CATEGORIES_TTL:
        return cached[1]
    rows = await backends.Sql().rows(
        "SELECT DISTINCT d.category FROM search_doc d JOIN card c ON c.id = d.card"  # noqa: S608
        f" WHERE d.category IS NOT NULL AND {visible}"
    )
    found = sorted(row["category"] for row in rows)
    if len(_categories) >= CATEGORIES_KEPT:
        for key, (_when, _found) in sorted(_categories.items(), key=lambda item: item[1][0])[: CATEGORIES_KEPT // 2]:
            del _categories[key]
    _categories[visible] = (now, found)
    return found


def forget_categories() -> None:
    """Read the categories afresh (tests; the index was emptied)."""
    _categories.clear()


def category_options(extra: list[str] | None = None) -> list[tuple[str, str]]:
    """An inquiry's categories, then the comments' topics found in the index."""
    options = INQUIRY_CATEGORIES.options()
    known = {value for value, _label in options}
    return options + [(value, value) for value in sorted(set(extra or [])) if value not in known]


def category_label(value: str | None) -> str:
    return INQUIRY_CATEGORIES.label(value) if value else ""


def kinds_with(facet: str) -> list[str]:
    return [kind.name for kind in all_kinds() if facet in kind.search_facets]


# The search ------------------------------------------------------------------------------


async def search(
    user: CurrentUser, query: str, filters: SearchFilters, page: int = 1, scope: Scope | None = None
) -> Results:
    """The cards ``user`` may see whose text holds every word of ``query``, filtered, one
    page of PER_PAGE, best (or newest) first, each with its title and a snippet marked.
    ``scope``: the user's, if the request has read it already."""
    from portal.search import backends

    query = search_text.normalize(query)
    page = max(1, min(int(page), MAX_PAGE))
    if not query:
        return Results(query, [], filters, page, 0)
    if not search_text.is_loaded():
        import asyncio

        await asyncio.to_thread(search_text.tokenizer)  # jieba's first load: not on the event loop
    terms = search_text.query_terms(query)
    if not terms:
        return Results(query, [], filters, page, 0)
    scope = scope or await scopes.scope_for(user)
    visible = backends.visible_condition(scope, "c", filters)
    if visible is None:
        return Results(query, terms, filters, page, 0)
    total, rows = await backends.current().run(terms, visible, filters, PER_PAGE, (page - 1) * PER_PAGE)
    hits = [_hit(row, terms, scope.boards) for row in rows]
    return Results(query, terms, filters, page, total, hits)


def _hit(row: dict[str, Any], terms: list[str], boards: dict[int, dict]) -> Hit:
    board = boards.get(row["board"], {})
    if row["archived"]:
        state, label = "archived", _("Archived")
    elif row["meaning"] == "done":
        state, label = "closed", row["column_name"] or _("Closed (done)")
    else:
        state, label = "open", row["column_name"] or _("Still open")
    title = row["doc_title"] or ""
    plain, marked = search_text.snippet(row["doc_text"] or "", terms)
    received = row.get("received_at")
    if isinstance(received, str):
        received = datetime.fromisoformat(received)
    return Hit(
        card_id=row["id"],
        board_id=row["board"],
        board_name=board.get("name", ""),
        kind=board.get("kind", ""),
        title=title,
        title_html=search_text.highlight(title, terms),
        snippet=plain,
        snippet_html=marked,
        state=state,
        state_label=str(label),
        received_at=received,
        department=row.get("department"),
        platform=row.get("platform"),
        category=row.get("category"),
        rank=float(row.get("rank") or 0.0),
    )


def kind_name(kind: str) -> str:
    return kind_label(kind)
