"""Intake benchmark: N signed comments posted to `POST /api/intake/{source}` of a real
`portal web` process (and a `portal worker`, which runs whatever the web process's outbox
leaves, e.g. triage), while a logged-in viewer watches the board over its websocket.

Prints one `name: value` line per figure, beside the hello-world endpoint (/healthz) measured
on the same server in the same run:

    python bench/intake.py [--messages 500] [--concurrency 4]

- intake_messages_per_s: accepted posts (201) per second of wall time, `--concurrency` senders;
- intake_post_p50_ms / p95: one post's answer time;
- intake_to_board_p50_ms / p95: from sending a post to its card arriving on the board's
  websocket (the live update is an outbox effect, run after the commit).

Runs on the embedded default (a fresh SQLite file and an embedded Redis in a temporary folder)
unless DATABASE_URL / REDIS_URL are set. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-bench-"))

SOURCE = "bench-relay"
TEXTS = (
    "地铁2号线早高峰太挤了，建议增加班次。",
    "社保卡补办要跑几次？网上能不能办？",
    "小区门口的路灯坏了一个月了，没人管吗？",
    "感谢12345热线，孩子入学的问题很快就解决了！",
    "公积金提取的材料清单在哪里能查到？",
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def line(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{unit}", flush=True)


async def prepare() -> tuple[int, str]:
    """A comments board, a bench admin watching it, and an intake source feeding it."""
    from portal import db
    from portal.accounts.services import create_user_unchecked
    from portal.boards.tables import Board, BoardColumn
    from portal.cards.kinds import kind_of
    from portal.comments.intake_services import create_source
    from portal.core.identity import SYSTEM
    from portal.migrate import apply_migrations

    await db.open_pool()
    await apply_migrations()
    await create_user_unchecked("bench", "压测员", "bench-password", "admin")
    board = (await Board.insert(Board(name="接入压测", kind="comments")))[0]["id"]
    for index, spec in enumerate(kind_of("comments").columns):
        await BoardColumn.insert(
            BoardColumn(board=board, key=spec.key, name=spec.name, meaning=spec.meaning, position=index)
        )
    secret = (await create_source(SYSTEM, SOURCE, board)).secret
    await db.close_pool()
    return board, secret


async def timed_gets(client, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(base: str, board_id: int, secret: str, messages: int, concurrency: int) -> None:
    import httpx
    import websockets

    from portal.comments.intake import sign
    from tests.live_helpers import http_login

    viewer = await http_login(base, "bench", "bench-password")
    await timed_gets(viewer, "/healthz", 20)  # warm up
    hello = await timed_gets(viewer, "/healthz", 200)
    hello_p50 = statistics.median(hello)
    line("hello_world_p50_ms", f"{hello_p50:.2f}")

    # The board's live view: note when each card first arrives.
    arrived: dict[int, float] = {}
    cookie = "; ".join(f"{k}={v}" for k, v in viewer.cookies.items())
    socket = await websockets.connect(
        base.replace("http", "ws", 1) + f"/boards/{board_id}/ws",
        additional_headers={"Cookie": cookie},
        origin=base,
        max_size=None,
    )
    await socket.send('{"type": "hello", "seq": 0}')

    async def listen() -> None:
        async for frame in socket:
            moment = time.perf_counter()
            for card_id in re.findall(r'id="card-(\d+)"', frame if isinstance(frame, str) else frame.decode()):
                arrived.setdefault(int(card_id), moment)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.5)

    sent: dict[int, float] = {}
    answers: list[float] = []
    statuses: dict[int, int] = {}
    received_at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(messages):
        queue.put_nowait(number)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            body = json.dumps(
                {
                    "platform": ("weibo", "wechat", "douyin")[number % 3],
                    "external_id": f"bench-{number}",
                    "author": f"网友{number}",
                    "text": f"{TEXTS[number % len(TEXTS)]}（第{number}条）",
                    "received_at": received_at,
                },
                ensure_ascii=False,
            ).encode()
            timestamp = int(time.time())
            headers = {
                "X-Portal-Timestamp": str(timestamp),
                "X-Portal-Signature": sign(secret, timestamp, body),
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            response = await client.post(f"/api/intake/{SOURCE}", content=body, headers=headers)
            answers.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 201:
                sent[response.json()["card_id"]] = started

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*[sender(client) for _ in range(concurrency)])
    elapsed = time.perf_counter() - began
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and not set(sent) <= set(arrived):  # noqa: ASYNC110 (a poll with a deadline)
        await asyncio.sleep(0.1)
    listener.cancel()
    await socket.close()
    await viewer.aclose()

    latencies = [(arrived[card] - started) * 1000 for card, started in sent.items() if card in arrived]
    line("messages", messages)
    line("concurrency", concurrency)
    line("answers", " ".join(f"{status}x{count}" for status, count in sorted(statuses.items())))
    line("intake_messages_per_s", f"{statuses.get(201, 0) / elapsed:.1f}")
    line("intake_post_p50_ms", f"{statistics.median(answers):.1f}")
    line("intake_post_p95_ms", f"{percentile(answers, 0.95):.1f}")
    line("intake_post_p50_vs_hello_world", f"{statistics.median(answers) / hello_p50:.1f}x")
    line("cards_seen_on_board", f"{len(latencies)} of {len(sent)}")
    if latencies:
        line("intake_to_board_p50_ms", f"{statistics.median(latencies):.1f}")
        line("intake_to_board_p95_ms", f"{percentile(latencies, 0.95):.1f}")
        line("intake_to_board_p95_vs_hello_world", f"{percentile(latencies, 0.95) / hello_p50:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--logs", type=Path, default=None, help="Write the web and worker logs in this folder.")
    args = parser.parse_args()

    from portal.core.redis import EmbeddedRedis
    from portal.settings import get_settings

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url
    try:
        board_id, secret = asyncio.run(prepare())
        from tests.processes import free_port, portal_process

        port = free_port()
        logs = {}
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            logs = {"worker": args.logs / "worker.log", "web": args.logs / "web.log"}
        with (
            portal_process("worker", log=logs.get("worker")),
            portal_process("web", "--port", str(port), port=port, log=logs.get("web")),
        ):
            asyncio.run(measure(f"http://127.0.0.1:{port}", board_id, secret, args.messages, args.concurrency))
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
