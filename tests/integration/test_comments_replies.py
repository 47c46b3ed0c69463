"""Replying to comments as the team does: a reply sent at once, one that waits for a manager,
one returned with a reason, the platform's length limit, who may reply; the template library
(versions, validity, placeholders, usage); and publishing to a platform's URL."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from portal.accounts.services import get_active_user
from portal.boards.tables import Board, BoardColumn
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.comments import replies, reply_templates
from portal.comments.publishing import RECORDED
from portal.comments.replies import ReplyInput
from portal.comments.reply_templates import TemplateInput
from portal.comments.tables import CommentDetail, Reply, ReplyTemplate, ReplyTemplateVersion
from portal.events import outbox
from portal.events.tables import Event, Outbox
from portal.notifications.tables import Notification
from portal.settings import get_settings
from portal.sla.tables import CardClock
from tests import factories
from tests.conftest import csrf_from, login
from tests.processes import free_port


@pytest.fixture
async def world(clean_db):
    world = await factories.board("comments")
    department = await factories.department("publicity")
    await Board.update({Board.department: department}).where(Board.id == world.board_id)
    return world


async def comment(world, column="new", sentiment="neutral", platform="weibo", **fields) -> int:
    return await world.card(
        "manager",
        column=column,
        title=fields.pop("title", "地铁几点停运"),
        body="请问地铁末班车几点？",
        platform=platform,
        sentiment=sentiment,
        author_handle="市民小王",
        **fields,
    )


async def as_user(client, username: str) -> dict[str, str]:
    """Log in; the headers htmx sends from the page (its CSRF token)."""
    await login(client, username)
    page = await client.get("/boards")
    return {"x-csrftoken": csrf_from(page.text), "HX-Request": "true"}


async def column_key(card_id: int) -> str:
    return (await Card.select(Card.column.key.as_alias("key")).where(Card.id == card_id).first())["key"]


async def first_reply_clock(card_id: int) -> dict:
    where = (CardClock.card_id == card_id) & (CardClock.stage == "first_response")
    return await CardClock.select().where(where).first()


# Replying -------------------------------------------------------------------------------------


async def test_a_reply_to_a_neutral_comment_is_sent_moves_the_card_and_stops_the_clock_on_time(world, client):
    card_id = await comment(world)
    headers = await as_user(client, "member")
    response = await client.post(f"/comments/{card_id}/replies", data={"body": "您好，末班车22:30。"}, headers=headers)
    assert response.status_code == 200, response.text
    assert "您好，末班车22:30。" in response.text

    reply = await Reply.select().where(Reply.card == card_id).first()
    assert reply["status"] == "sent" and reply["sent_at"] is not None
    assert reply["publish_response"] == RECORDED  # no platform adapter: recorded in the portal
    assert await column_key(card_id) == "replied"
    detail = await CommentDetail.select(CommentDetail.replied_at).where(CommentDetail.card == card_id).first()
    assert detail["replied_at"] == reply["sent_at"]
    clock = await first_reply_clock(card_id)
    assert clock["completed_at"] is not None
    card = await Card.select(Card.due_at, Card.due_stage).where(Card.id == card_id).first()
    assert card["due_at"] is None and card["due_stage"] is None

    history = (await client.get(f"/api/v1/cards/{card_id}/history")).json()
    assert [row["stage"] for row in history] == ["new", "replied"]
    assert history[0]["on_time"] is True and history[0]["clock"] == "first_response"
    verbs = [row["verb"] for row in await Event.select(Event.verb).where(Event.object_id == card_id)]
    assert "reply.sent" in verbs and "card.moved" in verbs
    # Everyone watching the board was sent the moved tile.
    published = await Outbox.select(Outbox.payload, Outbox.done_at).where(Outbox.effect == "publish_cards")
    assert any(card_id in json.loads(row["payload"])["card_ids"] and row["done_at"] for row in published)

    section = await client.get(f"/comments/{card_id}/replies")
    assert "您好，末班车22:30。" in section.text and "status-sent" in section.text


async def test_a_reply_to_a_negative_comment_waits_for_the_manager_who_approves_it(world, client):
    card_id = await comment(world, sentiment="negative", title="投诉公交")
    headers = await as_user(client, "member")
    response = await client.post(f"/comments/{card_id}/replies", data={"body": "已转交公交集团核实。"}, headers=headers)
    assert response.status_code == 200 and "status-pending" in response.text
    reply = await Reply.select().where(Reply.card == card_id).first()
    assert reply["status"] == "pending" and reply["needs_approval"] is True
    assert await column_key(card_id) == "new"
    assert (await first_reply_clock(card_id))["completed_at"] is None
    manager = world.users["manager"]
    assert await Notification.exists().where((Notification.user == manager) & (Notification.link == "/replies/pending"))
    # A second reply while one waits is refused (a double click writes nothing twice).
    again = await client.post(f"/comments/{card_id}/replies", data={"body": "再发一次"}, headers=headers)
    assert again.status_code == 422 and await Reply.count().where(Reply.card == card_id) == 1
    # The member may not approve her own reply.
    assert (await client.post(f"/replies/{reply['id']}/approve", headers=headers)).status_code == 403

    headers = await as_user(client, "manager")
    drawer = await client.get(f"/comments/{card_id}/replies")
    assert f'hx-post="/replies/{reply["id"]}/approve"' in drawer.text  # the manager may decide in the drawer too
    queue = await client.get("/replies/pending")
    assert queue.status_code == 200 and "已转交公交集团核实。" in queue.text and "投诉公交" in queue.text
    approved = await client.post(f"/replies/{reply['id']}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    reply = await Reply.select().where(Reply.id == reply["id"]).first()
    assert reply["status"] == "sent" and reply["reviewer"] == manager
    assert await column_key(card_id) == "replied"
    assert (await first_reply_clock(card_id))["completed_at"] is not None
    assert "已转交公交集团核实。" not in (await client.get("/replies/pending")).text
    # Approving twice is a conflict, not a second sending.
    assert (await client.post(f"/replies/{reply['id']}/approve", headers=headers)).status_code == 409


async def test_a_returned_reply_tells_its_author_why_and_leaves_the_card(world, client):
    card_id = await comment(world, sentiment="neutral")
    await CommentDetail.update({CommentDetail.flag_tier: "serious"}).where(CommentDetail.card == card_id)
    headers = await as_user(client, "member")
    await client.post(f"/comments/{card_id}/replies", data={"body": "我们会处理。"}, headers=headers)
    reply_id = (await Reply.select(Reply.id).where(Reply.card == card_id).first())["id"]

    headers = await as_user(client, "manager")
    empty = await client.post(f"/replies/{reply_id}/return", data={"reason": " "}, headers=headers)
    assert empty.status_code == 422
    assert (await Reply.select(Reply.status).where(Reply.id == reply_id).first())["status"] == "pending"
    returned = await client.post(
        f"/replies/{reply_id}/return", data={"reason": "请写明处理时限", "from": "drawer"}, headers=headers
    )
    assert returned.status_code == 200 and "status-returned" in returned.text  # the drawer's section, updated

    notice = await Notification.select().where(Notification.user == world.users["member"]).first()
    assert notice is not None and notice["body"] == "请写明处理时限" and notice["card_id"] == card_id
    assert await column_key(card_id) == "new"
    assert (await first_reply_clock(card_id))["completed_at"] is None
    await as_user(client, "member")
    section = await client.get(f"/comments/{card_id}/replies")
    assert "请写明处理时限" in section.text and "status-returned" in section.text


async def test_over_the_platforms_limit_is_refused_and_nothing_is_written(world, client):
    card_id = await comment(world, platform="weibo")
    version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
    headers = await as_user(client, "member")
    section = await client.get(f"/comments/{card_id}/replies")
    assert 'data-reply-limit="140"' in section.text  # the browser counts against the same limit
    response = await client.post(f"/comments/{card_id}/replies", data={"body": "好" * 141}, headers=headers)
    assert response.status_code == 422 and "140" in response.text
    assert "好" * 141 in response.text  # what was typed is kept
    assert await Reply.count().where(Reply.card == card_id) == 0
    assert (await Card.select(Card.version).where(Card.id == card_id).first())["version"] == version
    exactly = await client.post(f"/comments/{card_id}/replies", data={"body": "好" * 140}, headers=headers)
    assert exactly.status_code == 200


async def test_who_may_reply(world, client):
    card_id = await comment(world)
    headers = await as_user(client, "viewer")
    section = await client.get(f"/comments/{card_id}/replies")
    assert section.status_code == 200 and "reply-form" not in section.text  # reads, no editor
    assert (await client.post(f"/comments/{card_id}/replies", data={"body": "hi"}, headers=headers)).status_code == 403
    for person in ("outsider", "liaison"):
        headers = await as_user(client, person)
        assert (await client.get(f"/comments/{card_id}/replies")).status_code == 404
        answer = await client.post(f"/comments/{card_id}/replies", data={"body": "hi"}, headers=headers)
        assert answer.status_code == 404
    assert await Reply.count() == 0
    headers = await as_user(client, "member")
    assert (await client.get("/replies/pending")).status_code == 403  # manages no board


async def test_a_reply_stops_the_first_reply_clock_in_any_column(world):
    """From 已上报 the card moves to 已回复 and its clock completes; on a board without 已回复
    the card stays but its clock completes and its deadline goes."""
    member = await world.access("member")
    reported = await comment(world)  # arrived, then reported upward (its clock goes on)
    version = (await Card.select(Card.version).where(Card.id == reported).first())["version"]
    to_reported = MoveForm(column_id=world.columns["reported"], after_id=None, version=version)
    await cards.move_card(member, reported, to_reported)
    assert (await first_reply_clock(reported))["completed_at"] is None
    await replies.submit(member, reported, ReplyInput(body="已上报并答复"))
    assert await column_key(reported) == "replied"
    assert (await first_reply_clock(reported))["completed_at"] is not None

    await BoardColumn.update({BoardColumn.archived: True}).where(BoardColumn.id == world.columns["replied"])
    pending = await comment(world, column="pending")
    assert (await Card.select(Card.due_at).where(Card.id == pending).first())["due_at"] is not None
    await replies.submit(member, pending, ReplyInput(body="已答复"))
    assert await column_key(pending) == "pending"
    assert (await first_reply_clock(pending))["completed_at"] is not None
    card = await Card.select(Card.due_at, Card.due_stage).where(Card.id == pending).first()
    assert card["due_at"] is None and card["due_stage"] is None


# Templates --------------------------------------------------------------------------------------


async def test_templates_keep_versions_and_only_approved_valid_ones_are_offered(world, client):
    card_id = await comment(world)
    headers = await as_user(client, "member")
    created = await client.post(
        "/reply-templates",
        data={"title": "地铁末班车", "category": "交通", "body": "{称呼}您好，末班车22:30。"},
        headers=headers,
        follow_redirects=False,
    )
    assert created.status_code in (302, 303), created.text
    template_id = (await ReplyTemplate.select(ReplyTemplate.id).first())["id"]
    saved = await client.post(
        f"/reply-templates/{template_id}",
        data={"title": "地铁末班车", "category": "交通", "body": "{称呼}您好，末班车为22:30。"},
        headers=headers,
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303)
    versions = await ReplyTemplateVersion.select().where(ReplyTemplateVersion.template == template_id)
    assert sorted(row["version"] for row in versions) == [1, 2]
    assert {row["status"] for row in versions} == {"draft"}
    edit = await client.get(f"/reply-templates/{template_id}")
    assert edit.status_code == 200 and "末班车为22:30" in edit.text
    history = await client.get(f"/reply-templates/{template_id}/history")
    assert "末班车22:30" in history.text and "末班车为22:30" in history.text
    # A member's draft is not offered; nor may she approve it.
    assert "地铁末班车" not in (await client.get(f"/comments/{card_id}/reply-templates?q=地铁")).text
    assert (await client.post(f"/reply-templates/{template_id}/approve", headers=headers)).status_code == 403

    headers = await as_user(client, "manager")
    await client.post(f"/reply-templates/{template_id}/approve", headers=headers)
    template = await ReplyTemplate.select().where(ReplyTemplate.id == template_id).first()
    assert template["status"] == "approved" and template["version"] == 3
    offered = await client.get(f"/comments/{card_id}/reply-templates?q=地铁")
    assert "地铁末班车" in offered.text and "市民小王您好" in offered.text  # filled for this comment

    expired = await reply_templates.create_template(
        await get_active_user(world.users["manager"]),
        TemplateInput(
            title="去年的停运通知",
            body="春节停运",
            status="approved",
            valid_from=datetime.now(UTC) - timedelta(days=60),
            valid_until=datetime.now(UTC) - timedelta(days=1),
        ),
    )
    assert "去年的停运通知" not in (await client.get(f"/comments/{card_id}/reply-templates?q=停运")).text
    listing = await client.get("/reply-templates")
    assert re.search(rf'id="template-{expired}" class="expired"', listing.text)
    assert "template-expired" in listing.text
    # Using an expired template for a reply is refused.
    refused = await client.post(
        f"/comments/{card_id}/replies", data={"body": "春节停运", "template_id": str(expired)}, headers=headers
    )
    assert refused.status_code == 422


async def test_placeholders_are_filled_and_a_sent_reply_counts_the_templates_use(world, client):
    card_id = await comment(world, platform="wechat")
    manager = await get_active_user(world.users["manager"])
    template_id = await reply_templates.create_template(
        manager,
        TemplateInput(
            title="通用答复", body="{称呼}您好，{部门}已收到您的留言（{日期}），咨询电话{电话}。", status="approved"
        ),
    )
    headers = await as_user(client, "member")
    section = await client.get(f"/comments/{card_id}/replies?template_id={template_id}")
    today = datetime.now(get_settings().tz)
    filled = f"市民小王您好，publicity已收到您的留言（{today.year}年{today.month}月{today.day}日），咨询电话{{电话}}。"
    assert filled in section.text  # {电话} is left for the writer
    assert f'name="template_id" value="{template_id}"' in section.text
    sent = await client.post(
        f"/comments/{card_id}/replies",
        data={"body": filled.replace("{电话}", "12345"), "template_id": str(template_id)},
        headers=headers,
    )
    assert sent.status_code == 200
    assert (await ReplyTemplate.select(ReplyTemplate.usage_count).first())["usage_count"] == 1
    assert (await Reply.select(Reply.template).first())["template"] == template_id


async def test_template_input_is_checked_and_leaders_do_not_edit_templates(world, client):
    headers = await as_user(client, "member")
    cases = [
        ({"title": "长" * 81, "body": "正文"}, "title"),
        ({"title": "空", "body": ""}, "body"),
        ({"title": "长文", "body": "字" * 2001}, "body"),
        (
            {"title": "时间", "body": "正文", "valid_from": "2026-12-01T09:00", "valid_until": "2026-11-01T09:00"},
            "valid_until",
        ),
    ]
    for data, field in cases:
        response = await client.post("/reply-templates", data=data, headers=headers)
        assert response.status_code == 422, (field, response.status_code)
        assert f'id="f-{field}"' in response.text and "field-error" in response.text
    assert await ReplyTemplate.count() == 0
    await as_user(client, "viewer")
    assert (await client.get("/reply-templates")).status_code == 403


# Publishing -------------------------------------------------------------------------------------


@pytest.fixture
def platform(monkeypatch):
    """A platform's endpoint on a local server: it answers what ``answers`` holds next."""
    posts, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, body = answers.pop(0) if answers else (200, '{"ok": true, "post_id": "wb-1"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PORTAL_PUBLISH_URL", f"http://127.0.0.1:{server.server_port}/replies")
    monkeypatch.setenv("PORTAL_ROBOT_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield posts, answers
    server.shutdown()
    monkeypatch.delenv("PORTAL_PUBLISH_URL")
    monkeypatch.delenv("PORTAL_ROBOT_ALLOWED_HOSTS")
    get_settings.cache_clear()


async def test_the_webhook_publisher_posts_the_reply_and_records_the_answer(world, platform):
    posts, answers = platform
    card_id = await comment(world)
    await replies.submit(await world.access("member"), card_id, ReplyInput(body="您好，已收到。"))
    assert len(posts) == 1
    assert posts[0]["body"] == "您好，已收到。" and posts[0]["platform"] == "weibo" and posts[0]["card_id"] == card_id
    reply = await Reply.select().first()
    assert reply["status"] == "sent" and "wb-1" in reply["publish_response"] and "HTTP 200" in reply["publish_response"]


async def test_a_refusal_marks_the_reply_failed_with_the_answer_and_tells_the_author(world, platform):
    posts, answers = platform
    answers.append((400, '{"error": "内容包含违规词"}'))
    card_id = await comment(world)
    await replies.submit(await world.access("member"), card_id, ReplyInput(body="您好"))
    reply = await Reply.select().first()
    assert reply["status"] == "failed" and "内容包含违规词" in reply["publish_response"]
    notice = await Notification.select().where(Notification.user == world.users["member"]).first()
    assert notice is not None and "内容包含违规词" in notice["body"]


async def test_an_unreachable_platform_is_retried_and_failed_after_the_last_attempt(world, platform):
    posts, answers = platform
    answers.extend([(503, "busy"), (503, "still busy")])
    card_id = await comment(world)
    await replies.submit(await world.access("member"), card_id, ReplyInput(body="您好"))
    reply = await Reply.select().first()
    assert reply["status"] == "sent" and reply["publish_response"] == ""  # waiting for a retry
    row = await Outbox.select().where((Outbox.effect == "publish_reply") & Outbox.done_at.is_null()).first()
    assert row["attempts"] == 1
    await Outbox.update({Outbox.attempts: outbox.MAX_ATTEMPTS - 1}).where(Outbox.id == row["id"])
    await outbox.run_pending(now=datetime.now(UTC) + timedelta(hours=2))
    reply = await Reply.select().first()
    assert reply["status"] == "failed" and "still busy" in reply["publish_response"]
    assert len(posts) == 2
