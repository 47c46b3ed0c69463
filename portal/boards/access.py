"""What one user may do on one board: the object-level permission check every service uses.

- administrators: everything on every board;
- board managers: everything on their board, including columns and members;
- board members: read and work the cards;
- board viewers (and users whose global role is viewer): read only;
- department liaisons: only the cards routed to their department (responsible or
  assisting), which they may work; the rest of the board does not exist for them.
Anything a user may not see answers NotFound, exactly like something that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.services import CurrentUser, NotFound, PermissionDenied
from portal.accounts.tables import Role
from portal.boards.tables import Board, BoardRole
from portal.core.forms import valid_id


def department_may_see(department: int | None, card: dict[str, Any]) -> bool:
    """A liaison's rule: the card is routed to her department, as responsible or assisting."""
    if department is None:
        return False
    return card.get("department") == department or department in (card.get("assisting_departments") or [])


def routed_to(alias: str, department: int) -> str:
    """The same rule as SQL on ``card AS alias`` (-1: a liaison without a department sees
    nothing). ``department`` is a whole number from the database, written in as such."""
    from portal.db import is_sqlite

    department = int(department)
    if department == -1:
        return "1 = 0"
    if is_sqlite():
        assisting = f"EXISTS (SELECT 1 FROM json_each({alias}.assisting_departments) AS a WHERE a.value = {department})"  # noqa: S608
    else:
        assisting = f"{alias}.assisting_departments @> '[{department}]'::jsonb"
    return f"({alias}.department = {department} OR {assisting})"


@dataclass(frozen=True)
class BoardAccess:
    user: CurrentUser
    board_id: int
    board_kind: str
    board_role: str  # manager, member or viewer (admins count as manager)
    department_only: int | None  # liaisons: the only department whose cards they see

    @property
    def can_edit(self) -> bool:
        return self.board_role in (BoardRole.manager, BoardRole.member)

    @property
    def can_manage(self) -> bool:
        return self.board_role == BoardRole.manager

    def require_edit(self) -> None:
        if not self.can_edit:
            raise PermissionDenied

    def require_manage(self) -> None:
        if not self.can_manage:
            raise PermissionDenied

    def can_see_card(self, card: dict[str, Any]) -> bool:
        if self.department_only is None:
            return True
        return department_may_see(self.department_only, card)

    def require_card(self, card: dict[str, Any] | None) -> dict[str, Any]:
        if card is None or card.get("board") != self.board_id or not self.can_see_card(card):
            raise NotFound
        return card


# The board and the user's membership in one statement (every board request starts here),
# written once for both engines: identifiers quoted ("user" is a reserved word in
# PostgreSQL), booleans as parameters. Parameters: the user, the board, False.
_BOARD_AND_ROLE = (
    'SELECT "board"."id" AS "id", "board"."name" AS "name", "board"."kind" AS "kind",'
    ' "board"."description" AS "description", "board"."seq" AS "seq",'
    ' (SELECT "board_member"."role" FROM "board_member"'
    ' WHERE "board_member"."board" = "board"."id" AND "board_member"."user" = {}) AS "member_role"'
)
BOARD_AND_ROLE_SQL = _BOARD_AND_ROLE + ' FROM "board" WHERE "board"."id" = {} AND "board"."archived" = {}'
# … and the board's open columns, in order (the board page): a row per column (LEFT JOIN: a
# board without any still answers, with one row and no column). Parameters: the user,
# False, the board, False.
BOARD_ROLE_AND_COLUMNS_SQL = (
    _BOARD_AND_ROLE + ', "board_column"."id" AS "column_id", "board_column"."key" AS "column_key",'
    ' "board_column"."name" AS "column_name", "board_column"."meaning" AS "column_meaning",'
    ' "board_column"."wip_limit" AS "column_wip_limit", "board_column"."position" AS "column_position"'
    ' FROM "board" LEFT JOIN "board_column" ON "board_column"."board" = "board"."id"'
    ' AND "board_column"."archived" = {}'
    ' WHERE "board"."id" = {} AND "board"."archived" = {}'
    ' ORDER BY "board_column"."position"'
)
_BOARD_FIELDS = ("id", "name", "kind", "description", "seq")
COLUMN_FIELDS = ("id", "key", "name", "meaning", "wip_limit", "position")


async def access_for(user: CurrentUser, board_id: int) -> BoardAccess:
    """This user's access to the board: NotFound for a board that does not exist, is
    archived, or that they may not see. One statement (the board and the membership)."""
    return (await _board_row(user, board_id, BOARD_AND_ROLE_SQL, (user.id, board_id, False)))[0]


async def board_access_and_columns(
    user: CurrentUser, board_id: int
) -> tuple[BoardAccess, dict[str, Any], list[dict[str, Any]]]:
    """The board page's start, in one statement: the user's access (as ``access_for``), the
    board's row (id, name, kind, description, seq) and its open columns in order."""
    access, rows = await _board_row(user, board_id, BOARD_ROLE_AND_COLUMNS_SQL, (user.id, False, board_id, False))
    board = {name: rows[0][name] for name in _BOARD_FIELDS}
    columns = [{name: row[f"column_{name}"] for name in COLUMN_FIELDS} for row in rows if row["column_id"] is not None]
    return access, board, columns


async def _board_row(
    user: CurrentUser, board_id: int, sql: str, args: tuple[Any, ...]
) -> tuple[BoardAccess, list[dict[str, Any]]]:
    if not valid_id(board_id):
        raise NotFound
    rows = await Board.raw(sql, *args)
    if not rows:
        raise NotFound
    return _decide(user, board_id, rows[0]["kind"], rows[0]["member_role"]), rows


def _decide(user: CurrentUser, board_id: int, board_kind: str, membership: str | None) -> BoardAccess:
    if user.is_admin:
        return BoardAccess(user, board_id, board_kind, BoardRole.manager, None)
    if membership is None:
        raise NotFound
    role = membership
    if user.role == Role.viewer:
        role = BoardRole.viewer  # leaders and auditors watch; they never write
    department_only = None
    if user.role == Role.liaison:
        # A liaison without a department has nothing routed to them: they see no cards
        # and may not write.
        department_only = user.department_id if user.department_id is not None else -1
        role = role if role == BoardRole.viewer or user.department_id is not None else BoardRole.viewer
        role = BoardRole.member if role == BoardRole.manager else role
    return BoardAccess(user, board_id, board_kind, role, department_only)


async def system_access(board_id: int) -> BoardAccess:
    """The portal's own access to a board (intake, the worker's triage): what an
    administrator may do, recorded with no person as the actor."""
    from portal.core.identity import SYSTEM

    return await access_for(SYSTEM, board_id)
