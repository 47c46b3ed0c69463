"""Evaluation benchmark: the dashboard's figures over N cards with a year of history.

Seeds a comments board and an inquiries board with N cards received over the last year and
their history as the portal records it (stage visits on time or late, deadline clocks,
replies, follow-up verdicts, 督办 notices, reopenings), written straight into the tables in
bulk; then times the first load of the facts a process keeps (``portal.stats.facts``) and
``dashboard()`` in-process for this month and for the last year (as an administrator and as a
department liaison, who sees only her department's cards) — wall clock and the process's CPU
time, with the machine's load, since a shared machine stretches the former — beside the same
figures counted straight from the tables (``reference=True``, what every dashboard did before
the facts) and a dashboard just after a card changed; counts its SQL statements, and times
``GET /api/v1/stats`` on a real `portal web` process beside its hello-world endpoint
(/healthz) in the same run:

    python bench/stats.py [--cards 200000] [--rounds 5] [--seed 12]

Runs on the embedded default (a fresh SQLite file and an embedded Redis in a temporary folder)
unless DATABASE_URL / REDIS_URL are set. Prints `name: value` lines. Not a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-bench-stats-"))

PASSWORD = "bench-password"  # noqa: S105 - the bench's throwaway admin in a temporary database
DAYS = 365
DEPARTMENTS = 8
MEMBERS = 20
HOUR = timedelta(hours=1)


def line(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{unit}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# Bulk writing -------------------------------------------------------------------------------


class Bulk:
    """Rows for many tables, written at the end in bulk: sqlite3's executemany on the embedded
    file, COPY on PostgreSQL. Missing columns take the table's defaults."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.next_id: dict[Any, int] = {}

    def add(self, table, **values: Any) -> int:
        row_id = self.next_id.get(table, 1)
        self.next_id[table] = row_id + 1
        self.rows.setdefault(table, []).append({"id": row_id, **values})
        return row_id

    @staticmethod
    def _defaults(table) -> dict[str, Any]:
        found = {}
        for column in table._meta.columns:
            name = column._meta.db_column_name
            if name == "id":
                continue
            default = column.get_default_value()
            if hasattr(default, "python"):
                default = default.python()
            found[name] = default
        return found

    async def write(self) -> int:
        from portal.db import engine, is_sqlite

        total = 0
        for table, rows in self.rows.items():
            defaults = self._defaults(table)
            names = ["id", *defaults]
            records = [tuple(row.get(name, defaults.get(name)) for name in names) for row in rows]
            total += len(records)
            if is_sqlite():
                _sqlite_insert(engine().path, table._meta.tablename, names, records)
            else:
                await _postgres_copy(table._meta.tablename, names, records)
        return total


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return str(value.astimezone(UTC))  # as Piccolo stores a timestamptz on SQLite
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _sqlite_insert(path: str, table: str, names: list[str], records: list[tuple]) -> None:
    import sqlite3

    connection = sqlite3.connect(path, timeout=30)
    try:
        columns = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" for _ in names)
        with connection:
            connection.executemany(
                f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',  # noqa: S608 - our own table and column names
                ([_sqlite_value(value) for value in record] for record in records),
            )
    finally:
        connection.close()


async def _postgres_copy(table: str, names: list[str], records: list[tuple]) -> None:
    import asyncpg

    from portal.settings import get_settings

    connection = await asyncpg.connect(get_settings().database_url.replace("postgres://", "postgresql://", 1))
    try:
        converted = [
            tuple(json.dumps(value) if isinstance(value, list | dict) else value for value in record)
            for record in records
        ]
        await connection.copy_records_to_table(table, records=converted, columns=names)
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
        )
    finally:
        await connection.close()


# The city's year ----------------------------------------------------------------------------


class Seeder:
    def __init__(self, cards: int, seed: int, now: datetime) -> None:
        self.cards = cards
        self.random = random.Random(seed)
        self.now = now
        self.bulk = Bulk()

    def pick(self, weights: dict[Any, float]) -> Any:
        return self.random.choices(list(weights), weights=list(weights.values()))[0]

    def after(self, moment: datetime, low_hours: float, high_hours: float) -> datetime:
        return moment + timedelta(hours=self.random.uniform(low_hours, high_hours))

    async def seed(self) -> dict[str, Any]:
        from portal.accounts.services import create_user_unchecked
        from portal.accounts.tables import Department, User
        from portal.boards.tables import Board, BoardColumn, BoardMember
        from portal.cards.kinds import kind_of

        departments = []
        for index in range(DEPARTMENTS):
            rows = await Department.insert(
                Department(code=f"dept{index}", name_zh=f"部门{index}", name_en=f"Dept {index}")
            )
            departments.append(rows[0]["id"])
        admin = await create_user_unchecked("bench", "压测管理员", PASSWORD, "admin")
        liaison = await create_user_unchecked("liaison", "压测联络员", PASSWORD, "liaison", departments[0])
        # The members never log in: no password hash worth computing.
        members = []
        for index in range(MEMBERS):
            rows = await User.insert(
                User(
                    username=f"member{index}",
                    display_name=f"成员{index}",
                    password_hash="!",  # noqa: S106 - matches no password: they cannot log in
                    role="member",
                    department=departments[index % DEPARTMENTS],
                )
            )
            members.append(rows[0]["id"])
        self.departments, self.members = departments, members
        boards, columns = {}, {}
        for kind in ("comments", "inquiries"):
            board = (await Board.insert(Board(name=f"压测 {kind}", kind=kind)))[0]["id"]
            boards[kind] = board
            for position, spec in enumerate(kind_of(kind).columns):
                rows = await BoardColumn.insert(
                    BoardColumn(board=board, key=spec.key, name=spec.name, meaning=spec.meaning, position=position)
                )
                columns[(kind, spec.key)] = rows[0]["id"]
            for user in [liaison, *members]:
                await BoardMember.insert(BoardMember(board=board, user=user, role="member"))
        self.boards, self.columns = boards, columns
        # Ids continue after anything already there (the users' creation events …).
        from portal.cards.tables import Card, CardStage
        from portal.comments.tables import CommentDetail, Reply
        from portal.events.tables import Event
        from portal.inquiries.tables import InquiryDetail, InquiryStep
        from portal.sla.tables import CardClock

        for table in (Card, CardStage, CardClock, CommentDetail, Reply, Event, InquiryDetail, InquiryStep):
            last = await table.select(table.id).order_by(table.id, ascending=False).first()
            self.bulk.next_id[table] = (last["id"] + 1) if last else 1
        started = time.perf_counter()
        # Cards arrive in time order, as they do (ids follow receipt), spread over the year.
        arrivals = sorted(self.random.uniform(0, DAYS * 86400) for _ in range(self.cards))
        for index, seconds in enumerate(arrivals):
            received = self.now - timedelta(seconds=DAYS * 86400 - seconds)
            if self.random.random() < 0.6:
                self.comment(index, received)
            else:
                self.inquiry(index, received)
        built = time.perf_counter() - started
        started = time.perf_counter()
        rows = await self.bulk.write()
        from portal.db import engine, is_sqlite

        if not is_sqlite():
            await engine().run_ddl("ANALYZE")  # as autovacuum does after a bulk load
        return {
            "admin": admin,
            "liaison": liaison,
            "rows": rows,
            "build_s": built,
            "write_s": time.perf_counter() - started,
        }

    # One card ---------------------------------------------------------------------------

    def card(self, kind: str, index: int, received: datetime, department: int | None, **fields: Any) -> int:
        from portal.cards.tables import Card

        assignee = self.random.choice(self.members) if self.random.random() < 0.9 else None
        return self.bulk.add(
            Card,
            board=self.boards[kind],
            column=None,  # set by ``finish``
            position=float(index * 1024),
            title=f"压测卡片 {index}",
            body="市民反映早高峰换乘排队时间过长。",
            assignee=assignee,
            received_at=received,
            department=department,
            assisting_departments=[],
            created_at=received,
            updated_at=received,
            **fields,
        )

    def finish(self, card_id: int, kind: str, key: str, entered: datetime, clock: tuple | None = None, round_=1):
        """The card's present column, and its running clock if any: (stage, started, due)."""
        from portal.cards.tables import Card

        row = self.bulk.rows[Card][-1]
        assert row["id"] == card_id
        row.update(column=self.columns[(kind, key)], column_entered_at=entered, clock_round=round_)
        if clock is not None:
            stage, started, due = clock
            row.update(due_stage=stage, stage_started_at=started, due_at=due, due_mode="natural_hours")

    def visit(
        self,
        card_id: int,
        kind: str,
        key: str,
        entered: datetime,
        left: datetime | None,
        clock=None,
        due=None,
        round_=1,
    ):
        from portal.cards.tables import CardStage

        values: dict[str, Any] = {
            "card": card_id,
            "board": self.boards[kind],
            "column": self.columns[(kind, key)],
            "stage": key,
            "clock": clock,
            "round": round_,
            "entered_at": entered,
            "left_at": left,
            "due_at": due if left else None,
        }
        if left is not None:
            minutes = int((left - entered).total_seconds() // 60)
            values.update(working_minutes=minutes * 8 // 24, on_time=None if due is None else left <= due)
        self.bulk.add(CardStage, **values)

    def clock(self, card_id: int, stage: str, started: datetime, due: datetime, completed: datetime | None, round_=1):
        from portal.sla.tables import CardClock

        self.bulk.add(
            CardClock,
            card_id=card_id,
            stage=stage,
            round=round_,
            started_at=started,
            due_at=due,
            mode="natural_hours",
            completed_at=completed,
        )

    def comment(self, index: int, received: datetime) -> None:
        from portal.comments.tables import CommentDetail, Reply

        now, kind = self.now, "comments"
        department = self.random.choice(self.departments) if self.random.random() < 0.7 else None
        card_id = self.card(kind, index, received, department)
        due = received + 24 * HOUR
        delay = self.pick({(0.05, 3): 0.5, (3, 20): 0.3, (20, 72): 0.2})
        replied = self.after(received, *delay) if self.random.random() < 0.75 else None
        detail = {
            "card": card_id,
            "platform": self.pick({"wechat": 4, "weibo": 3, "douyin": 2, "website": 1}),
            "sentiment": self.pick({"neutral": 5, "negative": 3, "positive": 2}),
            "topic": self.pick({"交通": 3, "医保": 2, "教育": 2, "住房": 1, "环境": 1, None: 2}),
            "triaged_at": received,
        }
        if replied is not None and replied <= now:
            detail["replied_at"] = replied
            self.bulk.add(
                Reply, card=card_id, body="您好，已收到。", status="sent", created_at=replied, sent_at=replied
            )
            self.visit(card_id, kind, "new", received, replied, "first_response", due)
            self.clock(card_id, "first_response", received, due, replied)
            closed = self.after(replied, 1, 48)
            if self.random.random() < 0.6 and closed <= now:
                self.visit(card_id, kind, "replied", replied, closed)
                self.visit(card_id, kind, "closed", closed, None)
                self.finish(card_id, kind, "closed", closed)
            else:
                self.visit(card_id, kind, "replied", replied, None)
                self.finish(card_id, kind, "replied", replied)
        else:
            closed = self.after(received, 2, 72)
            if due < now and closed <= now and self.random.random() < 0.8:
                self.visit(card_id, kind, "new", received, closed, "first_response", due)
                self.visit(card_id, kind, "closed", closed, None)
                self.clock(card_id, "first_response", received, due, closed)
                self.finish(card_id, kind, "closed", closed)
            else:
                self.visit(card_id, kind, "new", received, None, "first_response")
                self.clock(card_id, "first_response", received, due, None)
                self.finish(card_id, kind, "new", received, ("first_response", received, due))
        self.bulk.add(CommentDetail, **detail)

    def inquiry(self, index: int, received: datetime) -> None:
        from portal.events.tables import Event
        from portal.inquiries.tables import InquiryDetail, InquiryStep

        now, kind = self.now, "inquiries"
        department = self.random.choice(self.departments)
        card_id = self.card(kind, index, received, department)
        detail = {
            "card": card_id,
            "channel": self.pick({"hotline": 5, "website": 3, "wechat": 2}),
            "category": self.pick({"policy": 4, "complaint": 3, "help": 2, "suggestion": 1, "complex": 1}),
        }
        board = self.boards[kind]

        def step(action: str, at: datetime, **data: Any) -> None:
            self.bulk.add(
                InquiryStep, card=card_id, board=board, action=action, department=department, data=data, created_at=at
            )

        def stop(key: str, entered: datetime, stage: str, due: datetime, round_: int = 1) -> None:
            self.visit(card_id, kind, key, entered, None, stage, round_=round_)
            self.clock(card_id, stage, entered, due, None, round_)
            self.finish(card_id, kind, key, entered, (stage, entered, due), round_)
            self.bulk.add(InquiryDetail, **detail)

        accept_due = received + 24 * HOUR
        accepted = self.after(received, 0.5, 30)
        if accepted > now:
            self.visit(card_id, kind, "pending_accept", received, None, "accept")
            self.clock(card_id, "accept", received, accept_due, None)
            self.finish(card_id, kind, "pending_accept", received, ("accept", received, accept_due))
            self.bulk.add(InquiryDetail, **detail)
            return
        detail.update(accepted_at=accepted, urgency="normal")
        step("accept", accepted, category=detail["category"], urgency="normal")
        self.clock(card_id, "accept", received, accept_due, accepted)
        dispatched = self.after(accepted, 0.2, 4)
        if dispatched > now:
            stop_at = accepted
            self.visit(card_id, kind, "pending_accept", received, None, None)
            self.finish(card_id, kind, "pending_accept", stop_at)
            self.bulk.add(InquiryDetail, **detail)
            return
        self.visit(card_id, kind, "pending_accept", received, dispatched, "accept", accept_due)
        round_, entered = 1, dispatched
        while True:
            answer_due = entered + 5 * 24 * HOUR
            answered = self.after(entered, 4, 10 * 24)
            if self.random.random() < 0.05 and entered + 6 * 24 * HOUR < min(answered, now):
                step("supervise", entered + 6 * 24 * HOUR)
                detail["supervise_count"] = detail.get("supervise_count", 0) + 1
            if answered > now:
                return stop("handling", entered, "answer", answer_due, round_)
            self.visit(card_id, kind, "handling", entered, answered, "answer", answer_due, round_)
            self.clock(card_id, "answer", entered, answer_due, answered, round_)
            follow_due = answered + 2 * 24 * HOUR
            followed = self.after(answered, 2, 72)
            if followed > now:
                return stop("answered", answered, "follow_up", follow_due, round_)
            self.visit(card_id, kind, "answered", answered, followed, "follow_up", follow_due, round_)
            self.clock(card_id, "follow_up", answered, follow_due, followed, round_)
            verdict = self.pick({"satisfied": 70, "basically_satisfied": 15, "dissatisfied": 15})
            step("follow_up", followed, verdict=verdict)
            detail["verdict"] = verdict
            if verdict == "dissatisfied" and round_ < 3:
                round_, entered = round_ + 1, followed
                detail["reopen_count"] = round_ - 1
                self.bulk.add(
                    Event,
                    board_id=board,
                    verb="card.reopened",
                    object_type="card",
                    object_id=card_id,
                    payload={"round": round_},
                    created_at=followed,
                )
                continue
            self.visit(card_id, kind, "closed", followed, None, round_=round_)
            self.finish(card_id, kind, "closed", followed, None, round_)
            self.bulk.add(InquiryDetail, **detail)
            return


# Timing -------------------------------------------------------------------------------------


async def count_statements(function) -> int:
    from portal.db import engine

    db = engine()
    counter = {"n": 0}
    original = type(db).run_querystring

    async def counting(self, querystring, in_pool=True):
        counter["n"] += 1
        return await original(self, querystring, in_pool=in_pool)

    type(db).run_querystring = counting
    try:
        await function()
    finally:
        type(db).run_querystring = original
    return counter["n"]


async def timed(function, rounds: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds per call; with ``cpu``, also this process's CPU milliseconds per
    call, which a busy machine stretches less than the wall clock (on the embedded mode they
    include SQLite's work, done in aiosqlite's thread; PostgreSQL's is the server's)."""
    times = []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        await function()
        times.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return times


async def prepare(cards: int, seed: int, rounds: int) -> None:
    from portal import db
    from portal.accounts.services import get_active_user
    from portal.cards.tables import Card
    from portal.migrate import apply_migrations
    from portal.stats import facts, figures
    from portal.stats.period import default_filters, filters_for, today

    await db.open_pool()
    await apply_migrations()
    started = time.perf_counter()
    seeded = await Seeder(cards, seed, datetime.now(UTC)).seed()
    line("cards", cards)
    line("rows_written", seeded["rows"])
    line("seed_seconds", f"{time.perf_counter() - started:.1f}")
    admin, liaison = await get_active_user(seeded["admin"]), await get_active_user(seeded["liaison"])
    month = default_filters()
    year = filters_for(today() - timedelta(days=DAYS - 1), today())
    # The facts a process keeps (portal.stats.facts): their first load, as a web process does
    # when it starts, and what they hold.
    started, started_cpu = time.perf_counter(), time.process_time()
    kept = await facts.current()
    line("facts_first_load_ms", f"{(time.perf_counter() - started) * 1000:.0f}")
    line("facts_first_load_cpu_ms", f"{(time.process_time() - started_cpu) * 1000:.0f}")
    held = sum(
        rows.card.nbytes + sum(values.nbytes for values in rows.columns.values())
        for rows in (getattr(kept, name) for name in kept.TABLES)
    )
    line("facts_rows", sum(len(getattr(kept, name)) for name in kept.TABLES))
    line("facts_memory_mb", f"{held / 2**20:.1f}")
    for name, user, filters in [
        ("month", admin, month),
        ("year", admin, year),
        ("month_liaison", liaison, month),
        ("year_liaison", liaison, year),
    ]:
        await figures.dashboard(user, filters)  # warm (the calendar's cache, the page cache)
        cpu: list[float] = []
        times = await timed(lambda user=user, filters=filters: figures.dashboard(user, filters), rounds, cpu)
        line(f"dashboard_{name}_p50_ms", f"{statistics.median(times):.0f}")
        line(f"dashboard_{name}_max_ms", f"{max(times):.0f}")
        line(f"dashboard_{name}_cpu_p50_ms", f"{statistics.median(cpu):.0f}")
    # The same figures counted straight from the tables (the reference the facts are checked
    # against, and what every dashboard did before them), in the same run.
    await figures.dashboard(admin, year, reference=True)
    cpu = []
    times = await timed(lambda: figures.dashboard(admin, year, reference=True), rounds, cpu)
    line("dashboard_year_from_tables_p50_ms", f"{statistics.median(times):.0f}")
    line("dashboard_year_from_tables_cpu_p50_ms", f"{statistics.median(cpu):.0f}")
    same = await figures.dashboard(admin, year) == await figures.dashboard(admin, year, reference=True)
    line("dashboard_year_same_as_from_tables", "yes" if same else "NO")
    # A dashboard just after a card changed: the change log read and that card's facts reloaded.
    after: list[float] = []
    for round_ in range(rounds):
        await Card.update({Card.assignee: None if round_ % 2 else seeded["admin"]}).where(Card.id == 1 + round_)
        after += await timed(lambda: figures.dashboard(admin, year), 1)
    line("dashboard_year_after_a_change_p50_ms", f"{statistics.median(after):.0f}")
    statements = await count_statements(lambda: figures.dashboard(admin, year))
    line("sql_statements_per_dashboard", statements)
    data = await figures.dashboard(admin, year)
    line("year_received", data["volume"]["received"])
    line("year_first_response_count", data["times"]["first_response"]["count"])
    line("year_resolution_count", data["times"]["resolution"]["count"])
    times = await timed(lambda: figures.cards_behind(admin, year, "late"), rounds)
    line("cards_behind_year_late_p50_ms", f"{statistics.median(times):.0f}")
    line("load_average_1m", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")  # a busy machine stretches times
    await db.close_pool()


async def measure(base: str, rounds: int) -> None:
    import httpx

    from tests.live_helpers import http_login

    client = await http_login(base, "bench", PASSWORD)
    client.timeout = httpx.Timeout(120)

    async def get(url: str) -> list[float]:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = await client.get(url)
            response.raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        return times

    await get("/healthz")
    hello = statistics.median(await get("/healthz") + await get("/healthz") + await get("/healthz"))
    line("hello_world_p50_ms", f"{hello:.2f}")
    from portal.stats.period import today

    first, last = (today() - timedelta(days=DAYS - 1)).isoformat(), today().isoformat()
    for name, url in [("month", "/api/v1/stats"), ("year", f"/api/v1/stats?from={first}&to={last}")]:
        await get(url)
        p50 = statistics.median(await get(url))
        line(f"api_stats_{name}_p50_ms", f"{p50:.0f}")
        line(f"api_stats_{name}_vs_hello_world", f"{p50 / hello:.0f}x")
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    from portal.core.redis import EmbeddedRedis
    from portal.settings import get_settings

    settings = get_settings()
    embedded = None
    if settings.embedded_redis:
        embedded = EmbeddedRedis(settings.redis_socket, settings.var_dir).start()
        os.environ["REDIS_URL"] = embedded.url
    try:
        asyncio.run(prepare(args.cards, args.seed, args.rounds))
        from tests.processes import free_port, portal_process

        port = free_port()
        with portal_process("web", "--port", str(port), port=port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.rounds))
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
