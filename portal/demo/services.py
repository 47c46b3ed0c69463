"""The demo: a city's new-media centre (临江市融媒体中心) with its boards filled.

The content is data: ``portal/demo/city.json`` (departments and people) and, per card
kind, the ``demo.json`` of the kind's package (its board and cards). This small generator
reads them, validates every card with the kind's own input model, and writes boards,
cards, their kind's details, notes, stage history and running clocks as if the portal had
seen each message arrive. Times are relative (``received_hours_ago``, ``days_from_now``),
so the demo always looks like this week's work.

Idempotent: departments and users are matched by code and user name, boards by name;
a board that already has cards gets none added. Running it twice changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from portal.accounts import services as accounts
from portal.accounts.tables import Department, User
from portal.boards.tables import Board, BoardColumn, BoardMember
from portal.cards.kinds import CardKind, all_kinds
from portal.cards.tables import Card, CardStage, Note
from portal.db import write_transaction
from portal.demo import history
from portal.inquiries import knowledge
from portal.sla import clocks
from portal.sla import services as sla

DEMO_PASSWORD = "portal-demo"  # noqa: S105  (the documented demo password, listed in the README)
POSITION_STEP = 1024.0


def city() -> dict[str, Any]:
    """Departments and people of the demo city."""
    return json.loads(resources.files("portal.demo").joinpath("city.json").read_text(encoding="utf-8"))


def kind_content(kind: CardKind) -> dict[str, Any] | None:
    """A kind's demo board and cards (None: the kind has no demo)."""
    if kind.demo_file is None:
        return None
    package = kind.input_model.__module__.rsplit(".", 1)[0]
    return json.loads(resources.files(package).joinpath(kind.demo_file).read_text(encoding="utf-8"))


async def seed_demo() -> dict[str, int]:
    """Create what is missing; returns how many of each thing were created."""
    created = {"departments": 0, "users": 0, "boards": 0, "cards": 0}
    content = city()
    departments = await _departments(content["departments"], created)
    users = await _users(content["users"], departments, created)
    for kind in all_kinds():
        demo = kind_content(kind)
        if demo is None:
            continue
        board_id, is_new = await _board(kind, demo["board"], departments)
        created["boards"] += is_new
        await _members(board_id, demo["board"], users)
        created["cards"] += await _cards(board_id, kind, demo["cards"], users, departments)
    # The knowledge base's approved entries, published on /faq (portal/inquiries/faq_demo.json).
    await knowledge.seed_demo_entries(departments)
    # The city's own accounts and 90 days of their figures (粉丝, 阅读, 互动) for /stats/accounts.
    from portal.stats.accounts import seed_accounts

    created["account_days"] = await seed_accounts(datetime.now(UTC))
    return created


async def _departments(specs: list[dict[str, str]], created: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for spec in specs:
        row = await Department.select(Department.id).where(Department.code == spec["code"]).first()
        if row is None:
            rows = await Department.insert(
                Department(code=spec["code"], name_zh=spec["name_zh"], name_en=spec["name_en"])
            )
            ids[spec["code"]] = rows[0]["id"]
            created["departments"] += 1
        else:
            ids[spec["code"]] = row["id"]
    return ids


async def _users(
    specs: list[dict[str, Any]], departments: dict[str, int], created: dict[str, int]
) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for spec in specs:
        row = await User.select(User.id, User.role).where(User.username == spec["username"]).first()
        if row is None:
            user_id = await accounts.create_user_unchecked(
                spec["username"],
                spec["display_name"],
                DEMO_PASSWORD,
                spec["role"],
                departments.get(spec["department"]) if spec["department"] else None,
                spec.get("title", ""),
            )
            created["users"] += 1
            row = {"id": user_id, "role": spec["role"]}
        users[spec["username"]] = {**spec, "id": row["id"]}
    return users


async def _board(kind: CardKind, spec: dict[str, Any], departments: dict[str, int]) -> tuple[int, bool]:
    row = await Board.select(Board.id).where((Board.name == spec["name"]) & (Board.kind == kind.name)).first()
    if row:
        return row["id"], False
    limits = spec.get("wip_limits") or {}
    async with write_transaction():
        rows = await Board.insert(
            Board(
                name=spec["name"],
                kind=kind.name,
                description=spec.get("description", ""),
                department=departments[spec["department"]],
            )
        )
        board_id = rows[0]["id"]
        await BoardColumn.insert(
            *[
                BoardColumn(
                    board=board_id,
                    key=column.key,
                    name=column.name,
                    meaning=column.meaning,
                    position=index,
                    wip_limit=limits.get(column.key),
                )
                for index, column in enumerate(kind.columns)
            ]
        )
    return board_id, True


def _board_role(board: dict[str, Any], user: dict[str, Any]) -> str | None:
    """Who works which demo board: the new-media team everywhere; department liaisons only
    where the board says (``liaisons``: their board role there)."""
    role = user["role"]
    if role == "admin":
        return None  # admins see every board without membership
    if role in ("manager", "viewer"):
        return role
    if role == "liaison":
        return board.get("liaisons")
    return "member"


async def _members(board_id: int, board: dict[str, Any], users: dict[str, dict[str, Any]]) -> None:
    existing = {row["user"] for row in await BoardMember.select(BoardMember.user).where(BoardMember.board == board_id)}
    rows = [
        BoardMember(board=board_id, user=user["id"], role=role)
        for user in users.values()
        if user["id"] not in existing and (role := _board_role(board, user))
    ]
    if rows:
        await BoardMember.insert(*rows)


def _card_fields(kind: CardKind, spec: dict[str, Any], departments: dict[str, int], now: datetime) -> dict[str, Any]:
    """One demo card's fields, checked by the kind's own input model like a posted form."""
    values = dict(spec["fields"])
    if "received_hours_ago" in spec:
        values["received_at"] = now - timedelta(hours=spec["received_hours_ago"])
    for name, days in (spec.get("days_from_now") or {}).items():
        values[name] = now + timedelta(days=days)
    if "department" in spec:
        values["department"] = departments[spec["department"]]
        values["assisting_departments"] = [departments[code] for code in spec.get("assisting", [])]
    return kind.input_model.model_validate(values).to_fields(creating=True)


async def _cards(
    board_id: int,
    kind: CardKind,
    specs: list[dict[str, Any]],
    users: dict[str, dict[str, Any]],
    departments: dict[str, int],
) -> int:
    if await Card.exists().where(Card.board == board_id):
        return 0
    columns = {
        row["key"]: row
        for row in await BoardColumn.select(BoardColumn.id, BoardColumn.key, BoardColumn.meaning).where(
            BoardColumn.board == board_id
        )
    }
    now = datetime.now(UTC).replace(microsecond=0)
    calendar = await sla.get_calendar()
    policy_rows = await sla.list_policies()
    positions: dict[str, float] = {}
    async with write_transaction():
        for index, spec in enumerate(specs):
            column = columns[spec["column"]]
            fields = _card_fields(kind, spec, departments, now)
            common, detail = kind.split(fields)
            # The card arrived when its message did and has been in its column since.
            arrived = common.pop("received_at", None) or now
            positions[spec["column"]] = positions.get(spec["column"], 0.0) + POSITION_STEP
            assignee = users.get(spec.get("assignee") or "", {}).get("id")
            common["assignee"] = assignee
            rows = await Card.insert(
                Card(
                    board=board_id,
                    column=column["id"],
                    position=positions[spec["column"]],
                    received_at=arrived,
                    column_entered_at=arrived,
                    created_at=arrived,
                    updated_at=arrived,
                    **common,
                )
            )
            card_id = rows[0]["id"]
            await kind.insert_detail(card_id, detail)
            if kind.demo_card is not None:
                await kind.demo_card(card_id, board_id, column, fields, users, departments, arrived, now)
            # The earlier columns, clocks and reply that brought it to its column (portal/demo/history.py).
            entered = await history.seed_path(
                kind,
                card_id,
                board_id,
                column,
                columns,
                fields,
                assignee,
                arrived,
                now,
                index=index,
                calendar=calendar,
                policy_rows=policy_rows,
                department_code=spec.get("department"),
            )
            # Its clock as the portal would have started it on arrival.
            due = await clocks.on_enter(
                kind.name,
                column,
                {**fields, "id": card_id, "received_at": arrived, "due_stage": None},
                entered,
                calendar=calendar,
                policy_rows=policy_rows,
                round_number=1,
            )
            if due:
                await Card.update({getattr(Card, name): value for name, value in due.items()}).where(Card.id == card_id)
            await CardStage.insert(
                CardStage(
                    card=card_id,
                    board=board_id,
                    column=column["id"],
                    stage=column["key"],
                    clock=due.get("due_stage"),
                    entered_at=entered,
                    entered_by=assignee,
                )
            )
            notes = [
                Note(card=card_id, author=users[note["author"]]["id"], body=note["body"])
                for note in spec.get("notes", [])
            ]
            if notes:
                await Note.insert(*notes)
    return len(specs)
