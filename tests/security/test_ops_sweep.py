"""The sweep's lower bound: a card overdue past its last 督办 round is left alone, one with a
round still to come is not (pure: no database, no Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.reminders.services import (
    MAX_ESCALATION_ROUNDS,
    escalation_time,
    oldest_deadline_with_reminders_left,
    pending,
)
from portal.sla.calendar import calendar_from_days

# 2026: National Day holidays 1–8 October, with 调休 working Sundays around them.
CALENDAR = calendar_from_days(
    "Asia/Shanghai",
    holidays=[datetime(2026, 10, day).date() for day in range(1, 9)],
    workdays=[datetime(2026, 9, 27).date(), datetime(2026, 10, 10).date()],
    years=[2026],
)
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai


def card(due: datetime) -> dict:
    return {"id": 7, "due_at": due, "stage_started_at": due - timedelta(days=2), "due_stage": "answer"}


def test_the_last_round_of_the_oldest_card_swept_is_today_or_yesterday():
    cutoff = oldest_deadline_with_reminders_left(CALENDAR, NOW)
    today = CALENDAR.local(NOW).date()
    last_round = escalation_time(CALENDAR, cutoff + timedelta(days=1, hours=10), MAX_ESCALATION_ROUNDS - 1)
    assert CALENDAR.local(last_round).date() >= today - timedelta(days=1)
    earlier = escalation_time(CALENDAR, cutoff - timedelta(days=1), MAX_ESCALATION_ROUNDS - 1)
    assert CALENDAR.local(earlier).date() < today  # its rounds are all over: not swept


def test_a_card_still_within_its_rounds_gets_its_latest_escalation_again():
    due = NOW - timedelta(days=10)
    reminders = pending(card(due), CALENDAR, NOW)
    assert {reminder.kind for reminder in reminders} == {"escalation"}  # no 催办 or "due now" any more
    assert len([reminder for reminder in reminders if reminder.at <= NOW]) == 1  # only the latest missed round
    assert any(reminder.at > NOW for reminder in reminders)  # and the next ones


def test_closed_and_paused_cards_have_nothing_pending():
    due = NOW + timedelta(hours=3)
    assert pending({**card(due), "meaning": "done"}, CALENDAR, NOW) == []
    assert pending({**card(due), "paused_at": NOW - timedelta(minutes=5)}, CALENDAR, NOW) == []
    assert {r.kind for r in pending(card(due), CALENDAR, NOW)} == {"nudge", "due", "escalation"}
