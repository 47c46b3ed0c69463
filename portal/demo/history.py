"""The path that brought a demo card to its column, as if the portal had seen every move.

A demo card that is not in its kind's first column gets the earlier columns of its kind as
stage visits (``card_stage``), the clocks of the stages it passed, completed when their work
was done (``card_clock``), and — for a comment that was answered — the reply that was sent
(``comment_reply``). An inquiry's steps (portal/inquiries/demo.py) are moved to the same
instants. Times follow the stages' deadline policies: most stages take part of their allowed
time, about one card in six is late at one stage, and one department (住建) is slower.

Deterministic: the durations come from a random generator seeded by the card's index; only
``now`` moves them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from portal.cards.kinds import CardKind
from portal.cards.tables import Card, CardStage
from portal.sla import clocks, policies
from portal.sla.calendar import BusinessCalendar
from portal.sla.tables import CardClock

SLOW_DEPARTMENT = "housing"  # 住建: its cases take longer (code in portal/demo/city.json)
LATE_EVERY = 6  # about one card in six is late at one stage
# Columns a card does not pass on its way to another (a comment is reported instead of replied).
SKIPPED = {"comments": {"reported"}}
SKIPPED_BEFORE = {("comments", "reported"): {"replied"}}
# Inquiry steps done in a column (portal/inquiries/demo.py PATH), in order.
STEP_IN_COLUMN = {
    "pending_accept": ("accept", "dispatch"),
    "dispatched": ("sign",),
    "handling": ("submit_answer",),
    "review": ("approve",),
    "answered": ("follow_up",),
}
REPLIES = (
    "您好，感谢您的留言！您反映的问题我们已转相关部门核实办理，有进展将第一时间告知，欢迎继续关注。",
    "您好，感谢您的关注与支持！相关情况已记录并反馈给责任单位，我们会持续跟进，谢谢。",
    "您好，感谢您的留言。具体办理流程可拨打12345政务服务热线咨询，我们也会继续做好服务工作。",
    "您好，感谢您提出的宝贵建议！我们已将您的意见转交主管部门研究，祝您生活愉快。",
)


def _path(kind: CardKind, current: dict[str, Any], columns: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The board columns the card passed before ``current``, in the kind's order."""
    keys = [spec.key for spec in kind.columns]
    if current["key"] not in keys:
        return []
    skipped = SKIPPED.get(kind.name, set()) | SKIPPED_BEFORE.get((kind.name, current["key"]), set())
    before = keys[: keys.index(current["key"])]
    return [columns[key] for key in before if key in columns and key not in skipped]


def _deadline(
    kind: CardKind,
    stage: str,
    fields: dict[str, Any],
    started_at: datetime,
    calendar: BusinessCalendar,
    policy_rows: list[dict[str, Any]],
) -> policies.Deadline:
    return policies.deadline_for(
        calendar,
        policy_rows,
        board_kind=kind.name,
        stage=stage,
        priority=fields.get("priority") or "normal",
        category=fields.get("category"),
        started_at=started_at,
    )


def _after(calendar: BusinessCalendar, deadline: policies.Deadline, start: datetime, share: float) -> datetime:
    """``share`` of the stage's allowed time after ``start`` (working time for working clocks)."""
    if deadline.due_at is None or deadline.started_at is None:
        return start + timedelta(hours=2 * share)
    if deadline.mode in ("working_hours", "working_days"):
        allowed = calendar.working_minutes_between(deadline.started_at, deadline.due_at)
        used = calendar.working_minutes_between(deadline.started_at, start)
        return calendar.add_working_minutes(deadline.started_at, max(used + 1, int(allowed * share)))
    return deadline.started_at + (deadline.due_at - deadline.started_at) * share


async def seed_path(
    kind: CardKind,
    card_id: int,
    board_id: int,
    column: dict[str, Any],
    columns: dict[str, dict[str, Any]],
    fields: dict[str, Any],
    assignee: int | None,
    arrived: datetime,
    now: datetime,
    *,
    index: int,
    calendar: BusinessCalendar,
    policy_rows: list[dict[str, Any]],
    department_code: str | None = None,
) -> datetime:
    """Write the card's earlier visits, clocks and reply; return when it entered ``column``
    (also written as the card's ``column_entered_at``). A card in its kind's first column,
    or of a kind with a clock of its own, keeps ``arrived``."""
    path = _path(kind, column, columns) if kind.own_clock is None else []
    if not path:
        return arrived
    rng = random.Random(index)  # noqa: S311  (demo data, not security)
    late_at = rng.randrange(len(path)) if index % LATE_EVERY == LATE_EVERY // 2 else None
    slow = department_code == SLOW_DEPARTMENT

    # When each passed column was left (and its work done), by the stage's allowed time.
    visits: list[dict[str, Any]] = []
    started: dict[str, policies.Deadline] = {}
    moment = arrived
    for position, passed in enumerate(path):
        stage = clocks.stage_of(kind.name, passed)
        deadline = None
        if stage is not None:
            if stage not in started:
                first = bool(kind.stages) and stage == kind.stages[0]
                started[stage] = _deadline(kind, stage, fields, arrived if first else moment, calendar, policy_rows)
            deadline = started[stage]
        if position == late_at:
            share = rng.uniform(1.15, 1.6)
        elif slow:
            share = rng.uniform(0.55, 0.95)
        else:
            share = rng.uniform(0.1, 0.6)
        if kind.name == "comments" and passed["key"] == "new":
            share = rng.uniform(0.01, 0.08) if position != late_at else share  # triage: minutes
        left = _after(calendar, deadline, moment, share) if deadline else moment + timedelta(hours=rng.uniform(1, 30))
        visits.append({"column": passed, "stage": stage, "entered": moment, "left": max(left, moment)})
        moment = max(left, moment)

    # The whole path fits before now, with some time spent in the present column.
    latest = arrived + (now - arrived) * 0.9
    if moment > latest and moment > arrived:
        scale = (latest - arrived) / (moment - arrived)
        for visit in visits:
            visit["entered"] = arrived + (visit["entered"] - arrived) * scale
            visit["left"] = arrived + (visit["left"] - arrived) * scale
    entered = visits[-1]["left"].replace(microsecond=0)
    for visit in visits:
        visit["entered"] = visit["entered"].replace(microsecond=0)
        visit["left"] = visit["left"].replace(microsecond=0)

    await CardStage.insert(
        *[
            CardStage(
                card=card_id,
                board=board_id,
                column=visit["column"]["id"],
                stage=visit["column"]["key"],
                clock=visit["stage"],
                entered_at=visit["entered"],
                entered_by=assignee,
                left_at=visit["left"],
                left_by=assignee,
                due_at=started[visit["stage"]].due_at if visit["stage"] else None,
                working_minutes=calendar.working_minutes_between(visit["entered"], visit["left"]),
                on_time=None
                if not visit["stage"] or started[visit["stage"]].due_at is None
                else visit["left"] <= started[visit["stage"]].due_at,
            )
            for visit in visits
        ]
    )

    # The clocks of the stages passed (the present stage's clock is started by the caller).
    present = clocks.stage_of(kind.name, column)
    clock_rows = []
    for stage, deadline in started.items():
        if stage == present:
            continue
        last = [i for i, visit in enumerate(visits) if visit["stage"] == stage][-1]
        following = visits[last + 1]["column"] if last + 1 < len(visits) else column
        done = clocks.completes(kind.name, stage, following)
        clock_rows.append(
            CardClock(
                card_id=card_id,
                stage=stage,
                round=1,
                started_at=deadline.started_at,
                due_at=deadline.due_at,
                mode=deadline.mode,
                completed_at=_done_at(kind, stage, visits[last]) if done else None,
            )
        )
    if clock_rows:
        await CardClock.insert(*clock_rows)

    await Card.update({Card.column_entered_at: entered, Card.updated_at: entered}).where(Card.id == card_id)
    left_at = {visit["column"]["key"]: visit["left"] for visit in visits}
    if kind.name == "comments" and "pending" in left_at and column["key"] in ("replied", "closed"):
        await _reply(card_id, assignee, left_at["pending"], index)
    if kind.name == "inquiries":
        await _steps(card_id, visits)
    return entered


def _done_at(kind: CardKind, stage: str, visit: dict[str, Any]) -> datetime:
    """When the stage's work was done: an inquiry is accepted (受理) just before it is dispatched."""
    actions = STEP_IN_COLUMN.get(visit["column"]["key"], ()) if kind.name == "inquiries" else ()
    if stage == "accept" and len(actions) > 1:
        return max(visit["entered"], visit["left"] - timedelta(minutes=20 * (len(actions) - 1)))
    return visit["left"]


async def _reply(card_id: int, author: int | None, sent_at: datetime, index: int) -> None:
    from portal.comments.tables import CommentDetail, Reply, ReplyStatus

    await Reply.insert(
        Reply(
            card=card_id,
            body=REPLIES[index % len(REPLIES)],
            status=ReplyStatus.sent,
            author=author,
            created_at=sent_at - timedelta(minutes=3),
            sent_at=sent_at,
        )
    )
    await CommentDetail.update({CommentDetail.replied_at: sent_at}).where(CommentDetail.card == card_id)


async def _steps(card_id: int, visits: list[dict[str, Any]]) -> None:
    """Move the inquiry's steps (受理, 派单, 签收 …) to the instants of its path."""
    from portal.inquiries.tables import InquiryDetail, InquiryStep

    for visit in visits:
        actions = STEP_IN_COLUMN.get(visit["column"]["key"], ())
        for position, action in enumerate(actions):
            # 受理 a little before 派单; the last step of a column is the move out of it.
            at = visit["left"] - timedelta(minutes=20 * (len(actions) - 1 - position))
            at = max(at, visit["entered"])
            await InquiryStep.update({InquiryStep.created_at: at}).where(
                (InquiryStep.card == card_id) & (InquiryStep.action == action)
            )
            if action == "accept":
                await InquiryDetail.update({InquiryDetail.accepted_at: at}).where(InquiryDetail.card == card_id)
