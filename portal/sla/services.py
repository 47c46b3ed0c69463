"""The calendar as stored: seeded from the chinese-calendar package, changed by admins,
imported a year at a time (next year's schedule is published each November)."""

from __future__ import annotations

import asyncio
import calendar as month_calendar
import re
import time as clock
from datetime import date, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from portal.accounts.services import CurrentUser, require_admin
from portal.cards.kinds import is_kind, kind_of
from portal.core.choices import PRIORITIES
from portal.core.forms import FormError
from portal.db import write_transaction
from portal.events import services as events
from portal.i18n import gettext as _
from portal.settings import get_settings
from portal.sla import policies
from portal.sla.calendar import BusinessCalendar, calendar_from_days, chinese_calendar_data
from portal.sla.tables import CalendarDay, CalendarYear, SlaPolicy

# Each process keeps the calendar and the policies (every card move reads them). A save
# bumps a counter in Redis (changed()); every read compares it with the one its copy was
# loaded under (one GET), so every web process and the worker see a change at once.
# Without Redis (a command run alone) a copy is kept at most CACHE_SECONDS.
CACHE_SECONDS = 60
VERSION_KEY = "portal:sla:version"
_cache: dict[str, Any] = {"calendar": None, "policies": None}
_redis: dict[str, Any] = {"loop": None, "client": None}

HOLIDAY_WORDS = {"holiday", "休", "假", "off"}
WORKDAY_WORDS = {"workday", "班", "上班", "work"}


async def seed_from_package() -> int:
    """Add every year the package knows that the database does not have yet."""
    holidays, workdays, years = chinese_calendar_data()
    known = {int(row["year"]) for row in await CalendarYear.select(CalendarYear.year)}
    if not years - known:
        return 0
    try:
        return await _seed_years(holidays, workdays, years)
    except Exception:
        # Two processes starting together (web and worker jobs) may both find the calendar
        # empty; the second one's insert meets the first one's rows. That is the only
        # failure to swallow: the years are there now, or the error was something else.
        known = {int(row["year"]) for row in await CalendarYear.select(CalendarYear.year)}
        if years - known:
            raise
        await changed()
        return 0


async def _seed_years(holidays, workdays, years: set[int]) -> int:
    async with write_transaction():
        # Read again inside the transaction (on SQLite it holds the write lock already).
        known = {int(row["year"]) for row in await CalendarYear.select(CalendarYear.year)}
        new_years = sorted(years - known)
        if not new_years:
            return 0
        rows = [CalendarDay(day=d, kind="holiday") for d in holidays if d.year in new_years]
        rows += [CalendarDay(day=d, kind="workday") for d in workdays if d.year in new_years]
        for start in range(0, len(rows), 500):
            await CalendarDay.insert(*rows[start : start + 500])
        await CalendarYear.insert(*[CalendarYear(year=str(year), source="package") for year in new_years])
    await changed()
    return len(new_years)


def invalidate() -> None:
    """Forget this process's copies (the tests' clean slate; changed() after a save)."""
    _cache["calendar"] = None
    _cache["policies"] = None


async def changed() -> None:
    """After a save: this process reloads, and so does every other (the shared counter)."""
    invalidate()
    try:
        await _version_client().incr(VERSION_KEY)
    except (RedisError, OSError):
        pass  # no Redis: the other processes' copies expire within CACHE_SECONDS


def _version_client() -> aioredis.Redis:
    # One client per event loop (a client's connections belong to the loop that opened them).
    loop = asyncio.get_running_loop()
    if _redis["loop"] is not loop:
        url = get_settings().effective_redis_url
        _redis.update(loop=loop, client=aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2))
    return _redis["client"]


async def _shared_version() -> int | None:
    """The counter changed() bumps; None when Redis cannot be asked."""
    try:
        value = await _version_client().get(VERSION_KEY)
    except (RedisError, OSError):
        return None
    return int(value or 0)


def _cached(name: str, version: int | None) -> Any:
    """This process's copy of ``name``, unless a save anywhere (or time, without Redis) outdated it."""
    value = _cache.get(name)
    if value is None or clock.monotonic() - _cache.get(f"{name}_loaded", 0.0) >= CACHE_SECONDS:
        return None
    if version is not None and version != _cache.get(f"{name}_version"):
        return None
    return value


async def get_calendar() -> BusinessCalendar:
    # The counter is read before the rows: a save committed after this read bumps it after
    # the commit, so the next call reloads again rather than keeping a stale copy.
    version = await _shared_version()
    if (cached := _cached("calendar", version)) is not None:
        return cached
    if not await CalendarYear.exists():
        await seed_from_package()
    days = await CalendarDay.select(CalendarDay.day, CalendarDay.kind)
    years = [int(row["year"]) for row in await CalendarYear.select(CalendarYear.year)]
    built = calendar_from_days(
        get_settings().timezone,
        holidays=[row["day"] for row in days if row["kind"] == "holiday"],
        workdays=[row["day"] for row in days if row["kind"] == "workday"],
        years=years,
    )
    _cache.update(calendar=built, calendar_loaded=clock.monotonic(), calendar_version=version)
    return built


async def year_view(year: int) -> dict[str, Any]:
    """A year as months of weeks, each day with its kind (for the calendar page)."""
    calendar = await get_calendar()
    source = (
        await CalendarYear.select(CalendarYear.source, CalendarYear.updated_at)
        .where(CalendarYear.year == str(year))
        .first()
    )
    months = []
    for month in range(1, 13):
        weeks = []
        for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append([{"date": d, "in_month": d.month == month, "kind": calendar.day_kind(d)} for d in week])
        months.append({"month": month, "weeks": weeks})
    return {
        "year": year,
        "months": months,
        "has_data": calendar.has_data_for(year),
        "source": source,
        "known_years": sorted(calendar.known_years),
    }


def _kind(word: str) -> str | None:
    word = word.strip().lower()
    if word in HOLIDAY_WORDS:
        return "holiday"
    if word in WORKDAY_WORDS:
        return "workday"
    return None


async def set_day(actor: CurrentUser, day: date, kind: str) -> None:
    """Make one day a holiday, a make-up workday, or (kind "default") follow the weekday rule."""
    require_admin(actor)
    if kind not in ("holiday", "workday", "default"):
        raise FormError({"kind": _("Choose holiday, workday or default.")})
    async with write_transaction():
        await CalendarDay.delete().where(CalendarDay.day == day)
        if kind != "default":
            await CalendarDay.insert(CalendarDay(day=day, kind=kind, source="admin"))
        if not await CalendarYear.exists().where(CalendarYear.year == str(day.year)):
            await CalendarYear.insert(CalendarYear(year=str(day.year), source="admin"))
        await events.record(
            "calendar.day", actor_id=actor.id, object_type="calendar", payload={"day": day.isoformat(), "kind": kind}
        )
    await changed()


def parse_import(year: int, text: str) -> list[tuple[date, str, str]]:
    """Lines like ``2027-02-11,holiday,春节`` or ``2027-02-07 班``; every error is reported at
    once with its line number, and nothing is imported unless every line is right."""
    rows, errors = [], []
    seen: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in re.split(r"[,，\t ]+", line, maxsplit=2)]
        try:
            day = date.fromisoformat(parts[0].replace("/", "-"))
        except ValueError:
            errors.append(_("line %(n)s: “%(text)s” is not a date like 2027-02-11", n=number, text=parts[0][:20]))
            continue
        kind = _kind(parts[1]) if len(parts) > 1 else None
        if kind is None:
            errors.append(_("line %(n)s: say holiday (休) or workday (班)", n=number))
        elif day.year != year:
            errors.append(_("line %(n)s: %(day)s is not in %(year)s", n=number, day=day.isoformat(), year=year))
        elif day in seen:
            errors.append(_("line %(n)s: %(day)s appears twice", n=number, day=day.isoformat()))
        else:
            seen.add(day)
            rows.append((day, kind, parts[2][:60] if len(parts) > 2 else ""))
    if errors:
        raise FormError({"import": "; ".join(errors[:10])})
    if not rows:
        raise FormError({"import": _("The list is empty.")})
    return rows


async def import_year(actor: CurrentUser, year: int, text: str) -> int:
    require_admin(actor)
    if not 2000 <= year <= 2100:
        raise FormError({"year": _("Choose a year between 2000 and 2100.")})
    rows = parse_import(year, text)
    async with write_transaction():
        await CalendarDay.delete().where(
            (CalendarDay.day >= date(year, 1, 1)) & (CalendarDay.day <= date(year, 12, 31))
        )
        await CalendarDay.insert(
            *[CalendarDay(day=day, kind=kind, note=note, source="import") for day, kind, note in rows]
        )
        await CalendarYear.delete().where(CalendarYear.year == str(year))
        await CalendarYear.insert(CalendarYear(year=str(year), source="import"))
        await events.record(
            "calendar.import", actor_id=actor.id, object_type="calendar", payload={"year": year, "days": len(rows)}
        )
    await changed()
    return len(rows)


async def preview(start: datetime, duration: int, mode: str) -> dict[str, Any]:
    calendar = await get_calendar()
    due = calendar.due(start, duration, mode)
    return {
        "start": calendar.local(start).isoformat(),
        "duration": duration,
        "mode": mode,
        "due_at": due.isoformat(),
        "timezone": str(calendar.timezone),
        "missing_years": calendar.missing_years(start, due),
    }


# Policies -----------------------------------------------------------------------------


async def list_policies() -> list[dict[str, Any]]:
    """Every policy row, with the defaults written on first use. Kept per process like the
    calendar; a save here takes effect at once in every process (see changed())."""
    version = await _shared_version()
    if (cached := _cached("policies", version)) is not None:
        return cached
    rows = await SlaPolicy.select().order_by(SlaPolicy.id)
    if not rows:
        defaults = [SlaPolicy(**{**default, "mode": str(default["mode"])}) for default in policies.defaults()]
        await SlaPolicy.insert(*defaults)
        rows = await SlaPolicy.select().order_by(SlaPolicy.id)
    _cache.update(policies=rows, policies_loaded=clock.monotonic(), policies_version=version)
    return rows


async def require_policy_editor(actor: CurrentUser) -> None:
    """Administrators and managers. Policies apply to every board of a kind, so managing
    one board (a liaison or a member given manager membership there) is not enough."""
    from portal.accounts.services import PermissionDenied

    if actor.role not in ("admin", "manager"):
        raise PermissionDenied


def _check_policy(
    board_kind: str, stage: str, priority: str, category: str, amount: int | None, mode: str
) -> dict[str, str]:
    errors = {}
    kind = kind_of(board_kind) if is_kind(board_kind) else None
    if kind is None or stage not in kind.stages:
        errors["stage"] = _("Choose a stage of this kind of board.")
    if priority and priority not in PRIORITIES:
        errors["priority"] = _("Choose a priority.")
    if category and (kind is None or kind.categories is None or category not in kind.categories):
        errors["category"] = _("Choose a category of this kind of board.")
    if mode not in ("natural_hours", "working_hours", "working_days"):
        errors["mode"] = _("Choose how the clock counts.")
    if amount is None or not 1 <= amount <= 999:
        errors["amount"] = _("Enter a whole number from 1 to 999.")
    return errors


async def save_policy(
    actor: CurrentUser,
    policy_id: int | None,
    board_kind: str,
    stage: str,
    priority: str,
    category: str,
    amount: int | None,
    mode: str,
) -> None:
    """Add or change one clock; cards use it from the next time they enter that stage."""
    await require_policy_editor(actor)
    errors = _check_policy(board_kind, stage, priority, category, amount, mode)
    if errors:
        raise FormError(errors)
    await list_policies()
    async with write_transaction():
        same = (
            await SlaPolicy.select(SlaPolicy.id)
            .where(
                (SlaPolicy.board_kind == board_kind)
                & (SlaPolicy.stage == stage)
                & (SlaPolicy.priority == priority)
                & (SlaPolicy.category == category)
            )
            .first()
        )
        target = policy_id or (same["id"] if same else None)
        if same and policy_id and same["id"] != policy_id:
            raise FormError({"stage": _("A clock for this stage, priority and category exists already.")})
        if target:
            await SlaPolicy.update({SlaPolicy.amount: amount, SlaPolicy.mode: mode}).where(SlaPolicy.id == target)
        else:
            await SlaPolicy.insert(
                SlaPolicy(
                    board_kind=board_kind, stage=stage, priority=priority, category=category, amount=amount, mode=mode
                )
            )
        await events.record(
            "sla.policy",
            actor_id=actor.id,
            object_type="policy",
            object_id=target,
            payload={
                "board_kind": board_kind,
                "stage": stage,
                "priority": priority,
                "category": category,
                "amount": amount,
                "mode": mode,
            },
        )
    await changed()
