"""Account figures (账号数据): the government new-media accounts the team runs and their daily
figures, entered by hand, imported from a platform's export (portal.stats.accounts_import) or
posted to the API; and what the page, the export and the API show for a period.

An account is a name on a platform (临江发布 on WeChat), optionally a department's. A day's
figures are what the platform's back office shows for that day: the follower total at the end
of the day (a running total) and the day's reads and interactions. A figure not given is NULL,
"not given", never 0. One row per (account, day): recording a day again (a corrected figure, a
re-imported sheet) takes the figures given and keeps the others.

For a period of days (``Period``, by default the 30 days up to yesterday):
- followers: the last known total at or before the period's last day;
- growth: that total less the last known total before the period's first day (or, for an
  account first counted inside the period, less its first total there); growth rate: the
  growth over that starting total;
- reads and interactions: the sums of the days' figures in the period; interaction rate:
  interactions over reads.
A platform's row and the total row add up their accounts' figures; their growth rate is their
growth over their starting totals, their interaction rate their interactions over their reads.

Managers and administrators add and change accounts and record figures (PermissionDenied for
anyone else); everyone signed in reads. Every change is in the audit log (portal.events).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from piccolo.querystring import QueryString
from pydantic import ValidationInfo, field_validator, model_validator

from portal.accounts.tables import Department
from portal.campaigns.chart import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, Frame, Tick, nice_step
from portal.comments.imports import PLATFORM_ALIASES
from portal.core.choices import CAMPAIGN_PLATFORMS, Choices
from portal.core.errors import NotFound, PermissionDenied
from portal.core.forms import FormError
from portal.core.identity import CurrentUser
from portal.core.schemas import Input, parse
from portal.db import write_transaction
from portal.events import services as events
from portal.i18n import LOCALES, use_locale
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings
from portal.stats.accounts_tables import AccountFigure, MediaAccount

PLATFORMS = CAMPAIGN_PLATFORMS  # the accounts the team publishes on (not the hotline)
FIGURES: tuple[str, ...] = ("followers", "reads", "interactions")
FIGURE_LABELS = Choices(
    ("followers", _l("Followers")),
    ("reads", _l("Reads")),
    ("interactions", _l("Interactions")),
)
SOURCES = Choices(("hand", _l("By hand")), ("import", _l("Imported")), ("api", _l("API")))
MAX_FIGURE = 1_000_000_000  # more than any account has: a typing slip above it
MAX_ROWS = 5000  # days in one request or one file (a year of a dozen accounts)
INSERT_CHUNK = 200  # rows per INSERT (bound parameters stay well under every driver's limit)
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366  # the longest period the page draws
FIRST_YEAR = 2000
NAME_MAX = 80

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER_NOISE = re.compile(r"[\s,，_']+")
# 2026-11-20, 2026/11/20, 2026.11.20, 2026年11月20日, optionally followed by a midnight time
# (a spreadsheet's date cell reads "2026-11-20 00:00:00"); 20261120.
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+0{1,2}:00(?::00(?:\.0+)?)?)?"
    r"|(\d{4})(\d{2})(\d{2})"
)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(get_settings().tz).date()


def require_manager(user: CurrentUser | None) -> CurrentUser:
    """Managers and administrators keep the accounts and their figures."""
    if user is None or not user.is_manager:
        raise PermissionDenied
    return user


# Platforms ------------------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text)).casefold()


_PLATFORM_NAMES: dict[str, str] = {}


def platform_code(text: str) -> str | None:
    """A platform named by its code, its label in any language or a common name ("公众号")."""
    if not _PLATFORM_NAMES:
        for code in PLATFORMS:
            _PLATFORM_NAMES[_key(code)] = code
            for locale in LOCALES:
                with use_locale(locale):
                    _PLATFORM_NAMES[_key(PLATFORMS.label(code))] = code
            for alias in PLATFORM_ALIASES.get(code, ()):
                _PLATFORM_NAMES[_key(alias)] = code
    return _PLATFORM_NAMES.get(_key(text))


def platform_list(codes: Iterable[str] | None = None) -> str:
    return "、".join(PLATFORMS.label(code) for code in (codes if codes is not None else PLATFORMS.values))


# Input ------------------------------------------------------------------------------------------


class AccountInput(Input):
    """An account as the page's form and the API send it."""

    name: str
    platform: str
    department_id: int | None = None
    active: bool = True

    messages = {
        "name": _l("Enter the account's name (at most 80 characters)."),
        "platform": _l("Choose a platform."),
        "department_id": _l("Choose a department."),
        "active": _l("Say whether the account is in use."),
    }

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        text = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""
        if not text or len(text) > NAME_MAX:
            raise ValueError(_("Enter the account's name (at most 80 characters)."))
        if _CONTROL.search(text):
            raise ValueError(_("A name is one line of text, without line breaks or control characters."))
        return text

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise ValueError(_("Choose a platform."))
        code = platform_code(text)
        if code is None:
            raise ValueError(
                _("Unknown platform “%(value)s”. Use one of: %(choices)s.", value=text[:40], choices=platform_list())
            )
        return code

    @field_validator("department_id", mode="before")
    @classmethod
    def _department(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value


class FigureInput(Input):
    """One account's figures on one day. ``today`` (a local date) in the validation context
    bounds the date."""

    date: dt.date
    followers: int | None = None
    reads: int | None = None
    interactions: int | None = None

    messages = {
        "date": _l("Enter a date like 2026-11-26."),
        **{figure: _l("Enter a whole number of at least 0.") for figure in FIGURES},
    }

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value
        text = value.strip() if isinstance(value, str) else ""
        match = _DATE.fullmatch(text)
        if not match:
            raise ValueError(_("Enter a date like 2026-11-26."))
        year, month, day = (int(part) for part in (match.groups()[:3] if match.group(1) else match.groups()[3:]))
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise ValueError(_("Enter a date like 2026-11-26.")) from None

    @field_validator("date")
    @classmethod
    def _when(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        if value.year < FIRST_YEAR:
            raise ValueError(_("Enter a date like 2026-11-26."))
        if value > ((info.context or {}).get("today") or today()):
            raise ValueError(_("The date is in the future: figures are recorded once they are known."))
        return value

    @field_validator(*FIGURES, mode="before")
    @classmethod
    def _figure(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            text = _NUMBER_NOISE.sub("", unicodedata.normalize("NFKC", value))
            if not text:
                return None
            if not re.fullmatch(r"\d+(\.0*)?", text):
                raise ValueError(_("Enter a whole number of at least 0."))
            value = int(text.split(".")[0])
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIGURE:
            raise ValueError(_("Enter a whole number of at least 0."))
        return value

    @model_validator(mode="after")
    def _some_figure(self) -> FigureInput:
        if all(getattr(self, figure) is None for figure in FIGURES):
            raise ValueError(_("Enter at least one figure."))
        return self

    def figures(self) -> dict[str, int | None]:
        return {figure: getattr(self, figure) for figure in FIGURES}


def check(items: list[Any], *, on: dt.date | None = None) -> list[FigureInput]:
    """Every item as one day's figures, or FormError with a message per bad field keyed
    "<index>.<field>" (index from 0; "<index>.__all__" for the item as a whole)."""
    if not items:
        raise FormError({"__all__": _("Send at least one day's figures.")})
    if len(items) > MAX_ROWS:
        raise FormError({"__all__": _("At most %(count)s days' figures at once.", count=MAX_ROWS)})
    context = {"today": on or today()}
    errors: dict[str, str] = {}
    checked: list[FigureInput] = []
    for index, item in enumerate(items):
        try:
            checked.append(parse(FigureInput, item, context=context))
        except FormError as error:
            errors.update({f"{index}.{name}": message for name, message in error.errors.items()})
    if errors:
        raise FormError(errors)
    return checked


# Accounts: reads ---------------------------------------------------------------------------


_ACCOUNT_FIELDS = (
    MediaAccount.id,
    MediaAccount.name,
    MediaAccount.platform,
    MediaAccount.department,
    MediaAccount.active,
    MediaAccount.department.name_zh.as_alias("department_zh"),
    MediaAccount.department.name_en.as_alias("department_en"),
)


def _account_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "platform": row["platform"],
        "department_id": row["department"],
        "department_zh": row["department_zh"],
        "department_en": row["department_en"],
        "active": bool(row["active"]),
    }


def _platform_order(code: str) -> int:
    values = PLATFORMS.values
    return values.index(code) if code in values else len(values)


def _sorted(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(accounts, key=lambda row: (not row["active"], row["name"], _platform_order(row["platform"])))


async def list_accounts(
    *,
    platform: str | None = None,
    department: int | None = None,
    account: int | None = None,
    active_only: bool = False,
) -> list[dict[str, Any]]:
    """Accounts in use first, by name then platform."""
    query = MediaAccount.select(*_ACCOUNT_FIELDS)
    if account:
        query = query.where(MediaAccount.id == account)
    if platform:
        query = query.where(MediaAccount.platform == platform)
    if department:
        query = query.where(MediaAccount.department == department)
    if active_only:
        query = query.where(MediaAccount.active == True)  # noqa: E712
    return _sorted([_account_row(row) for row in await query])


async def get_account(account_id: int) -> dict[str, Any]:
    row = await MediaAccount.select(*_ACCOUNT_FIELDS).where(MediaAccount.id == account_id).first()
    if row is None:
        raise NotFound
    return _account_row(row)


async def department_choices() -> list[dict[str, Any]]:
    return (
        await Department.select(Department.id, Department.name_zh, Department.name_en)
        .where(Department.active == True)  # noqa: E712
        .order_by(Department.id)
    )


# Accounts: writes --------------------------------------------------------------------------


async def _check_account(form: AccountInput, account_id: int | None = None) -> None:
    if form.department_id is not None and not await Department.exists().where(Department.id == form.department_id):
        raise FormError({"department_id": _("Choose a department.")})
    clash = MediaAccount.exists().where((MediaAccount.name == form.name) & (MediaAccount.platform == form.platform))
    if account_id is not None:
        clash = clash.where(MediaAccount.id != account_id)
    if await clash:
        raise FormError(
            {
                "name": _(
                    "There is already an account “%(name)s” on %(platform)s.",
                    name=form.name,
                    platform=PLATFORMS.label(form.platform),
                )
            }
        )


async def create_account(user: CurrentUser | None, data: Any, ip: str = "") -> int:
    """A new account from a form or a JSON object; FormError per field."""
    actor = require_manager(user)
    form = parse(AccountInput, data)
    async with write_transaction():
        await _check_account(form)
        now = dt.datetime.now(dt.UTC)
        rows = await MediaAccount.insert(
            MediaAccount(
                name=form.name,
                platform=form.platform,
                department=form.department_id,
                active=form.active,
                created_by=actor.id,
                created_at=now,
                updated_at=now,
            )
        )
        account_id = rows[0]["id"]
        await events.record(
            "media_account.created",
            actor_id=actor.id,
            object_type="media_account",
            object_id=account_id,
            payload={"name": form.name, "platform": form.platform, "department": form.department_id},
            ip=ip,
        )
    return account_id


async def update_account(user: CurrentUser | None, account_id: int, data: dict[str, Any], ip: str = "") -> None:
    """Change an account: the fields given (a JSON object may leave some out), the others
    kept. NotFound, PermissionDenied, FormError per field."""
    actor = require_manager(user)
    if not isinstance(data, dict):
        raise FormError({"__all__": _("The request body must be a JSON object.")})
    async with write_transaction():
        before = await get_account(account_id)
        current = {
            "name": before["name"],
            "platform": before["platform"],
            "department_id": before["department_id"],
            "active": before["active"],
        }
        form = parse(AccountInput, {**current, **{key: data[key] for key in current if key in data}})
        await _check_account(form, account_id)
        after = form.model_dump()
        changed = {key: value for key, value in after.items() if current[key] != value}
        if not changed:
            return
        await MediaAccount.update(
            {
                MediaAccount.name: form.name,
                MediaAccount.platform: form.platform,
                MediaAccount.department: form.department_id,
                MediaAccount.active: form.active,
                MediaAccount.updated_at: dt.datetime.now(dt.UTC),
            }
        ).where(MediaAccount.id == account_id)
        await events.record(
            "media_account.updated",
            actor_id=actor.id,
            object_type="media_account",
            object_id=account_id,
            payload={"name": form.name, "changed": changed},
            ip=ip,
        )


# Figures: writes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    count: int  # days recorded
    accounts: list[int]
    first: dt.date | None
    last: dt.date | None


async def record(user: CurrentUser | None, account_id: int, items: list[Any], *, source: str, ip: str = "") -> Recorded:
    """Record days of one account's figures (forms, JSON objects), all or nothing. NotFound,
    PermissionDenied, FormError keyed "<index>.<field>"."""
    require_manager(user)
    await get_account(account_id)
    return await record_checked(user, [(account_id, item) for item in check(items)], source=source, ip=ip)


async def record_one(user: CurrentUser | None, account_id: int, item: Any, *, source: str, ip: str = "") -> Recorded:
    """One day's figures: FormError keyed by the field names alone."""
    try:
        return await record(user, account_id, [item], source=source, ip=ip)
    except FormError as error:
        raise FormError({name.removeprefix("0."): message for name, message in error.errors.items()}) from None


async def record_checked(
    user: CurrentUser | None, rows: list[tuple[int, FigureInput]], *, source: str, ip: str = ""
) -> Recorded:
    """Record checked figures of any accounts (the import resolves each row's account first).
    FormError "<index>.date" for a second row of the same account and day."""
    actor = require_manager(user)
    if source not in SOURCES:
        raise ValueError(source)
    seen: dict[tuple[int, dt.date], int] = {}
    errors: dict[str, str] = {}
    for index, (account_id, figures) in enumerate(rows):
        key = (account_id, figures.date)
        if key in seen:
            errors[f"{index}.date"] = _("Another row here has the same account and date.")
        seen.setdefault(key, index)
    if errors:
        raise FormError(errors)
    now = dt.datetime.now(dt.UTC)
    accounts = sorted({account_id for account_id, _figures in rows})
    async with write_transaction():
        found = await MediaAccount.select(MediaAccount.id).where(MediaAccount.id.is_in(accounts))
        if len(found) != len(accounts):
            raise NotFound
        await _upsert(rows, source=source, user_id=actor.id, now=now)
        for account_id in accounts:
            days = sorted(figures.date for account, figures in rows if account == account_id)
            await events.record(
                "media_account.figures",
                actor_id=actor.id,
                object_type="media_account",
                object_id=account_id,
                payload={
                    "days": len(days),
                    "from": days[0].isoformat(),
                    "to": days[-1].isoformat(),
                    "source": source,
                },
                ip=ip,
            )
    days = sorted(figures.date for _account, figures in rows)
    return Recorded(len(rows), accounts, days[0] if days else None, days[-1] if days else None)


async def _upsert(rows: list[tuple[int, FigureInput]], *, source: str, user_id: int | None, now: dt.datetime) -> None:
    """Insert the days (a figure not given as NULL); a day already there takes the figures
    given and keeps the others (ON CONFLICT on the unique constraint with COALESCE: SQLite and
    PostgreSQL alike)."""
    F = AccountFigure
    keep_unless_given = [
        (getattr(F, figure), QueryString(f'COALESCE(EXCLUDED."{figure}", "{F._meta.tablename}"."{figure}")'))
        for figure in FIGURES
    ]
    values = [
        F(
            account=account_id,
            day=figures.date,
            source=source,
            recorded_by=user_id,
            recorded_at=now,
            **figures.figures(),
        )
        for account_id, figures in rows
    ]
    for start in range(0, len(values), INSERT_CHUNK):
        await F.insert(*values[start : start + INSERT_CHUNK]).on_conflict(
            target=(F.account, F.day),
            action="DO UPDATE",
            values=[*keep_unless_given, F.source, F.recorded_by, F.recorded_at],
        )


# Periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def default_period(days: int = DEFAULT_DAYS, on: dt.date | None = None) -> Period:
    """The ``days`` days up to yesterday: a platform shows a day's figures the next morning
    (its own "last 30 days" end yesterday too), so today would always look empty."""
    end = (on or today()) - dt.timedelta(days=1)
    return Period(end - dt.timedelta(days=days - 1), end)


def parse_period(start: str = "", end: str = "", *, on: dt.date | None = None) -> Period:
    """The days from ``start`` to ``end`` (YYYY-MM-DD, inclusive; either may be left out: the
    30 days up to yesterday, 30 days from the start, or the 30 days up to the end). FormError
    per parameter ("from", "to")."""
    current = on or today()
    errors: dict[str, str] = {}

    def read(name: str, text: str) -> dt.date | None:
        text = (text or "").strip()
        if not text:
            return None
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            errors[name] = _("Enter a date like 2026-11-26.")
            return None
        if value.year < FIRST_YEAR or value.year > current.year + 1:
            errors[name] = _("Enter a date like 2026-11-26.")
            return None
        return value

    first, last = read("from", start), read("to", end)
    if errors:
        raise FormError(errors)
    if first is None and last is None:
        return default_period(on=current)
    if last is None:
        last = min(first + dt.timedelta(days=DEFAULT_DAYS - 1), max(first, current - dt.timedelta(days=1)))
    if first is None:
        first = last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise FormError({"to": _("The last day comes before the first.")})
    if (last - first).days + 1 > MAX_DAYS:
        raise FormError({"from": _("Choose a period of at most %(days)s days.", days=MAX_DAYS)})
    return Period(first, last)


# Figures: reads ------------------------------------------------------------------------------


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


async def figures(account_id: int, period: Period) -> list[dict[str, Any]]:
    """The account's days in the period, oldest first (None: a figure not given)."""
    F = AccountFigure
    rows = (
        await F.select(F.day, *(getattr(F, figure) for figure in FIGURES), F.source)
        .where((F.account == account_id) & (F.day >= period.start) & (F.day <= period.end))
        .order_by(F.day)
    )
    return [{**row, "day": _as_date(row["day"])} for row in rows]


async def recent(limit: int = 10, account_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The days recorded last (newest recording first), with who recorded them."""
    F = AccountFigure
    query = (
        F.select(
            F.id,
            F.account,
            F.account.name.as_alias("account_name"),
            F.account.platform.as_alias("platform"),
            F.day,
            *(getattr(F, figure) for figure in FIGURES),
            F.source,
            F.recorded_at,
            F.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .order_by(F.recorded_at, ascending=False)
        .order_by(F.id, ascending=False)
        .limit(limit)
    )
    if account_ids is not None:
        if not account_ids:
            return []
        query = query.where(F.account.is_in(account_ids))
    return [{**row, "day": _as_date(row["day"])} for row in await query]


async def _baselines(account_ids: list[int], before: dt.date) -> dict[int, tuple[dt.date, int]]:
    """Each account's last known follower total before ``before``: (day, total)."""
    if not account_ids:
        return {}
    # One statement on the (account, day) unique index, whatever the number of accounts: the
    # row of each account's latest day with a total before the period. Only our table's name
    # and whole numbers go into the text; the day is a bound parameter.
    table = AccountFigure._meta.tablename
    ids = ", ".join(str(int(account_id)) for account_id in account_ids)
    rows = await AccountFigure.raw(
        f"SELECT f.account AS account, f.day AS day, f.followers AS followers FROM {table} f "  # noqa: S608
        f"WHERE f.account IN ({ids}) AND f.followers IS NOT NULL AND f.day < {{}} AND f.day = ("
        f"SELECT MAX(g.day) FROM {table} g WHERE g.account = f.account AND g.followers IS NOT NULL AND g.day < {{}})",
        before,
        before,
    )
    return {row["account"]: (_as_date(row["day"]), row["followers"]) for row in rows}


def _rate(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return value if total is None else total + value


@dataclass
class Line:
    """One row of the table: an account, a platform's accounts or all of them."""

    key: str
    label: str
    followers: int | None = None  # last known total at or before the period's end
    followers_on: dt.date | None = None  # the day of that total (accounts)
    start_followers: int | None = None  # the total the growth is measured from
    start_on: dt.date | None = None
    growth: int | None = None
    reads: int | None = None
    interactions: int | None = None
    days: int = 0  # days with figures in the period
    account: dict[str, Any] | None = None
    accounts: int = 0

    @property
    def growth_rate(self) -> float | None:
        return _rate(self.growth, self.start_followers) if self.growth is not None else None

    @property
    def interaction_rate(self) -> float | None:
        return _rate(self.interactions, self.reads)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "followers": self.followers,
            "start_followers": self.start_followers,
            "growth": self.growth,
            "growth_rate": self.growth_rate,
            "reads": self.reads,
            "interactions": self.interactions,
            "interaction_rate": self.interaction_rate,
        }
        if self.account is not None:
            data = {
                "account": self.account["id"],
                "name": self.account["name"],
                "platform": self.account["platform"],
                "department": self.account["department_id"],
                "active": self.account["active"],
                **data,
                "followers_on": self.followers_on.isoformat() if self.followers_on else None,
                "start_on": self.start_on.isoformat() if self.start_on else None,
                "days": self.days,
            }
        else:
            data = {"key": self.key, "label": self.label, "accounts": self.accounts, **data}
        return data


def _account_line(account: dict[str, Any], rows: list[dict[str, Any]], baseline: tuple[dt.date, int] | None) -> Line:
    line = Line(key=str(account["id"]), label=account["name"], account=account, days=len(rows))
    known = [(row["day"], row["followers"]) for row in rows if row["followers"] is not None]
    if known:
        line.followers_on, line.followers = known[-1]
        line.start_on, line.start_followers = baseline if baseline else known[0]
        line.growth = line.followers - line.start_followers
    elif baseline:  # nothing counted in the period: the total stands as it was
        line.followers_on, line.followers = baseline
    for row in rows:
        line.reads = _add(line.reads, row["reads"])
        line.interactions = _add(line.interactions, row["interactions"])
    return line


def _sum_line(key: str, label: str, lines: list[Line]) -> Line:
    total = Line(key=key, label=label, accounts=len(lines))
    for line in lines:
        total.followers = _add(total.followers, line.followers)
        if line.growth is not None:
            total.growth = _add(total.growth, line.growth)
            total.start_followers = _add(total.start_followers, line.start_followers)
        total.reads = _add(total.reads, line.reads)
        total.interactions = _add(total.interactions, line.interactions)
        total.days += line.days
    return total


@dataclass
class Summary:
    period: Period
    lines: list[Line] = field(default_factory=list)  # per account
    platforms: list[Line] = field(default_factory=list)
    total: Line | None = None
    series: dict[int, list[tuple[dt.date, int]]] = field(default_factory=dict)  # account → followers by day

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period.as_json(),
            "accounts": [line.as_json() for line in self.lines],
            "platforms": [line.as_json() for line in self.platforms],
            "total": self.total.as_json() if self.total else None,
        }


async def summary(
    period: Period, *, platform: str | None = None, department: int | None = None, account: int | None = None
) -> Summary:
    """The period's figures per account (those in use, and any other with figures in the
    period), per platform and in total, and each account's follower totals by day."""
    accounts = await list_accounts(platform=platform, department=department, account=account)
    ids = [account["id"] for account in accounts]
    F = AccountFigure
    rows = (
        await F.select(F.account, F.day, *(getattr(F, figure) for figure in FIGURES))
        .where(F.account.is_in(ids) & (F.day >= period.start) & (F.day <= period.end))
        .order_by(F.day)
        if ids
        else []
    )
    by_account: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_account.setdefault(row["account"], []).append({**row, "day": _as_date(row["day"])})
    baselines = await _baselines(ids, period.start)
    result = Summary(period=period)
    for account in accounts:
        days = by_account.get(account["id"], [])
        if not account["active"] and not days:
            continue  # an account no longer in use shows while it has figures in the period
        result.lines.append(_account_line(account, days, baselines.get(account["id"])))
        known = [(row["day"], row["followers"]) for row in days if row["followers"] is not None]
        if known:
            result.series[account["id"]] = known
    for code in PLATFORMS:
        members = [line for line in result.lines if line.account and line.account["platform"] == code]
        if members:
            result.platforms.append(_sum_line(code, PLATFORMS.label(code), members))
    result.total = _sum_line("total", _("All accounts"), result.lines)
    return result


def daily_table(result: Summary) -> dict[str, Any]:
    """The chart's numbers as a table: a row per day with any follower total, a column per
    account charted (None: not given that day)."""
    columns = [line for line in result.lines if line.account and line.account["id"] in result.series]
    values = {(account_id, day): followers for account_id, points in result.series.items() for day, followers in points}
    days = sorted({day for points in result.series.values() for day, _followers in points})
    return {
        "columns": [
            {"id": line.account["id"], "name": line.account["name"], "platform": line.account["platform"]}
            for line in columns
        ],
        "rows": [{"day": day, "values": [values.get((line.account["id"], day)) for line in columns]} for day in days],
    }


# Chart ---------------------------------------------------------------------------------------

DAY_STEPS = (1, 2, 3, 7, 14, 30, 61, 91, 182)
MAX_X_TICKS = 6


@dataclass(frozen=True)
class DayPoint:
    x: float
    y: float
    day: dt.date
    value: int


@dataclass
class FollowerChart(Frame):
    """One account's follower totals over the period, in drawing units (origin top left):
    the same frame as the campaign charts (portal.campaigns.chart)."""

    account: dict[str, Any]
    line: Line
    points: list[DayPoint]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:g},{point.y:g}" for point in self.points)


def value_range(low: int, high: int) -> list[int]:
    """Round figures up the side, from at or below ``low`` to at or above ``high``: a total
    that moves by a few hundred around 500,000 is drawn from 499,800, not from 0, so that its
    growth shows (the ticks say where the axis starts)."""
    if high == low:
        step = nice_step(max(high // 100, 10))
        low, high = max(0, low - 2 * step), high + 2 * step
    step = nice_step(high - low)
    bottom = (low // step) * step
    top = -(-high // step) * step
    if top == bottom:
        top += step
    return list(range(bottom, top + 1, step))


def follower_chart(line: Line, points: list[tuple[dt.date, int]], period: Period) -> FollowerChart:
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    values = [value for _day, value in points]
    ticks = value_range(min(values), max(values))
    span_days = max(period.days - 1, 1)

    def x_of(day: dt.date) -> float:
        if period.days == 1:
            return round((left + right) / 2, 1)
        return round(left + (right - left) * ((day - period.start).days / span_days), 1)

    def y_of(value: int) -> float:
        return round(bottom - (bottom - top) * ((value - ticks[0]) / (ticks[-1] - ticks[0])), 1)

    step = next((step for step in DAY_STEPS if math.ceil(period.days / step) <= MAX_X_TICKS), DAY_STEPS[-1])
    days = [period.start + dt.timedelta(days=offset) for offset in range(0, period.days, step)]
    return FollowerChart(
        account=line.account or {},
        line=line,
        points=[DayPoint(x_of(day), y_of(value), day, value) for day, value in points],
        y_ticks=[Tick(y_of(value), f"{value:,}") for value in ticks],
        x_ticks=[Tick(x_of(day), day.strftime("%m-%d")) for day in days],
    )


def charts(result: Summary) -> list[FollowerChart]:
    return [
        follower_chart(line, result.series[line.account["id"]], result.period)
        for line in result.lines
        if line.account and line.account["id"] in result.series
    ]


# The demo city ---------------------------------------------------------------------------------

# name, platform, department code, followers 90 days ago, new followers a day, reads a day,
# interactions per read
DEMO_ACCOUNTS: tuple[tuple[str, str, str | None, int, int, int, float], ...] = (
    ("临江发布", "wechat", "publicity", 286_000, 180, 26_000, 0.035),
    ("临江发布", "weibo", "publicity", 512_000, 220, 64_000, 0.016),
    ("临江发布", "douyin", "publicity", 138_000, 420, 150_000, 0.058),
    ("临江医保", "wechat", "medicare", 45_600, 45, 3_200, 0.021),
    ("临江公安", "douyin", None, 231_000, 520, 210_000, 0.047),
    ("临江卫健", "wechat", "health", 68_300, 60, 5_400, 0.026),
    ("临江人社", "wechat", "hrss", 52_900, 50, 4_600, 0.024),
    ("临江交通", "weibo", "transport", 97_400, 70, 12_800, 0.012),
)
DEMO_DAYS = 90


async def seed_accounts(now: dt.datetime) -> int:
    """The demo city's accounts with 90 days of figures up to the day before ``now`` (local),
    as a platform's back office would show them: weekends quieter, a few busy days (a hot post,
    a livestream) with a jump in reads and followers. Idempotent: accounts are matched by name
    and platform, and an account that has figures gets none added. Returns the days added."""
    tz = get_settings().tz
    last = now.astimezone(tz).date() - dt.timedelta(days=1)
    departments = {row["code"]: row["id"] for row in await Department.select(Department.id, Department.code)}
    added = 0
    async with write_transaction():
        for name, platform, department, followers, growth, reads, rate in DEMO_ACCOUNTS:
            row = (
                await MediaAccount.select(MediaAccount.id)
                .where((MediaAccount.name == name) & (MediaAccount.platform == platform))
                .first()
            )
            if row is None:
                rows = await MediaAccount.insert(
                    MediaAccount(
                        name=name, platform=platform, department=departments.get(department) if department else None
                    )
                )
                account_id = rows[0]["id"]
            else:
                account_id = row["id"]
            if await AccountFigure.exists().where(AccountFigure.account == account_id):
                continue
            chance = random.Random(f"{name}/{platform}")  # the same figures on every run  # noqa: S311
            total = followers
            days = []
            for offset in range(DEMO_DAYS - 1, -1, -1):
                day = last - dt.timedelta(days=offset)
                busy = chance.random() < 0.06  # a hot post or a livestream
                quiet = 0.7 if day.weekday() >= 5 else 1.0
                day_reads = int(reads * quiet * chance.uniform(0.75, 1.3) * (chance.uniform(2.5, 5) if busy else 1))
                day_growth = int(growth * quiet * chance.uniform(0.4, 1.5) * (chance.uniform(3, 8) if busy else 1))
                day_growth -= int(growth * chance.uniform(0.05, 0.3))  # those who unfollow
                total += day_growth
                days.append(
                    AccountFigure(
                        account=account_id,
                        day=day,
                        followers=total,
                        reads=day_reads,
                        interactions=int(day_reads * rate * chance.uniform(0.8, 1.25)),
                        source="import",
                        recorded_at=dt.datetime.combine(
                            day + dt.timedelta(days=1), dt.time(9, 30), tzinfo=tz
                        ).astimezone(dt.UTC),
                    )
                )
            for start in range(0, len(days), INSERT_CHUNK):
                await AccountFigure.insert(*days[start : start + INSERT_CHUNK])
            added += len(days)
    return added
