"""Search benchmark: full-text search over N cards (most of them closed or archived history).

Seeds a comments board and an inquiries board with N cards in all — plausible Chinese text
from a small generator of the city's topics (地铁 停运, 暴雨 积水, 医保 报销, 学区 …), replies
on a fifth of the comments and notes on a tenth of the cards, inquiries routed to eight
departments, 70 % of the cards archived — written straight into the tables in bulk; builds
the search index (``portal.search.indexer.backfill``, timed); then times ``search()``
in-process for several queries as an administrator and as a department liaison (who sees only
her department's cases), and ``GET /api/v1/search`` on a real `portal web` process beside its
hello-world endpoint (/healthz) in the same run:

    python bench/search.py [--cards 100000] [--rounds 30] [--database-url postgresql://…]

Runs on the embedded default (a fresh SQLite file and an embedded Redis in a temporary folder)
unless --database-url (or DATABASE_URL / REDIS_URL) is given. Prints `name: value` lines. Not
a test: it asserts nothing.
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
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-bench-search-"))

PASSWORD = "bench-password"  # noqa: S105 - the bench's throwaway users in a temporary database
DEPARTMENTS = 8
BATCH = 1000

PLACES = ["临江区", "新城区", "高新区", "东湖街道", "江北", "滨河路", "人民广场", "火车站", "城南", "开发区"]
SUBJECTS = [
    "地铁2号线", "地铁5号线", "公交37路", "医保报销", "异地就医", "学区划分", "暴雨积水", "小区停水",
    "片区停电", "垃圾分类", "夜间噪音", "公积金提取", "养老金发放", "物业收费", "路灯不亮", "共享单车",
    "违章停车", "疫苗接种", "社保卡补办", "积分落户", "菜市场改造", "幼儿园入园", "老旧小区加装电梯",
]  # fmt: skip
ISSUES = [
    "临时停运", "停运", "延误严重", "审核太慢", "一直没人处理", "怎么办理", "需要什么材料", "什么时候恢复",
    "收费不合理", "进度怎么查询", "严重影响出行", "反复出现", "政策有没有调整", "窗口排队太久",
]  # fmt: skip
TAILS = [
    "希望尽快解决。", "市民反映已经持续三天。", "请相关部门核实处理。", "已经打过12345热线。",
    "家里老人出行不便。", "孩子上学受影响。", "网上办理一直提示失败。", "周边居民意见很大。",
]  # fmt: skip
REPLIES = [
    "您好，已转交相关部门核实，处理结果将及时答复。", "您好，相关线路已恢复运营，感谢您的理解。",
    "您好，办理所需材料请见政务服务网公告。", "您好，我们已联系属地街道现场处置。",
]  # fmt: skip
NOTES = ["已电话回访，市民表示满意。", "需协调交通局共同处理。", "同类留言较多，建议统一口径。"]

QUERIES = [
    ("common_two_words", "地铁停运"),
    ("common_spaced", "医保 报销"),
    ("question_unspaced", "公积金提取需要什么材料"),
    ("rarer_three_words", "东湖街道路灯不亮"),
    ("reply_text", "政务服务网公告"),
    ("no_hit", "火星移民"),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def line(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{unit}", flush=True)


def sentence(rng: random.Random) -> tuple[str, str]:
    place, subject, issue = rng.choice(PLACES), rng.choice(SUBJECTS), rng.choice(ISSUES)
    title = f"{place}{subject}{issue}"
    body = (
        f"{place}{subject}{issue}，{rng.choice(TAILS)}{rng.choice(SUBJECTS)}也{rng.choice(ISSUES)}，{rng.choice(TAILS)}"
    )
    return title[:200], body


async def seed(cards: int, seed_value: int) -> dict:
    from portal.accounts.services import create_user_unchecked
    from portal.accounts.tables import Department
    from portal.boards.tables import Board, BoardColumn, BoardMember
    from portal.cards.kinds import kind_of
    from portal.cards.tables import Card, Note
    from portal.comments.tables import CommentDetail, Reply
    from portal.db import write_transaction
    from portal.inquiries.tables import InquiryDetail

    rng = random.Random(seed_value)
    departments = []
    for index in range(DEPARTMENTS):
        rows = await Department.insert(Department(code=f"dept{index}", name_zh=f"部门{index}", name_en=f"Dept {index}"))
        departments.append(rows[0]["id"])
    admin = await create_user_unchecked("bench", "压测员", PASSWORD, "admin")
    liaison = await create_user_unchecked("liaison", "联络员", PASSWORD, "liaison", departments[0])
    now = datetime.now(UTC)
    boards = {}
    for kind, share in (("comments", 0.6), ("inquiries", 0.4)):
        count = int(cards * share)
        board = (await Board.insert(Board(name=f"压测{kind}", kind=kind)))[0]["id"]
        boards[kind] = board
        await BoardMember.insert(BoardMember(board=board, user=liaison, role="member"))
        columns = []
        for index, spec in enumerate(kind_of(kind).columns):
            inserted = await BoardColumn.insert(
                BoardColumn(board=board, key=spec.key, name=spec.name, meaning=spec.meaning, position=index)
            )
            columns.append((inserted[0]["id"], spec.meaning))
        done = [column for column, meaning in columns if meaning == "done"][0]
        for start in range(0, count, BATCH):
            rows = []
            for i in range(start, min(count, start + BATCH)):
                title, body = sentence(rng)
                archived = rng.random() < 0.7
                column = done if archived or rng.random() < 0.5 else rng.choice(columns)[0]
                department = rng.choice(departments) if kind == "inquiries" else None
                rows.append(
                    Card(
                        board=board,
                        column=column,
                        position=float(i * 1024),
                        title=title,
                        body=body,
                        department=department,
                        archived=archived,
                        received_at=now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
                    )
                )
            async with write_transaction():
                inserted = await Card.insert(*rows)
                ids = [row["id"] for row in inserted]
                if kind == "comments":
                    await CommentDetail.insert(
                        *[
                            CommentDetail(
                                card=card_id,
                                platform=rng.choice(("wechat", "weibo", "douyin")),
                                author_handle=f"网友{rng.randint(1000, 99999)}",
                            )
                            for card_id in ids
                        ]
                    )
                    replies = [
                        Reply(card=c, body=rng.choice(REPLIES), status="sent") for c in ids if rng.random() < 0.2
                    ]
                    if replies:
                        await Reply.insert(*replies)
                else:
                    await InquiryDetail.insert(
                        *[
                            InquiryDetail(
                                card=card_id,
                                citizen_name=rng.choice("王李张刘陈杨") + rng.choice(("女士", "先生")),
                                citizen_phone=f"138{rng.randint(10000000, 99999999)}",
                                category=rng.choice(("policy", "complaint", "suggestion", "help")),
                                channel=rng.choice(("hotline", "website", "wechat")),
                            )
                            for card_id in ids
                        ]
                    )
                notes = [Note(card=c, body=rng.choice(NOTES)) for c in ids if rng.random() < 0.1]
                if notes:
                    await Note.insert(*notes)
    return {"admin": admin, "liaison": liaison, "boards": boards}


async def measure_in_process(rounds: int) -> None:
    from portal.accounts.services import get_active_user
    from portal.accounts.tables import User
    from portal.search import services as search

    for username in ("bench", "liaison"):
        user_id = (await User.select(User.id).where(User.username == username).first())["id"]
        user = await get_active_user(user_id)
        for name, query in QUERIES:
            for sort in ("relevance", "newest"):
                filters = search.SearchFilters(sort=sort)
                results = await search.search(user, query, filters)  # warm up
                times = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    await search.search(user, query, filters)
                    times.append((time.perf_counter() - started) * 1000)
                prefix = f"search_{username if username == 'liaison' else 'admin'}_{name}_{sort}"
                line(f"{prefix}_hits", results.total)
                line(f"{prefix}_p50_ms", f"{statistics.median(times):.1f}")
                line(f"{prefix}_p95_ms", f"{percentile(times, 0.95):.1f}")
        # A filtered search: one board, archived cards only, a time range.
        filters = search.SearchFilters(state="archived", first_day=(datetime.now(UTC) - timedelta(days=60)).date())
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            results = await search.search(user, "地铁停运", filters)
            times.append((time.perf_counter() - started) * 1000)
        prefix = f"search_{username if username == 'liaison' else 'admin'}_archived_last_60_days"
        line(f"{prefix}_hits", results.total)
        line(f"{prefix}_p50_ms", f"{statistics.median(times):.1f}")
        line(f"{prefix}_p95_ms", f"{percentile(times, 0.95):.1f}")


async def timed_gets(client, url: str, count: int, params: dict | None = None) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url, params=params)
        response.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure_http(base: str, rounds: int) -> None:
    import logging

    from tests.live_helpers import http_login

    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = await http_login(base, "bench", PASSWORD)
    await timed_gets(client, "/healthz", 20)
    hello = await timed_gets(client, "/healthz", 200)
    hello_p50 = statistics.median(hello)
    line("hello_world_p50_ms", f"{hello_p50:.2f}")
    for name, query in QUERIES[:3]:
        await timed_gets(client, "/api/v1/search", 3, {"q": query})
        times = await timed_gets(client, "/api/v1/search", rounds, {"q": query})
        line(f"api_search_{name}_p50_ms", f"{statistics.median(times):.1f}")
        line(f"api_search_{name}_p95_ms", f"{percentile(times, 0.95):.1f}")
        line(f"api_search_{name}_p50_vs_hello_world", f"{statistics.median(times) / hello_p50:.1f}x")
    await timed_gets(client, "/search", 3, {"q": "地铁停运"})
    times = await timed_gets(client, "/search", rounds, {"q": "地铁停运"})
    line("search_page_p50_ms", f"{statistics.median(times):.1f}")
    line("search_page_p95_ms", f"{percentile(times, 0.95):.1f}")
    line("search_page_p50_vs_hello_world", f"{statistics.median(times) / hello_p50:.1f}x")
    await client.aclose()


async def prepare(cards: int, seed_value: int, rounds: int) -> None:
    from portal import db
    from portal.migrate import apply_migrations
    from portal.search import indexer

    await db.open_pool()
    if not db.is_sqlite():
        # A bench database is ours for the run: start from an empty schema.
        await db.engine().run_ddl("DROP SCHEMA IF EXISTS public CASCADE")
        await db.engine().run_ddl("CREATE SCHEMA public")
    await apply_migrations()
    line("engine", "SQLite" if db.is_sqlite() else "PostgreSQL")
    started = time.perf_counter()
    await seed(cards, seed_value)
    line("cards", cards)
    line("seed_s", f"{time.perf_counter() - started:.1f}")
    started = time.perf_counter()
    indexed = await indexer.backfill(batch=BATCH)
    seconds = time.perf_counter() - started
    line("indexed_cards", indexed)
    line("index_build_s", f"{seconds:.1f}")
    line("index_build_cards_per_s", f"{indexed / seconds:.0f}")
    if not db.is_sqlite():
        # What autovacuum does on a live database: the planner's statistics after the bulk load.
        await db.engine().run_ddl("ANALYZE")
    await measure_in_process(rounds)
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--database-url", default="", help="PostgreSQL to run on (its schema is emptied first)")
    parser.add_argument("--no-http", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from portal.core.redis import EmbeddedRedis
    from portal.settings import get_settings

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url
    try:
        asyncio.run(prepare(args.cards, args.seed, args.rounds))
        if not args.no_http:
            from tests.processes import free_port, portal_process

            port = free_port()
            with portal_process("web", "--port", str(port), port=port):
                asyncio.run(measure_http(f"http://127.0.0.1:{port}", args.rounds))
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
