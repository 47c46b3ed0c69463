"""The figures' facts, kept in memory and brought up to date by what changed.

Counting a year of cases straight from the tables reads hundreds of thousands of rows (cards,
their stage visits, clocks, steps) on every dashboard, which on the embedded SQLite took two
seconds. Yet between two dashboards only a few cards change. So each process keeps, per case
card, the few facts the figures count (board, column, assignee, department, receipt, platform,
category, sentiment, …) and the rows of its history that are counted (clocks, stage visits,
follow-up steps, reopenings) as numpy arrays, and a dashboard counts them with array
operations (``FactSource``: the same figures as the statements of ``portal.stats.figures``,
which stay as the reference the tests compare with).

Knowing what changed: database triggers (migration ``stats_change``) write the id of every
card whose counted facts change, in any way (the write path, a worker, an import, SQL by hand),
to the ``stats_change`` log. Before counting, a process reads the log from where it stopped
and reloads those cards' facts:

- SQLite has one writer at a time, so the log's ids are committed in order: "after the last
  id read" misses nothing;
- on PostgreSQL, transactions commit out of id order, so each row also holds its writer's
  transaction id, and a process rereads the rows of every transaction that may still have been
  running at its last read (ids at or above that snapshot's ``xmin``), skipping rows it has
  seen.

The worker prunes the log after a day (``prune``) and notes the highest id it pruned: a
process that had not read that far loads everything again, as does one that has not read the
log for half a day, or finds more changed cards than a fifth of those it holds, where one pass
over the tables is cheaper.
"""

# ruff: noqa: S608 - the statements are built from fixed identifiers and whole numbers

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from portal.db import is_sqlite
from portal.stats import figures as f
from portal.stats.scope import false, true

logger = logging.getLogger(__name__)

RELOAD_AFTER = 12 * 3600  # seconds without a read of the log: load everything again
KEEP_CHANGES = timedelta(days=1)  # how long the log keeps a change (prune)
CHUNK = 500  # card ids per statement when reloading some cards
STEP_CODES = len(f.VERDICTS) + 2  # 0 a notice, 1… a verdict of VERDICTS, the last another verdict (or none)


# Rows of a table, by card -------------------------------------------------------------------


@dataclass
class Rows:
    """Rows of one kind of fact: ``card`` (int64) and named columns of the same length."""

    card: np.ndarray
    columns: dict[str, np.ndarray]

    @classmethod
    def empty(cls, **dtypes: Any) -> Rows:
        return cls(np.zeros(0, dtype=np.int64), {name: np.zeros(0, dtype=dtype) for name, dtype in dtypes.items()})

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.card)

    def where(self, keep: np.ndarray) -> Rows:
        return Rows(self.card[keep], {name: values[keep] for name, values in self.columns.items()})

    def replaced(self, cards: np.ndarray, new: Rows) -> Rows:
        """These rows without those of ``cards``, with ``new`` instead."""
        kept = self.where(~np.isin(self.card, cards))
        return Rows(
            np.concatenate([kept.card, new.card]),
            {name: np.concatenate([values, new.columns[name]]) for name, values in kept.columns.items()},
        )

    def sorted(self) -> Rows:
        return self.where(np.argsort(self.card, kind="stable"))


class Words:
    """Free text (platforms, categories, clock names) as whole numbers: -1 for none (NULL)."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.codes: dict[str, int] = {}

    def code(self, word: str) -> int:
        if word not in self.codes:
            self.codes[word] = len(self.words)
            self.words.append(word)
        return self.codes[word]

    def from_hex_listing(self, text: str | None, count: int, present: np.ndarray | None = None) -> np.ndarray:
        """A listing of ``hex_text`` values as codes; rows not ``present`` (NULL) read -1."""
        if not count:
            return np.zeros(0, dtype=np.int64)
        parts = np.array((text or "").split(","), dtype=object)
        if len(parts) != count:
            raise ValueError(f"a listing of {count} rows read as {len(parts)} texts")
        found, inverse = np.unique(parts.astype(str), return_inverse=True)
        codes = np.array([self.code(f.from_hex(part)) for part in found], dtype=np.int64)[inverse]
        if present is not None:
            codes = np.where(present, codes, -1)
        return codes


def _ids(column: str, cards: np.ndarray | None) -> str:
    if cards is None:
        return ""
    return f" AND {column} IN ({', '.join(str(int(card)) for card in cards)})" if len(cards) else " AND 1 = 0"


def _null_flag(expression: str) -> str:
    return f"CASE WHEN {expression} IS NULL THEN 0 ELSE 1 END"


# The facts ----------------------------------------------------------------------------------


@dataclass
class Facts:
    """Every case card's counted facts and history, sorted by card id where it matters."""

    cards: Rows  # id order: board, column, assignee, department, counted, received, has_received
    assisting: Rows  # (card, department) for each assisting department
    comments: Rows  # comment_detail: platform, topic (codes), sentiment (code)
    inquiries: Rows  # inquiry_detail: channel, category (codes), accepted (µs, 0 none)
    replies: Rows  # sent replies: created (µs)
    clocks: Rows  # round-1 clocks completed: stage (code of clock_names), completed (µs)
    open_visits: Rows  # present stage visits: column, entered (µs)
    visits: Rows  # visits ended while a clock ran: left (µs), clock (code), on_time
    steps: Rows  # follow-up verdicts and 督办 notices: created (µs), code (STEP_CODES)
    reopenings: Rows  # card.reopened events: created (µs)
    words: Words = field(default_factory=Words)
    rows_of: dict[str, np.ndarray] = field(default_factory=dict)  # per history table: each row's card row

    TABLES = (
        "cards",
        "assisting",
        "comments",
        "inquiries",
        "replies",
        "clocks",
        "open_visits",
        "visits",
        "steps",
        "reopenings",
    )

    @classmethod
    async def load(cls, cards: np.ndarray | None = None, words: Words | None = None) -> Facts:
        """The facts of these cards (every case card when None), read from the tables."""
        words = words or Words()
        loaded = {}
        for start in range(0, len(cards), CHUNK) if cards is not None else [0]:
            chunk = cards[start : start + CHUNK] if cards is not None else None
            part = {name: await getattr(_Load, name)(chunk, words) for name in cls.TABLES}
            for name, rows in part.items():
                loaded[name] = rows if name not in loaded else loaded[name].replaced(np.zeros(0, np.int64), rows)
        if not loaded:  # no card at all to load
            loaded = {name: await getattr(_Load, name)(np.zeros(0, np.int64), words) for name in cls.TABLES}
        return cls(**loaded, words=words)._settled()

    def merged(self, cards: np.ndarray, new: Facts) -> Facts:
        """These facts with those of ``cards`` read again (``new``); these stay as they were
        (a dashboard may still be counting them)."""
        ids, new_ids = self.cards.card, new.cards.card
        held_before, held_after = self.index(cards)[1], np.isin(cards, new_ids)  # (few cards: no sort of all)
        changed = self.index(new_ids)[1]
        removed, added = cards[held_before & ~held_after], new_ids[~changed]
        if len(removed) or (len(added) and len(ids) and added[0] <= ids[-1]):
            # A card gone, or one placed among the others: every history row's card row moves.
            parts = {name: getattr(self, name).replaced(cards, getattr(new, name)) for name in self.TABLES}
            return Facts(**parts, words=self.words)._settled()
        # The usual change (cards changed in place, new ones after the others): the card rows of
        # the history rows kept stay where they were; only the tables that hold rows of the
        # changed cards are copied.
        columns = {name: values.copy() for name, values in self.cards.columns.items()}
        at = np.searchsorted(ids, new_ids[changed])
        for name, values in columns.items():
            values[at] = new.cards[name][changed]
        appended = new.cards.where(~changed)
        merged = Facts(
            cards=Rows(
                np.concatenate([ids, appended.card]),
                {name: np.concatenate([values, appended[name]]) for name, values in columns.items()},
            ),
            **{name: getattr(self, name) for name in self.TABLES[1:]},
            words=self.words,
        )
        for name in self.TABLES[1:]:
            rows, extra = getattr(self, name), getattr(new, name)
            hit = np.isin(rows.card, cards)
            if not hit.any() and not len(extra):
                merged.rows_of[name] = self.rows_of[name]
                continue
            index, present = merged.index(extra.card)
            extra = extra.where(present)
            setattr(merged, name, rows.where(~hit).replaced(np.zeros(0, np.int64), extra))
            merged.rows_of[name] = np.concatenate([self.rows_of[name][~hit], index[present]])
        return merged

    def _settled(self) -> Facts:
        """Cards in id order; history rows only of case cards (the others are never counted)."""
        self.cards = self.cards.sorted()
        for name in self.TABLES[1:]:
            rows = getattr(self, name)
            index, present = self.index(rows.card)
            setattr(self, name, rows.where(present))
            self.rows_of[name] = index[present]
        return self

    def index(self, cards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each card id's row in ``cards`` and whether it has one."""
        ids = self.cards.card
        found = np.searchsorted(ids, cards)
        inside = np.minimum(found, max(len(ids) - 1, 0))
        present = (found < len(ids)) & (ids[inside] == cards) if len(ids) else np.zeros(len(cards), dtype=bool)
        return inside, present


class _Load:
    """One statement per kind of fact: listings (``portal.stats.figures``: rows as listings),
    for every case card or for some (``cards``)."""

    @staticmethod
    async def cards(cards: np.ndarray | None, words: Words) -> Rows:
        boards = await _case_boards()
        counted = f"CASE WHEN c.archived = {false()} OR c.archived_from = 'done' THEN 1 ELSE 0 END"
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("c.id")} AS id, {f.listing("COALESCE(c.board, 0)")} AS board,
              {f.listing('COALESCE(c."column", 0)')} AS col, {f.listing("COALESCE(c.assignee, 0)")} AS assignee,
              {f.listing("COALESCE(c.department, 0)")} AS department, {f.listing(counted)} AS counted,
              {f.listing(f.instant_text("c.received_at"))} AS received
            FROM card c
            WHERE {f._ids_in("c.board", boards)}{_ids("c.id", cards)}
            """
        )
        n = row["n"]
        received, has_received = f.instants(row["received"], n)
        return Rows(
            f.numbers(row["id"], n),
            {
                "board": f.numbers(row["board"], n),
                "column": f.numbers(row["col"], n),
                "assignee": f.numbers(row["assignee"], n),
                "department": f.numbers(row["department"], n),
                "counted": f.numbers(row["counted"], n).astype(bool),
                "received": received,
                "has_received": has_received,
            },
        )

    @staticmethod
    async def assisting(cards: np.ndarray | None, words: Words) -> Rows:
        """Each case card's assisting departments: the entries ``routed_to`` matches (whole
        numbers; anything else in the JSON, such as a null or an id written as text, routes
        nothing there either)."""
        boards = f._ids_in("c.board", await _case_boards())
        if is_sqlite():
            pairs = "FROM card c, json_each(c.assisting_departments) a"
            value = "a.value"
            whole = "a.type IN ('integer', 'real') AND a.value = CAST(a.value AS INTEGER)"
        else:
            pairs = "FROM card c, jsonb_array_elements(c.assisting_departments) AS a(value)"
            # A number's text as a number (CASE: only a number's; no braces: raw() reads them as parameters).
            value = "CASE WHEN jsonb_typeof(a.value) = 'number' THEN CAST(CAST(a.value AS TEXT) AS NUMERIC) END"
            whole = f"{value} = trunc({value})"
            boards += " AND jsonb_typeof(c.assisting_departments) = 'array'"
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("c.id")} AS card, {f.listing(f"CAST({value} AS BIGINT)")} AS department
            {pairs}
            WHERE {boards} AND {whole}{_ids("c.id", cards)}
            """
        )
        n = row["n"]
        return Rows(f.numbers(row["card"], n), {"department": f.numbers(row["department"], n)})

    @staticmethod
    async def comments(cards: np.ndarray | None, words: Words) -> Rows:
        whens = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(f.SENTIMENTS.values, 1))
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("d.card")} AS card,
              {f.listing(f.hex_text("d.platform"))} AS platform, {f.listing(_null_flag("d.platform"))} AS has_platform,
              {f.listing(f.hex_text("d.topic"))} AS topic, {f.listing(_null_flag("d.topic"))} AS has_topic,
              {f.listing(f"CASE d.sentiment {whens} ELSE 0 END")} AS sentiment
            FROM comment_detail d
            WHERE 1 = 1{_ids("d.card", cards)}
            """
        )
        n = row["n"]
        return Rows(
            f.numbers(row["card"], n),
            {
                "platform": words.from_hex_listing(row["platform"], n, f.numbers(row["has_platform"], n).astype(bool)),
                "topic": words.from_hex_listing(row["topic"], n, f.numbers(row["has_topic"], n).astype(bool)),
                "sentiment": f.numbers(row["sentiment"], n),
            },
        )

    @staticmethod
    async def inquiries(cards: np.ndarray | None, words: Words) -> Rows:
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("i.card")} AS card,
              {f.listing(f.hex_text("i.channel"))} AS channel, {f.listing(_null_flag("i.channel"))} AS has_channel,
              {f.listing(f.hex_text("i.category"))} AS category, {f.listing(_null_flag("i.category"))} AS has_category,
              {f.listing(f.instant_text("i.accepted_at"))} AS accepted
            FROM inquiry_detail i
            WHERE 1 = 1{_ids("i.card", cards)}
            """
        )
        n = row["n"]
        accepted, _present = f.instants(row["accepted"], n)
        return Rows(
            f.numbers(row["card"], n),
            {
                "channel": words.from_hex_listing(row["channel"], n, f.numbers(row["has_channel"], n).astype(bool)),
                "category": words.from_hex_listing(row["category"], n, f.numbers(row["has_category"], n).astype(bool)),
                "accepted": accepted,
            },
        )

    @staticmethod
    async def replies(cards: np.ndarray | None, words: Words) -> Rows:
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("r.card")} AS card, {f.listing(f.instant_text("r.created_at"))} AS created
            FROM comment_reply r
            WHERE r.status = 'sent' AND r.created_at IS NOT NULL{_ids("r.card", cards)}
            """
        )
        n = row["n"]
        return Rows(f.numbers(row["card"], n), {"created": f.instants(row["created"], n)[0]})

    @staticmethod
    async def clocks(cards: np.ndarray | None, words: Words) -> Rows:
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("k.card_id")} AS card,
              {f.listing(f.clock_code("k.stage"))} AS stage,
              {f.listing(f.instant_text("k.completed_at"))} AS completed
            FROM card_clock k
            WHERE k.round = 1 AND k.completed_at IS NOT NULL
              AND k.stage IN ({f._in(sorted(set(f.first_stages().values())))}){_ids("k.card_id", cards)}
            """
        )
        n = row["n"]
        return Rows(
            f.numbers(row["card"], n),
            {"stage": f.numbers(row["stage"], n), "completed": f.instants(row["completed"], n)[0]},
        )

    @staticmethod
    async def open_visits(cards: np.ndarray | None, words: Words) -> Rows:
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("s.card")} AS card, {f.listing('COALESCE(s."column", 0)')} AS col,
              {f.listing(f.instant_text("s.entered_at"))} AS entered
            FROM card_stage s
            WHERE s.left_at IS NULL AND s.entered_at IS NOT NULL{_ids("s.card", cards)}
            """
        )
        n = row["n"]
        return Rows(
            f.numbers(row["card"], n), {"column": f.numbers(row["col"], n), "entered": f.instants(row["entered"], n)[0]}
        )

    @staticmethod
    async def visits(cards: np.ndarray | None, words: Words) -> Rows:
        names = f.clock_names()
        where = f"s.left_at IS NOT NULL AND s.on_time IS NOT NULL AND s.clock IS NOT NULL{_ids('s.card', cards)}"
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("s.card")} AS card, {f.listing(f.instant_text("s.left_at"))} AS left_at,
              {f.listing(f.clock_code("s.clock"))} AS clock,
              {f.listing(f"CASE WHEN s.on_time = {true()} THEN 1 ELSE 0 END")} AS on_time
            FROM card_stage s
            WHERE {where}
            """
        )
        n = row["n"]
        clocks = np.array([words.code(name) for name in names] + [-1], dtype=np.int64)[f.numbers(row["clock"], n)]
        rows = Rows(
            f.numbers(row["card"], n),
            {
                "left": f.instants(row["left_at"], n)[0],
                "clock": clocks,
                "on_time": f.numbers(row["on_time"], n).astype(bool),
            },
        )
        if not (clocks >= 0).all():  # a clock no kind has (any more): read by name
            other = await _one(
                f"""
                SELECT COUNT(*) AS n, {f.listing("s.card")} AS card,
                  {f.listing(f.instant_text("s.left_at"))} AS left_at, {f.listing(f.hex_text("s.clock"))} AS clock,
                  {f.listing(f"CASE WHEN s.on_time = {true()} THEN 1 ELSE 0 END")} AS on_time
                FROM card_stage s
                WHERE {where} AND s.clock NOT IN ({f._in(names)})
                """
            )
            m = other["n"]
            extra = Rows(
                f.numbers(other["card"], m),
                {
                    "left": f.instants(other["left_at"], m)[0],
                    "clock": words.from_hex_listing(other["clock"], m),
                    "on_time": f.numbers(other["on_time"], m).astype(bool),
                },
            )
            rows = rows.where(clocks >= 0).replaced(np.zeros(0, np.int64), extra)
        return rows

    @staticmethod
    async def steps(cards: np.ndarray | None, words: Words) -> Rows:
        step = f.step_code("s")
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("s.card")} AS card, {f.listing(f.instant_text("s.created_at"))} AS created,
              {f.listing(step)} AS code
            FROM inquiry_step s
            WHERE s.action IN ('{f.FOLLOW_UP}', '{f.SUPERVISE}') AND s.created_at IS NOT NULL{_ids("s.card", cards)}
            """
        )
        n = row["n"]
        return Rows(
            f.numbers(row["card"], n), {"created": f.instants(row["created"], n)[0], "code": f.numbers(row["code"], n)}
        )

    @staticmethod
    async def reopenings(cards: np.ndarray | None, words: Words) -> Rows:
        row = await _one(
            f"""
            SELECT COUNT(*) AS n, {f.listing("e.object_id")} AS card,
              {f.listing(f.instant_text("e.created_at"))} AS created
            FROM event e
            WHERE e.verb = '{f.REOPENED_VERB}' AND e.object_type = 'card' AND e.object_id IS NOT NULL
              AND e.created_at IS NOT NULL{_ids("e.object_id", cards)}
            """
        )
        n = row["n"]
        return Rows(f.numbers(row["card"], n), {"created": f.instants(row["created"], n)[0]})


async def _case_boards() -> list[int]:
    """The boards of the kinds whose cards are cases (archived ones too: scope_for narrows)."""
    from portal.boards.tables import Board

    kinds = list(f.case_kinds()) or [""]
    return [row["id"] for row in await Board.select(Board.id).where(Board.kind.is_in(kinds))]


async def _one(sql: str) -> dict[str, Any]:
    from portal.cards.tables import Card

    (row,) = await Card.raw(sql)
    return row


# The process's copy, kept up to date ------------------------------------------------------


class Keeper:
    """This process's facts and where it stopped reading the change log."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lock: asyncio.Lock | None = None
        self.generation = 0  # forget() counts up: a load or catch-up begun before it is thrown away
        self._clear()

    def _clear(self) -> None:
        self.facts: Facts | None = None
        self.last_id = 0  # the highest log id read (or given, at a full load)
        self.xmin: int | None = None  # PostgreSQL: the snapshot's xmin at the last read
        self.seen: dict[int, int] = {}  # PostgreSQL: log ids read whose transaction may have been running (id: xid)
        self.read_at = 0.0  # time.time() of the last read of the log: the wall clock, which runs on in a suspend

    def forget(self) -> None:
        self.generation += 1
        self._clear()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:
            self.loop, self.lock = loop, asyncio.Lock()
        return self.lock

    async def current(self) -> Facts:
        """The facts as the tables hold them now (every change committed before the call)."""
        async with self._lock():
            while True:
                generation = self.generation
                if self.facts is None or time.time() - self.read_at > RELOAD_AFTER:
                    await self._load_all()
                else:
                    await self._catch_up()
                facts = self.facts
                if generation == self.generation and facts is not None:
                    return facts

    async def _position(self) -> tuple[int, int | None, int]:
        """Where the log stands: the last id it gave (SQLite: AUTOINCREMENT's counter; PostgreSQL:
        the highest committed), the snapshot's xmin (PostgreSQL), and the highest id pruned."""
        from portal.cards.tables import Card

        pruned = "(SELECT COALESCE(MAX(upto), 0) FROM stats_change_pruned)"
        if is_sqlite():
            (row,) = await Card.raw(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'stats_change'), 0) AS last,"
                f" {pruned} AS pruned"
            )
            return int(row["last"]), None, int(row["pruned"])
        (row,) = await Card.raw(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,"
            f" (SELECT COALESCE(MAX(id), 0) FROM stats_change) AS last, {pruned} AS pruned"
        )
        return int(row["last"]), int(row["xmin"]), int(row["pruned"])

    async def _load_all(self) -> None:
        generation = self.generation
        last, xmin, _pruned = await self._position()  # first: what changes after this is read again later
        loaded = await Facts.load()
        if generation != self.generation:  # forgotten meanwhile: current() reads again
            return
        self.facts = loaded
        self.last_id, self.xmin, self.seen, self.read_at = last, xmin, {}, time.time()

    async def _catch_up(self) -> None:
        from portal.cards.tables import Card

        generation, facts = self.generation, self.facts
        assert facts is not None
        last, xmin, pruned = await self._position()
        if pruned > self.last_id:  # the worker pruned changes this process never read
            await self._load_all()
            return
        if is_sqlite():
            if last <= self.last_id:  # nothing new (or this transaction's snapshot is older than the facts)
                self.read_at = time.time()
                return
            rows = await Card.raw("SELECT card FROM stats_change WHERE id > {} AND id <= {}", self.last_id, last)
            changed, seen = {row["card"] for row in rows}, {}
        else:
            rows = await Card.raw("SELECT id, card, xid FROM stats_change WHERE xid >= {}", self.xmin or 0)
            changed = {row["card"] for row in rows if row["id"] not in self.seen}
            seen = {row["id"]: row["xid"] for row in rows if row["xid"] >= (xmin or 0)}
            last = max([self.last_id, *(row["id"] for row in rows)])
        if changed and len(changed) > max(len(facts.cards) // 5, 1000):
            await self._load_all()
            return
        if changed:
            ids = np.array(sorted(changed), dtype=np.int64)
            facts = facts.merged(ids, await Facts.load(ids, facts.words))
        if generation != self.generation:  # forgotten meanwhile: current() reads again
            return
        self.facts, self.last_id, self.xmin, self.seen, self.read_at = facts, last, xmin, seen, time.time()


KEEPER = Keeper()


def forget() -> None:
    """Forget this process's facts (the tests' clean slate, a restored database)."""
    KEEPER.forget()


async def current() -> Facts:
    return await KEEPER.current()


async def prune(now: datetime | None = None) -> int:
    """Drop the log's changes older than a day (on PostgreSQL, of finished transactions only),
    and note the highest id dropped: a process that has not read that far loads everything
    again. How many were dropped."""
    from portal.cards.tables import Card
    from portal.db import engine

    before = int(((now or datetime.now(UTC)) - KEEP_CHANGES).timestamp())  # ``at`` is in whole seconds
    old = "at < {}" if is_sqlite() else "at < {} AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    async with engine().transaction():
        (row,) = await Card.raw(
            f"SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS upto FROM stats_change WHERE {old}", before
        )
        if row["n"]:
            await Card.raw(f"DELETE FROM stats_change WHERE id <= {{}} AND {old}", row["upto"], before)
            await Card.raw("UPDATE stats_change_pruned SET upto = {} WHERE upto < {}", row["upto"], row["upto"])
    return int(row["n"])


# Counting -----------------------------------------------------------------------------------


class FactSource:
    """The figures' counts (``portal.stats.figures.SqlSource``'s) from the facts in memory."""

    def __init__(self, frame: f.Frame, facts: Facts, scope: Any) -> None:
        self.frame, self.facts = frame, facts
        filters = frame.filters
        self.start, self.end = f._micros(filters.start), f._micros(filters.end)
        cards = facts.cards
        self.mask = self._visible(scope) & cards["counted"]
        if filters.department is not None:
            self.mask &= cards["department"] == int(filters.department)
        self.keys = cards["assignee"] * f.KEY_BASE + cards["department"]
        self.kind_of = {kind: np.isin(cards["board"], ids) for kind, ids in frame.boards.items()}

    def _visible(self, scope: Any) -> np.ndarray:
        """Scope.cards' rule: the boards read, and on a liaison's only her department's cards
        (responsible or assisting)."""
        cards = self.facts.cards
        visible = np.zeros(len(cards), dtype=bool)
        boards = [board for ids in self.frame.boards.values() for board in ids]
        for board in boards:
            department = scope.accesses[board].department_only
            on_board = cards["board"] == board
            if department is None:
                visible |= on_board
            elif department != -1:
                assisting = self.facts.assisting
                helped = np.isin(cards.card, assisting.card[assisting["department"] == int(department)])
                visible |= on_board & ((cards["department"] == int(department)) | helped)
        return visible

    def _rows(self, table: str, instants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A history table's rows of visible cards whose instant falls in the period: each
        row's card row, and which rows."""
        index = self.facts.rows_of[table]
        keep = (instants >= self.start) & (instants < self.end)
        keep[keep] &= self.mask[index[keep]]
        return index, keep

    def _flag(self, table: str, keep: np.ndarray) -> np.ndarray:
        """Per card row: whether one of these rows (``keep``) is its."""
        flag = np.zeros(len(self.facts.cards), dtype=bool)
        flag[self.facts.rows_of[table][keep]] = True
        return flag

    def _per_card(self, table: str, name: str, fill: int = -1) -> np.ndarray:
        """A detail table's column per card row (``fill`` for cards without a row)."""
        values = np.full(len(self.facts.cards), fill, dtype=np.int64)
        values[self.facts.rows_of[table]] = getattr(self.facts, table)[name]
        return values

    async def received(self) -> dict[str, Any]:
        cards, facts = self.facts.cards, self.facts
        received = cards["received"]
        inside = self.mask & cards["has_received"] & (received >= self.start) & (received < self.end)
        inquiry, comment = self.kind_of.get(f.INQUIRIES), self.kind_of.get(f.COMMENTS)
        none = np.zeros(len(cards), dtype=bool)
        inquiry = none if inquiry is None else inquiry
        comment = none if comment is None else comment
        accepted = self._flag("inquiries", facts.inquiries["accepted"] >= max(self.start, 1)) & inquiry
        replied = self._flag("replies", facts.replies["created"] >= self.start) & comment
        totals = {
            "received": int(inside.sum()),
            "resolved": int((inside & np.isin(cards["column"], self.frame.done_columns)).sum()),
            "inquiries": int((inside & inquiry).sum()),
            "accepted": int((inside & accepted).sum()),
            "comments": int((inside & comment).sum()),
            "replied": int((inside & replied).sum()),
        }
        with_comments, with_inquiries = (
            bool(self.frame.boards.get(f.COMMENTS)),
            bool(self.frame.boards.get(f.INQUIRIES)),
        )
        sentiment = self._per_card("comments", "sentiment", 0) if with_comments else np.zeros(len(cards), np.int64)
        # COALESCE(d.platform, i.channel) and COALESCE(i.category, d.topic), as the statement.
        platform = np.full(len(cards), -1, dtype=np.int64)
        category = np.full(len(cards), -1, dtype=np.int64)
        if with_comments:
            platform = self._per_card("comments", "platform")
            category = self._per_card("comments", "topic")
        if with_inquiries:
            channel, inquiry_category = (
                self._per_card("inquiries", "channel"),
                self._per_card("inquiries", "category"),
            )
            platform = np.where(platform >= 0, platform, channel)
            category = np.where(inquiry_category >= 0, inquiry_category, category)
        words = facts.words.words
        platforms: dict[str | None, int] = {}
        for code, count in f.counted(platform[inside]).items():
            name = words[code] if code >= 0 else ""
            platforms[name or None] = platforms.get(name or None, 0) + count
        categories: dict[str, int] = {}
        for code, count in f.counted(category[inside]).items():
            name = words[code] if code >= 0 else ""
            if name:
                categories[name] = categories.get(name, 0) + count
        return {
            "totals": totals,
            "keys": self.keys[inside],
            "received": received[inside],
            "feelings": sentiment[inside],
            "platforms": platforms,
            "categories": categories,
        }

    async def steps(self) -> dict[int, np.ndarray]:
        steps = self.facts.steps
        index, keep = self._rows("steps", steps["created"])
        return f.tally(self.keys[index[keep]], steps["code"][keep], STEP_CODES)

    async def reopened(self) -> dict[int, int]:
        events = self.facts.reopenings
        index, keep = self._rows("reopenings", events["created"])
        return f.counted(self.keys[index[keep]])

    async def visits(self) -> dict[tuple[int, str], tuple[int, int]]:
        visits = self.facts.visits
        index, keep = self._rows("visits", visits["left"])
        words = self.facts.words.words
        clocks, inverse = np.unique(visits["clock"][keep], return_inverse=True)  # the clocks counted
        codes = inverse.reshape(-1) * 2 + visits["on_time"][keep]
        found: dict[tuple[int, str], tuple[int, int]] = {}
        for key, counts in f.tally(self.keys[index[keep]], codes, 2 * max(len(clocks), 1)).items():
            for code, word in enumerate(clocks):
                late, on_time = int(counts[2 * code]), int(counts[2 * code + 1])
                if on_time or late:
                    found[(key, words[word])] = (on_time, late)
        return found

    async def responses(self) -> tuple[np.ndarray, np.ndarray]:
        clocks, cards = self.facts.clocks, self.facts.cards
        index, keep = self._rows("clocks", clocks["completed"])
        names = f.clock_names()
        first = np.zeros(len(clocks), dtype=bool)
        for kind, stage in f.first_stages().items():
            of_kind = self.kind_of.get(kind)
            if of_kind is not None and stage in names:
                first |= (clocks["stage"] == names.index(stage)) & of_kind[index]
        keep &= first
        timed = keep & cards["has_received"][index]
        return cards["received"][index[timed]], clocks["completed"][timed]

    async def done(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        visits, cards = self.facts.open_visits, self.facts.cards
        index, keep = self._rows("open_visits", visits["entered"])
        keep &= np.isin(visits["column"], self.frame.done_columns)
        has_start = cards["has_received"][index[keep]]
        starts = cards["received"][index[keep]]
        return self.keys[index[keep]], starts[has_start], visits["entered"][keep][has_start], has_start
