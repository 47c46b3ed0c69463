"""Early-warning benchmark on a simulated clock (portal/warning/simulate.py): every comment goes
through intake, triage and the warning step in this process, at its own simulated time.

    python bench/warning.py [--runs 5] [--surge 40] [--surge-minutes 10] [--per-hour 30] [--day-per-hour 30]
                            [--bursts 0.15] [--day-seed 99] [--cold-starts 720:1,200:2]

Prints `name: value` lines:
- surge_to_alert_p50_s / _p95_s: simulated seconds from the first comment of a surge (40 about
  地铁停运 in ten minutes, over ordinary traffic: 30 an hour by default, the issue's quiet
  board, as ``portal simulate --per-hour 30``; ``--per-hour 720`` for a busy one) to the first
  alert on that topic, over runs;
- surge_to_orange_p50_s / _p95_s: the same to the alert reaching 橙 (II);
- surge_alert_level: the levels the surges ended at;
- ordinary_day_false_alerts: alerts raised during a day of ordinary traffic (after a day of
  warm-up, so that topics have baselines), which should be 0; ordinary traffic has bursts
  (``--bursts``: that share of comments draws one or two replies within two minutes);
- cold_start_<rate>_per_h_<hours>h_false_alerts: alerts raised on a fresh board (no topic has a
  baseline yet) by ordinary traffic at that rate (720 an hour: ``portal simulate --rate 0.2``,
  a busy board, busier by day; ``--cold-starts``), which should be 0;
- ms_per_comment: the wall time one comment costs (intake + triage + warning).
Runs on a fresh SQLite file and an embedded Redis in a temporary folder unless DATABASE_URL /
REDIS_URL are set. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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


async def new_board(name: str) -> int:
    from portal.accounts.services import create_user_unchecked
    from portal.boards.tables import Board, BoardColumn, BoardMember
    from portal.cards.kinds import kind_of

    user = await create_user_unchecked(f"bench{time.time_ns()}", "值班员", "bench-password", "manager")
    board = (await Board.insert(Board(name=name, kind="comments")))[0]["id"]
    for position, column in enumerate(kind_of("comments").columns):
        await BoardColumn.insert(
            BoardColumn(board=board, key=column.key, name=column.name, meaning=column.meaning, position=position)
        )
    await BoardMember.insert(BoardMember(board=board, user=user, role="manager", on_duty=True))
    return board


async def surge_run(seed: int, args) -> tuple[float | None, float | None, str, int]:
    """One run on a board of its own: an hour of ordinary traffic, then the surge over it.
    Returns (seconds to the first alert, to 橙, the last level, comments sent)."""
    from portal.warning.simulate import Simulation

    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC) + timedelta(days=seed)  # 09:00 in Shanghai
    sim = Simulation(await new_board(f"预警压测 {seed}"), rng=random.Random(seed))
    await sim.ordinary(start - timedelta(hours=1), 1, args.per_hour, bursts=args.bursts)
    before = len(sim.raised)
    await sim.mixed(
        start, args.surge_minutes + 2, args.per_hour, args.topic, args.surge, args.surge_minutes, bursts=args.bursts
    )
    raised = [r for r in sim.raised[before:] if r.at >= start]
    # The surge's topic: the one most of the alerts after its start are about.
    if not raised:
        return None, None, "none", len(sim.topics)
    topic = max({r.topic_id for r in raised}, key=lambda t: sum(1 for r in raised if r.topic_id == t))
    first = next(r for r in raised if r.topic_id == topic)
    orange = next((r for r in raised if r.topic_id == topic and r.level in ("orange", "red")), None)
    level = max((r.level for r in raised if r.topic_id == topic), key=("blue", "yellow", "orange", "red").index)
    return (
        (first.at - start).total_seconds(),
        (orange.at - start).total_seconds() if orange else None,
        level,
        len(sim.topics),
    )


async def ordinary_day(args) -> tuple[int, int]:
    """A day of warm-up, then a day of ordinary traffic: the alerts of the second day."""
    from portal.warning.simulate import Simulation

    start = datetime(2026, 10, 1, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    sim = Simulation(await new_board("预警压测 平常日"), rng=random.Random(args.day_seed))
    await sim.ordinary(start, 24, args.day_per_hour, bursts=args.bursts)
    warm = len(sim.raised)
    await sim.ordinary(start + timedelta(days=1), 24, args.day_per_hour, bursts=args.bursts)
    false_alerts = {r.alert_id for r in sim.raised[warm:] if r.new}
    return len(false_alerts), len(sim.topics)


async def cold_start(per_hour: float, hours: float, args) -> tuple[int, int]:
    """Ordinary traffic on a fresh board from its first comment: the alerts raised."""
    from portal.warning.simulate import Simulation

    start = datetime(2026, 10, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: the busy part of the day
    sim = Simulation(await new_board(f"预警压测 冷启动 {per_hour:g}"), rng=random.Random(args.day_seed))
    await sim.ordinary(start, hours, per_hour, bursts=args.bursts)
    return len({r.alert_id for r in sim.raised if r.new}), len(sim.topics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--surge", type=int, default=40, help="comments in the surge")
    parser.add_argument("--surge-minutes", type=float, default=10)
    parser.add_argument("--topic", default="地铁停运")
    parser.add_argument("--per-hour", type=float, default=30, help="ordinary comments an hour around a surge")
    parser.add_argument("--day-per-hour", type=float, default=30, help="ordinary comments an hour on the ordinary day")
    parser.add_argument(
        "--bursts", type=float, default=0.15, help="share of ordinary comments followed by 1-2 replies within 2 min"
    )
    parser.add_argument("--day-seed", type=int, default=99)
    parser.add_argument("--skip-day", action="store_true", help="only the surge runs")
    parser.add_argument("--cold-starts", default="720:1,200:2", help="fresh boards as rate:hours pairs ('' for none)")
    args = parser.parse_args()

    from portal import db
    from portal.core.redis import EmbeddedRedis
    from portal.events import outbox
    from portal.migrate import apply_migrations
    from portal.settings import get_settings

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url
        if hasattr(get_settings, "cache_clear"):
            get_settings.cache_clear()

    async def run() -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        await db.open_pool()
        await apply_migrations()
        pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
        outbox.configure(outbox.EffectContext(redis=pool, arq=pool))
        first, orange, levels, comments, started = [], [], [], 0, time.perf_counter()
        for seed in range(args.runs):
            to_alert, to_orange, level, sent = await surge_run(seed, args)
            comments += sent
            levels.append(level)
            if to_alert is not None:
                first.append(to_alert)
            if to_orange is not None:
                orange.append(to_orange)
        spent = time.perf_counter() - started
        print(f"runs: {args.runs}")
        print(f"surge: {args.surge} comments about {args.topic} in {args.surge_minutes:g} min over {args.per_hour:g}/h")
        print(f"ordinary_bursts: {args.bursts:g} of comments draw 1-2 replies within 2 min")
        if first:
            print(f"surge_to_alert_p50_s: {statistics.median(first):.0f}")
            print(f"surge_to_alert_p95_s: {percentile(first, 0.95):.0f}")
        print(f"surges_alerted: {len(first)}/{args.runs}")
        if orange:
            print(f"surge_to_orange_p50_s: {statistics.median(orange):.0f}")
            print(f"surge_to_orange_p95_s: {percentile(orange, 0.95):.0f}")
        print(f"surge_alert_level: {','.join(levels)}")
        print(f"ms_per_comment: {spent * 1000 / max(1, comments):.0f}")
        if not args.skip_day:
            false_alerts, day_comments = await ordinary_day(args)
            print(f"ordinary_day_comments: {day_comments}")
            print(f"ordinary_day_false_alerts: {false_alerts}")
        for pair in filter(None, args.cold_starts.split(",")):
            per_hour, hours = (float(part) for part in pair.split(":"))
            false_alerts, sent = await cold_start(per_hour, hours, args)
            label = f"cold_start_{per_hour:g}_per_h_{hours:g}h"
            print(f"{label}_comments: {sent}")
            print(f"{label}_false_alerts: {false_alerts}")
        await pool.aclose()
        await db.close_pool()

    try:
        asyncio.run(run())
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
