"""E-mail over a real local SMTP server and group-robot webhooks to a real local HTTP
server: each at most once, however often the reminder job runs.

Deliveries are outbox rows: ``reminders.send`` runs them right after its commit (in the
outbox context the ``effects`` fixture sets up, as a worker's start-up does); a failed one
is retried by ``run_retries``, a worker's ``run_pending`` once its delay has passed."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from arq import create_pool
from arq.connections import RedisSettings

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.cards.tables import Card
from portal.events import outbox
from portal.events.outbox import EffectContext
from portal.events.tables import Outbox
from portal.notifications.tables import Notification
from portal.reminders import services as reminders
from portal.settings import get_settings
from tests import factories
from tests.conftest import login, post_form
from tests.processes import free_port

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
}


@pytest.fixture
async def effects(redis_client):
    """This process runs outbox effects, as a web process or a worker does once started."""
    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    outbox.configure(EffectContext(redis=pool, arq=pool))
    yield pool
    outbox.configure(None)
    await pool.aclose()


async def run_retries() -> int:
    """What a worker's outbox loop does once the failed rows' retry delay has passed."""
    return await outbox.run_pending(now=datetime.now(UTC) + timedelta(hours=2))


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    get_settings.cache_clear()
    yield inbox
    controller.stop()
    monkeypatch.delenv("SMTP_HOST")
    get_settings.cache_clear()


@pytest.fixture
def robot_hosts(monkeypatch):
    """Robots may only reach public https addresses; the local test robots are allow-listed."""
    monkeypatch.setenv("PORTAL_ROBOT_ALLOWED_HOSTS", "127.0.0.1, oapi.dingtalk.example")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("PORTAL_ROBOT_ALLOWED_HOSTS")
    get_settings.cache_clear()


@pytest.fixture
def robot(robot_hosts):
    posts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test", posts
    server.shutdown()


@pytest.fixture
async def overdue_card(clean_db, effects):
    world = await factories.board("comments", people=PEOPLE)
    board, zhang = world.board_id, world.users["zhangwei"]
    await User.update({User.email: "zhangwei@linjiang.example"}).where(User.id == zhang)
    card = {"id": await world.card("zhangwei", column="new", title="地铁站电梯停运")}
    due = datetime.now(UTC) - timedelta(minutes=5)
    await Card.update(
        {
            Card.assignee: zhang,
            Card.due_stage: "first_response",
            Card.due_at: due,
            Card.stage_started_at: due - timedelta(hours=24),
        }
    ).where(Card.id == card["id"])
    return {"id": card["id"], "board": board, "user": zhang, "due_iso": due.astimezone(UTC).isoformat()}


async def test_reminder_by_email_and_robot_once_each(overdue_card, smtp, robot):
    url, posts = robot
    await Board.update({Board.webhooks: [{"kind": "wecom", "url": url}]}).where(Board.id == overdue_card["board"])
    for _ in range(2):  # the job runs twice
        await reminders.send(overdue_card["id"], "first_response", "due", 0, overdue_card["due_iso"])
    assert len(smtp.messages) == 1
    recipients, content = smtp.messages[0]
    assert recipients == ["zhangwei@linjiang.example"] and "Subject:" in content
    assert len(posts) == 1 and posts[0]["msgtype"] == "text" and "到期" in posts[0]["text"]["content"]


async def test_users_choose_what_reaches_them_by_email(overdue_card, smtp, client):
    await login(client, "zhangwei", factories.PASSWORD)
    response = await post_form(
        client,
        "/account/notifications",
        {"email": "zw@linjiang.example", "email_kinds": "escalation"},
        page_url="/account",
    )
    assert response.status_code == 200
    await reminders.send(overdue_card["id"], "first_response", "due", 0, overdue_card["due_iso"])
    assert smtp.messages == []  # "due" is not among the kinds chosen for e-mail
    assert await Notification.exists().where(Notification.user == overdue_card["user"])  # but it is in the bell
    bad = await post_form(client, "/account/notifications", {"email": "not an address"}, page_url="/account")
    assert bad.status_code == 422


async def test_smtp_down_means_retry_later_not_lost(overdue_card, monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    try:
        # The reminder itself succeeds (the job is not retried): the e-mail waits in the outbox.
        notified = await reminders.send(overdue_card["id"], "first_response", "due", 0, overdue_card["due_iso"])
        assert notified == [overdue_card["user"]]
        row = (
            await Notification.select(Notification.emailed_at).where(Notification.user == overdue_card["user"]).first()
        )
        assert row["emailed_at"] is None  # released: the retry will send it
        waiting = await Outbox.select(Outbox.attempts, Outbox.last_error).where(
            (Outbox.effect == "email") & Outbox.done_at.is_null()
        )
        assert len(waiting) == 1 and waiting[0]["attempts"] == 1 and "DeliveryFailed" in waiting[0]["last_error"]
    finally:
        monkeypatch.delenv("SMTP_HOST")
        get_settings.cache_clear()


async def test_managers_set_up_robots_with_checked_addresses(overdue_card, client, robot_hosts):
    await login(client, "chenjing", factories.PASSWORD)
    board = overdue_card["board"]
    bad = await post_form(
        client,
        f"/boards/{board}/settings/webhooks",
        {"kind": "wecom", "url": "ftp://x"},
        page_url=f"/boards/{board}/settings",
    )
    assert bad.status_code == 422
    good = await post_form(
        client,
        f"/boards/{board}/settings/webhooks",
        {"kind": "dingtalk", "url": "https://oapi.dingtalk.example/robot/send?access_token=x"},
        page_url=f"/boards/{board}/settings",
    )
    assert good.status_code == 200
    hooks = (await Board.select(Board.webhooks).where(Board.id == board).output(load_json=True).first())["webhooks"]
    assert hooks == [{"kind": "dingtalk", "url": "https://oapi.dingtalk.example/robot/send?access_token=x"}]
    await login(client, "zhangwei", factories.PASSWORD)
    member = await post_form(
        client, f"/boards/{board}/settings/webhooks", {"kind": "wecom", "url": "https://x.example"}
    )
    assert member.status_code == 403
