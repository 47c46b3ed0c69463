"""Reminder benchmark: N reminders due within the next S seconds, two real `portal worker`
processes, and how late each notification came after its due time.

    python bench/reminders.py [--count 10000] [--window 60] [--workers 2]

Prints `name: value` lines: lag p50 / p99 / max (notification time minus due time),
duplicates (must be 0) and missed (must be 0). Runs on the embedded default (a fresh
SQLite file and an embedded Redis in a temporary folder) unless DATABASE_URL / REDIS_URL
are set. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-bench-"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def seed(count: int, window: float, lead: float) -> tuple[datetime, list[tuple[int, datetime]]]:
    from portal.accounts.services import create_user_unchecked
    from portal.boards.tables import Board, BoardColumn, BoardMember
    from portal.cards.kinds import kind_of
    from portal.cards.tables import Card
    from portal.db import write_transaction

    user = await create_user_unchecked(f"bench{int(time.time())}", "压测员", "bench-password", "manager")
    async with write_transaction():
        board = (await Board.insert(Board(name="提醒压测", kind="comments")))[0]["id"]
        first = kind_of("comments").columns[0]
        column = (
            await BoardColumn.insert(BoardColumn(board=board, key=first.key, name=first.name, meaning=first.meaning))
        )[0]["id"]
        await BoardMember.insert(BoardMember(board=board, user=user, role="manager"))
    start = datetime.now(UTC) + timedelta(seconds=lead)
    cards = []
    for index in range(count):
        due = start + timedelta(seconds=window * index / count)
        cards.append(
            Card(
                board=board,
                column=column,
                position=float(index),
                title=f"提醒 {index}",
                assignee=user,
                due_stage="first_response",
                stage_started_at=due,
                due_at=due,
                due_mode="natural_hours",
            )
        )
    ids = []
    for offset in range(0, count, 500):
        async with write_transaction():
            rows = await Card.insert(*cards[offset : offset + 500])
        ids += [row["id"] for row in rows]
    return start, [(card_id, card.due_at) for card_id, card in zip(ids, cards, strict=True)]


async def enqueue(due_cards) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    from portal.reminders.services import JOB_NAME, Reminder
    from portal.settings import get_settings

    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    for card_id, due in due_cards:
        reminder = Reminder(card_id, "first_response", "due", 0, due, due)
        await pool.enqueue_job(
            JOB_NAME,
            card_id,
            "first_response",
            "due",
            0,
            due.astimezone(UTC).isoformat(),
            _job_id=reminder.job_id,
            _defer_until=due,
        )
    await pool.aclose()


async def results(due_cards) -> tuple[list[float], int, int]:
    from piccolo.query.functions.aggregate import Count

    from portal.notifications.tables import Notification

    due_by_card = dict(due_cards)
    rows = await Notification.select(Notification.card_id, Notification.created_at).where(
        (Notification.kind == "due") & Notification.card_id.is_in(list(due_by_card))
    )
    lags = [(row["created_at"] - due_by_card[row["card_id"]]).total_seconds() * 1000 for row in rows]
    per_card = (
        await Notification.select(Notification.card_id, Count(alias="n"))
        .where((Notification.kind == "due") & Notification.card_id.is_in(list(due_by_card)))
        .group_by(Notification.card_id)
    )
    duplicates = sum(row["n"] - 1 for row in per_card if row["n"] > 1)
    missed = len(due_by_card) - len(per_card)
    return lags, duplicates, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from portal import db
    from portal.core.redis import EmbeddedRedis
    from portal.migrate import apply_migrations
    from portal.settings import get_settings
    from tests.processes import portal_process

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url

    async def prepare():
        await db.open_pool()
        await apply_migrations()
        seeded = await seed(args.count, args.window, lead=15 + args.count / 2000)
        await enqueue(seeded[1])
        await db.close_pool()
        return seeded

    try:
        setup_started = time.monotonic()
        start, due_cards = asyncio.run(prepare())
        print(f"setup_seconds: {time.monotonic() - setup_started:.1f}", flush=True)
        workers = [portal_process("worker", log=Path(settings.var_dir) / f"worker{i}.log") for i in range(args.workers)]
        for worker in workers:
            worker.__enter__()
        try:
            last_due = due_cards[-1][1]
            time.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + 10)
        finally:
            for worker in workers:
                worker.__exit__(None, None, None)

        async def collect():
            await db.open_pool()
            try:
                return await results(due_cards)
            finally:
                await db.close_pool()

        lags, duplicates, missed = asyncio.run(collect())
        print(f"reminders: {args.count}")
        print(f"window_seconds: {args.window:.0f}")
        print(f"workers: {args.workers}")
        if lags:
            print(f"lag_p50_ms: {statistics.median(lags):.0f}")
            print(f"lag_p99_ms: {percentile(lags, 0.99):.0f}")
            print(f"lag_max_ms: {max(lags):.0f}")
        print(f"duplicates: {duplicates}")
        print(f"missed: {missed}")
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
