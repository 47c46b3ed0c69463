"""Which cards a person's figures cover, across boards: the boards she is a member of
(administrators: every open board), and on each only the cards she may see there — the board
access rules of ``portal.boards.access`` (a liaison: the cards routed to her department, as
responsible or assisting). The figures count in SQL, so the rule is also given as a condition
on the ``card`` table: the same rule, written once here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.boards.access import BoardAccess, access_for, routed_to
from portal.boards.tables import Board, BoardMember
from portal.core.identity import CurrentUser
from portal.db import is_sqlite

if TYPE_CHECKING:
    from portal.stats.period import Filters

NOTHING = "1 = 0"


@dataclass(frozen=True)
class Scope:
    user: CurrentUser
    accesses: dict[int, BoardAccess]  # board id -> this person's access to it
    boards: dict[int, dict]  # board id -> {"id", "name", "kind"}, in the boards list's order

    def board_ids(self, filters: Filters | None = None, kinds: tuple[str, ...] | None = None) -> list[int]:
        """The boards the figures read: narrowed to the filters' board and kind, and to ``kinds``."""
        found = []
        for board_id, board in self.boards.items():
            if filters is not None and filters.board is not None and board_id != filters.board:
                continue
            if filters is not None and filters.kind is not None and board["kind"] != filters.kind:
                continue
            if kinds is not None and board["kind"] not in kinds:
                continue
            found.append(board_id)
        return found

    def cards(self, alias: str, filters: Filters | None = None, kinds: tuple[str, ...] | None = None) -> str:
        """A SQL condition on ``card AS alias``: the cards of those boards this person may see,
        not taken off the board unfinished (closed work archived later still counts), of the
        filters' department. Ids are whole numbers from the database and
        the filters (checked), written into the SQL as such."""
        a = alias
        by_rule: dict[int | None, list[int]] = {}
        for board_id in self.board_ids(filters, kinds):
            by_rule.setdefault(self.accesses[board_id].department_only, []).append(board_id)
        parts = []
        for department, board_ids in by_rule.items():
            # Never through the board's index: a person's boards hold most cards; the figures'
            # statements narrow by time first.
            boards = f"{unindexed(a + '.board')} IN ({', '.join(str(int(b)) for b in board_ids)})"
            if department is None:
                parts.append(boards)
            elif department == -1:
                continue  # a liaison without a department: nothing is routed to her
            else:
                parts.append(f"({boards} AND {routed_to(a, int(department))})")
        if not parts:
            return NOTHING
        # Closed work archived off the board still counts; a card taken off unfinished does not.
        condition = f"({' OR '.join(parts)}) AND ({a}.archived = {false()} OR {a}.archived_from = 'done')"
        if filters is not None and filters.department is not None:
            condition += f" AND {a}.department = {int(filters.department)}"
        return condition


def unindexed(expression: str) -> str:
    """The expression as SQLite's planner will not look it up in an index (``+x``); PostgreSQL
    weighs its indexes by their statistics and is given it as it is."""
    return f"+{expression}" if is_sqlite() else expression


def false() -> str:
    return "0" if is_sqlite() else "FALSE"


def true() -> str:
    return "1" if is_sqlite() else "TRUE"


async def scope_for(user: CurrentUser) -> Scope:
    """Every open board this person may see, with her access to each."""
    query = Board.select(Board.id, Board.name, Board.kind).where(Board.archived == False)  # noqa: E712
    if not user.is_admin:
        query = query.where(Board.id.is_in(BoardMember.select(BoardMember.board).where(BoardMember.user == user.id)))
    rows = await query.order_by(Board.id)
    accesses = {row["id"]: await access_for(user, row["id"]) for row in rows}
    return Scope(user, accesses, {row["id"]: row for row in rows})
