"""A small world for the card hardening tests (no tests here; the others import it).

Three departments; a manager (宣传部), a member (宣传部), the health liaison 王芳 and the
housing liaison 郑强, all members of one inquiries board and one campaigns board; an
inquiry routed to housing with health assisting, carrying a citizen's phone number.
"""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from portal.accounts.services import create_user_unchecked, get_active_user
from portal.accounts.tables import Department
from portal.app import create_app
from portal.boards import services as boards
from portal.boards.access import access_for
from portal.boards.forms import BoardForm
from portal.boards.tables import BoardColumn, BoardMember
from portal.cards import services as cards
from portal.cards.kinds import kind_of
from portal.cards.tables import Card
from portal.sla import services as sla
from tests.conftest import PASSWORD, csrf_from, login

PHONE = "13812345678"
MASKED = "138****5678"


async def build_world() -> dict:
    sla.invalidate()
    departments = {}
    for code, zh, en in [
        ("publicity", "宣传部", "Publicity"),
        ("health", "卫健委", "Health"),
        ("housing", "住建局", "Housing"),
    ]:
        departments[code] = (await Department.insert(Department(code=code, name_zh=zh, name_en=en)))[0]["id"]
    users = {
        name: await create_user_unchecked(name, display, PASSWORD, role, departments[dept])
        for name, display, role, dept in [
            ("manager", "陈静", "manager", "publicity"),
            ("member", "张伟", "member", "publicity"),
            ("health", "王芳", "liaison", "health"),
            ("housing", "郑强", "liaison", "housing"),
        ]
    }
    manager = await get_active_user(users["manager"])
    board_ids = {}
    for kind, name in [("inquiries", "问题解答"), ("campaigns", "互动活动")]:
        board_id = await boards.create_board(manager, BoardForm(name=name, kind=kind, description=""))
        await BoardMember.insert(
            *[BoardMember(board=board_id, user=users[who], role="member") for who in ("member", "health", "housing")]
        )
        board_ids[kind] = board_id
    columns = {
        (row["board"], row["key"]): row["id"]
        for row in await BoardColumn.select(BoardColumn.board, BoardColumn.key, BoardColumn.id)
    }
    access = await access_for(manager, board_ids["inquiries"])
    change = await cards.create_card(
        access,
        columns[(board_ids["inquiries"], "pending_accept")],
        {
            "title": "小区加装电梯补贴咨询",
            "citizen_name": "李先生",
            "citizen_phone": PHONE,
            "department": departments["housing"],
            "assisting_departments": [departments["health"]],
        },
    )
    return {
        "departments": departments,
        "users": users,
        "boards": board_ids,
        "columns": columns,
        "card": change.card_id,
    }


async def card_row(card_id: int) -> dict:
    """The card as stored: its common fields and its kind's own."""
    kind = (await Card.select(Card.board.kind.as_alias("kind")).where(Card.id == card_id).first())["kind"]
    return (
        await Card.select(*Card.all_columns(), *kind_of(kind).joined())
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )


async def client_for(username: str) -> AsyncTestClient:
    client = AsyncTestClient(create_app(), base_url="http://testserver.local")
    await client.__aenter__()
    await login(client, username)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    return client
