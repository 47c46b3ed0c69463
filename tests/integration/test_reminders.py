"""Reminders through a real arq worker on a real Redis: each notification exactly once,
nothing lost when Redis forgets, nothing sent when it no longer applies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from arq import create_pool, cron
from arq.connections import RedisSettings
from arq.worker import Worker

from portal.boards.services import board_managers
from portal.cards.tables import Card
from portal.events import outbox
from portal.events.outbox import EffectContext
from portal.notifications.tables import Notification
from portal.reminders import services as reminders
from portal.settings import get_settings
from tests import factories
from workers.settings import send_reminder, sweep_reminders

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
}


@pytest.fixture
async def arq_pool(redis_client):
    """arq's pool, and the outbox context a worker sets up at start-up: the deliveries a
    reminder stages (bells, e-mail, robots, the next 督办) run right after its commit."""
    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    outbox.configure(EffectContext(redis=pool, arq=pool))
    yield pool
    outbox.configure(None)
    await pool.aclose()


@pytest.fixture
async def card(clean_db, redis_client, monkeypatch):
    """A comment assigned to 张伟 on a board managed by 陈静, due in two seconds."""
    monkeypatch.setattr(reminders, "ESCALATION_DELAY", timedelta(seconds=1))
    world = await factories.board("comments", people=PEOPLE)
    board, zhang = world.board_id, world.users["zhangwei"]
    row = {"id": await world.card("zhangwei", column="new", title="地铁站电梯停运")}
    # Creating it armed the reminders of its real (24-hour) deadline; the test sets its own.
    await redis_client.flushdb()
    now = datetime.now(UTC)
    await Card.update(
        {
            Card.assignee: zhang,
            Card.due_stage: "first_response",
            Card.stage_started_at: now - timedelta(seconds=40),
            Card.due_at: now + timedelta(seconds=2),
        }
    ).where(Card.id == row["id"])
    CARD["id"] = row["id"]
    return {"id": row["id"], "board": board, "assignee": zhang, "manager": world.users["chenjing"], "world": world}


async def run_worker_until(pool, condition, timeout: float = 20, with_sweep: bool = False) -> None:
    worker = Worker(
        functions=[send_reminder],
        redis_pool=pool,
        poll_delay=0.1,
        handle_signals=False,
        cron_jobs=[cron(sweep_reminders, second=set(range(60)), run_at_startup=True)] if with_sweep else None,
        keep_result=3600,
    )
    task = asyncio.create_task(worker.main())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the reminders did not arrive in time")
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # give a duplicate the chance to show itself
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # A job (the every-second sweep) starting as the worker is cancelled ends cancelled too.
        await asyncio.gather(worker.close(), return_exceptions=True)


CARD: dict[str, int] = {}


async def kinds(user_id: int | None = None) -> list[str]:
    """The reminders sent about the test's card (other cards have their own)."""
    query = Notification.select(Notification.kind).where(Notification.card_id == CARD["id"])
    rows = await (query.where(Notification.user == user_id) if user_id else query)
    return sorted(row["kind"] for row in rows)


async def test_nudge_due_and_escalation_each_arrive_once(card, arq_pool):
    queued = await reminders.schedule_card(arq_pool, card["id"])
    assert queued >= 3
    assert await reminders.schedule_card(arq_pool, card["id"]) == 0  # same job ids: nothing queued twice

    async def all_three():
        return {"nudge", "due", "escalation"} <= set(await kinds())

    await run_worker_until(arq_pool, all_three)
    assert await kinds(card["assignee"]) == ["due", "nudge"]
    assert await kinds(card["manager"]) == ["escalation"]
    assert await Notification.count().where(
        (Notification.kind == "escalation") & (Notification.card_id == card["id"])
    ) == len(await board_managers(card["board"]))


async def test_a_job_run_twice_notifies_once(card, arq_pool):
    due_iso = (
        (await Card.select(Card.due_at).where(Card.id == card["id"]).first())["due_at"].astimezone(UTC).isoformat()
    )
    for job_id in ("first-run", "second-run"):  # as if arq ran the same reminder again after a crash
        await arq_pool.enqueue_job("send_reminder", card["id"], "first_response", "nudge", 0, due_iso, _job_id=job_id)

    async def nudged():
        return "nudge" in await kinds(card["assignee"])

    await run_worker_until(arq_pool, nudged)
    assert await kinds(card["assignee"]) == ["nudge"]


async def test_after_redis_forgets_everything_the_sweep_rearms(card, arq_pool, redis_client):
    await reminders.schedule_card(arq_pool, card["id"])
    await redis_client.flushdb()
    assert await arq_pool.zcard("arq:queue") == 0

    async def arrived():
        return {"nudge", "due"} <= set(await kinds(card["assignee"]))

    await run_worker_until(arq_pool, arrived, with_sweep=True)
    assert await kinds(card["assignee"]) == ["due", "nudge"]


async def test_a_reminder_that_no_longer_applies_sends_nothing(card, arq_pool):
    await reminders.schedule_card(arq_pool, card["id"])
    # The card is answered (moved to a done column) before its deadline.
    from portal.boards.tables import BoardColumn

    closed = (
        await BoardColumn.select(BoardColumn.id)
        .where((BoardColumn.board == card["board"]) & (BoardColumn.key == "closed"))
        .first()
    )["id"]
    await Card.update({Card.column: closed, Card.due_at: None, Card.due_stage: None}).where(Card.id == card["id"])
    worker = Worker(
        functions=[send_reminder],
        redis_pool=arq_pool,
        poll_delay=0.1,
        handle_signals=False,
        burst=True,
        max_burst_jobs=3,
    )
    await asyncio.sleep(3.5)
    await worker.main()
    await worker.close()
    assert await kinds() == []


async def test_moving_the_deadline_replaces_the_reminders(card, arq_pool):
    await reminders.schedule_card(arq_pool, card["id"])
    # An extension: the deadline moves a day later; the old reminders must not fire.
    later = datetime.now(UTC) + timedelta(days=1)
    await Card.update({Card.due_at: later}).where(Card.id == card["id"])
    worker = Worker(
        functions=[send_reminder],
        redis_pool=arq_pool,
        poll_delay=0.1,
        handle_signals=False,
        burst=True,
        max_burst_jobs=3,
    )
    await asyncio.sleep(3.5)
    await worker.main()
    await worker.close()
    assert await kinds() == []
    assert await reminders.schedule_card(arq_pool, card["id"]) >= 3  # the new deadline's reminders


async def manager_access(card):
    from portal.accounts.services import get_active_user
    from portal.boards.access import access_for

    return await access_for(await get_active_user(card["manager"]), card["board"])


async def test_pausing_cancels_the_pending_nudge_and_resuming_moves_the_deadline(card, arq_pool):
    from portal.cards import services as cards

    access = await manager_access(card)
    before = await Card.select(Card.version, Card.due_at).where(Card.id == card["id"]).first()
    await reminders.schedule_card(arq_pool, card["id"])
    await cards.pause_card(access, card["id"], before["version"], "等待群众补充材料")
    worker = Worker(
        functions=[send_reminder],
        redis_pool=arq_pool,
        poll_delay=0.1,
        handle_signals=False,
        burst=True,
        max_burst_jobs=3,
    )
    await asyncio.sleep(3.5)
    await worker.main()
    await worker.close()
    assert await kinds() == []  # the nudge and the due notice did not fire while paused
    paused = await Card.select(Card.version, Card.paused_at).where(Card.id == card["id"]).first()
    await cards.resume_card(access, card["id"], paused["version"], now=paused["paused_at"] + timedelta(hours=5))
    after = await Card.select(Card.due_at, Card.paused_at).where(Card.id == card["id"]).first()
    assert after["paused_at"] is None
    assert after["due_at"] - before["due_at"] == timedelta(hours=5)  # comments run on natural hours


async def test_an_approved_extension_moves_the_deadline_and_its_reminders(card, arq_pool):
    from portal.accounts.services import get_active_user
    from portal.boards.access import access_for
    from portal.cards import services as cards
    from portal.core.forms import FormError

    member = await access_for(await get_active_user(card["assignee"]), card["board"])
    row = await Card.select(Card.version, Card.due_at).where(Card.id == card["id"]).first()
    with pytest.raises(FormError):  # earlier than the current deadline
        await cards.request_extension(member, card["id"], row["version"], row["due_at"] - timedelta(hours=1), "x")
    later = row["due_at"] + timedelta(days=2)
    await cards.request_extension(member, card["id"], row["version"], later, "需要协调住建局现场核查")
    assert await Notification.exists().where(
        (Notification.user == card["manager"]) & (Notification.kind == "extension")
    )
    from portal.accounts.services import PermissionDenied

    version = (await Card.select(Card.version).where(Card.id == card["id"]).first())["version"]
    with pytest.raises(PermissionDenied):  # members cannot approve their own request
        await cards.decide_extension(member, card["id"], version, approve=True)
    await cards.decide_extension(await manager_access(card), card["id"], version, approve=True)
    assert (await Card.select(Card.due_at).where(Card.id == card["id"]).first())["due_at"] == later
    assert await Notification.exists().where(
        (Notification.user == card["assignee"]) & (Notification.kind == "extension")
    )
    # The old deadline's reminders are void; the new one's are planned.
    await asyncio.sleep(3)
    due_iso_old = row["due_at"].astimezone(UTC).isoformat()
    assert await reminders.send(card["id"], "first_response", "due", 0, due_iso_old) == []
    # The approval armed them itself (an outbox effect of its write): arming again adds nothing.
    new_due = later.astimezone(UTC).isoformat()
    assert len([job for job in await queued_for(arq_pool, card["id"]) if job.endswith(new_due)]) >= 2
    assert await reminders.schedule_card(arq_pool, card["id"]) == 0


async def test_restarting_the_worker_loses_nothing(card, arq_pool):
    await Card.update({Card.due_at: datetime.now(UTC) + timedelta(seconds=4)}).where(Card.id == card["id"])
    await reminders.schedule_card(arq_pool, card["id"])

    async def nudged():
        return "nudge" in await kinds(card["assignee"])

    await run_worker_until(arq_pool, nudged)  # the first worker stops before the deadline …

    async def due_too():
        return "due" in await kinds(card["assignee"])

    await run_worker_until(arq_pool, due_too)  # … and a new one delivers the rest
    assert await kinds(card["assignee"]) == ["due", "nudge"]


async def queued_for(pool, card_id: int) -> list[str]:
    """The reminder jobs waiting in Redis for one card."""
    members = [member.decode() for member in await pool.zrange("arq:queue", 0, -1)]
    return [member for member in members if member.startswith(f"reminder:{card_id}:")]


async def test_a_reminder_hours_away_is_rearmed_after_redis_forgets(card, arq_pool, redis_client):
    """After a restart that lost Redis, a 催办 three hours away must still be queued, not only
    what falls due within the next two hours."""
    now = datetime.now(UTC)
    await Card.update({Card.stage_started_at: now - timedelta(hours=1), Card.due_at: now + timedelta(hours=3)}).where(
        Card.id == card["id"]
    )
    await reminders.schedule_card(arq_pool, card["id"])
    await reminders.sweep(arq_pool)  # a sweep ran before Redis lost everything …
    await redis_client.flushdb()
    assert await queued_for(arq_pool, card["id"]) == []

    async def rearmed():
        return any(":nudge:" in job for job in await queued_for(arq_pool, card["id"]))

    await run_worker_until(arq_pool, rearmed, with_sweep=True)  # … the worker's sweep re-arms it
    assert {job.split(":")[3] for job in await queued_for(arq_pool, card["id"])} == {"nudge", "due", "escalation"}


async def test_the_sweep_leaves_closed_and_long_overdue_cards_alone(card, arq_pool):
    from portal.boards.tables import BoardColumn

    closed = (
        await BoardColumn.select(BoardColumn.id)
        .where((BoardColumn.board == card["board"]) & (BoardColumn.meaning == "done"))
        .first()
    )["id"]
    now = datetime.now(UTC)
    # Answered: in a done column, yet still carrying its deadline (campaign cards keep theirs).
    await Card.update({Card.column: closed, Card.due_at: now + timedelta(minutes=5)}).where(Card.id == card["id"])
    other = await card["world"].card("zhangwei", column="pending", title="早就逾期的")
    await arq_pool.flushdb()  # its creation armed its real deadline's reminders; the test sets its own
    # Overdue for longer than every 督办 round lasts (MAX_ESCALATION_ROUNDS working days).
    await Card.update(
        {
            Card.due_stage: "first_response",
            Card.stage_started_at: now - timedelta(days=91),
            Card.due_at: now - timedelta(days=90),
            Card.paused_at: None,
        }
    ).where(Card.id == other)
    await reminders.sweep(arq_pool)  # a full sweep (Redis is empty) …
    await reminders.sweep(arq_pool)  # … and the next minute's
    assert await queued_for(arq_pool, card["id"]) == []
    assert await queued_for(arq_pool, other) == []
    assert await reminders.schedule_card(arq_pool, card["id"]) == 0
