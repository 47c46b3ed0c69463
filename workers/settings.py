"""arq WorkerSettings: the jobs and cron entries every worker process runs.

Jobs take ids, not rows, and call the same services the web uses. Besides the jobs, each
worker runs the outbox (portal/events/outbox.py): every second it picks up the effects a
process left behind (it died between commit and running them) and the deliveries due for
a retry, so those go out within seconds; a daily cron removes done rows older than a week.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from datetime import timedelta

from arq import Retry, cron
from arq.connections import RedisSettings
from arq.worker import func

from portal import db
from portal.campaigns import task_reminders
from portal.events import outbox
from portal.events.outbox import EffectContext
from portal.reminders import services as reminders
from portal.settings import get_settings

HEARTBEAT_KEY = "portal:worker-heartbeat:{name}"
HEARTBEAT_TTL_SECONDS = 180
SERVE_PID_VARIABLE = "PORTAL_SERVE_PID"  # set by `portal serve` for the worker it supervises
OUTBOX_POLL_SECONDS = 1.0
OUTBOX_KEEP_DONE_DAYS = 7
WARNING_RETRY_SECONDS = 10

log = logging.getLogger("portal.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def startup(ctx: dict) -> None:
    await db.open_pool()
    # arq's pool is a Redis client too: it publishes to the live channels and queues jobs.
    outbox.configure(EffectContext(redis=ctx["redis"], arq=ctx["redis"]))
    ctx["outbox_task"] = asyncio.create_task(run_outbox(), name="portal-outbox")
    ctx["full_sweep"] = True  # a new worker re-arms everything once
    await heartbeat(ctx)


async def shutdown(ctx: dict) -> None:
    task = ctx.pop("outbox_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    outbox.configure(None)
    await ctx["redis"].delete(HEARTBEAT_KEY.format(name=worker_name()))
    await db.close_pool()


async def run_outbox(every: float = OUTBOX_POLL_SECONDS) -> None:
    """Run what the outbox holds and nobody runs, every second, until cancelled."""
    while True:
        try:
            await outbox.run_pending()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database hiccuped: log it and try again in a moment
            log.exception("outbox: run_pending failed")
        await asyncio.sleep(every)


async def purge_outbox(ctx: dict) -> int:
    """Done outbox rows are kept a week for inspection, then removed."""
    return await outbox.purge_done(timedelta(days=OUTBOX_KEEP_DONE_DAYS))


async def prune_stats_changes(ctx: dict) -> int:
    """The figures' change log keeps a day of changes (portal.stats.facts)."""
    from portal.stats import facts

    return await facts.prune()


async def heartbeat(ctx: dict) -> None:
    """Tell operators (and `portal serve`) that this worker is alive and polling."""
    if orphaned():
        # The `portal serve` that started this worker is gone (killed): stop with it rather
        # than run on unsupervised beside the worker of the next `portal serve`.
        os.kill(os.getpid(), signal.SIGTERM)
        return
    await ctx["redis"].set(HEARTBEAT_KEY.format(name=worker_name()), str(time.time()), ex=HEARTBEAT_TTL_SECONDS)


def orphaned() -> bool:
    """Started by `portal serve` (PORTAL_SERVE_PID) and that process is no longer our parent."""
    parent = os.environ.get(SERVE_PID_VARIABLE)
    return bool(parent) and os.getppid() != int(parent)


async def send_reminder(ctx: dict, card_id: int, stage: str, kind: str, round_number: int, due_iso: str) -> int:
    """One 催办 / due notice / 督办; returns how many people were newly notified (0 when it
    no longer applies or was already sent).

    The notifications and their deliveries (bells, e-mail, robots, the next 督办) commit
    together; the deliveries then run as outbox rows, each retried on its own by the outbox,
    so a failing delivery never makes arq run the reminder again."""
    notified = await reminders.send(card_id, stage, kind, round_number, due_iso)
    return len(notified)


async def sweep_reminders(ctx: dict) -> int:
    """Re-arm from the database whatever Redis lost (a FLUSHALL, a restore, a new worker):
    everything at start-up, hourly and when Redis forgot; otherwise what is due soon."""
    full = True if ctx.pop("full_sweep", False) else None
    return await reminders.sweep(ctx["redis"], full=full)


async def send_task_reminder(ctx: dict, task_id: int, kind: str, due_iso: str) -> int:
    """One campaign task's 催办 / due notice / overdue notice (portal/campaigns/task_reminders.py);
    returns how many people were newly notified (0 when it no longer applies or was sent)."""
    return len(await task_reminders.send(task_id, kind, due_iso))


async def sweep_task_reminders(ctx: dict) -> int:
    """Re-arm the campaign tasks' reminders Redis lost: everything when the worker starts,
    hourly and when Redis forgot; otherwise what is due soon."""
    full = None if ctx.get("task_sweep_ran") else True
    ctx["task_sweep_ran"] = True
    return await task_reminders.sweep(ctx["redis"], full=full)


_triage_one_at_a_time = asyncio.Lock()


async def triage_comment(ctx: dict, card_id: int) -> bool:
    """Triage one new comment (portal/comments/triage.py): sentiment, topic, sensitive words,
    similar comments, automatic assignment, the managers told about a 较大 / 重大 flag. Queued
    by the comment's creation (its outbox effect) with a job id per card; a card triaged before
    is left alone, so a second run changes and notifies nothing.

    One at a time per worker: the reading is CPU-bound (one core either way), and a burst of
    intake must not start a hundred write transactions that queue on the database's lock
    (on SQLite they stalled each other for seconds and starved the web's writes)."""
    from portal.comments import triage

    async with _triage_one_at_a_time:
        triaged = await triage.triage_card(card_id) is not None
        await observe_for_warning(card_id)
        return triaged


async def observe_for_warning(card_id: int) -> None:
    """The early warning's step for a triaged comment (portal/warning/services.py): its
    topic, the topic's counts, and an alert when the topic surges. Idempotent (a comment is
    observed once), so it runs on every triage job, retried ones included. A failure (the
    database hiccuped) retries the whole job a little later rather than lose the comment from
    its topic's counts: the triage part of a retried job is a no-op."""
    from portal.warning import services as warning

    try:
        await warning.observe_comment(card_id)
    except Exception as error:
        log.exception("warning: observing comment %s failed; retrying", card_id)
        raise Retry(defer=timedelta(seconds=WARNING_RETRY_SECONDS)) from error


async def escalate_warning_alert(ctx: dict, alert_id: int) -> int:
    """An unacknowledged 橙 / 红 alert's escalation, deferred to its time when it was raised;
    returns how many people were told (0 when acknowledged meanwhile or escalated before)."""
    from portal.warning import services as warning

    return len(await warning.escalate_alert(alert_id))


async def signal_warning_live(ctx: dict, board_id: int) -> None:
    """The trailing live signal of a board's 舆情监测 pages (portal/warning/effects.py)."""
    from portal.warning import effects as warning_effects

    await warning_effects.trailing_signal(ctx["redis"], board_id)


async def purge_warning(ctx: dict) -> dict[str, int]:
    """Daily: the early warning's old count rows and idle topics (portal/warning/services.py)."""
    from portal.warning import services as warning

    return await warning.purge_old()


async def sweep_warning_escalations(ctx: dict) -> int:
    """Escalate the alerts whose deferred job Redis lost (each once: the alert row decides)."""
    from portal.warning import services as warning

    return await warning.escalate_due()


async def archive_closed_cards(ctx: dict) -> int:
    """Hourly: cards closed for longer than their board's setting leave the board (archived,
    still found by search and counted in the figures)."""
    from portal.cards import services as cards

    return await cards.archive_closed_everywhere()


async def make_attachment_thumbnail(ctx: dict, attachment_id: int) -> str:
    """An image attachment's thumbnail (portal/attachments/services.py), queued by its upload's
    outbox effect with a job id per attachment; a second run finds it made and does nothing."""
    from portal.attachments import services as attachments

    return await attachments.make_thumbnail(attachment_id)


async def clean_attachment_orphans(ctx: dict) -> int:
    """Hourly: stored files no attachment refers to any more, older than an hour."""
    from portal.attachments import services as attachments

    return len(await attachments.remove_orphans())


async def index_missing_cards(ctx: dict) -> int:
    """Every five minutes (and at start-up): cards missing from the search index — a demo, an
    upgraded install, an effect that gave up — are indexed, at most SEARCH_BACKFILL_LIMIT a
    run (portal/search/indexer.py). Card writes index themselves (the search_index effect)."""
    from portal.search import indexer

    return await indexer.backfill(limit=SEARCH_BACKFILL_LIMIT)


SEARCH_BACKFILL_LIMIT = 20_000


class WorkerSettings:
    redis_settings = RedisSettings.from_dsn(get_settings().effective_redis_url)
    functions = [
        send_reminder,
        triage_comment,
        send_task_reminder,
        escalate_warning_alert,
        func(signal_warning_live, keep_result=0),  # one per board per five seconds: keep none
        make_attachment_thumbnail,
    ]
    cron_jobs = [
        cron(heartbeat, second={0, 30}, run_at_startup=False, unique=False),
        cron(sweep_reminders, second={15}, run_at_startup=True, unique=True),
        cron(sweep_task_reminders, second={45}, run_at_startup=True, unique=True),
        cron(sweep_warning_escalations, second={50}, run_at_startup=False, unique=True),
        cron(archive_closed_cards, minute={20}, second={30}, run_at_startup=False, unique=True, keep_result=60),
        cron(purge_outbox, hour={3}, minute={40}, second={0}, run_at_startup=False, unique=True, keep_result=60),
        cron(prune_stats_changes, minute={35}, second={0}, run_at_startup=False, unique=True, keep_result=60),
        cron(purge_warning, hour={3}, minute={50}, second={0}, run_at_startup=False, unique=True, keep_result=60),
        cron(index_missing_cards, minute=set(range(0, 60, 5)), second={10}, run_at_startup=True, timeout=280),
        cron(clean_attachment_orphans, minute={25}, second={0}, run_at_startup=False, unique=True, keep_result=60),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Reminders must fire close to their due time: poll often.
    poll_delay = 0.2
    max_jobs = 100
    keep_result = 7 * 24 * 3600  # a finished job's id blocks a duplicate for a week
    handle_signals = True
