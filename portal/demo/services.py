"""The demo: a city's new-media centre (临江市融媒体中心) with its boards filled.

Idempotent: departments and users are matched by code and user name, boards by name;
a board that already has cards gets none added. Running it twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from portal.accounts import services as accounts
from portal.accounts.tables import Department, User
from portal.boards.services import DEFAULT_COLUMNS
from portal.boards.tables import Board, BoardColumn, BoardKind, BoardMember
from portal.cards.tables import Card, CardStage, Note
from portal.db import write_transaction
from portal.demo import content
from portal.sla import services as sla
from portal.sla.tables import CardClock

DEMO_PASSWORD = "portal-demo"  # noqa: S105  (the documented demo password, listed in the README)

BOARDS = [
    (
        BoardKind.comments,
        "留言评论 · 市政务新媒体矩阵",
        "微信公众号、微博、抖音及市政府网站留言板的评论与私信",
        "publicity",
    ),
    (
        BoardKind.inquiries,
        "问题解答 · 12345 与网络问政",
        "群众咨询、求助与投诉的闭环工单：受理、派单、办理、答复、回访",
        "hotline",
    ),
    (BoardKind.campaigns, "互动活动 · 2026 年度策划", "政策解读问答、知识挑战赛、直播答疑等互动活动", "publicity"),
]


async def seed_demo() -> dict[str, int]:
    """Create what is missing; returns how many of each thing were created."""
    created = {"departments": 0, "users": 0, "boards": 0, "cards": 0}
    departments = await _departments(created)
    users = await _users(departments, created)
    for kind, name, description, owner in BOARDS:
        board_id, is_new = await _board(kind, name, description, departments[owner])
        created["boards"] += is_new
        await _members(board_id, kind, users)
        created["cards"] += await _cards(board_id, kind, users, departments)
    return created


async def _departments(created: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for code, name_zh, name_en in content.DEPARTMENTS:
        row = await Department.select(Department.id).where(Department.code == code).first()
        if row is None:
            rows = await Department.insert(Department(code=code, name_zh=name_zh, name_en=name_en))
            ids[code] = rows[0]["id"]
            created["departments"] += 1
        else:
            ids[code] = row["id"]
    return ids


async def _users(departments: dict[str, int], created: dict[str, int]) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for spec in content.USERS:
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


async def _board(kind: str, name: str, description: str, department_id: int) -> tuple[int, bool]:
    row = await Board.select(Board.id).where((Board.name == name) & (Board.kind == kind)).first()
    if row:
        return row["id"], False
    async with write_transaction():
        rows = await Board.insert(Board(name=name, kind=kind, description=description, department=department_id))
        board_id = rows[0]["id"]
        await BoardColumn.insert(
            *[
                BoardColumn(
                    board=board_id,
                    key=key,
                    name=column_name,
                    meaning=meaning,
                    position=index,
                    wip_limit=(50 if key == "pending" else None),
                )
                for index, (key, column_name, meaning) in enumerate(DEFAULT_COLUMNS[kind])
            ]
        )
    return board_id, True


def _board_role(kind: str, spec: dict[str, Any]) -> str | None:
    """Who works which demo board: the new-media team everywhere, liaisons on inquiries."""
    role = spec["role"]
    if role == "admin":
        return None  # admins see every board without membership
    if role == "manager":
        return "manager"
    if role == "viewer":
        return "viewer"
    if role == "liaison":
        return "member" if kind == BoardKind.inquiries else None
    return "member"


async def _members(board_id: int, kind: str, users: dict[str, dict[str, Any]]) -> None:
    existing = {row["user"] for row in await BoardMember.select(BoardMember.user).where(BoardMember.board == board_id)}
    rows = [
        BoardMember(board=board_id, user=spec["id"], role=role)
        for spec in users.values()
        if spec["id"] not in existing and (role := _board_role(kind, spec))
    ]
    if rows:
        await BoardMember.insert(*rows)


async def _cards(board_id: int, kind: str, users: dict[str, dict[str, Any]], departments: dict[str, int]) -> int:
    if await Card.exists().where(Card.board == board_id):
        return 0
    columns = {
        row["key"]: row["id"]
        for row in await BoardColumn.select(BoardColumn.id, BoardColumn.key).where(BoardColumn.board == board_id)
    }
    now = datetime.now(UTC).replace(microsecond=0)
    specs = {
        BoardKind.comments: content.COMMENTS,
        BoardKind.inquiries: content.INQUIRIES,
        BoardKind.campaigns: content.CAMPAIGNS,
    }[kind]
    positions: dict[str, float] = {}
    cards = []
    for spec in specs:
        positions[spec["column"]] = positions.get(spec["column"], 0.0) + 1024.0
        assignee = users.get(spec.get("assignee") or "", {}).get("id")
        card = Card(
            board=board_id,
            column=columns[spec["column"]],
            position=positions[spec["column"]],
            title=spec["title"],
            priority=spec.get("priority", "normal"),
            labels=spec.get("labels", []),
            assignee=assignee,
        )
        if kind == BoardKind.comments:
            card.body = spec["body"]
            card.platform = spec["platform"]
            card.author_handle = spec["author_handle"]
            card.sentiment = spec["sentiment"]
            card.link = spec.get("link") or ""
            card.received_at = now - timedelta(hours=spec["hours_ago"])
        elif kind == BoardKind.inquiries:
            card.body = spec["body"]
            card.citizen_name = spec["citizen_name"]
            card.citizen_phone = spec["citizen_phone"]
            card.category = spec["category"]
            card.department = departments[spec["department"]]
            card.assisting_departments = [departments[code] for code in spec.get("assisting", [])]
            card.platform = spec.get("channel")
            card.answer = spec.get("answer") or ""
            card.received_at = now - timedelta(hours=spec["hours_ago"])
        else:
            card.body = spec["description"]
            card.platforms = spec["platforms"]
            card.campaign_format = spec["format"]
            card.starts_at = now + timedelta(days=spec["start_days"])
            card.ends_at = now + timedelta(days=spec["end_days"])
            card.goals = spec["goals"]
            card.reward_rules = spec.get("reward_rules", "")
        cards.append(card)
    # Deadlines as the portal would have set them when each message arrived.
    meta = {
        row["id"]: row
        for row in await BoardColumn.select(BoardColumn.id, BoardColumn.key, BoardColumn.meaning).where(
            BoardColumn.board == board_id
        )
    }
    for card in cards:
        column = meta[card.column]
        deadline = await sla.deadline_for_card(
            kind,
            column["key"],
            column["meaning"],
            card.priority,
            card.category,
            card.received_at or now,
            campaign_end=card.ends_at,
        )
        card.due_stage, card.stage_started_at, card.due_at = deadline.stage, deadline.started_at, deadline.due_at
        card.due_mode = deadline.mode
        # The card has been in its column since it arrived (or, for campaigns, since now).
        card.column_entered_at = card.received_at or now
    async with write_transaction():
        rows = await Card.insert(*cards)
        card_ids = [row["id"] for row in rows]
        # Their stage history and running clocks, as if the portal had seen them arrive.
        await CardStage.insert(
            *[
                CardStage(
                    card=card_id,
                    board=board_id,
                    column=card.column,
                    stage=meta[card.column]["key"],
                    clock=card.due_stage,
                    entered_at=card.column_entered_at,
                )
                for card_id, card in zip(card_ids, cards, strict=True)
            ]
        )
        clock_rows = [
            CardClock(
                card_id=card_id,
                stage=card.due_stage,
                started_at=card.stage_started_at,
                due_at=card.due_at,
                mode=card.due_mode,
            )
            for card_id, card in zip(card_ids, cards, strict=True)
            if card.due_stage and card.due_stage != "campaign"
        ]
        if clock_rows:
            await CardClock.insert(*clock_rows)
        note_kind = {BoardKind.comments: "comment", BoardKind.inquiries: "inquiry", BoardKind.campaigns: "campaign"}
        notes = [
            Note(card=card_ids[note["index"]], author=users[note["author"]]["id"], body=note["body"])
            for note in content.NOTES
            if note["kind"] == note_kind[kind] and note["index"] < len(card_ids)
        ]
        if notes:
            await Note.insert(*notes)
    return len(cards)
