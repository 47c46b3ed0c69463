"""The evaluation's figures (三率, times, deadlines, volume, members, departments, campaigns)
over the cards a person may see (portal.stats.scope), for a period and what the filters narrow
it to (portal.stats.period).

The database selects and joins, with the filters in the WHERE, the same SQL on SQLite and
PostgreSQL; the few hundred groups (member and department, day, platform …) are counted from
its answer. A statement over many rows (a year holds hundreds of thousands) returns them as
listings, one text per column (see "Rows as listings"), and numpy counts them: SQLite has no
hash aggregation, and a GROUP BY sorted every row first, which cost more than anything else.
Working times (medians, p90) need one value per card: the database lists the two instants
and the business calendar turns them into working minutes, through a table of working
periods with running totals (``WorkingTime``: ``numpy.searchsorted`` for all instants at
once, the same result as ``BusinessCalendar.working_minutes_between``).

What each figure counts (P is the period, "cases" the cards of kinds with deadline stages —
comments and inquiries; closed cards archived later still count, cards taken off the board
unfinished count nowhere):

- received: cases received (``received_at``) in P; by local day, by platform (a comment's
  platform, an inquiry's channel), by category (an inquiry's category, a comment's topic);
- rates: 受理率 inquiries received in P that were accepted (or answered directly); 办结率
  cases received in P now in a done column; 满意率 follow-up verdicts given in P that are
  satisfied or basically satisfied, of all verdicts given in P; 回复率 comments received in P
  with a sent reply;
- times: first response, receipt to the completion of the kind's first clock (a comment's
  first reply, an inquiry's 受理), for clocks completed in P; resolution, receipt to reaching
  the done column, for cases done in P (their present column is done and was entered in P);
- deadlines: stage visits that ended in P while a clock ran, on time or late, by clock;
  overdue now (open cases past their due time, a paused clock standing still); 督办 notices
  in P; reopenings (重办, and any card taken out of a done column) in P;
- members and departments: the same per assignee and per responsible department;
- campaigns: those running on a day of P (the campaigns calendar's rule), results against
  the goals of the plan in force.

Medians round half up; p90 is the nearest rank (the smallest value at least 90 % of the
values do not exceed).
"""

# ruff: noqa: S608 - the statements are built from fixed identifiers and whole numbers; values are parameters

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from portal.accounts.tables import Department, User
from portal.boards.tables import BoardColumn
from portal.cards.kinds import all_kinds
from portal.cards.tables import Card
from portal.core.choices import INQUIRY_CATEGORIES, PLATFORMS, SENTIMENTS, Choices
from portal.core.errors import FormError
from portal.core.forms import MAX_ID
from portal.core.identity import CurrentUser
from portal.core.labels import mask_numbers
from portal.db import is_sqlite
from portal.i18n import current_locale
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings
from portal.sla.calendar import BusinessCalendar
from portal.stats.period import Filters, midnight, parse_day
from portal.stats.scope import Scope, false, scope_for, true, unindexed

COMMENTS, INQUIRIES, CAMPAIGNS = "comments", "inquiries", "campaigns"
SATISFIED = ("satisfied", "basically_satisfied")
VERDICTS = (*SATISFIED, "dissatisfied")
SUPERVISE, FOLLOW_UP, REOPENED_VERB = "supervise", "follow_up", "card.reopened"
LIMIT = 500  # cards listed behind a figure

STAGES = Choices(
    ("first_response", _l("First reply")),
    ("accept", _l("Accept")),
    ("sign", _l("Sign for")),
    ("answer", _l("Answer")),
    ("review", _l("Review")),
    ("follow_up", _l("Follow-up")),
)
NOT_GIVEN = _l("Not given")


def case_kinds() -> tuple[str, ...]:
    """The kinds whose cards are cases: received, worked through stages with deadlines, and
    counted in the figures (an incident's clocks are not a citizen's case: counted_in_figures)."""
    return tuple(kind.name for kind in all_kinds() if kind.stages and kind.counted_in_figures)


def first_stages() -> dict[str, str]:
    """Each case kind's first clock: the first response it measures (a reply, 受理)."""
    return {kind.name: kind.stages[0] for kind in all_kinds() if kind.stages and kind.counted_in_figures}


# SQL with parameters in the order they appear ----------------------------------------------


class Sql:
    """Collects the parameters of a statement built in pieces: ``q(value)`` writes a marker;
    ``compile`` numbers the markers in the order they appear in the final text."""

    _MARK = re.compile(r"\x00(\d+)\x00")

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def compile(self, text: str) -> tuple[str, list[Any]]:
        args: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            args.append(self.values[int(match.group(1))])
            return "{}"

        return self._MARK.sub(placeholder, text), args

    async def rows(self, text: str) -> list[dict[str, Any]]:
        sql, args = self.compile(text)
        return await Card.raw(sql, *args)


def _offsets(start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The portal time zone's UTC offset (minutes) over [start, end): [(until, offset) …,
    (None, last offset)] — one piece unless a daylight-saving change falls in the period."""
    tz = get_settings().tz

    def offset(moment: datetime) -> int:
        return int(moment.astimezone(tz).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

    pieces: list[tuple[datetime | None, int]] = []
    moment, current = start.astimezone(UTC), offset(start)
    limit = end.astimezone(UTC)
    while moment < limit:
        step = min(moment + timedelta(days=1), limit)
        if offset(step) != current:
            low, high = moment, step  # the change is in (low, high]: find it to the microsecond
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            pieces.append((high, current))
            current = offset(high)
        moment = step
    pieces.append((None, current))
    return pieces


def json_text(column: str, key: str) -> str:
    if is_sqlite():
        return f"json_extract({column}, '$.{key}')"
    return f"({column} ->> '{key}')"


def _in(values: Iterable[str]) -> str:
    """A list of fixed identifiers (kind names, states) as SQL literals."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values) or "NULL"


# Rows as listings ---------------------------------------------------------------------------
# SQLite has no hash aggregation: a GROUP BY sorts every row first, and over a year (hundreds
# of thousands of rows into a few hundred groups) the sorting cost more than anything else.
# The statements over many rows therefore return them as listings, one text per column
# (group_concat / string_agg), and numpy counts them into their groups. Every listing of a
# statement follows the same rows in the same order; values are never NULL (a NULL would be
# left out) and never hold a comma: free text (platforms, categories) is listed in hex.

KEY_BASE = 1 << 32  # ids are positive 32-bit integers


def listing(expression: str) -> str:
    """SQL aggregate: the expression's value on every row, as one comma-separated text."""
    if is_sqlite():
        return f"group_concat({expression}, ',')"
    return f"string_agg(({expression})::text, ',')"


def group_key(alias: str = "c") -> str:
    """SQL: a card's assignee and responsible department as one whole number (assignee × 2³² +
    department, 0 for none), for a listing; ``split_key`` reads it back."""
    return f"(COALESCE({alias}.assignee, 0) * {KEY_BASE} + COALESCE({alias}.department, 0))"


def split_key(key: int) -> tuple[int | None, int | None]:
    assignee, department = divmod(int(key), KEY_BASE)
    return assignee or None, department or None


def instant_text(column: str) -> str:
    """SQL: a timestamp as UTC text to the microsecond, '' when there is none, for a listing."""
    if is_sqlite():
        return f"COALESCE({column}, '')"  # stored as UTC text already: 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00'
    return f"COALESCE(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '')"


def numbers(text: str | None, count: int) -> np.ndarray:
    """A listing of whole numbers as an array (int64), checked to hold one value per row."""
    found = np.fromstring(text or "", dtype=np.int64, sep=",")  # text mode: C-speed parsing
    if len(found) != count:
        raise ValueError(f"a listing of {count} rows read as {len(found)} numbers")
    return found


def instants(text: str | None, count: int) -> tuple[np.ndarray, np.ndarray]:
    """A listing of ``instant_text`` as microseconds since the epoch (int64), exact, and which
    rows have one (the others read 0)."""
    if not text:  # no row, or one without an instant
        if count > 1:
            raise ValueError(f"a listing of {count} rows is empty")
        return np.zeros(count, dtype=np.int64), np.zeros(count, dtype=bool)
    found = _fixed_width(text, count)
    if found is not None:
        return found, np.ones(count, dtype=bool)
    plain = text.replace("+00:00", "")
    parts = plain.split(",")
    if len(parts) != count:
        raise ValueError(f"a listing of {count} rows read as {len(parts)} instants")
    if plain.count(":") == 2 * (count - parts.count("")) and "Z" not in plain:  # UTC, no offset: numpy reads it
        moments = np.array(parts, dtype="datetime64[us]")
        present = ~np.isnat(moments)
        return np.where(present, moments.astype(np.int64), 0), present
    found = [_text_micros(part) if part else None for part in parts]  # another offset (by hand?)
    present = np.array([moment is not None for moment in found], dtype=bool)
    return np.array([moment or 0 for moment in found], dtype=np.int64), present


_UTC_SUFFIX = np.frombuffer(b"+00:00", dtype=np.uint8)


def _fixed_width(text: str, count: int) -> np.ndarray | None:
    """The common case, read five times faster: every row 'YYYY-MM-DD HH:MM:SS.ffffff' (as
    PostgreSQL lists them), or that and '+00:00' (as SQLite stores them). None otherwise (a
    time with no fraction of a second, a row with none)."""
    if not count:
        return None
    try:
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    width = (len(raw) + 1) // count
    if width not in (27, 33) or width * count != len(raw) + 1:
        return None
    rows = np.empty(width * count, dtype=np.uint8)
    rows[:-1], rows[-1] = raw, ord(",")
    rows = rows.reshape(count, width)
    if not (rows[:, -1] == ord(",")).all() or (width == 33 and not (rows[:, 26:32] == _UTC_SUFFIX).all()):
        return None
    try:
        return np.ascontiguousarray(rows[:, :26]).view("S26").ravel().astype("datetime64[us]").astype(np.int64)
    except ValueError:
        return None


def _text_micros(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return _micros(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def tally(keys: np.ndarray, codes: np.ndarray, size: int) -> dict[int, np.ndarray]:
    """How many rows of each group key hold each code (0 <= code < size): {key: counts by code}."""
    if not len(keys):
        return {}
    found, index = np.unique(keys, return_inverse=True)
    counts = np.bincount(index * size + codes, minlength=len(found) * size).reshape(len(found), size)
    return {int(key): row for key, row in zip(found, counts, strict=True)}


def counted(keys: np.ndarray) -> dict[int, int]:
    """How many rows of each group key."""
    found, counts = np.unique(keys, return_counts=True)
    return {int(key): int(count) for key, count in zip(found, counts, strict=True)}


def by_key(keys: np.ndarray, values: np.ndarray) -> dict[int, list[int]]:
    """The values of each group key, as lists."""
    if not len(keys):
        return {}
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    found, first = np.unique(ordered, return_index=True)
    parts = np.split(values[order], first[1:])
    return {int(key): part.tolist() for key, part in zip(found, parts, strict=True)}


def local_days(instants: np.ndarray, start: datetime, end: datetime) -> np.ndarray:
    """The local day of each instant of [start, end) (microseconds since the epoch), as days
    since 1970-01-01, in the portal's time zone (its offsets over the period: ``_offsets``)."""
    pieces = _offsets(start, end)
    untils = np.array([_micros(until) for until, _minutes in pieces[:-1] if until is not None], dtype=np.int64)
    minutes = np.array([minutes for _until, minutes in pieces], dtype=np.int64)
    offsets = minutes[np.searchsorted(untils, instants, side="right")] * _MINUTE
    return (instants + offsets) // _DAY


def hex_text(expression: str) -> str:
    """SQL: a text's UTF-8 bytes in hexadecimal ('' for none), for a listing of free text."""
    if is_sqlite():
        return f"hex({expression})"
    return f"COALESCE(encode(convert_to({expression}, 'UTF8'), 'hex'), '')"


def from_hex(text: str) -> str:
    return bytes.fromhex(text).decode()


# Working time -------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE = 60_000_000  # microseconds
_DAY = 86_400_000_000


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class WorkingTime:
    """Working microseconds since an origin, for any instant between two days: the calendar's
    working periods laid out in order with their running totals; an instant's is found by
    bisection (``numpy.searchsorted`` for many at once). The working time between two
    instants is the difference, floored to whole minutes as ``working_minutes_between``."""

    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        starts: list[int] = []
        lengths: list[int] = []
        before: list[int] = []
        total = 0
        day = first - timedelta(days=1)
        while day <= last + timedelta(days=1):
            if calendar.is_working_day(day):
                for begin, finish in calendar.periods:
                    start = _micros(datetime.combine(day, begin, tzinfo=calendar.timezone))
                    end = _micros(datetime.combine(day, finish, tzinfo=calendar.timezone))
                    starts.append(start)
                    lengths.append(end - start)
                    before.append(total)
                    total += end - start
            day += timedelta(days=1)
        self.starts = np.array(starts, dtype=np.int64)
        self.lengths = np.array(lengths, dtype=np.int64)
        self.before = np.array(before, dtype=np.int64)

    @classmethod
    def covering(cls, calendar: BusinessCalendar, *instants: np.ndarray) -> WorkingTime:
        """The table for every instant given (microseconds since the epoch)."""
        found = [part for part in instants if len(part)]
        if not found:
            return cls(calendar, date(2000, 1, 2), date(2000, 1, 1))
        low = min(int(part.min()) for part in found)
        high = max(int(part.max()) for part in found)
        first, last = (_EPOCH + timedelta(microseconds=moment) for moment in (low, high))
        return cls(calendar, calendar.local(first).date(), calendar.local(last).date())

    def at(self, instants: np.ndarray) -> np.ndarray:
        """Working microseconds since the origin at each instant (microseconds since the epoch):
        the running total before the last period begun, and as much of that period as has
        passed."""
        if not len(self.starts):  # no working day at all around these instants
            return np.zeros(len(instants), dtype=np.int64)
        index = np.searchsorted(self.starts, instants, side="right") - 1
        inside = np.maximum(index, 0)
        found = self.before[inside] + np.minimum(instants - self.starts[inside], self.lengths[inside])
        return np.where(index < 0, 0, found)

    def minutes(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Working minutes (whole, floored) between each start and its end; 0 when the end is
        not after the start."""
        if not len(starts):
            return np.zeros(0, dtype=np.int64)
        return np.where(ends > starts, (self.at(ends) - self.at(starts)) // _MINUTE, 0)


def spread(values: np.ndarray | list[int]) -> dict[str, int | None]:
    """Median (half up) and p90 (nearest rank) of working minutes, and how many."""
    if not len(values):
        return {"median": None, "p90": None, "count": 0}
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    count = len(ordered)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle] + 1) // 2
    return {"median": int(median), "p90": int(ordered[(9 * count + 9) // 10 - 1]), "count": count}


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    value = numerator / denominator if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


# The dashboard ------------------------------------------------------------------------------

LONG_PERIOD_DAYS = 62


@dataclass(frozen=True)
class Frame:
    """What every statement of one dashboard shares: the cases this person may see under these
    filters (a condition on ``card AS c``), the boards of each kind and the done columns among
    them (constant lists, so that no statement joins the board and column tables per card),
    and the period."""

    filters: Filters
    cases: str
    boards: dict[str, list[int]]
    done_columns: list[int]

    @classmethod
    async def build(cls, scope: Scope, filters: Filters) -> Frame:
        kinds = case_kinds()
        boards = {kind: scope.board_ids(filters, (kind,)) for kind in kinds}
        ids = [board for kind in kinds for board in boards[kind]]
        done = []
        if ids:
            rows = await BoardColumn.select(BoardColumn.id).where(
                BoardColumn.board.is_in(ids) & (BoardColumn.meaning == "done")
            )
            done = sorted(row["id"] for row in rows)
        return cls(filters, scope.cards("c", filters, kinds), boards, done)

    def of_kind(self, kind: str) -> str:
        """SQL: card ``c`` is on a board of this kind."""
        return _ids_in(unindexed("c.board"), self.boards.get(kind, []))

    def done(self) -> str:
        """SQL: card ``c`` is in a done column (办结, 已关闭 …) now."""
        return _ids_in(unindexed('c."column"'), self.done_columns)

    def done_in_period(self, q: Sql) -> str:
        """SQL: the stage visit ``s`` is a card's present one (open), to a done column, begun
        in the period: the card was done then and is done now."""
        column = _ids_in(unindexed('s."column"'), self.done_columns)
        return f"{unindexed('s.left_at')} IS NULL AND {column} AND {self.during('s.entered_at', q)}"

    def during(self, column: str, q: Sql) -> str:
        """SQL: the timestamp column falls in the period. Over a long period most rows do, and
        SQLite reads the table faster from end to end than through the time's index."""
        if (self.filters.end - self.filters.start).days > LONG_PERIOD_DAYS:
            column = unindexed(column)
        return f"{column} >= {q(self.filters.start)} AND {column} < {q(self.filters.end)}"


def _ids_in(expression: str, ids: list[int]) -> str:
    if not ids:
        return "1 = 0"
    return f"{expression} IN ({', '.join(str(int(i)) for i in ids)})"


async def dashboard(
    user: CurrentUser, filters: Filters, *, now: datetime | None = None, reference: bool = False
) -> dict[str, Any]:
    """Every figure of the dashboard for this person and these filters, as JSON-able data
    (the shape is shared with the pages, the exports and ``GET /api/v1/stats``). Counted from
    the facts this process keeps (``portal.stats.facts``), or with ``reference`` straight from
    the tables, statement by statement (``SqlSource``: the definition the facts are checked
    against). Read in one transaction: the figures agree with each other (one snapshot; the
    facts may be a moment newer, when another request has just brought them up to date), and
    SQLite reads them all through one connection."""
    from portal.db import engine

    async with engine().transaction():
        return await _dashboard(user, filters, now=now, reference=reference)


async def _dashboard(
    user: CurrentUser, filters: Filters, *, now: datetime | None = None, reference: bool = False
) -> dict[str, Any]:
    from portal.sla.services import get_calendar
    from portal.stats import facts

    now = now or datetime.now(UTC)
    scope = await scope_for(user)
    calendar = await get_calendar()
    frame = await Frame.build(scope, filters)
    source: SqlSource | facts.FactSource
    source = SqlSource(frame) if reference else facts.FactSource(frame, await facts.current(), scope)

    groups: dict[tuple[int | None, int | None], dict[str, Any]] = defaultdict(_group)

    # Received in the period: the rates, per assignee and department, per day, platform, category.
    received = _received_figures(frame, await source.received())
    totals = received["totals"]
    for key, count in received["per_key"].items():
        groups[split_key(key)]["received"] += count

    # Follow-up verdicts and 督办 notices given in the period.
    verdicts = dict.fromkeys(VERDICTS, 0)
    supervised = 0
    for key, counts in (await source.steps()).items():
        group = groups[split_key(key)]
        supervised += int(counts[0])
        group["supervised"] += int(counts[0])
        for code, value in enumerate(VERDICTS, 1):  # another verdict (or none) counts nowhere
            verdicts[value] += int(counts[code])
            group["verdicts"] += int(counts[code])
            group["satisfied"] += int(counts[code]) if value in SATISFIED else 0

    # Reopenings (重办) in the period.
    reopened = 0
    for key, count in (await source.reopened()).items():
        reopened += count
        groups[split_key(key)]["reopened"] += count

    # Stage visits that ended in the period while a clock ran: on time or late.
    stages: dict[str, dict[str, int]] = {}
    for (key, clock), (on_time, late) in (await source.visits()).items():
        stage = stages.setdefault(clock, {"on_time": 0, "late": 0})
        group = groups[split_key(key)]
        for target in (stage, group):
            target["on_time"] += on_time
            target["late"] += late

    # Overdue now (whatever the period): few cards have a due time, the index finds them.
    q = Sql()
    overdue_rows = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, COUNT(*) AS n
        FROM card c
        WHERE {frame.cases} AND NOT ({frame.done()}) AND c.due_at < {q(now)}
          AND (c.paused_at IS NULL OR c.due_at < c.paused_at)
        GROUP BY c.assignee, c.department
        """
    )
    overdue_now = 0
    for row in overdue_rows:
        overdue_now += row["n"]
        groups[(row["assignee"], row["department"])]["overdue_now"] += row["n"]

    # Times: first responses completed in the period, cases done in the period (their visit to
    # the done column they are in began in the period).
    first_starts, first_ends = await source.responses()
    done_keys, done_starts, done_ends, timed = await source.done()
    working = WorkingTime.covering(calendar, first_starts, first_ends, done_starts, done_ends)
    first_response = working.minutes(first_starts, first_ends)
    resolution = working.minutes(done_starts, done_ends)
    for key, count in counted(done_keys).items():
        groups[split_key(key)]["done"] += count
    for key, minutes in by_key(done_keys[timed], resolution).items():  # a card with no receipt time is not timed
        groups[split_key(key)]["times"] += minutes

    members, departments = await _tables(groups)
    return {
        **filters.as_json(),
        "rates": {
            "acceptance": rate(totals["accepted"], totals["inquiries"]),
            "resolution": rate(totals["resolved"], totals["received"]),
            "satisfaction": rate(sum(verdicts[v] for v in SATISFIED), sum(verdicts.values())),
            "reply": rate(totals["replied"], totals["comments"]),
        },
        "times": {"first_response": spread(first_response), "resolution": spread(resolution)},
        "deadlines": {
            "by_stage": [
                {
                    "stage": stage,
                    "label": STAGES.label(stage),
                    "on_time": stages[stage]["on_time"],
                    "late": stages[stage]["late"],
                    "rate": _fraction(stages[stage]["on_time"], stages[stage]["on_time"] + stages[stage]["late"]),
                }
                for stage in sorted(stages, key=_stage_order)
            ],
            "overdue_now": overdue_now,
            "supervised": supervised,
            "reopened": reopened,
        },
        "volume": {"received": totals["received"], "by_day": received["by_day"], "by_platform": received["platforms"]},
        "categories": received["categories"],
        "sentiment": received["sentiment"],
        "members": members,
        "departments": departments,
        "campaigns": await campaign_effect(scope, filters),
    }


def step_code(alias: str) -> str:
    """SQL: an inquiry step's code: 0 a 督办 notice, 1… a verdict of VERDICTS, the last another
    verdict (or none)."""
    verdict = json_text(f"{alias}.data", "verdict")
    whens = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(VERDICTS, 1))
    other = len(VERDICTS) + 1
    return f"CASE WHEN {alias}.action = '{SUPERVISE}' THEN 0 ELSE CASE {verdict} {whens} ELSE {other} END END"


def clock_code(column: str) -> str:
    """SQL: a clock's name as its index in ``clock_names()``, -1 for a name no kind has."""
    whens = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(clock_names()))
    return f"CASE {column} {whens} ELSE -1 END"


class SqlSource:
    """The counts behind the figures, straight from the tables (the reference): each method
    one statement over the period's rows of the cards in ``frame``."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    async def received(self) -> dict[str, Any]:
        return await _received(self.frame)

    async def steps(self) -> dict[int, np.ndarray]:
        """Follow-up verdicts and 督办 notices given in the period: per group key, how many of
        each step code (0 a notice, 1… a verdict of VERDICTS, the last another verdict)."""
        frame, q = self.frame, Sql()
        step = step_code("s")
        (steps,) = await q.rows(
            f"""
            SELECT COUNT(*) AS n, {listing(group_key())} AS keys, {listing(step)} AS steps
            FROM inquiry_step s
            JOIN card c ON c.id = s.card
            WHERE {frame.cases} AND s.action IN ('{FOLLOW_UP}', '{SUPERVISE}') AND {frame.during("s.created_at", q)}
            """
        )
        return tally(numbers(steps["keys"], steps["n"]), numbers(steps["steps"], steps["n"]), len(VERDICTS) + 2)

    async def reopened(self) -> dict[int, int]:
        frame, q = self.frame, Sql()
        filters = frame.filters
        rows = await q.rows(
            f"""
            SELECT {group_key()} AS key, COUNT(*) AS n
            FROM event e
            JOIN card c ON c.id = e.object_id
            WHERE e.verb = '{REOPENED_VERB}' AND e.object_type = 'card' AND {frame.cases}
              AND e.created_at >= {q(filters.start)} AND e.created_at < {q(filters.end)}
            GROUP BY {group_key()}
            """
        )
        return {int(row["key"]): int(row["n"]) for row in rows}

    async def visits(self) -> dict[tuple[int, str], tuple[int, int]]:
        return await _visits(self.frame)

    async def responses(self) -> tuple[np.ndarray, np.ndarray]:
        """First responses completed in the period: (receipt, completion) of each timed one."""
        frame, q = self.frame, Sql()
        (responses,) = await q.rows(
            f"""
            SELECT COUNT(*) AS n, {listing(instant_text("c.received_at"))} AS starts,
              {listing(instant_text("k.completed_at"))} AS ends
            FROM card_clock k
            JOIN card c ON c.id = k.card_id
            WHERE {frame.cases} AND k.round = 1 AND ({_first_clock(frame)}) AND {frame.during("k.completed_at", q)}
            """
        )
        starts, ends, _timed = _pairs(responses)
        return starts, ends

    async def done(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cases done in the period (their visit to the done column they are in began in the
        period): their group keys, (receipt, entry) of the timed ones, and which are timed."""
        frame, q = self.frame, Sql()
        (done,) = await q.rows(
            f"""
            SELECT COUNT(*) AS n, {listing(group_key())} AS keys, {listing(instant_text("c.received_at"))} AS starts,
              {listing(instant_text("s.entered_at"))} AS ends
            FROM card_stage s
            JOIN card c ON c.id = s.card
            WHERE {frame.cases} AND {frame.done_in_period(q)}
            """
        )
        starts, ends, timed = _pairs(done)
        return numbers(done["keys"], done["n"]), starts, ends, timed


def _pairs(row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The listed (start, end) instants of a statement's rows that have both (a card may have
    no receipt time), and which rows those are."""
    starts, has_start = instants(row["starts"], row["n"])
    ends, has_end = instants(row["ends"], row["n"])
    both = has_start & has_end
    return starts[both], ends[both], both


async def _received(frame: Frame) -> dict[str, Any]:
    """The cases received in the period, in one pass over them: how many, done now, inquiries
    accepted (受理, or answered directly) and comments with a sent reply — a case received in
    the period was accepted or replied to after its receipt; each one's group key, receipt and
    (comments) sentiment code; per platform (a comment's platform, an inquiry's channel) and
    category (an inquiry's category, a comment's topic).
    A kind's detail table is joined only when boards of that kind are read (its cards are the
    only ones with such details). Platforms and categories are free text: listed in hex."""
    filters = frame.filters
    q = Sql()
    inquiry, comment = frame.of_kind(INQUIRIES), frame.of_kind(COMMENTS)
    with_comments, with_inquiries = bool(frame.boards.get(COMMENTS)), bool(frame.boards.get(INQUIRIES))
    joins = []
    if with_comments:
        joins.append("LEFT JOIN comment_detail d ON d.card = c.id")
    if with_inquiries:
        joins.append("LEFT JOIN inquiry_detail i ON i.card = c.id")
    platform = PLATFORM_SQL if with_comments and with_inquiries else "d.platform" if with_comments else "i.channel"
    category = CATEGORY_SQL if with_comments and with_inquiries else "d.topic" if with_comments else "i.category"
    facets = f"{hex_text(platform)} || '.' || {hex_text(category)}"
    if not (with_comments or with_inquiries):
        facets = "'.'"
    feeling = "0"
    if with_comments:
        whens = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(SENTIMENTS.values, 1))
        feeling = f"CASE d.sentiment {whens} ELSE 0 END"
    accepted = f"{inquiry} AND i.accepted_at >= {q(filters.start)}" if with_inquiries else "1 = 0"
    replied = f"{comment} AND c.id IN ({replied_sql(q, filters.start)})" if with_comments else "1 = 0"
    (row,) = await q.rows(
        f"""
        SELECT COUNT(*) AS n,
          SUM(CASE WHEN {frame.done()} THEN 1 ELSE 0 END) AS resolved,
          SUM(CASE WHEN {inquiry} THEN 1 ELSE 0 END) AS inquiries,
          SUM(CASE WHEN {accepted} THEN 1 ELSE 0 END) AS accepted,
          SUM(CASE WHEN {comment} THEN 1 ELSE 0 END) AS comments,
          SUM(CASE WHEN {replied} THEN 1 ELSE 0 END) AS replied,
          {listing(group_key())} AS keys, {listing(instant_text("c.received_at"))} AS received,
          {listing(feeling)} AS feelings, {listing(facets)} AS facets
        FROM card c
        {" ".join(joins)}
        WHERE {frame.cases} AND {frame.during("c.received_at", q)}
        """
    )
    count = row["n"]
    platforms: dict[str | None, int] = defaultdict(int)
    categories: dict[str, int] = defaultdict(int)
    for pair, found in Counter((row["facets"] or "").split(",") if count else []).items():
        platform_hex, _dot, category_hex = pair.partition(".")
        platforms[from_hex(platform_hex) or None] += found
        if category_hex:
            categories[from_hex(category_hex)] += found
    return {
        "totals": {"received": count}
        | {name: int(row[name] or 0) for name in ("resolved", "inquiries", "accepted", "comments", "replied")},
        "keys": numbers(row["keys"], count),
        "received": instants(row["received"], count)[0],
        "feelings": numbers(row["feelings"], count),
        "platforms": dict(platforms),
        "categories": dict(categories),
    }


def _received_figures(frame: Frame, found: dict[str, Any]) -> dict[str, Any]:
    """The received cases' figures from their counts (a source's ``received``): totals, per
    group key, per local day and (comments) sentiment, every day listed (sentiment code 0:
    none, or another), per platform and category, most first."""
    filters = frame.filters
    days = local_days(found["received"], filters.start, filters.end)
    first = (filters.first_day - _EPOCH.date()).days
    width = len(SENTIMENTS.values) + 1
    per_day = np.bincount((days - first) * width + found["feelings"], minlength=len(filters.days) * width).reshape(
        -1, width
    )
    by_day, sentiment = [], []
    for index, day in enumerate(filters.days):
        key = day.isoformat()
        by_day.append({"day": key, "count": int(per_day[index].sum())})
        sentiment.append(
            {"day": key, **{value: int(per_day[index][code]) for code, value in enumerate(SENTIMENTS.values, 1)}}
        )
    order = {code: index for index, code in enumerate(PLATFORMS.values)}
    return {
        "totals": found["totals"],
        "per_key": counted(found["keys"]),
        "by_day": by_day,
        "sentiment": sentiment,
        "platforms": [
            {"platform": code, "label": PLATFORMS.label(code) if code else str(NOT_GIVEN), "count": count}
            for code, count in sorted(
                found["platforms"].items(), key=lambda item: (item[0] is None, -item[1], order.get(item[0] or "", 99))
            )
        ],
        "categories": [
            {"category": code, "label": INQUIRY_CATEGORIES.label(code), "count": count}
            for code, count in sorted(found["categories"].items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def clock_names() -> tuple[str, ...]:
    """Every clock a stage visit may have run: the stages of every kind."""
    return tuple(dict.fromkeys([*STAGES.values, *(stage for kind in all_kinds() for stage in kind.stages)]))


async def _visits(frame: Frame) -> dict[tuple[int, str], tuple[int, int]]:
    """Stage visits that ended in the period while a clock ran, on time and late, per group key
    and clock. A clock no kind has (any more) is counted by a statement of its own."""
    names = clock_names()
    q = Sql()
    visit = f"{clock_code('s.clock')} * 2 + CASE WHEN s.on_time = {true()} THEN 1 ELSE 0 END"
    where = f"{frame.cases} AND {frame.during('s.left_at', q)} AND s.on_time IS NOT NULL AND s.clock IS NOT NULL"
    (row,) = await q.rows(
        f"""
        SELECT COUNT(*) AS n, {listing(group_key())} AS keys, {listing(visit)} AS visits
        FROM card_stage s
        JOIN card c ON c.id = s.card
        WHERE {where}
        """
    )
    keys, codes = numbers(row["keys"], row["n"]), numbers(row["visits"], row["n"])
    known = codes >= 0
    found: dict[tuple[int, str], tuple[int, int]] = {}
    for key, counts in tally(keys[known], codes[known], 2 * len(names)).items():
        for code, name in enumerate(names):
            late, on_time = int(counts[2 * code]), int(counts[2 * code + 1])
            if on_time or late:
                found[(key, name)] = (on_time, late)
    if not known.all():
        q = Sql()
        where = f"{frame.cases} AND {frame.during('s.left_at', q)} AND s.on_time IS NOT NULL AND s.clock IS NOT NULL"
        for other in await q.rows(
            f"""
            SELECT {group_key()} AS key, s.clock AS clock,
              SUM(CASE WHEN s.on_time = {true()} THEN 1 ELSE 0 END) AS on_time,
              SUM(CASE WHEN s.on_time = {true()} THEN 0 ELSE 1 END) AS late
            FROM card_stage s
            JOIN card c ON c.id = s.card
            WHERE {where} AND s.clock NOT IN ({_in(names)})
            GROUP BY {group_key()}, s.clock
            """
        ):
            found[(int(other["key"]), other["clock"])] = (int(other["on_time"]), int(other["late"]))
    return found


def accepted_sql(q: Sql, since: datetime) -> str:
    """SQL: the inquiries accepted (受理, or answered directly) since a time — a case received in
    the period was accepted after its receipt, so its acceptance is in this short list, read
    once, rather than looked up card by card."""
    return f"SELECT i.card FROM inquiry_detail i WHERE i.accepted_at >= {q(since)}"


def replied_sql(q: Sql, since: datetime) -> str:
    """SQL: the comments with a reply sent, among the replies written since a time (as above)."""
    return f"SELECT r.card FROM comment_reply r WHERE r.status = 'sent' AND r.created_at >= {q(since)}"


def _first_clock(frame: Frame) -> str:
    """SQL: the clock ``k`` of card ``c`` is its kind's first (a comment's first reply, 受理)."""
    parts = [f"({frame.of_kind(kind)} AND k.stage = '{stage}')" for kind, stage in first_stages().items()]
    return " OR ".join(parts) or "1 = 0"


def _group() -> dict[str, Any]:
    return {
        "received": 0,
        "done": 0,
        "on_time": 0,
        "late": 0,
        "overdue_now": 0,
        "supervised": 0,
        "reopened": 0,
        "satisfied": 0,
        "verdicts": 0,
        "times": [],
    }


def _fraction(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _stage_order(stage: str) -> tuple[int, str]:
    order = list(STAGES.values)
    return (order.index(stage) if stage in order else len(order), stage)


PLATFORM_SQL = "COALESCE(d.platform, i.channel)"
CATEGORY_SQL = "COALESCE(i.category, d.topic)"


async def _tables(groups: dict[tuple[int | None, int | None], dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """The per-member (assignee) and per-department (responsible department) tables. The cards
    with no assignee (no responsible department) make a row of their own, last, so that each
    table adds up to the figures above it."""
    members: dict[int | None, dict[str, Any]] = defaultdict(_group)
    departments: dict[int | None, dict[str, Any]] = defaultdict(_group)
    for (assignee, department), group in groups.items():
        for target, key in ((members, assignee), (departments, department)):
            into = target[key]
            for name, value in group.items():
                into[name] += value
    people = {}
    if members:
        known = [user_id for user_id in members if user_id is not None]
        rows = await User.select(User.id, User.display_name, User.department).where(User.id.is_in(known or [0]))
        people = {row["id"]: row for row in rows}
    names = await department_names()
    member_rows = [
        {
            "user": user_id,
            "name": (people.get(user_id) or {}).get("display_name", "") if user_id is not None else _("Unassigned"),
            "department": (people.get(user_id) or {}).get("department"),
            **_figures(group),
        }
        for user_id, group in members.items()
    ]
    department_rows = [
        {
            "department": department_id,
            "name": names.get(department_id, "") if department_id is not None else _("No department given"),
            **_figures(group),
        }
        for department_id, group in departments.items()
    ]
    member_rows.sort(key=lambda row: (row["user"] is None, -row["received"], row["name"], row["user"] or 0))
    department_rows.sort(
        key=lambda row: (row["department"] is None, -row["received"], row["name"], row["department"] or 0)
    )
    return member_rows, department_rows


def _figures(group: dict[str, Any]) -> dict[str, Any]:
    times = spread(group["times"])
    return {
        "received": group["received"],
        "done": group["done"],
        "on_time": group["on_time"],
        "late": group["late"],
        "on_time_rate": _fraction(group["on_time"], group["on_time"] + group["late"]),
        "overdue_now": group["overdue_now"],
        "supervised": group["supervised"],
        "reopened": group["reopened"],
        "satisfaction": _fraction(group["satisfied"], group["verdicts"]),
        "resolution_median": times["median"],
        "resolution_p90": times["p90"],
    }


async def department_names() -> dict[int | None, str]:
    """Departments' names in the reader's language."""
    english = current_locale() == "en"
    rows = await Department.select(Department.id, Department.name_zh, Department.name_en)
    return {row["id"]: (row["name_en"] if english and row["name_en"] else row["name_zh"]) for row in rows}


# Campaigns ----------------------------------------------------------------------------------


async def campaign_effect(scope: Scope, filters: Filters) -> list[dict[str, Any]]:
    """The campaigns running on a day of the period that this person may see: participation,
    new followers against the plan's goals, interaction rate ((comments + shares) / reads),
    in total and per platform."""
    from portal.campaigns import calendar, metrics, workflow
    from portal.campaigns.kind import KIND as CAMPAIGN_KIND

    if filters.kind not in (None, CAMPAIGNS):
        return []
    board_ids = scope.board_ids(filters, (CAMPAIGNS,))
    if not board_ids:
        return []
    running = await calendar.campaigns([scope.accesses[b] for b in board_ids], filters.first_day, filters.last_day)
    if not running:
        return []
    query = Card.select(Card.id, Card.title, Card.body, Card.assignee, Card.department, *CAMPAIGN_KIND.joined()).where(
        Card.id.is_in([campaign["id"] for campaign in running])
    )
    cards = {row["id"]: row for row in await query.output(load_json=True)}
    snapshots = await _results_before(list(cards), filters.end)
    found = []
    for campaign in running:
        card = cards.get(campaign["id"])
        if card is None or (filters.department is not None and card["department"] != filters.department):
            continue
        CAMPAIGN_KIND.defaults(card)
        plan = await workflow.effective_plan(card)
        results = snapshots.get(card["id"], {})
        goals = metrics.goal_rows(plan.get("targets") or {}, results, plan.get("platforms") or [])
        totals = {row["metric"]: row for row in goals if row["platform"] is None}
        platforms = list(dict.fromkeys([*campaign["platforms"], *results]))
        targets = plan.get("targets") or {}
        found.append(
            {
                "card": card["id"],
                "title": card["title"],
                "board": campaign["board"],
                "state": campaign["state"],
                "first_day": campaign["first_day"].isoformat(),
                "last_day": campaign["last_day"].isoformat(),
                "platforms": campaign["platforms"],
                "participants": _total(totals, "participants"),
                "participants_goal": (totals.get("participants") or {}).get("goal"),
                "participants_pct": (totals.get("participants") or {}).get("pct"),
                "new_followers": _total(totals, "new_followers"),
                "new_followers_goal": (totals.get("new_followers") or {}).get("goal"),
                "new_followers_pct": (totals.get("new_followers") or {}).get("pct"),
                "interaction_rate": _interaction([results.get(p) or {} for p in platforms]),
                "by_platform": [
                    _platform_effect(platform, results.get(platform) or {}, targets.get(platform) or {})
                    for platform in platforms
                ],
            }
        )
    return found


async def _results_before(card_ids: list[int], end: datetime) -> dict[int, dict[str, dict[str, int | None]]]:
    """Each campaign's results as they stood at the period's end, per platform, figure by
    figure: the newest value given before ``end`` (``metrics.latest``'s rule, but a past
    period is not credited with what was recorded after it)."""
    from portal.campaigns.metrics import FIGURES
    from portal.campaigns.tables import CampaignMetric as M

    if not card_ids:
        return {}
    rows = (
        await M.select(M.card, M.platform, *(getattr(M, figure) for figure in FIGURES))
        .where(M.card.is_in(card_ids) & (M.at < end))
        .order_by(M.at)
    )
    found: dict[int, dict[str, dict[str, int | None]]] = {}
    for row in rows:
        figures = found.setdefault(row["card"], {}).setdefault(row["platform"], dict.fromkeys(FIGURES))
        figures.update({figure: row[figure] for figure in FIGURES if row[figure] is not None})
    return found


def _total(totals: dict[str, dict], metric: str) -> int:
    row = totals.get(metric) or {}
    return int(row.get("result") or 0) + int(row.get("unmeasured") or 0)


def _interaction(figures: list[dict[str, int | None]]) -> float | None:
    reads = sum(int(f.get("reads") or 0) for f in figures)
    engaged = sum(int(f.get("comments") or 0) + int(f.get("shares") or 0) for f in figures)
    return engaged / reads if reads else None


def _platform_effect(platform: str, figures: dict[str, int | None], goals: dict[str, int]) -> dict[str, Any]:
    from portal.campaigns.metrics import pct

    participants, followers = int(figures.get("participants") or 0), int(figures.get("new_followers") or 0)
    participants_goal = int(goals.get("participants") or 0) or None
    followers_goal = int(goals.get("new_followers") or 0) or None
    return {
        "platform": platform,
        "label": PLATFORMS.label(platform),
        "participants": participants,
        "participants_goal": participants_goal,
        "participants_pct": pct(participants, participants_goal),
        "new_followers": followers,
        "new_followers_goal": followers_goal,
        "new_followers_pct": pct(followers, followers_goal),
        "comments": int(figures.get("comments") or 0),
        "shares": int(figures.get("shares") or 0),
        "reads": int(figures.get("reads") or 0),
        "interaction_rate": _interaction([figures]),
    }


# The cards behind a figure ------------------------------------------------------------------

BEHIND = (
    "received",
    "accepted",
    "not_accepted",
    "resolved",
    "replied",
    "unreplied",
    "satisfied",
    "dissatisfied",
    "verdicts",
    "first_response",
    "done",
    "on_time",
    "late",
    "overdue_now",
    "supervised",
    "reopened",
    "platform",
    "category",
    "sentiment",
)
QUALIFIERS = ("member", "department", "stage", "day", "platform", "category", "sentiment")
BARE_KEY = {
    "on_time": "stage",
    "late": "stage",
    "platform": "platform",
    "category": "category",
    "sentiment": "sentiment",
}


def parse_figure(figure: str | None, key: str | None) -> tuple[str, dict[str, Any]]:
    """(figure, {qualifier: value}) from a link's ``figure`` and ``key``; FormError otherwise."""
    figure = (figure or "").strip()
    key = (key or "").strip()
    qualifiers: dict[str, Any] = {}
    bad_figure = {"figure": _("There is no such figure.")}
    if ":" in figure:
        name, _sep, value = figure.partition(":")
        if name not in ("member", "department"):
            raise FormError(bad_figure)
        figure, key = "received", f"{name}:{value}" if not key else key
        qualifiers.update(_qualifier(name, value))
    if figure not in BEHIND:
        raise FormError(bad_figure)
    if key:
        name, _sep, value = key.partition(":")
        if not _sep:
            name, value = BARE_KEY.get(figure, "day"), key
        if name not in QUALIFIERS:
            raise FormError({"key": _("There is no such part of the figure.")})
        qualifiers.update(_qualifier(name, value))
    return figure, qualifiers


def _qualifier(name: str, value: str) -> dict[str, Any]:
    bad = {"key": _("There is no such part of the figure.")}
    value = value.strip()
    if name in ("member", "department"):
        if value == "none":  # the cards with no assignee / no responsible department
            return {name: None}
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
            raise FormError(bad)
        return {name: int(value)}
    if name == "day":
        day = parse_day(value)
        if day is None:
            raise FormError(bad)
        return {"day": day}
    if name == "platform":
        if value not in (*PLATFORMS.values, "none"):
            raise FormError(bad)
        return {"platform": None if value == "none" else value}
    if name == "sentiment":
        if value not in SENTIMENTS:
            raise FormError(bad)
        return {"sentiment": value}
    if name == "stage":
        if value not in STAGES:
            raise FormError(bad)
        return {"stage": value}
    if not value or len(value) > 40:
        raise FormError(bad)
    return {"category": value}


async def cards_behind(
    user: CurrentUser, filters: Filters, figure: str, key: str | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The cards a figure counts (at most 500, the latest received first), with the same
    visibility rules: each {id, board, board_name, title, column, column_id, due_at,
    assignee_name, url}. FormError for a figure or key that does not exist."""
    figure, qualifiers = parse_figure(figure, key)
    now = now or datetime.now(UTC)
    scope = await scope_for(user)
    frame = await Frame.build(scope, filters)
    q = Sql()
    received = frame.during("c.received_at", q)
    where: list[str] = [frame.cases]
    if figure in ("received", "platform", "category"):
        where.append(received)
    elif figure in ("accepted", "not_accepted"):
        accepted = f"c.id IN ({accepted_sql(q, filters.start)})"
        where += [received, frame.of_kind(INQUIRIES), accepted if figure == "accepted" else f"NOT {accepted}"]
    elif figure == "resolved":
        where += [received, frame.done()]
    elif figure in ("replied", "unreplied", "sentiment"):
        where += [received, frame.of_kind(COMMENTS)]
        if figure != "sentiment":
            sent = f"c.id IN ({replied_sql(q, filters.start)})"
            where.append(sent if figure == "replied" else f"NOT {sent}")
    elif figure in ("satisfied", "dissatisfied", "verdicts"):
        wanted = {"satisfied": SATISFIED, "dissatisfied": ("dissatisfied",), "verdicts": VERDICTS}[figure]
        where.append(
            f"c.id IN (SELECT s.card FROM inquiry_step s WHERE s.action = '{FOLLOW_UP}'"
            f" AND {frame.during('s.created_at', q)} AND {json_text('s.data', 'verdict')} IN ({_in(wanted)}))"
        )
    elif figure == "supervised":
        where.append(
            f"c.id IN (SELECT s.card FROM inquiry_step s WHERE s.action = '{SUPERVISE}'"
            f" AND {frame.during('s.created_at', q)})"
        )
    elif figure == "reopened":
        where.append(
            f"c.id IN (SELECT e.object_id FROM event e WHERE e.verb = '{REOPENED_VERB}' AND e.object_type = 'card'"
            f" AND e.created_at >= {q(filters.start)} AND e.created_at < {q(filters.end)})"
        )
    elif figure == "first_response":
        completed = frame.during("k.completed_at", q)
        parts = [
            f"({frame.of_kind(kind)} AND c.id IN (SELECT k.card_id FROM card_clock k"
            f" WHERE k.round = 1 AND k.stage = '{stage}' AND {completed}))"
            for kind, stage in first_stages().items()
        ]
        where.append(f"({' OR '.join(parts) or '1 = 0'})")
    elif figure == "done":
        where.append(f"c.id IN (SELECT s.card FROM card_stage s WHERE {frame.done_in_period(q)})")
    elif figure in ("on_time", "late"):
        stage = f"s.clock = {q(qualifiers['stage'])}" if "stage" in qualifiers else "s.clock IS NOT NULL"
        where.append(
            f"c.id IN (SELECT s.card FROM card_stage s WHERE {frame.during('s.left_at', q)}"
            f" AND s.on_time = {true() if figure == 'on_time' else false()} AND {stage})"
        )
    elif figure == "overdue_now":
        where += [f"NOT ({frame.done()})", f"c.due_at < {q(now)}", "(c.paused_at IS NULL OR c.due_at < c.paused_at)"]
    for name, column in (("member", "c.assignee"), ("department", "c.department")):
        if name in qualifiers:
            value = qualifiers[name]
            where.append(f"{column} IS NULL" if value is None else f"{column} = {int(value)}")
    if "day" in qualifiers:
        day_start, day_end = midnight(qualifiers["day"]), midnight(qualifiers["day"] + timedelta(days=1))
        where.append(f"c.received_at >= {q(day_start)} AND c.received_at < {q(day_end)}")
    if "platform" in qualifiers:
        platform = qualifiers["platform"]
        where.append(f"{PLATFORM_SQL} IS NULL" if platform is None else f"{PLATFORM_SQL} = {q(platform)}")
    if "category" in qualifiers:
        where.append(f"{CATEGORY_SQL} = {q(qualifiers['category'])}")
    if "sentiment" in qualifiers:
        where.append(f"d.sentiment = {q(qualifiers['sentiment'])}")
    rows = await q.rows(
        f"""
        SELECT c.id AS id
        FROM card c
        LEFT JOIN comment_detail d ON d.card = c.id
        LEFT JOIN inquiry_detail i ON i.card = c.id
        WHERE {" AND ".join(where)}
        ORDER BY c.received_at DESC, c.id DESC
        LIMIT {LIMIT}
        """
    )
    return await _card_rows([row["id"] for row in rows])


async def _card_rows(ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await Card.select(
        Card.id,
        Card.board,
        Card.board.name.as_alias("board_name"),
        Card.board.kind.as_alias("board_kind"),
        Card.title,
        Card.column.as_alias("column_id"),
        Card.column.name.as_alias("column"),
        Card.due_at,
        Card.received_at,
        Card.assignee.display_name.as_alias("assignee_name"),
        Card.archived,
    ).where(Card.id.is_in(ids))
    by_id = {row["id"]: row for row in rows}
    found = []
    for card_id in ids:
        row = by_id.get(card_id)
        if row is None:
            continue
        # A list reaches people who may not reveal a citizen's numbers: an inquiry's are masked.
        title = mask_numbers(row["title"]) if row.pop("board_kind") == INQUIRIES else row["title"]
        found.append(
            {
                **row,
                "title": title,
                "assignee_name": row["assignee_name"] or "",
                # An archived card is off its board: its own (read-only) page.
                "url": f"/cards/{row['id']}" if row["archived"] else f"/boards/{row['board']}?card={row['id']}",
            }
        )
    return found
