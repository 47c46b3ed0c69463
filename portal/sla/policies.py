"""Deadline policies: which clock runs in which stage, and the due time a card gets.

Stages by board kind (a column's stage comes from its key on the default boards, and
from its meaning on columns a manager added):
- comments: first_response while new or being handled (24 natural hours by default);
- inquiries: accept while waiting to be accepted (1 working day), answer from dispatch
  to review (3 working days from the next day; complex: 10), follow_up after the answer
  (2 working days);
- campaigns: no stage clock; a campaign is due at its own end date.
Done columns stop every clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.sla.calendar import BusinessCalendar, DurationMode

STAGES = {
    "comments": ["first_response"],
    "inquiries": ["accept", "answer", "follow_up"],
    "campaigns": [],
}

STAGE_BY_COLUMN_KEY = {
    "comments": {"new": "first_response", "pending": "first_response"},
    "inquiries": {
        "pending_accept": "accept",
        "dispatched": "answer",
        "handling": "answer",
        "review": "answer",
        "answered": "follow_up",
        "follow_up": "follow_up",
    },
}
STAGE_BY_MEANING = {
    "comments": {"new": "first_response", "working": "first_response"},
    "inquiries": {"new": "accept", "working": "answer", "waiting": "answer"},
}

DEFAULTS: list[dict[str, Any]] = [
    {
        "board_kind": "comments",
        "stage": "first_response",
        "priority": "",
        "category": "",
        "amount": 24,
        "mode": DurationMode.natural_hours,
    },
    {
        "board_kind": "inquiries",
        "stage": "accept",
        "priority": "",
        "category": "",
        "amount": 1,
        "mode": DurationMode.working_days,
    },
    {
        "board_kind": "inquiries",
        "stage": "answer",
        "priority": "",
        "category": "",
        "amount": 3,
        "mode": DurationMode.working_days,
    },
    {
        "board_kind": "inquiries",
        "stage": "answer",
        "priority": "",
        "category": "complex",
        "amount": 10,
        "mode": DurationMode.working_days,
    },
    {
        "board_kind": "inquiries",
        "stage": "follow_up",
        "priority": "",
        "category": "",
        "amount": 2,
        "mode": DurationMode.working_days,
    },
]


def stage_for(board_kind: str, column_key: str, column_meaning: str) -> str | None:
    if column_meaning == "done":
        return None
    by_key = STAGE_BY_COLUMN_KEY.get(board_kind, {})
    if column_key in by_key:
        return by_key[column_key]
    return STAGE_BY_MEANING.get(board_kind, {}).get(column_meaning)


def pick_policy(
    policies: list[dict[str, Any]], board_kind: str, stage: str, priority: str, category: str | None
) -> dict[str, Any] | None:
    """The most specific policy: exact priority and category beat "any"."""
    best, best_score = None, -1
    for policy in policies:
        if policy["board_kind"] != board_kind or policy["stage"] != stage:
            continue
        if policy["priority"] not in ("", priority) or policy["category"] not in ("", category or ""):
            continue
        score = (policy["priority"] != "") * 2 + (policy["category"] != "")
        if score > best_score:
            best, best_score = policy, score
    return best


@dataclass(frozen=True)
class Deadline:
    stage: str | None
    started_at: datetime | None
    due_at: datetime | None
    mode: str | None = None


def deadline_for(
    calendar: BusinessCalendar,
    policies: list[dict[str, Any]],
    *,
    board_kind: str,
    stage: str | None,
    priority: str,
    category: str | None,
    started_at: datetime,
    campaign_end: datetime | None = None,
) -> Deadline:
    if board_kind == "campaigns":
        return Deadline("campaign", started_at, campaign_end, DurationMode.natural_hours.value)
    if stage is None:
        return Deadline(None, None, None)
    policy = pick_policy(policies, board_kind, stage, priority, category)
    if policy is None:
        return Deadline(stage, started_at, None)
    return Deadline(stage, started_at, calendar.due(started_at, policy["amount"], policy["mode"]), policy["mode"])
