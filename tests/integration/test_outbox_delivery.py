"""Reminder deliveries through the outbox: each delivery is its own row, run after the
reminder commits and retried on its own — a failing SMTP server or robot holds back nothing
else, nothing is sent twice, and a process that dies after its commit loses nothing.

Real local SMTP (aiosmtpd) and HTTP robot servers, the test database (SQLite, or PostgreSQL
with PORTAL_TEST_DATABASE_URL) and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.cards.tables import Card
from portal.db import write_transaction
from portal.events import outbox
from portal.events.tables import Outbox
from portal.live.channels import user_channel
from portal.live.publisher import backend_for
from portal.notifications import services as notifications
from portal.notifications.tables import Notification
from portal.settings import get_settings
from tests import factories
from tests.integration.test_delivery import effects, robot, robot_hosts, run_retries  # noqa: F401 (fixtures)
from tests.processes import free_port
from workers import settings as worker


class FlakyInbox:
    """A local SMTP server that, while an address is in ``down``, answers it "try later"."""

    def __init__(self):
        self.messages: list[str] = []  # one recipient address per message received
        self.down: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd)
        if address in self.down:
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        self.messages += envelope.rcpt_tos
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch):
    flaky = FlakyInbox()
    port = free_port()
    controller = Controller(flaky, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    get_settings.cache_clear()
    yield flaky
    controller.stop()
    monkeypatch.delenv("SMTP_HOST")
    get_settings.cache_clear()


MANAGERS = ("manager", "manager2")


@pytest.fixture
async def overdue(clean_db, effects):  # noqa: F811
    """A card overdue for five minutes on a board with two managers, who get 督办 by e-mail."""
    world = await factories.board(
        people={
            "manager": ("manager", "publicity", "manager"),
            "manager2": ("manager", "publicity", "manager"),
            "member": ("member", "publicity", "member"),
        }
    )
    for name in MANAGERS:
        await User.update({User.email: f"{name}@linjiang.example", User.email_kinds: ["escalation"]}).where(
            User.id == world.users[name]
        )
    card_id = await world.card("member")
    due = datetime.now(UTC) - timedelta(minutes=5)
    await Card.update(
        {
            Card.assignee: world.users["member"],
            Card.due_stage: "first_response",
            Card.due_at: due,
            Card.stage_started_at: due - timedelta(hours=24),
        }
    ).where(Card.id == card_id)
    return {"world": world, "id": card_id, "due_iso": due.astimezone(UTC).isoformat()}


def escalate(card: dict):
    """The arq job for the card's first 督办, as a worker runs it."""
    return worker.send_reminder({}, card["id"], "first_response", "escalation", 0, card["due_iso"])


async def pending_effects() -> list[str]:
    return sorted(row["effect"] for row in await Outbox.select(Outbox.effect).where(Outbox.done_at.is_null()))


async def queued_jobs(card: dict) -> list[bytes]:
    pool = outbox.context().arq
    return [job for job in await pool.zrange("arq:queue", 0, -1) if job.decode().startswith(f"reminder:{card['id']}:")]


async def test_smtp_down_for_one_recipient_holds_back_nothing_else(overdue, inbox, robot):  # noqa: F811
    url, posts = robot
    await Board.update({Board.webhooks: [{"kind": "wecom", "url": url}]}).where(Board.id == overdue["world"].board_id)
    inbox.down.add("manager@linjiang.example")

    assert await escalate(overdue) == 2  # the job succeeds: arq does not run it again
    assert inbox.messages == ["manager2@linjiang.example"]  # the other manager's e-mail went out
    assert len(posts) == 1 and posts[0]["msgtype"] == "text"  # and so did the robot's post
    assert await pending_effects() == ["email"]  # only the failed e-mail waits for its retry

    await run_retries()  # still down: tried again, nothing else repeated
    assert inbox.messages == ["manager2@linjiang.example"] and len(posts) == 1

    inbox.down.clear()  # the mail server takes the address again
    await run_retries()
    await run_retries()
    assert await escalate(overdue) == 0  # and the job running once more changes nothing
    assert sorted(inbox.messages) == ["manager2@linjiang.example", "manager@linjiang.example"]
    assert len(posts) == 1
    assert await pending_effects() == []
    emailed = await Notification.select(Notification.emailed_at).where(Notification.card_id == overdue["id"])
    assert len(emailed) == 2 and all(row["emailed_at"] is not None for row in emailed)


async def test_a_reminder_job_run_twice_notifies_and_emails_once(overdue, inbox, robot):  # noqa: F811
    url, posts = robot
    await Board.update({Board.webhooks: [{"kind": "wecom", "url": url}]}).where(Board.id == overdue["world"].board_id)
    manager = overdue["world"].users["manager"]
    await User.update({User.email_kinds: []}).where(User.id == overdue["world"].users["manager2"])
    staged_before = await Outbox.count()
    assert await escalate(overdue) == 2
    staged_once = await Outbox.count()
    assert await escalate(overdue) == 0  # as if arq ran the job again after a crash
    assert await Outbox.count() == staged_once > staged_before  # the rerun staged nothing
    await run_retries()
    assert (
        await Notification.count().where((Notification.card_id == overdue["id"]) & (Notification.user == manager)) == 1
    )
    assert inbox.messages == ["manager@linjiang.example"]  # manager2 chose no e-mail for 督办
    assert len(posts) == 1
    # The 督办 armed the next working day's round.
    queued = [job.decode() for job in await queued_jobs(overdue)]
    assert any(":escalation:1:" in job for job in queued)


async def test_what_a_dead_process_left_is_delivered_by_the_worker_within_seconds(
    overdue,
    inbox,
    robot,  # noqa: F811
    redis_client,
    monkeypatch,
):
    url, posts = robot
    await Board.update({Board.webhooks: [{"kind": "wecom", "url": url}]}).where(Board.id == overdue["world"].board_id)
    manager = overdue["world"].users["manager"]
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(backend_for(redis_client).name(user_channel(manager)))
    monkeypatch.setattr(outbox, "OWNER_CLAIM", timedelta(seconds=1))
    # The process commits the reminder and dies before running its effects.
    context = outbox.context()
    outbox.configure(None)
    assert await escalate(overdue) == 2
    assert inbox.messages == [] and posts == []
    assert "email" in await pending_effects()
    # A worker (its outbox loop) takes over once the writer's claim has run out.
    outbox.configure(context)
    loop = asyncio.create_task(worker.run_outbox(every=0.2))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while await pending_effects():
            assert asyncio.get_running_loop().time() < deadline, "the worker did not deliver in time"
            await asyncio.sleep(0.2)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert sorted(inbox.messages) == ["manager2@linjiang.example", "manager@linjiang.example"]
    assert len(posts) == 1
    messages = []
    while (message := await pubsub.get_message(timeout=0.5)) is not None:
        messages.append(message)
    await pubsub.aclose()
    assert any(message["type"] == "message" and b'"bell"' in message["data"] for message in messages)  # the bell


async def test_notify_returns_none_for_a_key_it_has_seen(users):
    first = await notifications.notify(users["member"], "mention", "你被提到了", "mention:1:member")
    assert isinstance(first, int)
    assert await notifications.notify(users["member"], "mention", "你被提到了", "mention:1:member") is None
    # Inside a writer's transaction too: the duplicate is no error that would abort it
    # (PostgreSQL refuses every further statement of a transaction after a failed one).
    async with write_transaction():
        assert await notifications.notify(users["member"], "mention", "again", "mention:1:member") is None
        second = await notifications.notify(users["manager"], "mention", "你被提到了", "mention:1:manager")
    assert isinstance(second, int) and second != first
    assert await Notification.count() == 2


def test_delivery_effects_are_one_bell_refresh_and_one_email_each():
    staged = notifications.delivery_effects([7, 8], [3, 4, 3])
    assert [(effect.name, effect.payload) for effect in staged] == [
        ("refresh_bells", {"user_ids": [3, 4]}),
        ("email", {"notification_id": 7}),
        ("email", {"notification_id": 8}),
    ]
    assert notifications.delivery_effects([], []) == []


async def test_a_worker_runs_the_outbox_from_start_up_to_shutdown(clean_db, redis_client):
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    ctx = {"redis": pool}
    try:
        await worker.startup(ctx)
        assert outbox.context() is not None and outbox.context().arq is pool
        task = ctx["outbox_task"]
        assert not task.done()
        await worker.shutdown(ctx)
        assert task.cancelled() and outbox.context() is None
    finally:
        outbox.configure(None)
        await pool.aclose()


async def test_done_rows_are_purged_after_a_week(clean_db):
    now = datetime.now(UTC)
    await Outbox.insert(
        Outbox(effect="email", payload={"notification_id": 1}, done_at=now - timedelta(days=8)),
        Outbox(effect="email", payload={"notification_id": 2}, done_at=now - timedelta(days=1)),
        Outbox(effect="email", payload={"notification_id": 3}),
    )
    assert await worker.purge_outbox({}) == 1
    assert await Outbox.count() == 2
