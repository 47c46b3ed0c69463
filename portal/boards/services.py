"""Boards: who may see which board, and what a board shows.

Visibility rule: administrators see every board; everyone else sees the boards they
are a member of. Asking for a board one may not see answers NotFound, the same as a
board that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Count

from portal.accounts.services import CurrentUser, NotFound
from portal.boards.tables import Board, BoardColumn, BoardKind, BoardMember, Card, ColumnMeaning

# Default columns per board kind: (key, Chinese name used as the msgid's translation, meaning).
DEFAULT_COLUMNS: dict[str, list[tuple[str, str, ColumnMeaning]]] = {
    BoardKind.comments: [
        ("new", "新留言", ColumnMeaning.new),
        ("pending", "待处理", ColumnMeaning.working),
        ("replied", "已回复", ColumnMeaning.waiting),
        ("reported", "已上报", ColumnMeaning.waiting),
        ("closed", "已关闭", ColumnMeaning.done),
    ],
    BoardKind.inquiries: [
        ("pending_accept", "待受理", ColumnMeaning.new),
        ("dispatched", "已派单", ColumnMeaning.waiting),
        ("handling", "办理中", ColumnMeaning.working),
        ("review", "待审核", ColumnMeaning.waiting),
        ("answered", "已答复", ColumnMeaning.waiting),
        ("follow_up", "回访", ColumnMeaning.working),
        ("closed", "办结", ColumnMeaning.done),
    ],
    BoardKind.campaigns: [
        ("planning", "策划", ColumnMeaning.new),
        ("approval", "待审批", ColumnMeaning.waiting),
        ("running", "执行中", ColumnMeaning.working),
        ("review", "复盘", ColumnMeaning.working),
        ("archived", "归档", ColumnMeaning.done),
    ],
}


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


async def get_board(user: CurrentUser, board_id: int) -> dict[str, Any]:
    board = (
        await Board.select(Board.id, Board.name, Board.kind, Board.description)
        .where(
            (Board.id == board_id) & (Board.archived == False)  # noqa: E712
        )
        .first()
    )
    if board is None:
        raise NotFound
    ids = await visible_board_ids(user)
    if ids is not None and board_id not in ids:
        raise NotFound
    return board


async def board_view(user: CurrentUser, board_id: int) -> dict[str, Any]:
    """The board with its columns and cards, in a constant number of statements."""
    board = await get_board(user, board_id)
    columns = (
        await BoardColumn.select(
            BoardColumn.id, BoardColumn.key, BoardColumn.name, BoardColumn.meaning, BoardColumn.wip_limit
        )
        .where((BoardColumn.board == board_id) & (BoardColumn.archived == False))
        .order_by(  # noqa: E712
            BoardColumn.position
        )
    )
    cards = (
        await Card.select(
            Card.id,
            Card.column,
            Card.title,
            Card.priority,
            Card.labels,
            Card.platform,
            Card.version,
            Card.received_at,
            Card.assignee.id.as_alias("assignee_id"),
            Card.assignee.display_name.as_alias("assignee_name"),
        )
        .where((Card.board == board_id) & (Card.archived == False))
        .order_by(Card.position)
        .output(load_json=True)
    )
    by_column: dict[int, list[dict[str, Any]]] = {column["id"]: [] for column in columns}
    for card in cards:
        by_column.setdefault(card["column"], []).append(card)
    for column in columns:
        column["cards"] = by_column[column["id"]]
    board["columns"] = columns
    return board


async def my_cards(user: CurrentUser) -> list[dict[str, Any]]:
    """The user's open cards across the boards they may see, most urgent first."""
    query = Card.select(
        Card.id,
        Card.title,
        Card.priority,
        Card.platform,
        Card.received_at,
        Card.version,
        Card.labels,
        Card.board.id.as_alias("board_id"),
        Card.board.name.as_alias("board_name"),
        Card.board.kind.as_alias("kind"),
        Card.column.name.as_alias("column_name"),
        Card.column.meaning.as_alias("meaning"),
    ).where(
        (Card.assignee == user.id) & (Card.archived == False) & (Card.column.meaning != ColumnMeaning.done)  # noqa: E712
    )
    ids = await visible_board_ids(user)
    if ids is not None:
        if not ids:
            return []
        query = query.where(Card.board.is_in(ids))
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    return sorted(await query.output(load_json=True), key=lambda card: (rank.get(card["priority"], 9), card["id"]))
