"""The campaigns' calendar: every campaign of a month across the campaigns boards a person may
see, on the working calendar's days (holidays, 调休 make-up working days), and the clashes
between them, so that two departments do not run competing campaigns on the same platform on
the same days.

What a person sees is what the boards show her: the boards she is a member of (administrators:
all), on each only the cards she may see there (a liaison: those routed to her department),
open cards in open columns. Archived campaigns (归档) stay on the calendar, greyed; they clash
with nothing.

Days are local days (the portal's time zone). A campaign runs from the day of its start to the
day of its end; an end at midnight exactly ends the day before (a campaign "until 12-05 00:00"
is over when 12-05 begins). A campaign with only one of its dates runs on that day. Two
campaigns clash when they share a platform and run on at least one same day: at different
hours of one day they still compete for the same audience.

A campaign is shown, and clashes, as its plan in force says (``workflow.schedule``): once a
version is approved, the approved dates, platforms and key moments (a change awaiting
approval, or returned, is not on the calendar and raises no clash); before any approval, the
draft's.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from portal.accounts.services import CurrentUser
from portal.boards.access import BoardAccess, access_for
from portal.boards.tables import Board, BoardMember
from portal.campaigns.tables import CampaignDetail
from portal.campaigns.workflow import KIND, STATES, schedule, state_of
from portal.cards.tables import Card
from portal.core.choices import CAMPAIGN_FORMATS, CAMPAIGN_PLATFORMS
from portal.core.errors import FormError
from portal.i18n import gettext as _
from portal.settings import get_settings
from portal.sla.services import get_calendar
from portal.sla.tables import CalendarDay

FIELDS = (
    "platforms",
    "campaign_format",
    "starts_at",
    "ends_at",
    "moments",
    "theme",
    "approved_version",
    "approved_starts_at",
    "approved_ends_at",
    "approved_platforms",
    "approved_moments",
)
BOARD_COLOURS = 8  # the page's board colours: cal-board-0 … cal-board-7 in app.css
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


# Months -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, month_calendar.monthrange(self.year, self.month)[1])

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)


def this_month() -> Month:
    today = datetime.now(get_settings().tz).date()
    return Month(today.year, today.month)


def parse_month(value: str | None) -> Month:
    """``YYYY-MM`` (a year from 2000 to 2100); empty is this month. FormError otherwise."""
    if value is None or not value.strip():
        return this_month()
    match = _MONTH.match(value)
    if match is not None:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return Month(year, month)
    raise FormError(
        {"month": _("“%(value)s” is not a month: write it as year and month, e.g. 2026-12.", value=value[:20])}
    )


# Who sees what ----------------------------------------------------------------------------


async def campaign_accesses(user: CurrentUser) -> list[BoardAccess]:
    """The viewer's access to every open campaigns board she is on (administrators: all), in
    the boards list's order."""
    query = Board.select(Board.id).where((Board.kind == KIND) & (Board.archived == False))  # noqa: E712
    if not user.is_admin:
        query = query.where(Board.id.is_in(BoardMember.select(BoardMember.board).where(BoardMember.user == user.id)))
    return [await access_for(user, row["id"]) for row in await query.order_by(Board.id)]


def day_span(starts_at: datetime | None, ends_at: datetime | None) -> tuple[date, date] | None:
    """The local days a campaign runs on, first and last (None without dates)."""
    if starts_at is None and ends_at is None:
        return None
    tz = get_settings().tz
    start = (starts_at or ends_at).astimezone(tz)  # type: ignore[union-attr]
    end = (ends_at or starts_at).astimezone(tz)  # type: ignore[union-attr]
    first, last = start.date(), end.date()
    if ends_at is not None and end.time() == time(0) and last > first:
        last -= timedelta(days=1)
    return first, max(first, last)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=get_settings().tz)


async def campaigns(
    accesses: list[BoardAccess], first: date | None = None, last: date | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """The dated campaigns on these boards that each viewer may see (open cards in open
    columns), running on at least one day of ``first``…``last`` when given, ordered by
    their first day."""
    from portal.campaigns.kind import KIND as CAMPAIGNS

    by_board = {access.board_id: access for access in accesses}
    if not by_board:
        return []
    D = CampaignDetail

    def running(starts: Any, ends: Any) -> Any:
        """Dated, and a superset of those running on the days asked for (day_span below decides
        exactly)."""
        condition = starts.is_not_null() | ends.is_not_null()
        if first is not None:
            lower = _midnight(first)
            condition = condition & ((ends >= lower) | (ends.is_null() & (starts >= lower)))
        if last is not None:
            upper = _midnight(last + timedelta(days=1))
            condition = condition & ((starts < upper) | (starts.is_null() & (ends < upper)))
        return condition

    # The dates in force: the approved ones once approved, the draft's before.
    dated = D.select(D.card).where(
        (D.approved_version.is_null() & running(D.starts_at, D.ends_at))
        | (D.approved_version.is_not_null() & running(D.approved_starts_at, D.approved_ends_at))
    )
    query = Card.select(
        Card.id,
        Card.title,
        Card.board,
        Card.board.name.as_alias("board_name"),
        Card.column.key.as_alias("column_key"),
        Card.column.meaning.as_alias("column_meaning"),
        Card.department,
        Card.assisting_departments,
        Card.version,
        *CAMPAIGNS.joined(FIELDS),
    ).where(
        Card.board.is_in(sorted(by_board))
        & (Card.archived == False)  # noqa: E712
        & (Card.column.archived == False)  # noqa: E712
        & Card.id.is_in(dated)
    )
    if ids is not None:
        if not ids:
            return []
        query = query.where(Card.id.is_in(ids))
    rows = await query.order_by(Card.id).output(load_json=True)
    colours = {board_id: index % BOARD_COLOURS for index, board_id in enumerate(sorted(by_board))}
    found = []
    for row in rows:
        if not by_board[row["board"]].can_see_card(row):
            continue
        CAMPAIGNS.defaults(row, FIELDS)
        row.update(schedule(row))  # the plan in force's dates, platforms and key moments
        span = day_span(row["starts_at"], row["ends_at"])
        if span is None:
            continue
        if (first is not None and span[1] < first) or (last is not None and span[0] > last):
            continue
        found.append(_campaign(row, span, colours[row["board"]]))
    return sorted(found, key=lambda campaign: (campaign["first_day"], campaign["last_day"], campaign["id"]))


def _campaign(row: dict[str, Any], span: tuple[date, date], colour: int) -> dict[str, Any]:
    state = state_of({"key": row["column_key"], "meaning": row["column_meaning"]})
    platforms = [platform for platform in CAMPAIGN_PLATFORMS.values if platform in (row["platforms"] or [])]
    tz = get_settings().tz
    moments = []
    for moment in row["moments"] or []:
        try:
            at = datetime.fromisoformat(moment["at"]).astimezone(tz)
        except (KeyError, TypeError, ValueError):
            continue
        moments.append({"at": at, "day": at.date(), "label": str(moment.get("label") or "")})
    return {
        "id": row["id"],
        "title": row["title"],
        "theme": row["theme"] or "",
        "board": row["board"],
        "board_name": row["board_name"],
        "colour": colour,
        "state": state,
        "state_label": str(STATES.label(state)),
        "archived": state == "archived",
        "platforms": platforms,
        "platform_labels": [CAMPAIGN_PLATFORMS.label(platform) for platform in platforms],
        "campaign_format": row["campaign_format"],
        "format_label": CAMPAIGN_FORMATS.label(row["campaign_format"]),
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "first_day": span[0],
        "last_day": span[1],
        "moments": sorted(moments, key=lambda moment: moment["at"]),
        "version": row["version"],
        "link": f"/boards/{row['board']}?card={row['id']}",
    }


# Clashes ----------------------------------------------------------------------------------


def _days_text(first: date, last: date) -> str:
    if first == last:
        return first.strftime("%m-%d")
    return _("%(start)s to %(end)s", start=first.strftime("%m-%d"), end=last.strftime("%m-%d"))


def clash_of(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any] | None:
    """The clash of two campaigns: the platforms they share and the days both run, or None."""
    if one["id"] == other["id"] or one["archived"] or other["archived"]:
        return None
    shared = [platform for platform in one["platforms"] if platform in other["platforms"]]
    start, end = max(one["first_day"], other["first_day"]), min(one["last_day"], other["last_day"])
    if not shared or start > end:
        return None
    labels = "、".join(CAMPAIGN_PLATFORMS.label(platform) for platform in shared)
    if start == end:
        text = _(
            "%(platforms)s: “%(one)s” and “%(other)s” both run on %(day)s",
            platforms=labels,
            one=one["title"],
            other=other["title"],
            day=start.strftime("%m-%d"),
        )
    else:
        text = _(
            "%(platforms)s: “%(one)s” and “%(other)s” run at the same time, %(start)s to %(end)s",
            platforms=labels,
            one=one["title"],
            other=other["title"],
            start=start.strftime("%m-%d"),
            end=end.strftime("%m-%d"),
        )
    return {
        "platforms": shared,
        "platform_labels": labels,
        "from": start,
        "to": end,
        "days": _days_text(start, end),
        "text": text,
    }


def find_clashes(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every clash among these campaigns (ordered by first day), once per pair, the earlier
    campaign first."""
    clashes = []
    for index, one in enumerate(found):
        for other in found[index + 1 :]:
            if other["first_day"] > one["last_day"]:
                break
            clash = clash_of(one, other)
            if clash is not None:
                clashes.append({**clash, "one": _ref(one), "other": _ref(other)})
    return sorted(clashes, key=lambda clash: (clash["from"], clash["one"]["id"], clash["other"]["id"]))


def _ref(campaign: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "board", "board_name", "link", "first_day", "last_day", "state", "state_label")
    return {key: campaign[key] for key in keys}


async def clashes_for(access: BoardAccess, card_id: int) -> list[dict[str, Any]]:
    """The other campaigns (on every campaigns board this viewer may see) that clash with this
    one: each with the shared platforms and the days both run. The caller has checked that
    the viewer may see the card (portal.campaigns.controllers.campaign_access)."""
    accesses = [other for other in await campaign_accesses(access.user) if other.board_id != access.board_id]
    accesses.append(access)
    mine = await campaigns([access], ids=[card_id])
    if not mine or mine[0]["archived"] or not mine[0]["platforms"]:
        return []
    this = mine[0]
    clashes = []
    for other in await campaigns(accesses, this["first_day"], this["last_day"]):
        clash = clash_of(this, other)
        if clash is not None:
            clashes.append({**clash, **_ref(other)})
    return clashes


async def clashes_section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """What the drawer's clash section shows: the card's version and its clashes."""
    card = await Card.select(Card.id, Card.version).where(Card.id == card_id).first()
    return {"card": card, "clashes": await clashes_for(access, card_id)}


# The month --------------------------------------------------------------------------------


async def _day_notes(first: date, last: date) -> dict[date, str]:
    rows = await CalendarDay.select(CalendarDay.day, CalendarDay.note).where(
        (CalendarDay.day >= first) & (CalendarDay.day <= last)
    )
    return {row["day"]: row["note"] or "" for row in rows}


async def month_view(
    user: CurrentUser, month: Month, board: int | None = None, platform: str | None = None
) -> dict[str, Any]:
    """The month's grid (weeks from Monday, each day with its kind, its campaigns and key
    moments), the campaigns and the clashes, narrowed to one board and/or one platform when
    asked. A clash counts when one of its campaigns is shown (the other may be on another
    board: that is the point) and, with a platform chosen, when they share that platform."""
    accesses = await campaign_accesses(user)
    colours = {access.board_id: index % BOARD_COLOURS for index, access in enumerate(accesses)}
    everything = await campaigns(accesses, month.first, month.last)
    clashes = find_clashes(everything)
    shown = [
        campaign
        for campaign in everything
        if (board is None or campaign["board"] == board) and (platform is None or platform in campaign["platforms"])
    ]
    shown_ids = {campaign["id"] for campaign in shown}
    clashes = [
        clash
        for clash in clashes
        if (clash["one"]["id"] in shown_ids or clash["other"]["id"] in shown_ids)
        and (platform is None or platform in clash["platforms"])
    ]
    clashing: dict[int, list[str]] = {}
    for clash in clashes:
        clashing.setdefault(clash["one"]["id"], []).append(clash["text"])
        clashing.setdefault(clash["other"]["id"], []).append(clash["text"])
    for campaign in shown:
        campaign["clashes"] = clashing.get(campaign["id"], [])

    working = await get_calendar()
    weeks_of_days = month_calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    notes = await _day_notes(weeks_of_days[0][0], weeks_of_days[-1][-1])
    today = datetime.now(get_settings().tz).date()
    weeks = []
    for week in weeks_of_days:
        days = []
        for day in week:
            running = [c for c in shown if c["first_day"] <= day <= c["last_day"]]
            days.append(
                {
                    "date": day,
                    "in_month": day.month == month.month,
                    "today": day == today,
                    "kind": working.day_kind(day),
                    "note": notes.get(day, ""),
                    "campaigns": [
                        {"campaign": c, "starts": c["first_day"] == day, "ends": c["last_day"] == day} for c in running
                    ],
                    "moments": [
                        {**moment, "campaign": c} for c in shown for moment in c["moments"] if moment["day"] == day
                    ],
                }
            )
        weeks.append(days)
    special = [
        day for week in weeks for day in week if day["in_month"] and day["kind"] in ("holiday", "makeup_workday")
    ]
    boards = [
        {"id": access.board_id, "name": name, "colour": colours[access.board_id]}
        for access, name in zip(accesses, await _board_names([a.board_id for a in accesses]), strict=True)
    ]
    return {
        "month": month,
        "previous": month.previous(),
        "next": month.next(),
        "weeks": weeks,
        "special_days": special,
        "has_holiday_data": working.has_data_for(month.year),
        "campaigns": shown,
        "clashes": clashes,
        "boards": boards,
        "board": board,
        "platform": platform,
    }


async def _board_names(board_ids: list[int]) -> list[str]:
    if not board_ids:
        return []
    rows = await Board.select(Board.id, Board.name).where(Board.id.is_in(board_ids))
    names = {row["id"]: row["name"] for row in rows}
    return [names[board_id] for board_id in board_ids]


def month_json(view: dict[str, Any]) -> dict[str, Any]:
    """The month as the JSON API answers it."""

    def time_or_none(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    def ref(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": item["id"],
            "title": item["title"],
            "board": item["board"],
            "board_name": item["board_name"],
            "link": item["link"],
        }

    return {
        "month": view["month"].key,
        "previous": view["previous"].key,
        "next": view["next"].key,
        "board": view["board"],
        "platform": view["platform"],
        "has_holiday_data": view["has_holiday_data"],
        "boards": [{"id": board["id"], "name": board["name"]} for board in view["boards"]],
        "days": [
            {
                "date": day["date"].isoformat(),
                "kind": day["kind"],
                "note": day["note"],
                "campaigns": [entry["campaign"]["id"] for entry in day["campaigns"]],
            }
            for week in view["weeks"]
            for day in week
            if day["in_month"]
        ],
        "campaigns": [
            {
                **ref(campaign),
                "state": campaign["state"],
                "state_label": campaign["state_label"],
                "platforms": campaign["platforms"],
                "campaign_format": campaign["campaign_format"],
                "starts_at": time_or_none(campaign["starts_at"]),
                "ends_at": time_or_none(campaign["ends_at"]),
                "first_day": campaign["first_day"].isoformat(),
                "last_day": campaign["last_day"].isoformat(),
                "moments": [{"at": m["at"].isoformat(), "label": m["label"]} for m in campaign["moments"]],
                "clashing": bool(campaign["clashes"]),
            }
            for campaign in view["campaigns"]
        ],
        "clashes": [
            {
                "platforms": clash["platforms"],
                "from": clash["from"].isoformat(),
                "to": clash["to"].isoformat(),
                "text": clash["text"],
                "campaigns": [ref(clash["one"]), ref(clash["other"])],
            }
            for clash in view["clashes"]
        ],
    }
