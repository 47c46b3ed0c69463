"""Board benchmark: a board of N cards served by a real `portal web` process.

Prints one `name: value` line per figure, each beside the hello-world endpoint
(/healthz) measured on the same server in the same run:

    python bench/board.py [--cards 1000] [--clients 500] [--rounds 10] [--load [--seconds 10]]
    python bench/board.py --cards 1000 --history 100000

--history H seeds a second board of the same N open cards plus H cards of its past in the
done column (a month of them closed, the rest archived, as the worker leaves them) and prints
both boards' page time and size in the same run, and their ratio: a board's cost should be
what it shows, not its history.

--load adds throughput under load, as `portal serve` (what `make run` runs) serves it: 4
connections kept open, each sending its next request as soon as the last answer arrived
(as `wrk -c4` does), for hello world and the boards of N and N/10 cards; requests a second
and the p50/p95 of each request, and the one-at-a-time p50 on the same server beside them.

The load generator is `wrk` when it is on PATH (a C program: it does not compete with the
server's Python for a core's time the way a Python client does), else a small asyncio one
in this file; the first line of the figures says which.

--against REF measures the code at an older commit beside this one, in the same run: a git
worktree of REF in a temporary folder (removed at the end), served with the same virtual
environment, the --load-only figures taken for each in turn, alternating old and new for
--rounds rounds (2 unless given); then both sets of figures and their ratios, per round and
of the medians:

    python bench/board.py --against 95c2b4c --rounds 2 [--cards 1000] [--seconds 10]

Runs on the embedded default (a fresh SQLite file and an embedded Redis in a temporary
folder) unless DATABASE_URL / REDIS_URL are set (--against always runs on the embedded
default, each run in a folder of its own). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The code measured: this repository, or (for --against) a worktree of an older commit,
# whose portal, workers and tests packages are then the ones imported and served.
CODE = Path(os.environ.get("PORTAL_BENCH_CODE") or REPO)
sys.path.insert(0, str(CODE))
OWN_VAR_DIR = None  # the folder made here (not setdefault: that would make one every time)
if not os.environ.get("PORTAL_VAR_DIR"):
    OWN_VAR_DIR = os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="portal-bench-")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def line(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{unit}", flush=True)


async def seed(cards: int) -> tuple[int, dict[str, int]]:
    from portal.accounts.services import create_user_unchecked
    from portal.accounts.tables import User
    from portal.boards.tables import Board, BoardColumn, BoardMember
    from portal.cards.kinds import kind_of
    from portal.cards.tables import Card
    from portal.comments.tables import CommentDetail
    from portal.db import write_transaction

    if not await User.exists().where(User.username == "bench"):
        await create_user_unchecked("bench", "压测员", "bench-password", "admin")
    async with write_transaction():
        board = (await Board.insert(Board(name=f"压测看板 {cards}", kind="comments")))[0]["id"]
        columns = {}
        for index, spec in enumerate(kind_of("comments").columns):
            columns[spec.key] = (
                await BoardColumn.insert(
                    BoardColumn(board=board, key=spec.key, name=spec.name, meaning=spec.meaning, position=index)
                )
            )[0]["id"]
        keys = list(columns)
        rows = [
            Card(
                board=board,
                column=columns[keys[i % len(keys)]],
                position=float(i * 1024),
                title=f"网友留言第 {i} 条：关于地铁线路和公交接驳的建议",
                labels=["交通", "建议"] if i % 2 else ["咨询"],
                body="市民反映早高峰换乘排队时间过长。",
            )
            for i in range(cards)
        ]
        for start in range(0, len(rows), 500):
            inserted = await Card.insert(*rows[start : start + 500])
            await CommentDetail.insert(
                *[
                    CommentDetail(card=row["id"], platform=("wechat", "weibo", "douyin")[(start + i) % 3])
                    for i, row in enumerate(inserted)
                ]
            )
    user = (await User.select(User.id).where(User.username == "bench").first())["id"]
    await BoardMember.insert(BoardMember(board=board, user=user, role="manager"))
    return board, columns


async def seed_history(board_id: int, columns: dict[str, int], history: int) -> None:
    """``history`` cards of the board's past in its done column: the most recent month's
    (up to 9,000, a few hundred a day) closed, the rest archived; all below the open page."""
    from datetime import UTC, datetime, timedelta

    from portal.cards.tables import Card
    from portal.comments.tables import CommentDetail
    from portal.db import write_transaction

    closed_open = min(9_000, history // 10)
    now = datetime.now(UTC)
    async with write_transaction():
        for start in range(0, history, 1000):
            rows = []
            for i in range(start, min(start + 1000, history)):
                archived = i >= closed_open
                entered = now - timedelta(minutes=5 * (i + 1))
                rows.append(
                    Card(
                        board=board_id,
                        column=columns["closed"],
                        position=1_000_000.0 + i * 1024,  # below the board's own cards: older
                        title=f"历史留言第 {i} 条：关于地铁停运和公交接驳的反映",
                        labels=["交通"],
                        body="市民反映暴雨天气地铁临时停运，希望及时发布通知。",
                        column_entered_at=entered,
                        archived=archived,
                        archived_at=now if archived else None,
                        archived_from="done" if archived else "",
                    )
                )
            inserted = await Card.insert(*rows)
            await CommentDetail.insert(*[CommentDetail(card=row["id"], platform="weibo") for row in inserted])


async def count_statements(board_id: int) -> tuple[int, int]:
    """SQL statements for one board page and for one card move, counted at the engine."""
    from litestar.testing import AsyncTestClient

    from portal.app import create_app
    from portal.cards.tables import Card
    from portal.db import engine

    db = engine()
    counter = {"n": 0}
    original = type(db).run_querystring

    async def counting(self, querystring, in_pool=True):
        counter["n"] += 1
        return await original(self, querystring, in_pool=in_pool)

    type(db).run_querystring = counting
    try:
        async with AsyncTestClient(create_app()) as client:
            page = await client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            await client.post("/login", data={"username": "bench", "password": "bench-password", "_csrf_token": token})
            await client.get(f"/boards/{board_id}")
            counter["n"] = 0
            await client.get(f"/boards/{board_id}")
            page_statements = counter["n"]
            card = await Card.select(Card.id, Card.version, Card.column).where(Card.board == board_id).first()
            token = re.search(r'"x-csrftoken": "([^"]+)"', (await client.get("/boards")).text).group(1)
            counter["n"] = 0
            await client.post(
                f"/cards/{card['id']}/move",
                data={"column_id": card["column"], "after_id": "", "version": card["version"]},
                headers={"x-csrftoken": token, "HX-Request": "true"},
            )
            move_statements = counter["n"]
    finally:
        type(db).run_querystring = original
    return page_statements, move_statements


async def timed_gets(client, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url)
        response.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(base: str, board_id: int, columns: dict[str, int], clients: int, rounds: int) -> None:
    import httpx
    import websockets

    from tests.live_helpers import http_login

    client = await http_login(base, "bench", "bench-password")
    await timed_gets(client, "/healthz", 20)  # warm up
    hello = await timed_gets(client, "/healthz", 200)
    hello_p50 = statistics.median(hello)
    line("hello_world_p50_ms", f"{hello_p50:.2f}")
    line("hello_world_p95_ms", f"{percentile(hello, 0.95):.2f}")

    await timed_gets(client, f"/boards/{board_id}", 3)
    pages = await timed_gets(client, f"/boards/{board_id}", 40)
    html = (await client.get(f"/boards/{board_id}")).text
    cards_on_page = len(re.findall(r"<article class=\"card", html))
    line("board_page_p50_ms", f"{statistics.median(pages):.1f}")
    line("board_page_p95_ms", f"{percentile(pages, 0.95):.1f}")
    line("board_page_p50_vs_hello_world", f"{statistics.median(pages) / hello_p50:.1f}x")
    line("board_page_bytes", len(html.encode()))
    line("board_page_bytes_per_card", f"{len(html.encode()) / max(cards_on_page, 1):.0f}")

    token = re.search(r'"x-csrftoken": "([^"]+)"', html).group(1)
    headers = {"x-csrftoken": token, "HX-Request": "true"}
    card_ids = [int(i) for i in re.findall(r'id="card-(\d+)" data-card-id', html)][:50]
    versions = {int(i): int(v) for i, v in re.findall(r'id="card-(\d+)" data-card-id="\d+" data-version="(\d+)"', html)}
    targets = list(columns.values())
    moves = []
    for index, card_id in enumerate(card_ids):
        started = time.perf_counter()
        response = await client.post(
            f"/cards/{card_id}/move",
            headers=headers,
            data={"column_id": targets[index % len(targets)], "after_id": "", "version": versions[card_id]},
        )
        moves.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        versions[card_id] += 1
    line("card_move_p50_ms", f"{statistics.median(moves):.1f}")
    line("card_move_p95_ms", f"{percentile(moves, 0.95):.1f}")
    line("card_move_p50_vs_hello_world", f"{statistics.median(moves) / hello_p50:.1f}x")

    # Fan-out: N websocket viewers, one change, the time until each has it.
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    url = base.replace("http", "ws", 1) + f"/boards/{board_id}/ws"
    sockets = []
    for _ in range(clients):
        socket = await websockets.connect(
            url, additional_headers={"Cookie": cookie}, origin=base, open_timeout=30, max_size=None
        )
        await socket.send('{"type": "hello", "seq": 1000000000}')
        sockets.append(socket)
    await asyncio.sleep(1.0)
    latencies: list[float] = []
    card_id = card_ids[0]
    for round_index in range(rounds):
        title = f"压测标题 {round_index}"

        async def wait_for(socket, needle=title):
            while True:
                message = await socket.recv()
                if needle in message:
                    return time.perf_counter()

        waiters = [asyncio.create_task(wait_for(socket)) for socket in sockets]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        response = await client.post(
            f"/cards/{card_id}",
            headers=headers,
            data={"title": title, "version": versions[card_id], "platform": "weibo"},
        )
        response.raise_for_status()
        versions[card_id] += 1
        arrived = await asyncio.wait_for(asyncio.gather(*waiters), timeout=60)
        latencies.extend((moment - started) * 1000 for moment in arrived)
        await asyncio.sleep(0.2)
    for socket in sockets:
        await socket.close()
    line("fanout_clients", clients)
    line("fanout_p50_ms", f"{statistics.median(latencies):.1f}")
    line("fanout_p95_ms", f"{percentile(latencies, 0.95):.1f}")
    line("fanout_p95_vs_hello_world", f"{percentile(latencies, 0.95) / hello_p50:.1f}x")
    await client.aclose()
    del httpx


async def _request(reader, writer, request: bytes) -> int:
    """One HTTP/1.1 request on a kept-open connection; returns the status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for header in lines[1:]:
        name, _, value = header.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def load(host: str, port: int, path: str, cookie: str, connections: int, seconds: float) -> dict:
    """A small wrk: ``connections`` kept-open connections, each sending its next request as
    soon as the answer to the last one arrived, for ``seconds`` (after one second of warm-up)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\nUser-Agent: bench\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    warm_until = started + 1.0
    stop_at = warm_until + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port, limit=2**24)
        try:
            while (now := time.perf_counter()) < stop_at:
                status = await _request(reader, writer, request)
                if now >= warm_until:
                    latencies.append((time.perf_counter() - now) * 1000)
                    if status != 200:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return {
        "rps": len(latencies) / (time.perf_counter() - warm_until),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
        "errors": errors,
    }


def wrk_load(host: str, port: int, path: str, cookie: str, connections: int, seconds: float) -> dict:
    """The same figures from wrk (one second of warm-up first, as the asyncio client has)."""
    url = f"http://{host}:{port}{path}"
    threads = str(min(2, connections))
    common = ["wrk", "-t", threads, "-c", str(connections), "-H", f"Cookie: {cookie}", "--latency"]
    subprocess.run([*common, "-d", "1s", url], check=True, capture_output=True)
    out = subprocess.run(
        [*common, "-d", f"{max(1, round(seconds))}s", url], check=True, capture_output=True, text=True
    ).stdout
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()
        return float(value) * units[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def load_generator() -> str:
    """wrk when it is on PATH, else the asyncio client above."""
    if shutil.which("wrk"):
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        return " ".join((version.stdout or version.stderr).split()[:2]) or "wrk"
    return "asyncio"


async def measure_load(base: str, boards: dict[int, int], connections: int, seconds: float) -> None:
    import logging

    from tests.live_helpers import http_login

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request in the figures
    # /healthz answered from the first web process to start: give the others, and the
    # worker's start-up sweep, a moment to finish before anything is timed.
    await asyncio.sleep(3)
    client = await http_login(base, "bench", "bench-password")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    host, port = base.removeprefix("http://").split(":")
    generator = load_generator()
    line("load_generator", generator if generator != "asyncio" else "asyncio (bench/board.py; wrk is not on PATH)")
    targets = [("hello_world", "/healthz")] + [
        (f"board_{cards}_cards", f"/boards/{board}") for cards, board in boards.items()
    ]
    for name, path in targets:
        await timed_gets(client, path, 5)  # warm up every process's caches a little
        alone = await timed_gets(client, path, 100 if name == "hello_world" else 20)
        line(f"load_{name}_one_at_a_time_p50_ms", f"{statistics.median(alone):.2f}")
        if generator == "asyncio":
            figures = await load(host, int(port), path, cookie, connections, seconds)
        else:
            figures = await asyncio.to_thread(wrk_load, host, int(port), path, cookie, connections, seconds)
        line(f"load_{name}_requests_per_s_at_{connections}_connections", f"{figures['rps']:.1f}")
        line(f"load_{name}_p50_ms_at_{connections}_connections", f"{figures['p50']:.2f}")
        tail = "p95" if "p95" in figures else "p99"  # wrk gives p90 and p99, not p95
        line(f"load_{name}_{tail}_ms_at_{connections}_connections", f"{figures[tail]:.2f}")
        if figures["errors"]:
            line(f"load_{name}_non_200_answers", figures["errors"])
    await client.aclose()


async def measure_history(base: str, plain: int, with_history: int, history: int) -> None:
    """The same board with and without its history, one request at a time, in one run."""
    from tests.live_helpers import http_login

    client = await http_login(base, "bench", "bench-password")
    await timed_gets(client, "/healthz", 20)
    hello_p50 = statistics.median(await timed_gets(client, "/healthz", 200))
    line("hello_world_p50_ms", f"{hello_p50:.2f}")
    figures = {}
    for name, board in (("without_history", plain), (f"with_{history}_history", with_history)):
        await timed_gets(client, f"/boards/{board}", 3)
        pages = await timed_gets(client, f"/boards/{board}", 40)
        html = (await client.get(f"/boards/{board}")).text
        figures[name] = statistics.median(pages)
        line(f"board_page_{name}_p50_ms", f"{statistics.median(pages):.1f}")
        line(f"board_page_{name}_p95_ms", f"{percentile(pages, 0.95):.1f}")
        line(f"board_page_{name}_vs_hello_world", f"{statistics.median(pages) / hello_p50:.1f}x")
        line(f"board_page_{name}_bytes", len(html.encode()))
        line(f"board_page_{name}_cards_shown", len(re.findall(r"<article class=\"card", html)))
    first, second = figures.values()
    line("board_page_with_history_vs_without", f"{second / first:.2f}x")
    await client.aclose()


async def prepare(cards: int, history: int = 0):
    from portal import db
    from portal.migrate import apply_migrations

    await db.open_pool()
    await apply_migrations()
    if history:
        plain, columns = await seed(cards)
        with_history, history_columns = await seed(cards)
        await seed_history(with_history, history_columns, history)
        statements, _ = await count_statements(with_history)
        await db.close_pool()
        return plain, with_history, columns, statements, None, None
    board_id, columns = await seed(cards)
    small_board, _ = await seed(max(cards // 10, 10))
    page_statements, move_statements = await count_statements(board_id)
    small_page_statements, _ = await count_statements(small_board)
    await db.close_pool()
    return board_id, small_board, columns, page_statements, small_page_statements, move_statements


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_side(code: Path, args: argparse.Namespace, folder: Path) -> dict[str, str]:
    """This script's --load-only figures for the code in ``code``, in a process of its own (a
    fresh SQLite file and Redis in a folder of its own), echoed as they come."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "PORTAL_VAR_DIR", "PORTAL_BENCH_CODE")
    }
    env.update(PORTAL_BENCH_CODE=str(code), PORTAL_VAR_DIR=tempfile.mkdtemp(prefix="var-", dir=folder))
    command = [sys.executable, str(Path(__file__).resolve()), "--load-only", "--cards", str(args.cards)]
    command += ["--seconds", str(args.seconds), "--connections", str(args.connections)]
    process = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    figures: dict[str, str] = {}
    other: list[str] = []
    for text in process.stdout:
        found = re.match(r"^([a-z0-9_]+): (.*)$", text.rstrip("\n"))
        if found:
            figures[found.group(1)] = found.group(2)
            print("   ", text, end="", flush=True)
        else:
            other.append(text)
    if process.wait() != 0:
        sys.stdout.write("".join(other[-30:]))
        raise SystemExit(f"the measurement of {code} failed ({process.returncode})")
    return figures


def compare(args: argparse.Namespace) -> None:
    """--against: the --load-only figures of REF's code and of this one, alternating."""
    rounds = args.rounds or 2
    old_commit = git("rev-parse", "--short", args.against)
    new_commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        new_commit += " with uncommitted changes"
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-against-"))
    worktree = folder / "code"
    git("worktree", "add", "--detach", str(worktree), args.against)
    runs: dict[str, list[dict[str, str]]] = {"old": [], "new": []}
    try:
        for index in range(rounds):
            for side in ("old", "new") if index % 2 == 0 else ("new", "old"):
                commit = old_commit if side == "old" else new_commit
                print(f"== round {index + 1}, {side} ({commit}), load average {load_average()}", flush=True)
                runs[side].append(run_side(worktree if side == "old" else REPO, args, folder))
        print(f"== end, load average {load_average()}", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False)
        shutil.rmtree(folder, ignore_errors=True)
        if OWN_VAR_DIR:  # this process's own, unused: each run had one of its own
            shutil.rmtree(OWN_VAR_DIR, ignore_errors=True)
    print_comparison(args, runs, old_commit, new_commit)


def print_comparison(args: argparse.Namespace, runs: dict, old_commit: str, new_commit: str) -> None:
    small, connections = max(args.cards // 10, 10), args.connections
    generators = sorted({run.get("load_generator", "?") for side in runs.values() for run in side})
    print()
    print(f"old: {old_commit}; new: {new_commit}; {len(runs['new'])} rounds, old and new alternating")
    print(f"load generator: {', '.join(generators)}; {connections} connections, {args.seconds:g} s a figure")
    print("ratios: requests/s new ÷ old, times old ÷ new, statements old ÷ new (above 1: new is better)")
    rows = []
    for name, label in (
        (f"board_{args.cards}_cards", f"board of {args.cards:,} cards"),
        (f"board_{small}_cards", f"board of {small:,} cards"),
        ("hello_world", "hello world"),
    ):
        key, at = f"load_{name}", f"at_{connections}_connections"
        rows.append((f"{label}, requests/s at {connections}", f"{key}_requests_per_s_{at}", True))
        rows.append((f"{label}, p50 ms at {connections}", f"{key}_p50_ms_{at}", False))
        rows.append((f"{label}, p50 ms one at a time", f"{key}_one_at_a_time_p50_ms", False))
    statements = "sql_statements_per_board_page"
    rows.append((f"SQL statements per board page ({args.cards:,})", statements, False))
    rows.append((f"SQL statements per board page ({small:,})", f"{statements}_at_{small}_cards", False))
    width = max(len(label) for label, _, _ in rows)

    def ratio(old: float, new: float, higher_is_better: bool) -> str:
        if not old or not new:
            return "–"
        return f"{(new / old if higher_is_better else old / new):.2f}×"

    print(f"{'figure':<{width}} | {'old':<19} | {'new':<19} | {'ratio per round':<17} | ratio of medians")
    for label, key, higher_is_better in rows:
        old = [float(run[key]) for run in runs["old"] if key in run]
        new = [float(run[key]) for run in runs["new"] if key in run]
        if not old or not new:
            continue
        per_round = " / ".join(ratio(a, b, higher_is_better) for a, b in zip(old, new, strict=False))
        medians = ratio(statistics.median(old), statistics.median(new), higher_is_better)
        old_text = " / ".join(f"{value:g}" for value in old)
        new_text = " / ".join(f"{value:g}" for value in new)
        print(f"{label:<{width}} | {old_text:<19} | {new_text:<19} | {per_round:<17} | {medians}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument(
        "--rounds", type=int, default=None, help="fan-out rounds (10); with --against, old/new rounds (2)"
    )
    parser.add_argument("--against", metavar="REF", help="compare with the code at this commit (see above)")
    parser.add_argument("--load", action="store_true", help="also measure throughput under load on `portal serve`")
    parser.add_argument("--connections", type=int, default=4, help="connections kept open under --load")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds each --load figure is measured")
    parser.add_argument("--load-only", action="store_true", help="only the --load figures (quicker comparisons)")
    parser.add_argument("--history", type=int, default=0, help="compare with a board holding this many past cards")
    args = parser.parse_args()
    if args.against:
        compare(args)
        return
    args.rounds = args.rounds or 10
    args.load = args.load or args.load_only

    from portal.core.redis import EmbeddedRedis
    from portal.settings import get_settings

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url
    try:
        if args.history:
            plain, with_history, _, statements, _, _ = asyncio.run(prepare(args.cards, args.history))
            line("cards", args.cards)
            line("history_cards", args.history)
            line("sql_statements_per_board_page_with_history", statements)
            from tests.processes import free_port, portal_process

            port = free_port()
            with portal_process("web", "--port", str(port), port=port):
                asyncio.run(measure_history(f"http://127.0.0.1:{port}", plain, with_history, args.history))
            return
        board_id, small_board, columns, statements, small_statements, move_statements = asyncio.run(prepare(args.cards))
        line("cards", args.cards)
        line("sql_statements_per_board_page", statements)
        line(f"sql_statements_per_board_page_at_{max(args.cards // 10, 10)}_cards", small_statements)
        line("sql_statements_per_card_move", move_statements)
        from tests.processes import free_port, portal_process

        port = free_port()
        if not args.load_only:
            with portal_process("web", "--port", str(port), port=port):
                asyncio.run(measure(f"http://127.0.0.1:{port}", board_id, columns, args.clients, args.rounds))
        if args.load:
            # `portal serve` starts its own Redis (on the same folder) when none is given.
            if embedded:
                embedded.stop()
                embedded = None
                os.environ.pop("REDIS_URL", None)
            port = free_port()
            with portal_process("serve", "--no-demo", "--port", str(port), port=port):
                boards = {max(args.cards // 10, 10): small_board, args.cards: board_id}
                asyncio.run(measure_load(f"http://127.0.0.1:{port}", boards, args.connections, args.seconds))
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
