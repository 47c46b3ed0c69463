"""A campaign's figures while it runs: metric snapshots per platform, recorded by hand, from a
spreadsheet (portal.campaigns.metrics_import) or through the API, and the results measured
against the goals of the plan in force.

A snapshot is a platform's running totals at one time (participants so far, comments so far …).
It need not give every figure: one it leaves out (a blank cell, an empty field, a key not
sent) is stored as NULL, "not given", never as 0. So a figure's result so far on a platform is
its value in the newest snapshot of that platform that gives it. One snapshot per (campaign,
platform, time): recording one again (a re-imported sheet, a corrected figure) updates the
figures it gives and keeps the others. Snapshots may be recorded while the campaign runs
(执行中) and during its review (复盘: the final figures often arrive late); never before
approval nor once archived.

Public reads (the review page uses them too): ``latest``, ``series``, ``against_goals``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.querystring import QueryString
from pydantic import ValidationInfo, field_validator, model_validator

from portal.boards.access import BoardAccess
from portal.campaigns import workflow
from portal.campaigns.choices import METRICS
from portal.campaigns.schemas import MAX_FIGURE
from portal.campaigns.tables import CampaignDetail, CampaignMetric
from portal.cards import services as cards
from portal.cards.schemas import local_datetime
from portal.cards.tables import Card
from portal.core.choices import CAMPAIGN_PLATFORMS, Choices
from portal.core.errors import Conflict, FormError
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.unit import board_write
from portal.i18n import LOCALES, use_locale
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

FIGURES: tuple[str, ...] = METRICS.values
SOURCES = Choices(("hand", _l("By hand")), ("import", _l("Imported")), ("api", _l("API")))
RECORDING_STATES = ("running", "review")
CLOCK_SKEW = timedelta(minutes=5)  # a collector's clock a little ahead of ours is not "the future"
BEFORE_START = timedelta(days=1)  # a warm-up's figures the day before the start count
MAX_SNAPSHOTS = 1000  # in one request or one file
INSERT_CHUNK = 200  # rows per INSERT (bound parameters stay well under every driver's limit)
FIRST_YEAR = 2000
MAX_PCT = 100_000  # the stored participants counter's ceiling (an absurd goal of 1 would overflow int4)

_DATE_ONLY = re.compile(r"\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*")
_NUMBER_NOISE = re.compile(r"[\s,，_']+")


def platform_code(text: str) -> str | None:
    """A campaign platform named by its code or its label in any language ("抖音", "Douyin")."""
    return _platform_names().get(_key(text))


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text).casefold()


_PLATFORM_NAMES: dict[str, str] = {}


def _platform_names() -> dict[str, str]:
    if not _PLATFORM_NAMES:
        for code in CAMPAIGN_PLATFORMS:
            _PLATFORM_NAMES[_key(code)] = code
            for locale in LOCALES:
                with use_locale(locale):
                    _PLATFORM_NAMES[_key(CAMPAIGN_PLATFORMS.label(code))] = code
        _PLATFORM_NAMES.update({_key("公众号"): "wechat", _key("微信公众号"): "wechat", _key("网站"): "website"})
    return _PLATFORM_NAMES


def _labels(platforms: Iterable[str]) -> str:
    return "、".join(CAMPAIGN_PLATFORMS.label(platform) for platform in platforms)


# Input ------------------------------------------------------------------------------------


class SnapshotInput(Input):
    """One snapshot as the hand-entry form, the API and a spreadsheet row send it. The
    validation context carries the plan's ``platforms``, the ``earliest`` time allowed (the
    start less a day) and ``now``."""

    platform: str
    at: datetime
    participants: int | None = None
    comments: int | None = None
    shares: int | None = None
    new_followers: int | None = None
    reads: int | None = None

    messages = {
        "platform": _l("Choose a platform."),
        "at": _l("Enter a date and time like 2026-11-26 09:30."),
        **{figure: _l("Enter a whole number of at least 0.") for figure in FIGURES},
    }

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = (info.context or {}).get("platforms")
        text = str(value or "").strip() if isinstance(value, str | int) else ""
        if not text:
            raise ValueError(_("Choose a platform."))
        code = platform_code(text)
        if code is None:
            raise ValueError(
                _(
                    "Unknown platform “%(value)s”. Use one of: %(choices)s.",
                    value=text[:40],
                    choices=_labels(allowed if allowed is not None else CAMPAIGN_PLATFORMS.values),
                )
            )
        if allowed is not None and code not in allowed:
            raise ValueError(
                _(
                    "%(platform)s is not one of this campaign's platforms (%(platforms)s).",
                    platform=CAMPAIGN_PLATFORMS.label(code),
                    platforms=_labels(allowed) or "—",
                )
            )
        return code

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> Any:
        from portal.comments.imports import parse_time

        tz = get_settings().tz
        if isinstance(value, str):
            text = value.strip()
            if not text or _DATE_ONLY.fullmatch(text):
                raise ValueError(_("Enter a date and time like 2026-11-26 09:30."))
            parsed = parse_time(text, tz)
            if parsed is None:
                try:
                    parsed = local_datetime(text)
                except ValueError:
                    parsed = None
            if not isinstance(parsed, datetime):
                raise ValueError(_("Enter a date and time like 2026-11-26 09:30."))
            value = parsed
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value

    @field_validator("at")
    @classmethod
    def _when(cls, value: datetime, info: ValidationInfo) -> datetime:
        context = info.context or {}
        now = context.get("now") or datetime.now(UTC)
        earliest = context.get("earliest")
        tz = get_settings().tz
        if value.year < FIRST_YEAR:
            raise ValueError(_("Enter a date and time like 2026-11-26 09:30."))
        if value > now + CLOCK_SKEW:
            raise ValueError(_("The time is in the future: figures are recorded once they are known."))
        if earliest is not None and value < earliest:
            raise ValueError(
                _(
                    "The time is before the campaign (it starts %(start)s).",
                    start=(earliest + BEFORE_START).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                )
            )
        return value.astimezone(UTC).replace(microsecond=0)

    @field_validator(*FIGURES, mode="before")
    @classmethod
    def _figure(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            text = _NUMBER_NOISE.sub("", value)
            if not text:
                return None
            if re.fullmatch(r"\d+(\.0*)?", text):
                value = int(text.split(".")[0])
            else:
                raise ValueError(_("Enter a whole number of at least 0."))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIGURE:
            raise ValueError(_("Enter a whole number of at least 0."))
        return value

    @model_validator(mode="after")
    def _some_figure(self) -> SnapshotInput:
        if all(getattr(self, figure) is None for figure in FIGURES):
            raise ValueError(_("Enter at least one figure."))
        return self

    def figures(self) -> dict[str, int | None]:
        """The five figures, None for one not given."""
        return {figure: getattr(self, figure) for figure in FIGURES}


@dataclass(frozen=True)
class Recorded:
    count: int
    platforms: list[str]
    participants_pct: int | None


def check(items: list[Any], plan: Mapping[str, Any], *, now: datetime | None = None) -> list[SnapshotInput]:
    """Every item as a snapshot of this plan's campaign, or FormError with a message per bad
    field keyed "<index>.<field>" (index from 0; "<index>.__all__" for the item as a whole)."""
    starts_at = plan.get("starts_at")
    if isinstance(starts_at, str):
        starts_at = datetime.fromisoformat(starts_at)
    context = {
        "platforms": tuple(plan.get("platforms") or ()),
        "earliest": starts_at - BEFORE_START if starts_at else None,
        "now": now or datetime.now(UTC),
    }
    errors: dict[str, str] = {}
    snapshots: list[SnapshotInput] = []
    seen: dict[tuple[str, datetime], int] = {}
    for index, item in enumerate(items):
        try:
            snapshot = parse(SnapshotInput, item, context=context)
        except FormError as error:
            errors.update({f"{index}.{name}": message for name, message in error.errors.items()})
            continue
        key = (snapshot.platform, snapshot.at)
        if key in seen:
            errors[f"{index}.at"] = _("Another snapshot here has the same platform and time.")
            continue
        seen[key] = index
        snapshots.append(snapshot)
    if errors:
        raise FormError(errors)
    return snapshots


# Writes -----------------------------------------------------------------------------------


async def state_of(card: Mapping[str, Any]) -> str:
    return workflow.state_of(await workflow.column_of(card["column"]))


def refusal(state: str) -> Conflict:
    return Conflict(
        _(
            "Figures are recorded while the campaign runs (执行中) or is reviewed (复盘); it is %(state)s now.",
            state=workflow.STATES.label(state),
        )
    )


async def require_recording(access: BoardAccess, card_id: int) -> None:
    """Conflict (409) unless figures may be recorded now (a quick check before reading a file;
    ``record`` checks again inside its unit)."""
    card = await cards.load_for_write(access, card_id)
    state = await state_of(card)
    if state not in RECORDING_STATES:
        raise refusal(state)


async def record(access: BoardAccess, card_id: int, items: list[Any], *, source: str) -> Recorded:
    """Record snapshots (forms, JSON objects or spreadsheet rows), all or nothing. NotFound for
    a card this viewer may not see or that is not a campaign; PermissionDenied for a viewer;
    Conflict when the campaign is neither running nor in review; FormError (keys as in
    ``check``) for any bad item. A snapshot for a (platform, time) already recorded takes the
    figures given and keeps the others."""
    if source not in SOURCES:
        raise ValueError(source)
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    if not items:
        raise FormError({"__all__": _("Send at least one snapshot.")})
    if len(items) > MAX_SNAPSHOTS:
        raise FormError({"__all__": _("At most %(count)s snapshots at once.", count=MAX_SNAPSHOTS)})
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        state = await state_of(card)
        if state not in RECORDING_STATES:
            raise refusal(state)
        plan = await workflow.effective_plan(card)
        now = datetime.now(UTC)
        snapshots = check(items, plan, now=now)
        await _upsert(card_id, snapshots, source=source, user_id=access.user.id, now=now)
        progress = participants_pct(plan.get("targets") or {}, await latest(card_id))
        await CampaignDetail.update({CampaignDetail.participants_pct: progress}).where(CampaignDetail.card == card_id)
        await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card_id)
        platforms = sorted({snapshot.platform for snapshot in snapshots})
        unit.record(
            EventKind.campaign_metrics,
            "card",
            card_id,
            {"platforms": platforms, "count": len(snapshots), "source": source},
        )
        cards.after_card_write(unit, access, {**card, "participants_pct": progress})
    return Recorded(count=len(snapshots), platforms=platforms, participants_pct=progress)


async def record_one(access: BoardAccess, card_id: int, item: Any, *, source: str) -> Recorded:
    """One snapshot: FormError keyed by the field names alone."""
    try:
        return await record(access, card_id, [item], source=source)
    except FormError as error:
        raise FormError({name.removeprefix("0."): message for name, message in error.errors.items()}) from None


async def _upsert(card_id: int, snapshots: list[SnapshotInput], *, source: str, user_id: int, now: datetime) -> None:
    """Insert the snapshots (a figure not given as NULL); one already there for its (card,
    platform, at) takes the figures given and keeps the others (ON CONFLICT on the unique
    index with COALESCE: SQLite and PostgreSQL alike)."""
    M = CampaignMetric
    keep_unless_given = [
        (getattr(M, figure), QueryString(f'COALESCE(EXCLUDED."{figure}", "{M._meta.tablename}"."{figure}")'))
        for figure in FIGURES
    ]
    rows = [
        M(
            card=card_id,
            platform=snapshot.platform,
            at=snapshot.at,
            source=source,
            recorded_by=user_id,
            created_at=now,
            **snapshot.figures(),
        )
        for snapshot in snapshots
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        await M.insert(*rows[start : start + INSERT_CHUNK]).on_conflict(
            target=(M.card, M.platform, M.at),
            action="DO UPDATE",
            values=[*keep_unless_given, M.source, M.recorded_by, M.created_at],
        )


async def refresh_participants_pct(card: Mapping[str, Any]) -> int | None:
    """Recompute the tile's counter (for a caller inside its own unit whose write changed the
    goals in force, e.g. the approval of a changed plan); returns it."""
    plan = await workflow.effective_plan(dict(card))
    pct = participants_pct(plan.get("targets") or {}, await latest(card["id"]))
    await CampaignDetail.update({CampaignDetail.participants_pct: pct}).where(CampaignDetail.card == card["id"])
    return pct


def participants_pct(
    targets: Mapping[str, Mapping[str, int]], results: Mapping[str, Mapping[str, int | None]]
) -> int | None:
    """Participants so far against the participants goal summed over the platforms, in per
    cent (rounded down, at most MAX_PCT: the tile's stored counter), measured over the
    platforms with a goal (as ``goal_rows``' total); None without a goal."""
    total = next(
        (row for row in goal_rows(targets, results) if row["platform"] is None and row["metric"] == "participants"),
        None,
    )
    return min(total["pct"], MAX_PCT) if total and total["pct"] is not None else None


# Reads ------------------------------------------------------------------------------------


async def latest(card_id: int) -> dict[str, dict[str, int | None]]:
    """Each platform's results so far, figure by figure: the value of the newest snapshot
    that gives that figure ({"douyin": {"participants": 5600, "reads": 90000, "shares": None,
    …}}; None for a figure none of the platform's snapshots gives)."""
    M = CampaignMetric
    rows = (
        await M.select(M.platform, *(getattr(M, figure) for figure in FIGURES)).where(M.card == card_id).order_by(M.at)
    )
    found: dict[str, dict[str, int | None]] = {}
    for row in rows:
        figures = found.setdefault(row["platform"], dict.fromkeys(FIGURES))
        figures.update({figure: row[figure] for figure in FIGURES if row[figure] is not None})
    return found


async def series(card_id: int) -> list[dict]:
    """Every snapshot, oldest first (platform order within a time): platform, at, the five
    figures (None for one the snapshot does not give) and the source."""
    M = CampaignMetric
    rows = (
        await M.select(M.platform, M.at, *(getattr(M, figure) for figure in FIGURES), M.source)
        .where(M.card == card_id)
        .order_by(M.at)
        .order_by(M.platform)
    )
    order = {code: index for index, code in enumerate(CAMPAIGN_PLATFORMS.values)}
    return sorted(rows, key=lambda row: (row["at"], order.get(row["platform"], len(order))))


async def recent(card_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """The latest snapshots (newest first) with who recorded them, for the drawer."""
    M = CampaignMetric
    return (
        await M.select(
            M.id,
            M.platform,
            M.at,
            *(getattr(M, figure) for figure in FIGURES),
            M.source,
            M.created_at,
            M.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where(M.card == card_id)
        .order_by(M.at, ascending=False)
        .order_by(M.platform)
        .limit(limit)
    )


async def count(card_id: int) -> int:
    return await CampaignMetric.count().where(CampaignMetric.card == card_id)


async def against_goals(card: dict) -> list[dict]:
    """Goals against results: one row per (platform, metric) that has a goal or a result, then
    one total row per metric (platform None), each {"platform", "metric", "goal" (int or
    None), "result" (int), "pct" (int or None: result over goal in per cent, rounded down)};
    a total row also says how much of the figure is on platforms without a goal for it
    ("unmeasured", left out of its result when the figure has a goal). Goals are the plan in
    force's (``workflow.effective_plan``)."""
    plan = await workflow.effective_plan(card)
    return goal_rows(plan.get("targets") or {}, await latest(card["id"]), plan.get("platforms") or [])


def goal_rows(
    targets: Mapping[str, Mapping[str, int]],
    results: Mapping[str, Mapping[str, int | None]],
    platforms: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """``against_goals`` from its inputs (pure; a result None, not given, counts as 0). A
    figure's total with a goal is measured over the platforms that have one: results on the
    others would overstate how far the goal is met, so they are left out of its result and
    given as ``unmeasured`` (total rows only)."""
    order = list(dict.fromkeys([*platforms, *CAMPAIGN_PLATFORMS.values, *targets, *results]))
    rows: list[dict[str, Any]] = []
    totals: dict[str, dict[str, int]] = {}
    for platform in order:
        goals = targets.get(platform) or {}
        figures = results.get(platform) or {}
        for metric in FIGURES:
            goal = int(goals.get(metric) or 0) or None
            result = int(figures.get(metric) or 0)
            if goal is None and not result:
                continue
            rows.append(_row(platform, metric, goal, result))
            total = totals.setdefault(metric, {"goal": 0, "measured": 0, "unmeasured": 0})
            total["goal"] += goal or 0
            total["measured" if goal else "unmeasured"] += result
    for metric in FIGURES:
        if metric in totals:
            total = totals[metric]
            if total["goal"]:
                rows.append({**_row(None, metric, total["goal"], total["measured"]), "unmeasured": total["unmeasured"]})
            else:
                rows.append({**_row(None, metric, None, total["unmeasured"]), "unmeasured": 0})
    return rows


def _row(platform: str | None, metric: str, goal: int | None, result: int) -> dict[str, Any]:
    return {"platform": platform, "metric": metric, "goal": goal, "result": result, "pct": pct(result, goal)}


def pct(result: int, goal: int | None) -> int | None:
    return result * 100 // goal if goal else None


# Demo -------------------------------------------------------------------------------------

# How far each demo campaign gets against its goal (by its position among the demo campaigns in
# its state): some beat it, some fall short.
DEMO_REACH = (1.12, 0.86, 1.03, 0.74, 1.21)


async def seed_metrics(card_id: int, state: str, card: dict[str, Any], now: datetime) -> None:
    """Plausible snapshots for a demo campaign running, in review or archived: every platform's
    figures rising day by day (fast at the launch, slower later) towards its goals, some above
    and some below, up to now or to the campaign's end if it is over. Inserted directly (the
    demo city is seeded before anyone watches); keeps the tile's counter."""
    if state not in ("running", "review", "archived"):
        return
    platforms = list(card.get("platforms") or [])
    targets = card.get("targets") or {}
    starts_at, ends_at = card.get("starts_at"), card.get("ends_at")
    if not platforms or starts_at is None:
        return
    ends_at = ends_at or starts_at + timedelta(days=7)
    last = min(now, ends_at)
    if last <= starts_at:  # not started yet: nothing counted
        return
    rng = random.Random(card_id)
    reach = DEMO_REACH[card_id % len(DEMO_REACH)]
    span = ends_at - starts_at
    times = _demo_times(starts_at, last)
    rows = []
    for platform in platforms:
        goals = targets.get(platform) or {}
        platform_reach = reach * rng.uniform(0.92, 1.08)
        for at in times:
            done = (at - starts_at) / span if span else 1.0
            # A saturating curve: most participants come in the first days.
            share = (1 - (1 - min(done, 1.0)) ** 2) if done < 1 else 1.0
            figures = {}
            for metric in FIGURES:
                goal = goals.get(metric) or _demo_default(metric, goals)
                wobble = 1 + rng.uniform(-0.03, 0.03)
                figures[metric] = max(0, int(goal * platform_reach * share * wobble))
            rows.append((platform, at, figures))
    # Running totals never fall: each figure at least the one before on its platform.
    previous: dict[str, dict[str, int]] = {}
    M = CampaignMetric
    objects = []
    for platform, at, figures in rows:
        before = previous.get(platform, {})
        figures = {metric: max(value, before.get(metric, 0)) for metric, value in figures.items()}
        previous[platform] = figures
        objects.append(M(card=card_id, platform=platform, at=at, source="import", created_at=at, **figures))
    if objects:
        await M.insert(*objects)
    await CampaignDetail.update({CampaignDetail.participants_pct: participants_pct(targets, previous)}).where(
        CampaignDetail.card == card_id
    )


def _demo_times(starts_at: datetime, last: datetime) -> list[datetime]:
    """Snapshots at 18:00 local from the start's first evening to ``last``, every day for a
    short campaign, spread out to about 15 for a long one, and one at ``last`` itself."""
    tz = get_settings().tz
    local = starts_at.astimezone(tz)
    at = local.replace(hour=18, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    step = timedelta(days=max(1, math.ceil((last - starts_at) / timedelta(days=1) / 14)))
    times = []
    while at < last:
        times.append(at.astimezone(UTC))
        at += step
    times.append(last.astimezone(UTC).replace(microsecond=0))
    return times


def _demo_default(metric: str, goals: Mapping[str, int]) -> int:
    """A figure the plan sets no goal for still moves (in proportion to participants)."""
    participants = goals.get("participants") or 1000
    return {
        "participants": participants,
        "comments": participants // 5,
        "shares": participants // 4,
        "new_followers": participants // 8,
        "reads": participants * 20,
    }[metric]
