"""The demo data: what a new user sees after `make run`."""

from __future__ import annotations

from portal.accounts.tables import Department, User
from portal.boards.tables import Board, BoardMember
from portal.cards.tables import Card, Note
from portal.comments.tables import CommentDetail
from portal.demo.services import city, seed_demo
from tests.conftest import login


async def test_seed_creates_the_city_and_is_idempotent(clean_db):
    created = await seed_demo()
    assert created["departments"] == 8 and created["users"] == len(city()["users"]) >= 12
    assert created["boards"] == 4  # comments, inquiries, campaigns, incidents
    by_kind = {row["kind"]: row["id"] for row in await Board.select(Board.kind, Board.id)}
    assert await Card.count().where(Card.board == by_kind["comments"]) >= 150
    assert await Card.count().where(Card.board == by_kind["inquiries"]) >= 60
    assert await Card.count().where(Card.board == by_kind["campaigns"]) >= 8
    assert await Note.count() >= 20
    platforms = {
        row["platform"]
        for row in await CommentDetail.select(CommentDetail.platform).where(
            CommentDetail.card.board == by_kind["comments"]
        )
    }
    assert {"wechat", "weibo", "douyin"} <= platforms
    names = {row["name_zh"] for row in await Department.select(Department.name_zh)}
    assert {"宣传部", "网信办", "卫健委", "人社局", "医保局", "住建局", "交通局", "12345 中心"} <= names
    roles = {row["role"] for row in await User.select(User.role)}
    assert roles == {"admin", "manager", "member", "liaison", "viewer"}

    counts = (await User.count(), await Card.count(), await BoardMember.count(), await Note.count())
    again = await seed_demo()
    assert again == {"departments": 0, "users": 0, "boards": 0, "cards": 0, "account_days": 0}
    assert (await User.count(), await Card.count(), await BoardMember.count(), await Note.count()) == counts


async def test_every_demo_user_logs_in_with_the_demo_password(client):
    await seed_demo()
    for spec in city()["users"]:
        response = await login(client, spec["username"], "portal-demo")
        landing = "/stats" if spec["role"] in ("admin", "manager", "viewer") else "/my-work"
        assert response.url.path == landing, spec["username"]
        assert spec["display_name"] in response.text
        await client.post("/logout", headers={"x-csrftoken": client.cookies.get("portal_csrf") or ""})
        client.cookies.clear()


async def test_liaison_sees_only_the_inquiries_board(client):
    await seed_demo()
    await login(client, "wangfang", "portal-demo")
    html = (await client.get("/boards")).text
    assert "问题解答" in html and "留言评论" not in html and "互动活动" not in html
    comments = await Board.select(Board.id).where(Board.kind == "comments").first()
    assert (await client.get(f"/boards/{comments['id']}")).status_code == 404


async def test_a_paused_demo_inquiry_resumes_on_working_time(clean_db):
    """Demo cards carry their clock's mode, so pausing and resuming one counts the way its
    stage counts (an inquiry's working days), like any card made in the portal."""
    from datetime import UTC, datetime, timedelta

    from portal.accounts.services import get_active_user
    from portal.boards.access import access_for
    from portal.cards import services as cards
    from portal.sla import services as sla
    from portal.sla.tables import CardClock

    await seed_demo()
    assert not await Card.exists().where(Card.due_at.is_not_null() & Card.due_mode.is_null())
    board = (await Board.select(Board.id).where(Board.kind == "inquiries").first())["id"]
    card = (
        await Card.select()
        .where((Card.board == board) & (Card.due_mode == "working_days") & (Card.due_at > datetime.now(UTC)))
        .first()
    )
    assert await CardClock.exists().where(CardClock.card_id == card["id"])  # its clock is remembered too
    admin = await get_active_user((await User.select(User.id).where(User.username == "admin").first())["id"])
    access = await access_for(admin, board)
    paused_at = datetime.now(UTC)
    await cards.pause_card(access, card["id"], card["version"], "等待群众补充材料")
    await Card.update({Card.paused_at: paused_at - timedelta(days=3)}).where(Card.id == card["id"])
    resumed_at = paused_at
    await cards.resume_card(access, card["id"], card["version"] + 1, now=resumed_at)
    calendar = await sla.get_calendar()
    remaining = calendar.working_minutes_between(paused_at - timedelta(days=3), card["due_at"])
    after = await Card.select(Card.due_at).where(Card.id == card["id"]).first()
    assert after["due_at"] == calendar.add_working_minutes(resumed_at, remaining)
