"""Small builders for test data: a board of one kind with the people a test needs, and
cards on it — instead of seeding the whole demo city. Everything goes through the same
services the portal uses (or, for set-up that has no service, the tables directly).

A world with several boards: build the first with ``board()``, then ``world.board(kind)``
for each further one; the people of the first are reused (nobody is created twice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from portal.accounts.services import create_user_unchecked, get_active_user
from portal.accounts.tables import Department, User
from portal.boards.access import access_for
from portal.boards.tables import Board, BoardColumn, BoardMember
from portal.cards import services as cards
from portal.cards.kinds import kind_of
from portal.events.unit import board_write

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    """A board and its people: ``users`` by user name, ``columns`` by column key."""

    board_id: int
    kind: str
    columns: dict[str, int]
    users: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    people: dict[str, tuple] = field(default_factory=dict, repr=False)

    async def access(self, username: str):
        return await access_for(await get_active_user(self.users[username]), self.board_id)

    async def board(self, kind: str, people: dict[str, tuple] | None = None, **options: Any) -> World:
        """Another board in the same world: ``people`` as for ``board()`` (by default this
        world's people, with the same board roles); existing users are reused."""
        return await board(kind, people if people is not None else self.people, **options)

    async def card(self, username: str = "member", column: str | None = None, **fields: Any) -> int:
        """A card made by ``username`` through the card service (title defaults to "卡片").
        A kind whose new cards start in its first column (an inquiry starts at 待受理) gets
        the card there, then moved to ``column`` by the write path's own move (stage
        history and clocks as for any move, the kind's rule for drags not applied): a case
        that reached that state."""
        access = await self.access(username)
        column_id = self.columns[column or next(iter(self.columns))]
        first = self.columns[next(iter(self.columns))]
        if kind_of(self.kind).on_create is None or column_id == first:
            return (await cards.create_card(access, column_id, {"title": "卡片", **fields})).card_id
        card_id = (await cards.create_card(access, first, {"title": "卡片", **fields})).card_id
        async with board_write(self.board_id, access.user.id) as unit:
            card = await cards.load_for_write(access, card_id)
            target = await cards.column_by_key(access, column)
            await cards.move_within(unit, access, card, target)
            cards.after_card_write(unit, access, card)
        return card_id


async def department(code: str, name_zh: str | None = None) -> int:
    row = await Department.select(Department.id).where(Department.code == code).first()
    if row:
        return row["id"]
    rows = await Department.insert(Department(code=code, name_zh=name_zh or code, name_en=code.title()))
    return rows[0]["id"]


async def user(username: str, role: str = "member", department_code: str | None = "publicity", name: str = "") -> int:
    """A user whose password is PASSWORD, shown as ``name`` (default: the user name); a user
    name that already exists is that user, as it is."""
    row = await User.select(User.id).where(User.username == username).first()
    if row:
        return row["id"]
    department_id = await department(department_code) if department_code else None
    return await create_user_unchecked(username, name or username, PASSWORD, role, department_id)


async def board(
    kind: str = "comments",
    people: dict[str, tuple] | None = None,
    name: str = "",
) -> World:
    """A board of ``kind`` with its default columns, named ``name`` (default "测试看板 <kind>").
    ``people`` maps a user name to (global role, department code, board role or "" for no
    membership[, display name]); the default is one person per role: admin, manager, member,
    viewer, a health liaison and an outsider."""
    people = people or {
        "admin": ("admin", None, ""),
        "manager": ("manager", "publicity", "manager"),
        "member": ("member", "publicity", "member"),
        "viewer": ("viewer", "publicity", "viewer"),
        "liaison": ("liaison", "health", "member"),
        "outsider": ("member", "health", ""),
    }
    rows = await Board.insert(Board(name=name or f"测试看板 {kind}", kind=kind, created_at=datetime.now(UTC)))
    board_id = rows[0]["id"]
    columns = {}
    for position, column in enumerate(kind_of(kind).columns):
        inserted = await BoardColumn.insert(
            BoardColumn(board=board_id, key=column.key, name=column.name, meaning=column.meaning, position=position)
        )
        columns[column.key] = inserted[0]["id"]
    world = World(board_id, kind, columns, people=people)
    for username, (role, department_code, board_role, *display_name) in people.items():
        world.users[username] = await user(username, role, department_code, *display_name)
        if department_code:
            world.departments[department_code] = await department(department_code)
        if board_role:
            await BoardMember.insert(BoardMember(board=board_id, user=world.users[username], role=board_role))
    return world
