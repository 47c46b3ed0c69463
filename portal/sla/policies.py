"""Deadline policies: which clock runs in which stage, and the due time a card gets.

Each card kind (``portal.cards.kinds``) names its stages, which column keys (on its
default boards) and meanings (on columns a manager added) they run in, and its default
policies; done columns stop every clock. A kind may instead keep a clock of its own (a
campaign is due at its end). Managers override the defaults per priority and, for kinds
with categories, per category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.cards.kinds import all_kinds, kind_of
from portal.sla.calendar import BusinessCalendar


def stages() -> dict[str, list[str]]:
    """Each kind's stages, in order (kinds with a clock of their own have none)."""
    return {kind.name: list(kind.stages) for kind in all_kinds()}


def defaults() -> list[dict[str, Any]]:
    """The kinds' default policies, as policy rows."""
    return [
        {
            "board_kind": kind.name,
            "stage": clock.stage,
            "priority": "",
            "category": clock.category,
            "amount": clock.amount,
            "mode": clock.mode,
        }
        for kind in all_kinds()
        for clock in kind.clocks
    ]


def stage_for(board_kind: str, column_key: str, column_meaning: str) -> str | None:
    return kind_of(board_kind).stage_for(column_key, column_meaning)


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
) -> Deadline:
    if stage is None:
        return Deadline(None, None, None)
    policy = pick_policy(policies, board_kind, stage, priority, category)
    if policy is None:
        return Deadline(stage, started_at, None)
    return Deadline(stage, started_at, calendar.due(started_at, policy["amount"], policy["mode"]), policy["mode"])
