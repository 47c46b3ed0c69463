"""Which reminders a card's deadline calls for, and which missed ones still make sense."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.reminders.services import plan
from portal.sla.calendar import calendar_from_days

CALENDAR = calendar_from_days("Asia/Shanghai", holidays=[], workdays=[], years=[2026])


def card(started: datetime, due: datetime) -> dict:
    return {"id": 7, "due_at": due, "stage_started_at": started, "due_stage": "answer", "archived": False}


def test_nudge_at_three_quarters_then_due_then_daily_escalations():
    started = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    due = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # Friday 17:30
    reminders = {(r.kind, r.round): r.at for r in plan(card(started, due), CALENDAR, escalation_rounds=3)}
    assert reminders[("nudge", 0)] == started + (due - started) * 0.75
    assert reminders[("due", 0)] == due
    assert reminders[("escalation", 0)] == due + timedelta(minutes=1)
    # Then at 09:00 on each following working day: Monday and Tuesday (the weekend is skipped).
    assert reminders[("escalation", 1)] == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert reminders[("escalation", 2)] == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_keys_change_with_the_deadline():
    started = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    first = plan(card(started, datetime(2026, 11, 27, 9, 30, tzinfo=UTC)), CALENDAR)
    moved = plan(card(started, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)), CALENDAR)
    assert {r.job_id for r in first}.isdisjoint({r.job_id for r in moved})


def test_no_deadline_no_reminders():
    assert plan({"id": 1, "due_at": None, "stage_started_at": None, "due_stage": None}, CALENDAR) == []
