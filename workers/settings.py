"""arq WorkerSettings: the jobs and cron entries every worker process runs.

Jobs take ids, not rows, and call the same services the web uses.
"""

from __future__ import annotations

import os
import socket
import time

from arq import cron
from arq.connections import RedisSettings

from portal import db
from portal.settings import get_settings

HEARTBEAT_KEY = "portal:worker-heartbeat:{name}"
HEARTBEAT_TTL_SECONDS = 180


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict) -> None:
    await db.open_pool()
    await heartbeat(ctx)


async def shutdown(ctx: dict) -> None:
    await ctx["redis"].delete(HEARTBEAT_KEY.format(name=worker_name()))
    await db.close_pool()


async def heartbeat(ctx: dict) -> None:
    """Tell operators (and `portal serve`) that this worker is alive and polling."""
    await ctx["redis"].set(HEARTBEAT_KEY.format(name=worker_name()), str(time.time()), ex=HEARTBEAT_TTL_SECONDS)


class WorkerSettings:
    redis_settings = RedisSettings.from_dsn(get_settings().effective_redis_url)
    functions: list = []
    cron_jobs = [cron(heartbeat, second={0, 30}, run_at_startup=False, unique=False)]
    on_startup = startup
    on_shutdown = shutdown
    # Reminders must fire close to their due time: poll often.
    poll_delay = 0.2
    max_jobs = 50
    handle_signals = True
