"""Delivery that survives bad data and bad robots, and robots that cannot be pointed
into the internal network (SSRF). Real local SMTP (aiosmtpd) and HTTP robot servers.

A failed delivery no longer fails the reminder: it waits in the outbox, and the retry is the
outbox's (``run_retries``), which repeats only what failed."""

from __future__ import annotations

import json
import threading
from email import message_from_string, policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.cards.tables import Card
from portal.events.tables import Outbox
from portal.notifications.tables import Notification
from portal.reminders import services as reminders
from portal.settings import get_settings
from tests import factories
from tests.conftest import login, post_form
from tests.integration.test_delivery import effects, overdue_card, robot_hosts, run_retries, smtp  # noqa: F401 (fixtures)
from tests.processes import free_port


class Robot:
    """A local group-robot endpoint; ``answer`` is what it says next (status, JSON body)."""

    def __init__(self):
        self.posts: list[dict] = []
        self.answer = (200, {"errcode": 0, "errmsg": "ok"})
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                robot.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body = robot.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=test"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def robots():
    started = [Robot(), Robot()]
    yield started
    for robot in started:
        robot.server.shutdown()


def send(card):
    return reminders.send(card["id"], "first_response", "due", 0, card["due_iso"])


async def webhooks(board_id):
    return (await Board.select(Board.webhooks).where(Board.id == board_id).output(load_json=True).first())["webhooks"]


# E-mail --------------------------------------------------------------------------------


async def test_a_title_with_line_breaks_is_emailed_on_one_line(overdue_card, smtp):  # noqa: F811
    await Card.update({Card.title: "停车难\r\nBcc: everyone@linjiang.example\n问题"}).where(
        Card.id == overdue_card["id"]
    )
    await send(overdue_card)
    assert len(smtp.messages) == 1
    recipients, content = smtp.messages[0]
    assert recipients == ["zhangwei@linjiang.example"]  # no header was injected
    message = message_from_string(content, policy=policy.default)
    assert message["Bcc"] is None  # no header was injected
    subject = message["Subject"]
    assert "停车难 Bcc: everyone@linjiang.example 问题" in subject and "\n" not in subject and "\r" not in subject
    row = await Notification.select(Notification.emailed_at).where(Notification.user == overdue_card["user"]).first()
    assert row["emailed_at"] is not None
    await send(overdue_card)
    assert len(smtp.messages) == 1  # and once only


async def test_an_email_that_cannot_be_built_is_released_for_the_retry(overdue_card, smtp):  # noqa: F811
    # An address stored before addresses were checked: the message cannot be built.
    await User.update({User.email: "zw@linjiang.example\r\nBcc: x@evil.example"}).where(User.id == overdue_card["user"])
    assert await send(overdue_card) == [overdue_card["user"]]  # the reminder itself went through
    row = await Notification.select(Notification.emailed_at).where(Notification.user == overdue_card["user"]).first()
    assert row["emailed_at"] is None and smtp.messages == []  # not claimed: the retry will send it
    assert await Outbox.exists().where((Outbox.effect == "email") & Outbox.done_at.is_null())
    await User.update({User.email: "zw@linjiang.example"}).where(User.id == overdue_card["user"])
    assert await send(overdue_card) == []  # the job running again sends nothing …
    assert smtp.messages == []
    await run_retries()  # … the outbox's retry, once the address is fixed, does
    await run_retries()
    assert [recipients for recipients, _ in smtp.messages] == [["zw@linjiang.example"]]


# Robots: each on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [(500, {"errcode": -1}), (200, {"errcode": 93000, "errmsg": "invalid webhook url"}), (200, {"errcode": "45009"})],
)
async def test_one_failing_robot_does_not_stop_the_others(overdue_card, robots, robot_hosts, failure):  # noqa: F811
    first, second = robots
    first.answer = failure
    await Board.update(
        {Board.webhooks: [{"kind": "wecom", "url": first.url}, {"kind": "dingtalk", "url": second.url}]}
    ).where(Board.id == overdue_card["board"])
    await send(overdue_card)  # the reminder goes through; the robots' row waits for a retry
    assert len(first.posts) == 1 and len(second.posts) == 1  # the second robot got the message anyway
    await send(overdue_card)  # the job running again posts nothing
    assert len(first.posts) == 1 and len(second.posts) == 1
    await run_retries()  # still failing: tried again, the second is not repeated
    assert len(first.posts) == 2 and len(second.posts) == 1
    first.answer = (200, {"errcode": 0, "errmsg": "ok"})
    await run_retries()  # the retry succeeds
    await run_retries()  # and a further run sends nothing
    assert len(first.posts) == 3 and len(second.posts) == 1
    assert not await Outbox.exists().where(Outbox.done_at.is_null())
    assert "到期" in first.posts[-1]["text"]["content"]


# Robots: no way into the internal network ----------------------------------------------------


async def test_managers_cannot_point_robots_at_internal_addresses(overdue_card, client, robots, monkeypatch):  # noqa: F811
    robot = robots[0]
    board = overdue_card["board"]
    await login(client, "chenjing", factories.PASSWORD)
    internal = [
        robot.url,  # http://127.0.0.1:…
        f"https://127.0.0.1:{robot.server.server_port}/send",
        "https://10.0.0.1/cgi-bin/webhook/send?key=x",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/robot",
        "https://[::1]/robot",
        "https://0.0.0.0/robot",
        "https://[::ffff:127.0.0.1]/robot",
        "https://192.168.1.1:8443/robot",
        "http://1.1.1.1/robot",  # public, but not https
    ]
    for url in internal:
        response = await post_form(
            client,
            f"/boards/{board}/settings/webhooks",
            {"kind": "wecom", "url": url},
            page_url=f"/boards/{board}/settings",
        )
        assert response.status_code == 422, url
        assert "https" in response.text and 'class="field-error"' in response.text, url
    assert await webhooks(board) in (None, [])
    # An administrator allow-lists the internal robot: now it can be set up, and it works.
    monkeypatch.setenv("PORTAL_ROBOT_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    try:
        response = await post_form(
            client,
            f"/boards/{board}/settings/webhooks",
            {"kind": "wecom", "url": robot.url},
            page_url=f"/boards/{board}/settings",
        )
        assert response.status_code in (200, 303)
        assert await webhooks(board) == [{"kind": "wecom", "url": robot.url}]
        assert await send(overdue_card) is not None
        assert len(robot.posts) == 1
    finally:
        monkeypatch.delenv("PORTAL_ROBOT_ALLOWED_HOSTS")
        get_settings.cache_clear()


async def test_a_stored_internal_address_is_never_posted_to(overdue_card, robots):  # noqa: F811
    robot = robots[0]
    await Board.update(
        {
            Board.webhooks: [
                {"kind": "wecom", "url": robot.url},
                {"kind": "wecom", "url": f"https://localhost:{robot.server.server_port}/send"},
            ]
        }
    ).where(Board.id == overdue_card["board"])
    await send(overdue_card)  # skipped, not an error to retry forever
    await send(overdue_card)
    assert robot.posts == []
