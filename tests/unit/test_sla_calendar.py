"""Deadline arithmetic on the Chinese working-day calendar: named cases and properties
checked against a brute-force minute-by-minute oracle."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.sla.calendar import BusinessCalendar, CalendarError, calendar_from_days, chinese_calendar_data

SHANGHAI = ZoneInfo("Asia/Shanghai")


@cache
def china() -> BusinessCalendar:
    holidays, workdays, years = chinese_calendar_data()
    return calendar_from_days("Asia/Shanghai", holidays, workdays, years)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# Named cases ------------------------------------------------------------------------------


def test_friday_five_pm_plus_one_working_hour_is_monday_half_past_nine():
    assert china().due(at(2026, 11, 27, 17, 0), 1, "working_hours") == at(2026, 11, 30, 9, 30)


def test_three_working_days_from_national_day_eve_end_on_the_makeup_saturday():
    assert china().due(at(2026, 9, 30, 10, 0), 3, "working_days") == at(2026, 10, 10, 17, 30)


def test_natural_hours_ignore_the_calendar():
    assert china().due(at(2026, 9, 30, 20, 0), 24, "natural_hours") == at(2026, 10, 1, 20, 0)


def test_a_deadline_that_lands_on_the_end_of_a_period_stays_there():
    assert china().due(at(2026, 11, 27, 16, 30), 1, "working_hours") == at(2026, 11, 27, 17, 30)


def test_lunch_break_does_not_count():
    assert china().due(at(2026, 11, 26, 11, 30), 1, "working_hours") == at(2026, 11, 26, 14, 0)


def test_start_outside_working_time_begins_at_the_next_period():
    assert china().due(at(2026, 11, 28, 22, 0), 2, "working_hours") == at(2026, 11, 30, 11, 0)  # Saturday night


def test_spring_festival_is_skipped():
    # 2026: 春节 holidays 2/15–2/23, make-up workdays 2/14 (Sat) and 2/28 (Sat).
    assert china().due(at(2026, 2, 13, 17, 0), 1, "working_days") == at(2026, 2, 14, 17, 30)
    assert china().due(at(2026, 2, 14, 17, 0), 1, "working_days") == at(2026, 2, 24, 17, 30)


def test_years_without_data_are_reported():
    assert china().missing_years(at(2026, 12, 31, 9, 0)) == []
    assert china().missing_years(at(2027, 1, 4, 9, 0)) == [2027]


def test_times_without_zone_are_refused():
    with pytest.raises(CalendarError):
        china().due(datetime(2026, 1, 5, 9, 0), 1, "working_hours")


def test_bad_periods_are_refused():
    with pytest.raises(CalendarError):
        BusinessCalendar(periods=((time(13, 0), time(12, 0)),))


# Properties against a brute-force oracle ------------------------------------------------------

SMALL = calendar_from_days(
    "Asia/Shanghai",
    holidays={date(2026, 10, d) for d in range(1, 8)} | {date(2026, 1, 1)},
    workdays={date(2026, 9, 20), date(2026, 10, 10)},
    years={2026},
)


def is_working_minute(calendar: BusinessCalendar, moment: datetime) -> bool:
    local = moment.astimezone(calendar.timezone)
    if not calendar.is_working_day(local.date()):
        return False
    clock = local.time()
    return any(start <= clock < end for start, end in calendar.periods)


def oracle_working_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """Step a minute at a time; the due time is the end of the N-th working minute."""
    moment, counted = start, 0
    if minutes == 0:
        return moment
    while True:
        if is_working_minute(calendar, moment):
            counted += 1
            if counted == minutes:
                return moment + timedelta(minutes=1)
        moment += timedelta(minutes=1)


starts = st.datetimes(min_value=datetime(2026, 9, 15), max_value=datetime(2026, 10, 20)).map(
    lambda naive: naive.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)


@settings(max_examples=150, deadline=None)
@given(start=starts, minutes=st.integers(min_value=1, max_value=3 * 420))
def test_working_minutes_match_the_minute_by_minute_oracle(start, minutes):
    due = SMALL.add_working_minutes(start, minutes)
    assert due == oracle_working_minutes(SMALL, start, minutes)
    assert SMALL.working_minutes_between(start, due) == minutes


@settings(max_examples=150, deadline=None)
@given(start=starts, days=st.integers(min_value=1, max_value=8))
def test_working_days_end_at_the_close_of_the_nth_working_day_after_the_start(start, days):
    due = SMALL.add_working_days(start, days)
    local_start = start.astimezone(SHANGHAI).date()
    working = [
        local_start + timedelta(days=n) for n in range(1, 40) if SMALL.is_working_day(local_start + timedelta(days=n))
    ]
    assert due == datetime.combine(working[days - 1], time(17, 30), tzinfo=SHANGHAI)
    assert due.date() > local_start


@settings(max_examples=100, deadline=None)
@given(start=starts, first=st.integers(0, 600), second=st.integers(0, 600))
def test_working_time_adds_up(start, first, second):
    """Adding a then b working minutes is the same as adding a + b."""
    middle = SMALL.add_working_minutes(start, first)
    assert SMALL.add_working_minutes(middle, second) == SMALL.add_working_minutes(start, first + second)


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=st.integers(0, 72))
def test_natural_hours_are_wall_clock_hours(start, hours):
    assert SMALL.due(start, hours, "natural_hours") - start == timedelta(hours=hours)
