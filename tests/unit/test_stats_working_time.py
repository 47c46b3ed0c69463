"""The dashboard's working times: many pairs at once through numpy (``WorkingTime.minutes``)
give the business calendar's own ``working_minutes_between``, to the minute, across weekends,
statutory holidays and make-up workdays, at minute boundaries and a microsecond either side;
and the instants the database lists are read back exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.sla.calendar import calendar_from_days
from portal.stats import figures
from portal.stats.figures import WorkingTime, instants

# October 2026: National Day holidays (1–7 October), a make-up Saturday (10 October), weekends.
CALENDAR = calendar_from_days(
    "Asia/Shanghai",
    holidays=[date(2026, 10, day) for day in range(1, 8)],
    workdays=[date(2026, 9, 27), date(2026, 10, 10)],
    years=[2026],
)
ORIGIN = datetime(2026, 9, 24, 16, 0, tzinfo=UTC)  # 25 September, local midnight
SPAN_MINUTES = 24 * 60 * 24  # three weeks and a half


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def minutes_by_numpy(pairs: list[tuple[datetime, datetime]]) -> list[int]:
    starts = np.array([micros(start) for start, _end in pairs], dtype=np.int64)
    ends = np.array([micros(end) for _start, end in pairs], dtype=np.int64)
    working = WorkingTime.covering(CALENDAR, starts, ends)
    return working.minutes(starts, ends).tolist()


# Instants near the calendar's edges: whole minutes (the working periods begin and end on
# them), a microsecond either side, or anywhere in the minute.
jitter = st.one_of(
    st.sampled_from([0, 1, -1, 999_999, -999_999, 59_999_999]),
    st.integers(min_value=0, max_value=59_999_999),
)
instant = st.builds(
    lambda minute, micro: ORIGIN + timedelta(minutes=minute, microseconds=micro),
    st.integers(min_value=0, max_value=SPAN_MINUTES),
    jitter,
)


@pytest.mark.hypothesis
@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(instant, instant), min_size=1, max_size=40))
def test_many_pairs_at_once_agree_with_the_calendar(pairs):
    expected = [CALENDAR.working_minutes_between(start, end) if end > start else 0 for start, end in pairs]
    assert minutes_by_numpy(pairs) == expected


def test_named_pairs_across_a_holiday_week_and_at_minute_boundaries():
    local = CALENDAR.timezone

    def at(*args):
        return datetime(*args, tzinfo=local)

    pairs = {
        # Friday 17:00 to Monday 9:30 over a make-up Sunday (27 September): 30 on Friday, a
        # whole working day (9:00–12:00, 13:30–17:30) on Sunday, 30 on Monday.
        (at(2026, 9, 25, 17, 0), at(2026, 9, 28, 9, 30)): 30 + 420 + 30,
        # Over the whole National Day week: nothing from 1 to 7 October.
        (at(2026, 9, 30, 17, 0), at(2026, 10, 8, 9, 0)): 30,
        # Ends exactly on a minute boundary: the last minute counts whole.
        (at(2026, 10, 8, 9, 0), at(2026, 10, 8, 9, 5)): 5,
        # A microsecond short of it: floored.
        (at(2026, 10, 8, 9, 0), at(2026, 10, 8, 9, 4, 59, 999_999)): 4,
        # Sub-second start: 9:00:00.5 to 9:05:00 is 4 minutes 59.5 seconds.
        (at(2026, 10, 8, 9, 0, 0, 500_000), at(2026, 10, 8, 9, 5)): 4,
        # Through lunch (12:00–13:30): 11:59:59.999999 to 13:30:00.000001 is two microseconds.
        (at(2026, 10, 8, 11, 59, 59, 999_999), at(2026, 10, 8, 13, 30, 0, 1)): 0,
        # The make-up Saturday 10 October counts; the Sunday after does not.
        (at(2026, 10, 9, 17, 29), at(2026, 10, 12, 9, 1)): 1 + 420 + 1,
        # An end before its start, and an empty pair.
        (at(2026, 10, 9, 10, 0), at(2026, 10, 9, 9, 0)): 0,
        (at(2026, 10, 9, 10, 0), at(2026, 10, 9, 10, 0)): 0,
    }
    assert minutes_by_numpy(list(pairs)) == list(pairs.values())
    assert [CALENDAR.working_minutes_between(*pair) for pair in pairs] == list(pairs.values())


def test_listed_instants_are_read_to_the_microsecond():
    moments = [
        datetime(2026, 10, 8, 1, 0, tzinfo=UTC),  # no fraction: stored without one
        datetime(2026, 10, 8, 1, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 10, 8, 1, 4, 59, 999_999, tzinfo=UTC),
        datetime(2255, 1, 1, 0, 0, 0, 123_456, tzinfo=UTC),
    ]
    # As SQLite stores them (str of the UTC time) and as PostgreSQL lists them (to_char); with
    # a fraction of a second on every row both are read by the fixed-width path.
    fractions = [moment for moment in moments if moment.microsecond]
    for listed in (
        moments,
        [moment.strftime("%Y-%m-%d %H:%M:%S.%f") for moment in moments],
        fractions,
        [moment.strftime("%Y-%m-%d %H:%M:%S.%f") for moment in fractions],
    ):
        found, present = instants(",".join(str(moment) for moment in listed), len(listed))
        assert found.tolist() == [micros(datetime.fromisoformat(str(moment)).replace(tzinfo=UTC)) for moment in listed]
        assert present.all()
    # A listing of the fixed width whose times carry another offset is read exactly, row by row.
    eastern = [moment.astimezone(timezone(timedelta(hours=8))) for moment in fractions]
    assert instants(",".join(map(str, eastern)), len(eastern))[0].tolist() == [micros(m) for m in fractions]
    # Rows without an instant ('' in the listing), and a time with another offset (read exactly).
    other = datetime(2026, 10, 8, 9, 0, 0, 250, tzinfo=timezone(timedelta(hours=8)))
    found, present = instants(f"{moments[1]},,{other.isoformat(' ')}", 3)
    assert present.tolist() == [True, False, True]
    assert found[[0, 2]].tolist() == [micros(moments[1]), micros(other)]
    assert instants(None, 0)[0].tolist() == []
    with pytest.raises(ValueError):
        instants(str(moments[0]), 2)


def test_group_keys_and_tallies():
    keys = np.array([figures.KEY_BASE * 7 + 3, 5, figures.KEY_BASE * 7 + 3, 0], dtype=np.int64)
    assert [figures.split_key(key) for key in keys] == [(7, 3), (None, 5), (7, 3), (None, None)]
    assert {key: row.tolist() for key, row in figures.tally(keys, np.array([1, 0, 1, 2]), 3).items()} == {
        0: [0, 0, 1],
        5: [1, 0, 0],
        figures.KEY_BASE * 7 + 3: [0, 2, 0],
    }
    assert figures.by_key(keys, np.array([10, 20, 30, 40])) == {0: [40], 5: [20], figures.KEY_BASE * 7 + 3: [10, 30]}
    assert figures.numbers("", 0).tolist() == []
    with pytest.raises(ValueError):
        figures.numbers("1,2,x", 3)


def test_spread_rounds_the_median_half_up_and_takes_the_nearest_rank():
    assert figures.spread([5, 1, 4, 2]) == {"median": 3, "p90": 5, "count": 4}
    assert figures.spread(np.array([7])) == {"median": 7, "p90": 7, "count": 1}
    assert figures.spread([]) == {"median": None, "p90": None, "count": 0}


@pytest.mark.hypothesis
@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=14 * 24 * 3600 * 1_000_000 - 1), min_size=1, max_size=50),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe"]),
)
def test_local_days_follow_the_time_zone_across_a_daylight_saving_change(offsets, zone):
    """The day a case was received on, for the volume per day: the portal's local day, also in
    a period where the clocks change (Lord Howe's change is half an hour)."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 3, 25, tzinfo=tz)  # Europe and Lord Howe change in these two weeks
    if zone == "America/New_York":
        start = datetime(2026, 3, 2, tzinfo=tz)
    end = start.astimezone(UTC) + timedelta(days=14)
    moments = [start.astimezone(UTC) + timedelta(microseconds=offset) for offset in offsets]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "get_settings", lambda: SimpleNamespace(tz=tz))
        found = figures.local_days(np.array([micros(moment) for moment in moments], dtype=np.int64), start, end)
    expected = [(moment.astimezone(tz).date() - date(1970, 1, 1)).days for moment in moments]
    assert found.tolist() == expected
