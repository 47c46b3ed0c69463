"""Boards: listing, the board view with filters, columns and members.

Every function takes the acting user (or their BoardAccess) and checks permission
itself; controllers never query. Writes are units of the write path
(``portal.events.unit.board_write``): the board's sequence number, the change, its typed
event and its effects (viewers re-fetch the board, a member's sockets re-check access)
in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from piccolo.columns import JSON, JSONB
from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString
from piccolo.utils.encoding import load_json
from pydantic import Field

from portal.accounts.services import CurrentUser, NotFound
from portal.accounts.tables import Role, User
from portal.boards import tiles  # (also registers the templates' card_tiles)
from portal.boards.access import BoardAccess, access_for, board_access_and_columns, routed_to
from portal.boards.forms import BoardForm, ColumnForm, MemberForm
from portal.boards.tables import Board, BoardColumn, BoardMember, BoardRole, ColumnMeaning
from portal.cards.kinds import all_kinds, kind_of
from portal.cards.tables import Card
from portal.core.choices import PRIORITY_RANK, WEBHOOK_KINDS
from portal.core.forms import FormError
from portal.core.prepared import prepared
from portal.core.schemas import Input
from portal.db import is_sqlite
from portal.events.kinds import EventKind
from portal.events.tables import Event
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.live import effects as live_effects
from portal.settings import get_settings

# Fields a board page shows on each card tile; the drawer loads the rest.
CARD_TILE_FIELDS = (
    Card.id,
    Card.board,
    Card.column,
    Card.position,
    Card.title,
    Card.priority,
    Card.labels,
    Card.version,
    Card.received_at,
    Card.department,
    Card.assisting_departments,
    Card.body,
    Card.due_at,
    Card.due_stage,
    Card.paused_at,  # a paused clock shows 已挂起, not a countdown
    Card.assignee.id.as_alias("assignee_id"),
    Card.assignee.display_name.as_alias("assignee_name"),
)


@dataclass(frozen=True)
class BoardFilters:
    """Filters kept in the URL so a filtered board can be shared. ``fields`` are the card
    kind's own (``CardKind.filterable``: a comment's platform and sentiment, an inquiry's
    category), matched by equality."""

    assignee: str = ""  # "me", "none" or a user id
    label: str = ""
    priority: str = ""
    q: str = ""
    due: str = ""  # "overdue" or "today"
    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_query(
        cls,
        *,
        assignee: str = "",
        label: str = "",
        priority: str = "",
        q: str = "",
        due: str = "",
        query: Mapping[str, str] | None = None,
    ) -> BoardFilters:
        """From the page's (or the API's) query string: bounded, unknown values dropped; the
        kinds' own filters are read from ``query`` (a board applies those of its kind)."""
        filterable = sorted({name for kind in all_kinds() for name in kind.filterable})
        fields = tuple((name, str(query[name])[:20]) for name in filterable if query and query.get(name))
        return cls(
            assignee=assignee[:20],
            label=label[:20],
            priority=priority[:20],
            q=q[:100],
            due=due if due in ("overdue", "today") else "",
            fields=fields,
        )

    def field(self, name: str) -> str:
        return dict(self.fields).get(name, "")

    @property
    def active(self) -> bool:
        return any([self.assignee, self.label, self.priority, self.q, self.due, self.fields])

    def as_query(self) -> dict[str, str]:
        common = {k: v for k, v in self.__dict__.items() if v and k != "fields"}
        return {**common, **dict(self.fields)}


@dataclass
class BoardChange:
    """What a board write did (its effects are in the outbox already)."""

    board_id: int
    seq: int
    verb: str
    refresh: bool = False  # columns changed: viewers re-fetch the board
    extra: dict[str, Any] = field(default_factory=dict)


async def events_since(board_id: int, seq: int, limit: int) -> list[dict[str, Any]]:
    return (
        await Event.select(Event.seq, Event.verb, Event.object_type, Event.object_id)
        .where((Event.board_id == board_id) & (Event.seq > seq))
        .order_by(Event.seq)
        .limit(limit)
    )


async def current_seq(board_id: int) -> int:
    row = await Board.select(Board.seq).where(Board.id == board_id).first()
    return row["seq"] if row else 0


# Listing and viewing ------------------------------------------------------------------


async def visible_board_ids(user: CurrentUser) -> list[int] | None:
    """None means "all boards" (administrators)."""
    if user.is_admin:
        return None
    rows = await BoardMember.select(BoardMember.board).where(BoardMember.user == user.id)
    return [row["board"] for row in rows]


async def list_boards(user: CurrentUser) -> list[dict[str, Any]]:
    query = (
        Board.select(
            Board.id,
            Board.name,
            Board.kind,
            Board.description,
            Board.department.name_zh.as_alias("department_zh"),
            Board.department.name_en.as_alias("department_en"),
        )
        .where(Board.archived == False)
        .order_by(Board.id)
    )  # noqa: E712
    ids = await visible_board_ids(user)
    if ids is not None:
        if not ids:
            return []
        query = query.where(Board.id.is_in(ids))
    boards = await query
    if not boards:
        return boards
    counts = (
        await Card.select(Card.board, Count(alias="total"))
        .where(
            (Card.archived == False) & Card.board.is_in([board["id"] for board in boards])  # noqa: E712
        )
        .group_by(Card.board)
    )
    by_board = {row["board"]: row["total"] for row in counts}
    for board in boards:
        board["card_count"] = by_board.get(board["id"], 0)
    return boards


# A done column shows its most recent cards (those at its top: a card closed by a workflow
# step lands there) and a "more" link for the next ones, so a board after a year of work
# costs what it shows, not its history.
DONE_PAGE = 50
COUNT_CAP = 1000  # a done column's earlier cards are counted up to this ("1050+")


async def board_view(user: CurrentUser, board_id: int, filters: BoardFilters | None = None) -> dict[str, Any]:
    """The board with its columns and (filtered) cards: the board, the user's membership and
    the columns in one statement; the open columns' cards in one more; each done column's
    first page, with how many more it has, in one each. Unfiltered, each is a statement
    built once per process (``portal.core.prepared``).

    The cards' JSON fields (labels …) stay their JSON text (``tiles.TileRows``): a tile kept
    from an earlier page needs nothing decoded, only one rendered afresh does."""
    filters = filters or BoardFilters()
    access, board, columns = await board_access_and_columns(user, board_id)
    kind = kind_of(board["kind"])
    open_ids = [column["id"] for column in columns if column["meaning"] != ColumnMeaning.done]
    by_column: dict[int, list[dict[str, Any]]] = {column["id"]: [] for column in columns}
    json_text = _tile_json_fields(kind)
    shown: list[dict[str, Any]] = []
    if open_ids:
        # Every rule (the liaison's, the filters) is decided in SQL, as for a done column.
        if filters.active:
            rows = await _open_cards_query(kind, access, filters, open_ids)
        else:
            names = [f"column{index}" for index in range(len(open_ids))]
            statement = prepared(
                ("open", kind.name, len(open_ids), access.department_only),
                lambda values: _open_cards_query(kind, access, filters, list(values.values())),
                names,
            )
            rows = await statement.run(dict(zip(names, open_ids, strict=True)))
        shown = rows
        for card in rows:
            by_column[card["column"]].append(card)
    for column in columns:
        column["more"] = None
        if column["meaning"] == ColumnMeaning.done:
            column["cards"], column["more"] = await done_page(access, column["id"], filters)
            shown = shown + column["cards"]
        else:
            column["cards"] = tiles.TileRows(by_column[column["id"]], json_text)
        column["total"] = len(column["cards"]) + (column["more"]["remaining"] if column["more"] else 0)
        column["capped"] = bool(column["more"] and column["more"]["capped"])
    if not filters.active:
        # Unfiltered, these rows are all the cards board_labels would read again: the filter
        # menu's labels come from them instead, each distinct text decoded once (a label
        # found only on closed cards past the first page is still filterable by its link).
        board["labels"] = _labels({card["labels"] for card in shown})
    board["columns"] = columns
    board["access"] = access
    board["filters"] = filters
    return board


def _labels(texts: set[str | None]) -> list[str]:
    """The labels in these JSON texts (each a card's list of labels), sorted, each once."""
    labels: set[str] = set()
    for text in texts:
        if text:
            labels.update(load_json(text) or [])
    return sorted(labels)


def _open_cards_query(kind, access: BoardAccess, filters: BoardFilters, column_ids: list[int]):
    # The kind's tile fields (a comment's platform …) come joined, in the same statement.
    query = Card.select(*CARD_TILE_FIELDS, *kind.joined(kind.tile_fields)).where(
        Card.column.is_in(column_ids) & (Card.archived == False)  # noqa: E712
    )
    query = _apply_filters(query, access, filters)
    if access.department_only is not None:
        query = query.where(WhereRaw(routed_to("card", access.department_only)))
    if filters.label:
        query = query.where(WhereRaw(_has_label_sql(), filters.label))
    return query.order_by(Card.position)


def _tile_json_fields(kind) -> tuple[str, ...]:
    """The JSON fields of a tile row of this kind (labels, assisting departments, the kind's
    lists): the board page reads them as text."""
    found = _TILE_JSON.get(kind.name)
    if found is None:
        detail = [getattr(kind.detail, name) for name in kind.tile_fields] if kind.detail else []
        found = _TILE_JSON[kind.name] = tuple(
            column._alias or column._meta.name
            for column in (*CARD_TILE_FIELDS, *detail)
            if isinstance(column, (JSON, JSONB))
        )
    return found


_TILE_JSON: dict[str, tuple[str, ...]] = {}


LIST_SORTS = ("column", "due", "priority", "received", "title", "assignee")


def board_as_list(board: dict[str, Any], sort: str = "column", descending: bool = False) -> list[dict[str, Any]]:
    """The board's cards (as ``board_view`` read them: every open card, a done column's first
    page) as one list, each with its column's name, sorted by ``sort``. Cards without a value
    for it (no deadline, no assignee) come last either way."""
    from portal.core.choices import PRIORITY_RANK

    rows = []
    for position, column in enumerate(board["columns"]):
        json_text = getattr(column["cards"], "json_text", ())  # labels as read: their JSON text
        for index, card in enumerate(column["cards"]):
            rows.append({**tiles.decoded(card, json_text), "column_name": column["name"], "_order": (position, index)})
    keys = {
        "column": lambda card: card["_order"],
        "due": lambda card: card["due_at"],
        "priority": lambda card: PRIORITY_RANK.get(card["priority"], 99),
        "received": lambda card: card["received_at"],
        "title": lambda card: card["title"],
        "assignee": lambda card: card["assignee_name"],
    }
    key = keys[sort if sort in keys else "column"]
    present = [card for card in rows if key(card) is not None]
    missing = [card for card in rows if key(card) is None]
    return sorted(present, key=key, reverse=descending) + missing


async def done_page(
    access: BoardAccess, column_id: int, filters: BoardFilters, after: float | None = None
) -> tuple[tiles.TileRows, dict[str, Any] | None]:
    """A page of a done column's cards this viewer may see, below ``after`` (a position; the
    top when None), and what the "more" link needs: the last position shown and how many
    remain (None when none). One statement: the page, and how many cards match (counted up
    to a cap: a liaison's rule or a filter is checked row by row, and a board that never
    archives would otherwise count its whole history on every view). Everything — the
    liaison's rule, the label — is decided in SQL, so that the page and the count agree."""
    kind = kind_of(access.board_kind)
    if filters.active or after is not None:
        cards = await _done_page_query(kind, access, filters, column_id, after)
    else:  # a board's first page of the column: built once
        statement = prepared(
            ("done", kind.name, access.department_only, DONE_PAGE, COUNT_CAP),
            lambda values: _done_page_query(kind, access, filters, values["column"], None),
            ["column"],
        )
        cards = await statement.run({"column": column_id})
    matching = cards[0]["matching"] if cards else 0
    for card in cards:
        del card["matching"]  # not the card's: kept out of its tile
    cards = tiles.TileRows(cards[:DONE_PAGE], _tile_json_fields(kind))
    if matching <= DONE_PAGE:
        return cards, None
    last = cards[-1]["position"]
    below = matching - DONE_PAGE
    query_string = urlencode({"after": repr(last), **filters.as_query()})
    return cards, {
        "after": repr(last),
        "remaining": min(below, COUNT_CAP),
        "capped": below > COUNT_CAP,
        "query": query_string,
    }


def _done_page_query(kind, access: BoardAccess, filters: BoardFilters, column_id: int, after: float | None):
    def matching(query):
        query = query.where((Card.column == column_id) & (Card.archived == False))  # noqa: E712
        query = _apply_filters(query, access, filters)
        if access.department_only is not None:
            query = query.where(WhereRaw(routed_to("card", access.department_only)))
        if filters.label:
            query = query.where(WhereRaw(_has_label_sql(), filters.label))
        if after is not None:
            query = query.where(Card.position > after)
        return query

    # How many match, up to the page and the cap past it, as a column of every row.
    counted = matching(Card.select(Card.id)).limit(DONE_PAGE + COUNT_CAP + 1).querystrings[0]
    count = QueryString("(SELECT COUNT(*) FROM ({}) AS capped)", counted).as_alias("matching")
    query = matching(Card.select(*CARD_TILE_FIELDS, *kind.joined(kind.tile_fields), count))
    return query.order_by(Card.position).limit(DONE_PAGE + 1)


async def done_column_more(
    user: CurrentUser, board_id: int, column_id: int, after: str, filters: BoardFilters
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The board (as the column partial needs it) and the page of its done column below
    ``after``. A column that is not a done column of this board is not found; a position
    that is not a number is bad input."""
    access = await access_for(user, board_id)
    column = (
        await BoardColumn.select(BoardColumn.id, BoardColumn.name, BoardColumn.meaning)
        .where(
            (BoardColumn.id == column_id)
            & (BoardColumn.board == board_id)
            & (BoardColumn.meaning == ColumnMeaning.done)
            & (BoardColumn.archived == False)  # noqa: E712
        )
        .first()
    )
    if column is None:
        raise NotFound
    try:
        position = float(after)
    except ValueError:
        raise FormError({"after": _("The page to show next is not valid; reload the board.")}) from None
    if position != position or position in (float("inf"), float("-inf")):
        raise FormError({"after": _("The page to show next is not valid; reload the board.")})
    column["cards"], column["more"] = await done_page(access, column_id, filters, after=position)
    board = await board_header(access)
    board["access"], board["filters"] = access, filters
    return board, column


def _has_label_sql() -> str:
    """The card's labels (a JSON list) hold the parameter."""
    if is_sqlite():
        return "EXISTS (SELECT 1 FROM json_each(card.labels) AS l WHERE l.value = {})"
    # Containment: false (not an error, as jsonb_array_elements_text would raise) for a
    # labels value that is not a list.
    return "card.labels @> jsonb_build_array(CAST({} AS text))"


async def list_cards(
    access: BoardAccess, filters: BoardFilters | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Every open card this viewer may see on the board, whole (for the API), filtered the way
    the board page filters, in column and position order, concealed for this viewer (a
    citizen's number masked) like the drawer's card."""
    filters = filters or BoardFilters()
    query = Card.select(
        Card.all_columns(),
        Card.column.key.as_alias("column_key"),
        Card.column.name.as_alias("column_name"),
        Card.column.position.as_alias("column_position"),
        Card.assignee.display_name.as_alias("assignee_name"),
        *kind_of(access.board_kind).joined(),
    ).where((Card.board == access.board_id) & (Card.archived == False) & (Card.column.archived == False))  # noqa: E712
    if ids is not None:
        # Only these (the live page asks which of the cards it was just sent match its filters).
        if not ids:
            return []
        query = query.where(Card.id.is_in(ids))
    query = _apply_filters(query, access, filters)
    kind = kind_of(access.board_kind)
    rows = [kind.defaults(row) for row in await query.order_by(Card.position).output(load_json=True)]
    cards = [
        card
        for card in rows
        if access.can_see_card(card) and (not filters.label or filters.label in (card["labels"] or []))
    ]
    if kind.conceal is not None:
        for card in cards:
            kind.conceal(access, card)
    return sorted(cards, key=lambda card: (card["column_position"], card["position"]))


def _apply_filters(query, access: BoardAccess, filters: BoardFilters):
    if filters.assignee == "me":
        query = query.where(Card.assignee == access.user.id)
    elif filters.assignee == "none":
        query = query.where(Card.assignee.is_null())
    elif filters.assignee.isascii() and filters.assignee.isdigit() and len(filters.assignee) < 10:
        query = query.where(Card.assignee == int(filters.assignee))
    kind = kind_of(access.board_kind)
    for name, value in filters.fields:
        if name in kind.filterable:
            query = query.where(kind.where(name, value))
    if filters.priority:
        query = query.where(Card.priority == filters.priority)
    if filters.due in ("overdue", "today"):
        now = datetime.now(UTC)
        if filters.due == "overdue":
            query = query.where(Card.due_at < now)
        else:
            local = now.astimezone(get_settings().tz)
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
            query = query.where((Card.due_at >= start) & (Card.due_at < start + timedelta(days=1)))
    if filters.q:
        # Typed text is matched literally: % and _ are escaped, not wildcards (nor dropped).
        pattern = "%" + _like_escape(filters.q[:100]) + "%"
        operator = "LIKE" if is_sqlite() else "ILIKE"  # SQLite's LIKE ignores ASCII case already
        # Besides title and body, the kind's searchable fields (a comment's author).
        clauses = [f"card.title {operator} {{}} ESCAPE '\\'", f"card.body {operator} {{}} ESCAPE '\\'"]
        if kind.detail is not None:
            # Table and column names come from the kind's table class, never from the request.
            table = kind.detail._meta.tablename
            clauses += [
                f"card.id IN (SELECT card FROM {table} WHERE {name} {operator} {{}} ESCAPE '\\')"  # noqa: S608
                for name in kind.searchable
            ]
        query = query.where(WhereRaw("(" + " OR ".join(clauses) + ")", *[pattern] * len(clauses)))
    return query


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def board_header(access: BoardAccess) -> dict[str, Any]:
    return (
        await Board.select(Board.id, Board.name, Board.kind, Board.description, Board.seq)
        .where(Board.id == access.board_id)
        .first()
    )


async def list_columns(board_id: int) -> list[dict[str, Any]]:
    return (
        await BoardColumn.select(
            BoardColumn.id,
            BoardColumn.key,
            BoardColumn.name,
            BoardColumn.meaning,
            BoardColumn.wip_limit,
            BoardColumn.position,
        )
        .where((BoardColumn.board == board_id) & (BoardColumn.archived == False))
        .order_by(  # noqa: E712
            BoardColumn.position
        )
    )


async def board_people(board_id: int) -> list[dict[str, Any]]:
    """Members who can be assigned or @mentioned on this board (a statement built once)."""
    statement = prepared(("people",), lambda values: _people_query(values["board"]), ["board"])
    return await statement.run({"board": board_id})


def _people_query(board_id: int):
    return (
        BoardMember.select(
            BoardMember.user.id.as_alias("id"),
            BoardMember.user.username.as_alias("username"),
            BoardMember.user.display_name.as_alias("display_name"),
            BoardMember.role,
            BoardMember.user.role.as_alias("user_role"),
            BoardMember.user.department.as_alias("department"),
        )
        .where((BoardMember.board == board_id) & (BoardMember.user.active == True))  # noqa: E712
        .order_by(BoardMember.user.display_name)
    )


async def board_labels(access: BoardAccess) -> list[str]:
    """The labels in use on the cards this viewer can see (for the filter menu)."""
    rows = (
        await Card.select(Card.labels, Card.department, Card.assisting_departments)
        .where(
            (Card.board == access.board_id) & (Card.archived == False)  # noqa: E712
        )
        .output(load_json=True)
    )
    return sorted({label for row in rows if access.can_see_card(row) for label in (row["labels"] or [])})


async def my_cards(user: CurrentUser) -> list[dict[str, Any]]:
    """The user's open cards across the boards they may see, most urgent first."""
    query = Card.select(
        Card.id,
        Card.title,
        Card.priority,
        Card.received_at,
        Card.due_at,
        Card.paused_at,
        Card.version,
        Card.labels,
        Card.board.id.as_alias("board_id"),
        Card.board.name.as_alias("board_name"),
        Card.board.kind.as_alias("kind"),
        Card.column.name.as_alias("column_name"),
        Card.column.meaning.as_alias("meaning"),
        Card.department,
        Card.assisting_departments,
    ).where(
        (Card.assignee == user.id)
        & (Card.archived == False)
        & (Card.column.meaning != ColumnMeaning.done)  # noqa: E712
        & (Card.board.archived == False)
        & (Card.column.archived == False)  # noqa: E712
    )
    ids = await visible_board_ids(user)
    if ids is not None:
        if not ids:
            return []
        query = query.where(Card.board.is_in(ids))
    cards = await query.output(load_json=True)
    if user.role == Role.liaison:
        # Routed elsewhere since it was assigned: no longer the liaison's to see.
        cards = [c for c in cards if user.department_id in [c["department"], *(c["assisting_departments"] or [])]]
    # The nearest deadline first (a paused clock waits behind the running ones), then the
    # cards with no clock, most important first.
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        cards,
        key=lambda card: (
            card["due_at"] is None,
            card["paused_at"] is not None,
            card["due_at"] or far,
            PRIORITY_RANK.get(card["priority"], 9),
            card["id"],
        ),
    )


# Creating boards ----------------------------------------------------------------------


async def create_board(user: CurrentUser, form: BoardForm) -> int:
    """Administrators and managers create boards; the creator manages the new board."""
    if user.role not in (Role.admin, Role.manager):
        from portal.accounts.services import PermissionDenied

        raise PermissionDenied
    async with board_write(None, user.id) as unit:
        rows = await Board.insert(
            Board(name=form.name, kind=form.kind, description=form.description, department=user.department_id)
        )
        board_id = rows[0]["id"]
        await unit.claim(board_id)
        await BoardColumn.insert(
            *[
                BoardColumn(board=board_id, key=column.key, name=column.name, meaning=column.meaning, position=index)
                for index, column in enumerate(kind_of(form.kind).columns)
            ]
        )
        if not user.is_admin:
            await BoardMember.insert(BoardMember(board=board_id, user=user.id, role=BoardRole.manager))
        unit.record(EventKind.board_created, "board", board_id, {"name": form.name})
    return board_id


# Columns ------------------------------------------------------------------------------


async def _column(access: BoardAccess, column_id: int) -> dict[str, Any]:
    column = (
        await BoardColumn.select()
        .where(
            (BoardColumn.id == column_id) & (BoardColumn.board == access.board_id) & (BoardColumn.archived == False)  # noqa: E712
        )
        .first()
    )
    if column is None:
        raise NotFound
    return column


async def add_column(access: BoardAccess, form: ColumnForm) -> BoardChange:
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:  # the board is locked: now check
        columns = await list_columns(access.board_id)
        if any(column["name"] == form.name for column in columns):
            raise FormError({"name": _("A column with this name exists.")})
        last = max((column["position"] for column in columns), default=-1)
        rows = await BoardColumn.insert(
            BoardColumn(
                board=access.board_id,
                key=await _new_column_key(access.board_id),
                name=form.name,
                meaning=form.meaning,
                position=last + 1,
                wip_limit=form.wip_limit,
            )
        )
        unit.record(EventKind.column_added, "column", rows[0]["id"], {"name": form.name})
        unit.after_commit(live_effects.board_refreshed(access.board_id))
    return BoardChange(access.board_id, unit.seq, "column.added", refresh=True)


async def _new_column_key(board_id: int) -> str:
    """A key no column of this board has had, archived ones included (keys name stages in the
    history and the deadline policies, so they are never reused)."""
    taken = {row["key"] for row in await BoardColumn.select(BoardColumn.key).where(BoardColumn.board == board_id)}
    number = len(taken) + 1
    while f"c{number}" in taken:
        number += 1
    return f"c{number}"


async def update_column(access: BoardAccess, column_id: int, form: ColumnForm) -> BoardChange:
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:  # the board is locked: now check
        before = await _column(access, column_id)
        if form.name != before["name"] and await BoardColumn.exists().where(
            (BoardColumn.board == access.board_id) & (BoardColumn.name == form.name) & (BoardColumn.archived == False)  # noqa: E712
        ):
            raise FormError({"name": _("A column with this name exists.")})
        await BoardColumn.update(
            {BoardColumn.name: form.name, BoardColumn.meaning: form.meaning, BoardColumn.wip_limit: form.wip_limit}
        ).where(BoardColumn.id == column_id)
        unit.record(EventKind.column_updated, "column", column_id, {"name": form.name, "wip_limit": form.wip_limit})
        unit.after_commit(live_effects.board_refreshed(access.board_id))
    return BoardChange(access.board_id, unit.seq, "column.updated", refresh=True)


async def move_column(access: BoardAccess, column_id: int, direction: int) -> BoardChange:
    """Swap a column with its left (-1) or right (+1) neighbour."""
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:  # the board is locked: now check
        await _column(access, column_id)
        columns = await list_columns(access.board_id)
        index = next(i for i, column in enumerate(columns) if column["id"] == column_id)
        other = index + direction
        if 0 <= other < len(columns):
            columns[index], columns[other] = columns[other], columns[index]
        for position, column in enumerate(columns):
            await BoardColumn.update({BoardColumn.position: position}).where(BoardColumn.id == column["id"])
        unit.record(EventKind.column_moved, "column", column_id, {"direction": direction})
        unit.after_commit(live_effects.board_refreshed(access.board_id))
    return BoardChange(access.board_id, unit.seq, "column.moved", refresh=True)


async def archive_column(access: BoardAccess, column_id: int) -> BoardChange:
    """Archive an empty column; a column that still holds cards must be emptied first."""
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:  # the board is locked: now check
        column = await _column(access, column_id)
        if await Card.exists().where((Card.column == column_id) & (Card.archived == False)):  # noqa: E712
            raise FormError({"__all__": _("Move or archive the cards in “%(name)s” first.", name=column["name"])})
        if (
            await BoardColumn.count().where((BoardColumn.board == access.board_id) & (BoardColumn.archived == False))
            <= 1
        ):  # noqa: E712
            raise FormError({"__all__": _("A board keeps at least one column.")})
        await BoardColumn.update({BoardColumn.archived: True}).where(BoardColumn.id == column_id)
        unit.record(EventKind.column_archived, "column", column_id, {"name": column["name"]})
        unit.after_commit(live_effects.board_refreshed(access.board_id))
    return BoardChange(access.board_id, unit.seq, "column.archived", refresh=True)


# Members ------------------------------------------------------------------------------


async def list_members(access: BoardAccess) -> list[dict[str, Any]]:
    access.require_manage()
    return (
        await BoardMember.select(
            BoardMember.id,
            BoardMember.role,
            BoardMember.user.id.as_alias("user_id"),
            BoardMember.user.username.as_alias("username"),
            BoardMember.user.display_name.as_alias("display_name"),
            BoardMember.user.role.as_alias("user_role"),
        )
        .where(BoardMember.board == access.board_id)
        .order_by(BoardMember.id)
    )


async def candidate_members(access: BoardAccess) -> list[dict[str, Any]]:
    access.require_manage()
    members = {
        row["user"] for row in await BoardMember.select(BoardMember.user).where(BoardMember.board == access.board_id)
    }
    users = (
        await User.select(User.id, User.username, User.display_name, User.role)
        .where((User.active == True) & (User.role != Role.admin))
        .order_by(User.id)
    )  # noqa: E712
    return [user for user in users if user["id"] not in members]


async def set_member(access: BoardAccess, form: MemberForm) -> None:
    """Add a member or change their role; their open sockets re-check access after commit."""
    access.require_manage()
    if not await User.exists().where((User.id == form.user_id) & (User.active == True)):  # noqa: E712
        raise FormError({"user_id": _("Choose a user.")})
    async with board_write(access.board_id, access.user.id) as unit:
        existing = (
            await BoardMember.select(BoardMember.id)
            .where((BoardMember.board == access.board_id) & (BoardMember.user == form.user_id))
            .first()
        )
        if existing:
            if form.user_id == access.user.id and form.role != BoardRole.manager and not access.user.is_admin:
                raise FormError({"role": _("You cannot take the manager role from yourself.")})
            await BoardMember.update({BoardMember.role: form.role}).where(BoardMember.id == existing["id"])
        else:
            await BoardMember.insert(BoardMember(board=access.board_id, user=form.user_id, role=form.role))
        unit.record(EventKind.member_set, "user", form.user_id, {"role": form.role})
        unit.after_commit(live_effects.access_changed(form.user_id))


async def remove_member(access: BoardAccess, user_id: int) -> None:
    """Remove a member; their open sockets on the board close after commit."""
    access.require_manage()
    if user_id == access.user.id and not access.user.is_admin:
        raise FormError({"__all__": _("You cannot remove yourself from the board.")})
    async with board_write(access.board_id, access.user.id) as unit:
        await BoardMember.delete().where((BoardMember.board == access.board_id) & (BoardMember.user == user_id))
        unit.record(EventKind.member_removed, "user", user_id)
        unit.after_commit(live_effects.access_changed(user_id))


# Group robots ---------------------------------------------------------------------------


async def list_webhooks(access: BoardAccess) -> list[dict[str, Any]]:
    access.require_manage()
    row = await Board.select(Board.webhooks).where(Board.id == access.board_id).output(load_json=True).first()
    return row["webhooks"] or []


class ArchivingInput(Input):
    archive_after_days: Annotated[int, Field(ge=0, le=3650)]

    messages = {
        "archive_after_days": _l("Enter a whole number of days from 0 to 3650 (0: never archive automatically)."),
    }


async def archiving_days(board_id: int) -> int:
    row = await Board.select(Board.archive_after_days).where(Board.id == board_id).first()
    return row["archive_after_days"] if row else 0


async def set_archiving(access: BoardAccess, form: ArchivingInput) -> None:
    """After how many days in a done column the worker archives a card (0: never)."""
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:
        if await archiving_days(access.board_id) == form.archive_after_days:
            return  # nothing changed: the unit records nothing and gives its number back
        await Board.update({Board.archive_after_days: form.archive_after_days}).where(Board.id == access.board_id)
        unit.record(EventKind.board_archiving_set, "board", access.board_id, {"days": form.archive_after_days})


async def add_webhook(access: BoardAccess, kind: str, url: str) -> None:
    from portal.notifications.delivery import DeliveryFailed, RobotRefused, check_robot_url

    access.require_manage()
    errors = {}
    if kind not in WEBHOOK_KINDS:
        errors["webhook_kind"] = _("Choose WeCom or DingTalk.")
    try:
        # Public https addresses only (or hosts an administrator allow-listed): the worker
        # posts from inside the network. Checked again before every post.
        await check_robot_url(url)
    except RobotRefused as error:
        errors["webhook_url"] = str(error)
    except DeliveryFailed:
        errors["webhook_url"] = _("The robot's host name could not be found. Check the address.")
    if errors:
        raise FormError(errors)
    async with board_write(access.board_id, access.user.id) as unit:
        hooks = await list_webhooks(access)
        if any(hook["url"] == url for hook in hooks):
            raise FormError({"webhook_url": _("This robot is already set up.")})
        await Board.update({Board.webhooks: [*hooks, {"kind": kind, "url": url}]}).where(Board.id == access.board_id)
        unit.record(EventKind.webhook_added, "board", access.board_id, {"kind": kind})


async def remove_webhook(access: BoardAccess, index: int) -> None:
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:
        hooks = await list_webhooks(access)
        if 0 <= index < len(hooks):
            del hooks[index]
            await Board.update({Board.webhooks: hooks}).where(Board.id == access.board_id)
            unit.record(EventKind.webhook_removed, "board", access.board_id)


async def board_managers(board_id: int) -> list[int]:
    """Who is told about escalations and extension requests: the board's active managers,
    or, when nobody manages the board, the administrators.

    A liaison or a viewer given manager membership does not manage (``access_for`` makes
    her a member or a viewer), so she is not one of them."""
    rows = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == board_id)
        & (BoardMember.role == BoardRole.manager)
        & (BoardMember.user.active == True)  # noqa: E712
        & BoardMember.user.role.not_in([Role.liaison, Role.viewer])
    )
    managers = [row["user"] for row in rows]
    return managers or await _active_admins()


async def _active_admins() -> list[int]:
    return [
        row["id"]
        for row in await User.select(User.id).where((User.role == Role.admin) & (User.active == True))  # noqa: E712
    ]


async def who_may_see_card(card_id: int, user_ids: list[int | None]) -> list[int]:
    """Of these people, those who may see the card (in the given order, each once): active
    administrators, and the board's active members — liaisons only when the card is routed
    to their department. Whoever is told about a card (its title, a link) must pass this."""
    from portal.boards.access import department_may_see

    ids = list(dict.fromkeys(user_id for user_id in user_ids if user_id is not None))
    card = (
        await Card.select(Card.board, Card.department, Card.assisting_departments)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    if not ids or card is None:
        return []
    users = {
        row["id"]: row
        for row in await User.select(User.id, User.role, User.department).where(
            User.id.is_in(ids) & (User.active == True)  # noqa: E712
        )
    }
    members = {
        row["user"]
        for row in await BoardMember.select(BoardMember.user).where(
            (BoardMember.board == card["board"]) & BoardMember.user.is_in(ids)
        )
    }

    def may_see(user: dict[str, Any]) -> bool:
        if user["role"] == Role.admin:
            return True
        if user["id"] not in members:
            return False
        return user["role"] != Role.liaison or department_may_see(user["department"], card)

    return [user_id for user_id in ids if user_id in users and may_see(users[user_id])]


async def card_managers(card_id: int) -> list[int]:
    """The managers to tell about one card (extension requests, escalations, reminders
    nobody else may receive): the board's managers who may see it, else the administrators."""
    card = await Card.select(Card.board).where(Card.id == card_id).first()
    if card is None:
        return []
    return await who_may_see_card(card_id, await board_managers(card["board"])) or await _active_admins()
