"""The business calendar and deadline arithmetic. Pure: no I/O, no clock.

A ``BusinessCalendar`` knows a time zone, the working periods of a working day (with a
lunch break), and per-year data: statutory holidays and 调休 make-up workdays. Three
ways to compute a due time from a start:

- natural hours ("24 小时内回复"): the clock never stops;
- working hours: only time inside working periods of working days counts; the due time
  is the first instant at which enough working time has passed (so Friday 17:00 plus one
  working hour is 09:30 on the next working day);
- working days counted from the next day ("次日起 3 个工作日"): the Nth working day after
  the start's date, due at the end of that day's last working period.

Years without holiday data are computed as plain weekdays, and ``missing_years`` says
which years a computation touched without data, so the caller can warn instead of
silently assuming.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_SPAN_DAYS = 3660  # ten years: a guard against impossible calendars (no working day at all)


class DurationMode(StrEnum):
    natural_hours = "natural_hours"
    working_hours = "working_hours"
    working_days = "working_days"


DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. it has no working time at all)."""


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    holidays: frozenset[date] = frozenset()  # statutory days off (may fall on weekdays)
    workdays: frozenset[date] = frozenset()  # 调休: weekend days that are working days
    known_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        previous_end = time(0, 0)
        for start, end in self.periods:
            if not start < end or start < previous_end:
                raise CalendarError("working periods must be ordered and must not overlap")
            previous_end = end
        if not self.periods:
            raise CalendarError("a working day needs at least one working period")

    # Days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def has_data_for(self, year: int) -> bool:
        return year in self.known_years

    def missing_years(self, *moments: datetime) -> list[int]:
        years = {self.local(moment).year for moment in moments}
        return sorted(year for year in years if year not in self.known_years)

    def day_kind(self, day: date) -> str:
        """holiday, makeup_workday, weekend or workday — for the calendar page."""
        if day in self.workdays:
            return "makeup_workday"
        if day in self.holidays:
            return "holiday"
        return "weekend" if day.weekday() >= 5 else "workday"

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise CalendarError("times must carry a time zone")
        return moment.astimezone(self.timezone)

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.timezone)

    def end_of_working_day(self, day: date) -> datetime:
        return self._at(day, self.periods[-1][1])

    def next_working_day(self, day: date) -> date:
        for offset in range(1, MAX_SPAN_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError("no working day within ten years")

    # Durations ----------------------------------------------------------------------

    def due(self, start: datetime, amount: int, mode: DurationMode | str) -> datetime:
        mode = DurationMode(mode)
        if amount < 0:
            raise CalendarError("a duration cannot be negative")
        if mode is DurationMode.natural_hours:
            return self.local(start) + timedelta(hours=amount)
        if mode is DurationMode.working_hours:
            return self.add_working_minutes(start, amount * 60)
        return self.add_working_days(start, amount)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The first instant at which ``minutes`` of working time have passed since ``start``."""
        current = self.local(start)
        if minutes == 0:
            return current
        remaining = timedelta(minutes=minutes)
        day = current.date()
        for _ in range(MAX_SPAN_DAYS):
            if self.is_working_day(day):
                for period_start, period_end in self.periods:
                    begin = max(current, self._at(day, period_start))
                    end = self._at(day, period_end)
                    if begin >= end:
                        continue
                    available = end - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
            current = self._at(day, time(0, 0))
        raise CalendarError("no working time within ten years")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """次日起 N 个工作日: counted from the day after the start, due at the end of the last one."""
        if days == 0:
            return self.local(start)
        day = self.local(start).date()
        for _ in range(days):
            day = self.next_working_day(day)
        return self.end_of_working_day(day)

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes in [start, end) — used to pause and resume clocks."""
        current, end = self.local(start), self.local(end)
        total = timedelta(0)
        day = current.date()
        while day <= end.date():
            if self.is_working_day(day):
                for period_start, period_end in self.periods:
                    begin = max(current, self._at(day, period_start))
                    finish = min(end, self._at(day, period_end))
                    if finish > begin:
                        total += finish - begin
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)


def calendar_from_days(
    timezone: str,
    holidays: Iterable[date],
    workdays: Iterable[date],
    years: Iterable[int],
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS,
) -> BusinessCalendar:
    return BusinessCalendar(ZoneInfo(timezone), periods, frozenset(holidays), frozenset(workdays), frozenset(years))


def chinese_calendar_data() -> tuple[set[date], set[date], set[int]]:
    """Every year the `chinesecalendar` package knows: (holidays, make-up workdays, years)."""
    import chinese_calendar

    holidays = set(chinese_calendar.holidays)
    workdays = set(chinese_calendar.workdays)
    # The package lists every weekend as a holiday; keep only statutory days off and the
    # weekends that are make-up workdays, so that unknown years fall back to weekdays.
    statutory = {day for day in holidays if chinese_calendar.get_holiday_detail(day)[1] is not None}
    makeup = {day for day in workdays if day.weekday() >= 5}
    years = {day.year for day in statutory | makeup}
    return statutory, makeup, years
