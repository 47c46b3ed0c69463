"""A department's view of the inquiry loop (部门待办): what is routed to one department across
every inquiry board the viewer works, grouped by what the department has to do next.

Groups (a case is shown in the first that fits, so that the liaison reads each case once):

- 被退回 (sent back): in 办理中 with the centre's 审核退回 as its latest step, or back at
  待受理 after the department's own 退单 — with the reason;
- 重办 (reopened): reopened after a dissatisfied follow-up and not closed yet;
- 待签收 (to sign for): dispatched to the department as lead;
- 办理中 (in hand): the department handles it;
- 协办 (assisting): the department is asked to assist and has given no opinion since the case
  was last dispatched.

A liaison sees her own department's queue (and only the cases she may see on each board);
the centre's staff and managers choose a department. Reads only: every action is taken in
the case's drawer (portal.inquiries.workflow).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.accounts.tables import Role
from portal.boards.access import BoardAccess, access_for
from portal.boards.tables import Board, BoardMember
from portal.cards.tables import Card
from portal.core.identity import CurrentUser
from portal.i18n import lazy_gettext as _l
from portal.inquiries import workflow
from portal.inquiries.tables import InquiryStep

GROUPS = (
    ("sent_back", _l("Sent back (被退回)")),
    ("reopened", _l("Reopened (重办)")),
    ("to_sign", _l("To sign for (待签收)")),
    ("handling", _l("In hand (办理中)")),
    ("assisting", _l("Assisting (协办)")),
)
# The kind's own fields a row shows (read with the card, one statement).
DETAIL_FIELDS = ("urgency", "reopen_count", "supervise_count", "master_card")
OPEN_FOR_OPINION = frozenset({"dispatched", "handling", "review"})


async def inquiry_accesses(user: CurrentUser) -> list[BoardAccess]:
    """The viewer's access to every open inquiry board she works (administrators: all)."""
    query = Board.select(Board.id).where((Board.kind == workflow.KIND) & (Board.archived == False))  # noqa: E712
    if not user.is_admin:
        query = query.where(Board.id.is_in(BoardMember.select(BoardMember.board).where(BoardMember.user == user.id)))
    return [await access_for(user, row["id"]) for row in await query.order_by(Board.id)]


def is_overdue(card: dict[str, Any], now: datetime) -> bool:
    """Past its due time; a paused clock (挂起) stands still, so a case paused in time is not."""
    due = card.get("due_at")
    if due is None:
        return False
    return due < (card.get("paused_at") or now)


async def open_cases(accesses: list[BoardAccess], *, routed_only: bool = True, overdue_at: datetime | None = None):
    """The open (not closed, not merged) cases on these boards that each viewer may see, with
    their state and their kind's fields. ``routed_only``: only cases with a lead department;
    ``overdue_at``: only cases overdue at that time."""
    from portal.inquiries.kind import KIND as INQUIRIES

    by_board = {access.board_id: access for access in accesses}
    if not by_board:
        return []
    query = Card.select(
        Card.id,
        Card.title,
        Card.board,
        Card.board.name.as_alias("board_name"),
        Card.column,
        Card.column.key.as_alias("column_key"),
        Card.column.meaning.as_alias("column_meaning"),
        Card.department,
        Card.assisting_departments,
        Card.due_at,
        Card.due_stage,
        Card.paused_at,
        Card.priority,
        *INQUIRIES.joined(DETAIL_FIELDS),
    ).where(Card.board.is_in(sorted(by_board)) & (Card.archived == False))  # noqa: E712
    if routed_only:
        query = query.where(Card.department.is_not_null())
    if overdue_at is not None:
        query = query.where(Card.due_at < overdue_at)
    rows = await query.order_by(Card.id).output(load_json=True)
    cases = []
    for row in rows:
        INQUIRIES.defaults(row, DETAIL_FIELDS)
        row["state"] = workflow.state_of({"key": row.pop("column_key"), "meaning": row.pop("column_meaning")})
        if row["state"] == "closed" or row.get("master_card"):
            continue  # done, or answered by its master case
        if not by_board[row["board"]].can_see_card(row):
            continue
        if overdue_at is not None and not is_overdue(row, overdue_at):
            continue
        cases.append(row)
    return cases


async def _steps_of(card_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each case's steps, oldest first (what the queue needs of them)."""
    steps: dict[int, list[dict[str, Any]]] = {}
    if not card_ids:
        return steps
    rows = (
        await InquiryStep.select(
            InquiryStep.id,
            InquiryStep.card,
            InquiryStep.action,
            InquiryStep.department,
            InquiryStep.text,
            InquiryStep.created_at,
            InquiryStep.actor.display_name.as_alias("actor_name"),
        )
        .where(InquiryStep.card.is_in(card_ids))
        .order_by(InquiryStep.id)
    )
    for row in rows:
        steps.setdefault(row["card"], []).append(row)
    return steps


def _opinion_given(steps: list[dict[str, Any]], department: int) -> bool:
    """Has the department given its opinion since the case was last dispatched?"""
    for step in reversed(steps):
        if step["action"] == "dispatch":
            return False
        if step["action"] == "opinion" and step["department"] == department:
            return True
    return False


def group_of(case: dict[str, Any], steps: list[dict[str, Any]], department: int) -> str | None:
    """Which group of the department's queue the case is in, if any (see the module's note)."""
    state = case["state"]
    last = steps[-1]["action"] if steps else ""
    if case.get("department") == department:
        if (state == "handling" and last == "send_back") or (state == "new" and last == "return"):
            return "sent_back"
        if case.get("reopen_count"):
            return "reopened"
        if state == "dispatched":
            return "to_sign"
        if state == "handling":
            return "handling"
        return None  # with the centre (待受理, 待审核, 已答复): nothing for the department now
    if department in (case.get("assisting_departments") or []) and state in OPEN_FOR_OPINION:
        return None if _opinion_given(steps, department) else "assisting"
    return None


def row_of(case: dict[str, Any], steps: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    last = steps[-1] if steps else None
    return {
        **case,
        "link": f"/boards/{case['board']}?card={case['id']}",
        "state_label": workflow.STATES.label(case["state"]),
        "urgency_label": workflow.URGENCIES.label(case["urgency"]) if case.get("urgency") else "",
        "overdue": is_overdue(case, now),
        "last_step": last,
        "last_step_label": workflow.ACTIONS[last["action"]].label
        if last and last["action"] in workflow.ACTIONS
        else (last or {}).get("action", ""),
        "reason": last["text"] if last and last["action"] in ("send_back", "return") else "",
    }


def _by_due(row: dict[str, Any]) -> tuple:
    far = datetime.max.replace(tzinfo=UTC)
    return (row["due_at"] or far, row["id"])


async def department_queue(user: CurrentUser, department: int | None) -> dict[str, Any]:
    """The queue page: a liaison's own department (whatever she asks for), or the department
    the centre chose. ``groups``: (key, label, rows) in the page's order."""
    now = datetime.now(UTC)
    is_liaison = user.role == Role.liaison
    if is_liaison:
        department = user.department_id
    departments = await workflow.department_names()
    if department not in departments:
        department = None
    groups: dict[str, list[dict[str, Any]]] = {key: [] for key, _label in GROUPS}
    if department is not None:
        cases = await open_cases(await inquiry_accesses(user))
        steps = await _steps_of([case["id"] for case in cases])
        for case in cases:
            key = group_of(case, steps.get(case["id"], []), department)
            if key is not None:
                groups[key].append(row_of(case, steps.get(case["id"], []), now))
    return {
        "department": department,
        "departments": departments,
        "choose": not is_liaison,
        "groups": [(key, label, sorted(groups[key], key=_by_due)) for key, label in GROUPS],
        "total": sum(len(rows) for rows in groups.values()),
    }
