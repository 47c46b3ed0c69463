"""The search statement, once per engine, behind ``portal.search.services.search``.

Both read the index (``search_doc``, whose words are jieba's, separated by spaces) joined to
the card itself: what a result says about the card (its board, column, archived or not, its
department) and who may see it are read from the card when searching, never from a copy.

- SQLite: the FTS5 table ``search_fts`` (external content over ``search_doc``, kept in step by
  triggers) matches every word (``"地铁" "停运"``), ranked by bm25 with the title's words
  weighing ten times the rest.
- PostgreSQL: ``search_doc.tsv`` (generated: the title's words weighted A, the rest B; 'simple'
  configuration) with its GIN index answers ``@@ plainto_tsquery('simple', '地铁 停运')``,
  ranked by ts_rank.

Values are bound as parameters; ids (checked whole numbers) are written into the SQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from portal.boards.access import routed_to
from portal.cards.tables import Card
from portal.db import is_sqlite
from portal.stats.scope import false, true

if TYPE_CHECKING:
    from portal.search.services import SearchFilters
    from portal.stats.scope import Scope

TITLE_WEIGHT = 10.0  # SQLite's bm25: a word in the title counts this many times one in the text


class Sql:
    """Parameters of a statement built in pieces, numbered in the order they appear."""

    _MARK = re.compile(r"\x00(\d+)\x00")

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    async def rows(self, text: str) -> list[dict[str, Any]]:
        args: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            args.append(self.values[int(match.group(1))])
            return "{}"

        return await Card.raw(self._MARK.sub(placeholder, text), *args)


def visible_condition(scope: Scope, a: str, filters: SearchFilters) -> str | None:
    """SQL on ``card AS a``: the cards of the boards (narrowed to the filters' board and kind)
    this person may see — a liaison only those routed to her department. None: nothing."""
    by_rule: dict[int | None, list[int]] = {}
    for board_id, board in scope.boards.items():
        if filters.board is not None and board_id != filters.board:
            continue
        if filters.kind is not None and board["kind"] != filters.kind:
            continue
        by_rule.setdefault(scope.accesses[board_id].department_only, []).append(board_id)
    parts = []
    for department, board_ids in by_rule.items():
        boards = f"{a}.board IN ({', '.join(str(int(b)) for b in board_ids)})"
        if department is None:
            parts.append(boards)
        elif department == -1:
            continue  # a liaison without a department: nothing is routed to her
        else:
            parts.append(f"({boards} AND {routed_to(a, int(department))})")
    if not parts:
        return None
    return "(" + " OR ".join(parts) + ")"


def filter_conditions(filters: SearchFilters, q: Sql) -> list[str]:
    where = []
    received = "COALESCE(c.received_at, c.created_at)"
    if filters.start is not None:
        where.append(f"{received} >= {q(filters.start)}")
    if filters.end is not None:
        where.append(f"{received} < {q(filters.end)}")
    if filters.platform is not None:
        where.append(f"d.platform = {q(filters.platform)}")
    if filters.category is not None:
        where.append(f"d.category = {q(filters.category)}")
    if filters.department is not None:
        where.append(f"c.department = {int(filters.department)}")
    if filters.state == "archived":
        where.append(f"c.archived = {true()}")
    elif filters.state == "closed":
        where.append(f"c.archived = {false()} AND col.meaning = 'done'")
    elif filters.state == "open":
        where.append(f"c.archived = {false()} AND col.meaning <> 'done'")
    return where


COLUMNS = """c.id, c.board, c.archived, c.received_at, c.created_at, c.department,
    col.name AS column_name, col.meaning, d.title AS doc_title, d.text AS doc_text, d.platform, d.category"""
JOINS = """JOIN card c ON c.id = d.card
    JOIN board_column col ON col.id = c."column\""""


class _Search:
    """One page in two statements: the matching cards' ids, ranks and how many match in all
    (one pass: ``count(*) OVER ()``, before LIMIT), sorted; then what the page shows of those
    few — so the sort carries ids and numbers, not every match's text."""

    def source(self, terms: list[str], q: Sql) -> tuple[str, str, str, str]:
        """(FROM … up to the joins, the match condition, the rank expression, its ORDER BY)."""
        raise NotImplementedError

    def postprocess(self, rank: float) -> float:
        return rank

    async def run(
        self, terms: list[str], visible: str, filters: SearchFilters, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        q = Sql()
        source, match, rank, by_rank = self.source(terms, q)
        where = " AND ".join([match, visible, *filter_conditions(filters, q)])
        order = "received DESC, card DESC" if filters.sort == "newest" else f"{by_rank}, card DESC"
        # The count over the matches in the outer query (SQLite allows bm25 only in the query
        # that matches, not beside a window function).
        page = await q.rows(
            "SELECT doc, rank, count(*) OVER () AS total FROM ("  # noqa: S608
            f"SELECT d.id AS doc, {rank} AS rank, c.id AS card, COALESCE(c.received_at, c.created_at) AS received"
            f" {source} {JOINS} WHERE {where}) AS hits ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        if not page:
            if offset == 0:
                return 0, []
            # Past the last page: how many there are, for the pager.
            count = Sql()
            source, match, _rank, _order = self.source(terms, count)
            where = " AND ".join([match, visible, *filter_conditions(filters, count)])
            total = await count.rows(f"SELECT count(*) AS n {source} {JOINS} WHERE {where}")  # noqa: S608
            return total[0]["n"], []
        docs = ", ".join(str(int(row["doc"])) for row in page)
        shown = {
            row["doc"]: row
            for row in await Card.raw(
                f"SELECT d.id AS doc, {COLUMNS} FROM search_doc d {JOINS} WHERE d.id IN ({docs})"  # noqa: S608
            )
        }
        rows = []
        for row in page:
            if row["doc"] in shown:
                rows.append({**shown[row["doc"]], "rank": self.postprocess(float(row["rank"] or 0.0))})
        return page[0]["total"], rows


class SqliteSearch(_Search):
    @staticmethod
    def match(terms: list[str]) -> str:
        """Every word, each as an FTS5 string (a word jieba kept with inner punctuation, like
        covid-19, is a phrase of its parts there, as it was indexed)."""
        return " ".join('"' + term.replace('"', '""') + '"' for term in terms)

    def source(self, terms: list[str], q: Sql) -> tuple[str, str, str, str]:
        return (
            "FROM search_fts f JOIN search_doc d ON d.id = f.rowid",
            f"search_fts MATCH {q(self.match(terms))}",
            f"bm25(search_fts, {TITLE_WEIGHT}, 1.0)",
            "rank",  # bm25: lower is better
        )

    def postprocess(self, rank: float) -> float:
        return -rank  # shown as higher is better


class PostgresSearch(_Search):
    def source(self, terms: list[str], q: Sql) -> tuple[str, str, str, str]:
        return (
            f"FROM search_doc d CROSS JOIN plainto_tsquery('simple', {q(' '.join(terms))}) AS query",
            "d.tsv @@ query",
            "ts_rank(d.tsv, query, 1)",
            "rank DESC",
        )


def current() -> SqliteSearch | PostgresSearch:
    return SqliteSearch() if is_sqlite() else PostgresSearch()
