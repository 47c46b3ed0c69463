"""The evaluation's figures (三率, times, deadlines, volume, members, departments, campaigns)
over the cards a person may see (portal.stats.scope), for a period and what the filters narrow
it to (portal.stats.period).

Counts are computed by the database (GROUP BY with the filters in the WHERE), the same SQL on
SQLite and PostgreSQL. Working times (medians, p90) need one value per card: the database
gives the two instants and the business calendar turns them into working minutes, through a
table of working periods with running totals (``WorkingTime``: one bisection per instant,
the same result as ``BusinessCalendar.working_minutes_between``).

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
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

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


def local_day(column: str, q: Sql, start: datetime, end: datetime) -> str:
    """SQL for the local day (``YYYY-MM-DD`` text) of a timestamp column, the same on SQLite
    and PostgreSQL whatever the server's own time zone."""
    pieces = _offsets(start, end)
    if is_sqlite():
        if len(pieces) == 1:
            return f"date({column}, '{pieces[0][1]:+d} minutes')"
        whens = " ".join(f"WHEN {column} < {q(until)} THEN '{minutes:+d} minutes'" for until, minutes in pieces[:-1])
        return f"date({column}, CASE {whens} ELSE '{pieces[-1][1]:+d} minutes' END)"
    if len(pieces) == 1:
        minutes = str(pieces[0][1])
    else:
        whens = " ".join(f"WHEN {column} < {q(until)} THEN {minutes}" for until, minutes in pieces[:-1])
        minutes = f"CASE {whens} ELSE {pieces[-1][1]} END"
    return f"to_char(({column} AT TIME ZONE 'UTC') + ({minutes}) * INTERVAL '1 minute', 'YYYY-MM-DD')"


def json_text(column: str, key: str) -> str:
    if is_sqlite():
        return f"json_extract({column}, '$.{key}')"
    return f"({column} ->> '{key}')"


def _in(values: Iterable[str]) -> str:
    """A list of fixed identifiers (kind names, states) as SQL literals."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values) or "NULL"


def _day_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


# Working time -------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class WorkingTime:
    """Working microseconds since an origin, for any instant between two days: the calendar's
    working periods laid out in order with their running totals, found by bisection. The
    working time between two instants is the difference, as ``working_minutes_between``."""

    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []
        total = 0
        day = first - timedelta(days=1)
        while day <= last + timedelta(days=1):
            if calendar.is_working_day(day):
                for begin, finish in calendar.periods:
                    start = _micros(datetime.combine(day, begin, tzinfo=calendar.timezone))
                    end = _micros(datetime.combine(day, finish, tzinfo=calendar.timezone))
                    self.starts.append(start)
                    self.ends.append(end)
                    self.before.append(total)
                    total += end - start
            day += timedelta(days=1)

    @classmethod
    def covering(cls, calendar: BusinessCalendar, moments: Iterable[datetime | None]) -> WorkingTime:
        days = [calendar.local(moment).date() for moment in moments if moment is not None]
        if not days:
            return cls(calendar, date(2000, 1, 2), date(2000, 1, 1))
        return cls(calendar, min(days), max(days))

    @classmethod
    def covering_micros(cls, calendar: BusinessCalendar, moments: list[int]) -> WorkingTime:
        if not moments:
            return cls(calendar, date(2000, 1, 2), date(2000, 1, 1))
        first, last = (_EPOCH + timedelta(microseconds=m) for m in (min(moments), max(moments)))
        return cls(calendar, calendar.local(first).date(), calendar.local(last).date())

    def micro_minutes(self, start: int, end: int) -> int:
        """Working minutes between two instants given in microseconds since the epoch."""
        if end <= start:
            return 0
        return (self.at(end) - self.at(start)) // 60_000_000

    def many(self, pairs: list[tuple[int, int]]) -> list[int]:
        """``micro_minutes`` for many pairs at once (a year holds hundreds of thousands):
        the same arithmetic with the lookups bound once."""
        starts, ends, before, find = self.starts, self.ends, self.before, bisect_right
        found = []
        for start, end in pairs:
            if end <= start:
                found.append(0)
                continue
            i = find(starts, end) - 1
            at_end = 0 if i < 0 else before[i] + min(end - starts[i], ends[i] - starts[i])
            i = find(starts, start) - 1
            at_start = 0 if i < 0 else before[i] + min(start - starts[i], ends[i] - starts[i])
            found.append((at_end - at_start) // 60_000_000)
        return found

    def at(self, micros: int) -> int:
        index = bisect_right(self.starts, micros) - 1
        if index < 0:
            return 0
        return self.before[index] + min(micros - self.starts[index], self.ends[index] - self.starts[index])

    def minutes(self, start: datetime, end: datetime) -> int:
        if end <= start:
            return 0
        return (self.at(_micros(end)) - self.at(_micros(start))) // 60_000_000


def pairs_sql(start: str, end: str) -> str:
    """SQL: the (start, end) instants of a group's rows as one text, ``start|end`` joined by
    commas (rows missing either are left out), UTC, to the microsecond."""
    if is_sqlite():
        return f"group_concat({start} || '|' || {end}, ',')"  # stored as UTC text already
    text = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US"+00:00"')"""
    return f"string_agg({text.format(start)} || '|' || {text.format(end)}, ',')"


def parse_pairs(text: str | None) -> list[tuple[int, int]]:
    """``pairs_sql``'s text as (start, end) in microseconds since the epoch."""
    if not text:
        return []
    found = []
    for pair in text.split(","):
        start, _bar, end = pair.partition("|")
        found.append((_text_micros(start), _text_micros(end)))
    return found


def _text_micros(text: str) -> int:
    # Aware (UTC) text: its POSIX time is exact to the microsecond in a double until 2255.
    return round(datetime.fromisoformat(text).timestamp() * 1_000_000)


def spread(values: list[int]) -> dict[str, int | None]:
    """Median (half up) and p90 (nearest rank) of working minutes, and how many."""
    if not values:
        return {"median": None, "p90": None, "count": 0}
    ordered = sorted(values)
    count = len(ordered)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle] + 1) // 2
    return {"median": median, "p90": ordered[(9 * count + 9) // 10 - 1], "count": count}


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


async def dashboard(user: CurrentUser, filters: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard for this person and these filters, as JSON-able data
    (the shape is shared with the pages, the exports and ``GET /api/v1/stats``). Read in one
    transaction: the figures agree with each other (one snapshot), and SQLite reads them all
    through one connection."""
    from portal.db import engine

    async with engine().transaction():
        return await _dashboard(user, filters, now=now)


async def _dashboard(user: CurrentUser, filters: Filters, *, now: datetime | None = None) -> dict[str, Any]:
    from portal.sla.services import get_calendar

    now = now or datetime.now(UTC)
    scope = await scope_for(user)
    calendar = await get_calendar()
    frame = await Frame.build(scope, filters)
    cases = frame.cases

    groups: dict[tuple[int | None, int | None], dict[str, Any]] = defaultdict(_group)

    # Received in the period: the rates' denominators, per assignee and department.
    q = Sql()
    inquiry, comment = frame.of_kind(INQUIRIES), frame.of_kind(COMMENTS)
    received = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, COUNT(*) AS received,
          SUM(CASE WHEN {frame.done()} THEN 1 ELSE 0 END) AS resolved,
          SUM(CASE WHEN {inquiry} THEN 1 ELSE 0 END) AS inquiries,
          SUM(CASE WHEN {inquiry} AND c.id IN ({accepted_sql(q, filters.start)}) THEN 1 ELSE 0 END) AS accepted,
          SUM(CASE WHEN {comment} THEN 1 ELSE 0 END) AS comments,
          SUM(CASE WHEN {comment} AND c.id IN ({replied_sql(q, filters.start)}) THEN 1 ELSE 0 END) AS replied
        FROM card c
        WHERE {cases} AND {frame.during("c.received_at", q)}
        GROUP BY c.assignee, c.department
        """
    )
    totals = dict.fromkeys(("received", "resolved", "inquiries", "accepted", "comments", "replied"), 0)
    for row in received:
        group = groups[(row["assignee"], row["department"])]
        group["received"] += row["received"]
        for name in totals:
            totals[name] += int(row[name] or 0)

    # Follow-up verdicts and 督办 notices given in the period.
    q = Sql()
    verdict = json_text("s.data", "verdict")
    steps = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, s.action AS action,
          {verdict} AS verdict, COUNT(*) AS n
        FROM inquiry_step s
        JOIN card c ON c.id = s.card
        WHERE {cases} AND s.action IN ('{FOLLOW_UP}', '{SUPERVISE}') AND {frame.during("s.created_at", q)}
        GROUP BY c.assignee, c.department, s.action, {verdict}
        """
    )
    verdicts = dict.fromkeys(VERDICTS, 0)
    supervised = 0
    for row in steps:
        group = groups[(row["assignee"], row["department"])]
        if row["action"] == SUPERVISE:
            supervised += row["n"]
            group["supervised"] += row["n"]
        elif row["verdict"] in verdicts:
            verdicts[row["verdict"]] += row["n"]
            group["verdicts"] += row["n"]
            group["satisfied"] += row["n"] if row["verdict"] in SATISFIED else 0

    # Reopenings (重办) in the period.
    q = Sql()
    reopenings = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, COUNT(*) AS n
        FROM event e
        JOIN card c ON c.id = e.object_id
        WHERE e.verb = '{REOPENED_VERB}' AND e.object_type = 'card' AND {cases}
          AND e.created_at >= {q(filters.start)} AND e.created_at < {q(filters.end)}
        GROUP BY c.assignee, c.department
        """
    )
    reopened = 0
    for row in reopenings:
        reopened += row["n"]
        groups[(row["assignee"], row["department"])]["reopened"] += row["n"]

    # Stage visits that ended in the period while a clock ran: on time or late.
    q = Sql()
    visits = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, s.clock AS clock,
          SUM(CASE WHEN s.on_time = {true()} THEN 1 ELSE 0 END) AS on_time,
          SUM(CASE WHEN s.on_time = {true()} THEN 0 ELSE 1 END) AS late
        FROM card_stage s
        JOIN card c ON c.id = s.card
        WHERE {cases} AND {frame.during("s.left_at", q)} AND s.on_time IS NOT NULL AND s.clock IS NOT NULL
        GROUP BY c.assignee, c.department, s.clock
        """
    )
    by_stage: dict[str, dict[str, int]] = {}
    for row in visits:
        stage = by_stage.setdefault(row["clock"], {"on_time": 0, "late": 0})
        group = groups[(row["assignee"], row["department"])]
        for name in ("on_time", "late"):
            stage[name] += int(row[name] or 0)
            group[name] += int(row[name] or 0)

    # Overdue now (whatever the period): few cards have a due time, the index finds them.
    q = Sql()
    overdue_rows = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, COUNT(*) AS n
        FROM card c
        WHERE {cases} AND NOT ({frame.done()}) AND c.due_at < {q(now)}
          AND (c.paused_at IS NULL OR c.due_at < c.paused_at)
        GROUP BY c.assignee, c.department
        """
    )
    overdue_now = 0
    for row in overdue_rows:
        overdue_now += row["n"]
        groups[(row["assignee"], row["department"])]["overdue_now"] += row["n"]

    # Times: first responses completed in the period, cases done in the period (their visit to
    # the done column they are in began in the period). Each statement gives its instants as
    # one text per group, not one row per card: tens of thousands of rows cost more to read
    # than the working time costs to count.
    q = Sql()
    pairs = pairs_sql("c.received_at", "k.completed_at")
    responses = await q.rows(
        f"""
        SELECT COUNT(*) AS n, {pairs} AS pairs
        FROM card_clock k
        JOIN card c ON c.id = k.card_id
        WHERE {cases} AND k.round = 1 AND ({_first_clock(frame)}) AND {frame.during("k.completed_at", q)}
        """
    )
    q = Sql()
    pairs = pairs_sql("c.received_at", "s.entered_at")
    done_rows = await q.rows(
        f"""
        SELECT c.assignee AS assignee, c.department AS department, COUNT(*) AS n, {pairs} AS pairs
        FROM card_stage s
        JOIN card c ON c.id = s.card
        WHERE {cases} AND {frame.done_in_period(q)}
        GROUP BY c.assignee, c.department
        """
    )
    first_pairs = [pair for row in responses for pair in parse_pairs(row["pairs"])]
    done_pairs = [parse_pairs(row["pairs"]) for row in done_rows]
    working = WorkingTime.covering_micros(
        calendar, [moment for pair in (*first_pairs, *(p for ps in done_pairs for p in ps)) for moment in pair]
    )
    first_response = working.many(first_pairs)
    resolution = []
    for row, found in zip(done_rows, done_pairs, strict=True):
        group = groups[(row["assignee"], row["department"])]
        group["done"] += row["n"]
        minutes = working.many(found)
        resolution += minutes
        group["times"] += minutes

    volume, sentiment = await _volume(frame)
    platforms, categories = await _breakdown(frame)
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
                    "on_time": by_stage[stage]["on_time"],
                    "late": by_stage[stage]["late"],
                    "rate": _fraction(by_stage[stage]["on_time"], by_stage[stage]["on_time"] + by_stage[stage]["late"]),
                }
                for stage in sorted(by_stage, key=_stage_order)
            ],
            "overdue_now": overdue_now,
            "supervised": supervised,
            "reopened": reopened,
        },
        "volume": {"received": totals["received"], "by_day": volume, "by_platform": platforms},
        "categories": categories,
        "sentiment": sentiment,
        "members": members,
        "departments": departments,
        "campaigns": await campaign_effect(scope, filters),
    }


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


async def _volume(frame: Frame) -> tuple[list[dict], list[dict]]:
    """Cases received per local day, and comments per day and sentiment; every day listed."""
    filters = frame.filters
    q = Sql()
    day = local_day("c.received_at", q, filters.start, filters.end)
    rows = await q.rows(
        f"""
        SELECT {day} AS day, d.sentiment AS sentiment, COUNT(*) AS n
        FROM card c
        LEFT JOIN comment_detail d ON d.card = c.id
        WHERE {frame.cases} AND {frame.during("c.received_at", q)}
        GROUP BY {day}, d.sentiment
        """
    )
    counts: dict[str, int] = defaultdict(int)
    feelings: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SENTIMENTS.values, 0))
    for row in rows:
        key = _day_text(row["day"])
        counts[key] += row["n"]
        if row["sentiment"] in SENTIMENTS:
            feelings[key][row["sentiment"]] += row["n"]
    days = [day.isoformat() for day in filters.days]
    return (
        [{"day": key, "count": counts.get(key, 0)} for key in days],
        [{"day": key, **feelings[key]} for key in days],
    )


PLATFORM_SQL = "COALESCE(d.platform, i.channel)"
CATEGORY_SQL = "COALESCE(i.category, d.topic)"


async def _breakdown(frame: Frame) -> tuple[list[dict], list[dict]]:
    """Cases received per platform (comments' platform, inquiries' channel) and per category
    (inquiries' category, comments' topic), most first."""
    q = Sql()
    rows = await q.rows(
        f"""
        SELECT {PLATFORM_SQL} AS platform, {CATEGORY_SQL} AS category, COUNT(*) AS n
        FROM card c
        LEFT JOIN comment_detail d ON d.card = c.id
        LEFT JOIN inquiry_detail i ON i.card = c.id
        WHERE {frame.cases} AND {frame.during("c.received_at", q)}
        GROUP BY {PLATFORM_SQL}, {CATEGORY_SQL}
        """
    )
    platforms: dict[str | None, int] = defaultdict(int)
    categories: dict[str, int] = defaultdict(int)
    for row in rows:
        platforms[row["platform"] or None] += row["n"]
        if row["category"]:
            categories[row["category"]] += row["n"]
    order = {code: index for index, code in enumerate(PLATFORMS.values)}
    by_platform = [
        {"platform": code, "label": PLATFORMS.label(code) if code else str(NOT_GIVEN), "count": count}
        for code, count in sorted(
            platforms.items(), key=lambda item: (item[0] is None, -item[1], order.get(item[0] or "", 99))
        )
    ]
    by_category = [
        {"category": code, "label": INQUIRY_CATEGORIES.label(code), "count": count}
        for code, count in sorted(categories.items(), key=lambda item: (-item[1], item[0]))
    ]
    return by_platform, by_category


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
