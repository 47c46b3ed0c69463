"""arq WorkerSettings: the jobs and cron entries every worker process runs.

Jobs take ids, not rows, and call the same services the web uses.
"""

from __future__ import annotations

import os
import socket
import time

from arq import Retry, cron
from arq.connections import RedisSettings

from portal import db
from portal.live import publisher
from portal.notifications.delivery import DeliveryFailed
from portal.reminders import services as reminders
from portal.settings import get_settings

HEARTBEAT_KEY = "portal:worker-heartbeat:{name}"
HEARTBEAT_TTL_SECONDS = 180


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict) -> None:
    await db.open_pool()
    ctx["publish"] = publisher.backend_for(ctx["redis"]).publish
    await heartbeat(ctx)


async def shutdown(ctx: dict) -> None:
    await ctx["redis"].delete(HEARTBEAT_KEY.format(name=worker_name()))
    await db.close_pool()


async def heartbeat(ctx: dict) -> None:
    """Tell operators (and `portal serve`) that this worker is alive and polling."""
    await ctx["redis"].set(HEARTBEAT_KEY.format(name=worker_name()), str(time.time()), ex=HEARTBEAT_TTL_SECONDS)


async def send_reminder(ctx: dict, card_id: int, stage: str, kind: str, round_number: int, due_iso: str) -> int:
    """One 催办 / due notice / 督办; a no-op when it no longer applies or was already sent."""
    try:
        notified = await reminders.send(card_id, stage, kind, round_number, due_iso)
    except DeliveryFailed as error:
        # SMTP or a robot is down: try again later; what was delivered is not repeated.
        raise Retry(defer=min(60 * ctx.get("job_try", 1), 600)) from error
    if notified:
        publish = ctx.get("publish") or publisher.backend_for(ctx["redis"]).publish
        await publisher.notify_users(publish, notified)
        if kind == "escalation":
            # While it stays overdue, the next working day's 督办 is queued.
            await reminders.schedule_card(ctx["redis"], card_id)
    return len(notified)


async def sweep_reminders(ctx: dict) -> int:
    """Re-arm from the database whatever Redis lost (a FLUSHALL, a restore, a new worker)."""
    return await reminders.sweep(ctx["redis"])


class WorkerSettings:
    redis_settings = RedisSettings.from_dsn(get_settings().effective_redis_url)
    functions = [send_reminder]
    cron_jobs = [
        cron(heartbeat, second={0, 30}, run_at_startup=False, unique=False),
        cron(sweep_reminders, second={15}, run_at_startup=True, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Reminders must fire close to their due time: poll often.
    poll_delay = 0.2
    max_jobs = 100
    keep_result = 7 * 24 * 3600  # a finished job's id blocks a duplicate for a week
    handle_signals = True
