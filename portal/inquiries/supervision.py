"""督办 (supervision): a manager presses a department on a case that is late.

- ``overdue(user)``: the open cases past their due time on the boards she manages, grouped by
  who holds them — the lead department while it is dispatched to it or in hand (已派单,
  办理中), the centre (中心) while it waits for the centre (待受理, 待审核, 已答复) — with the
  figures per department;
- ``supervise(access, card_id, note)``: one 督办 notice on one case, one unit of the write
  path: its step in the case's timeline (action ``supervise``, the state unchanged, addressed
  to the lead department), the case's count, the ``inquiry.supervised`` event, a notice to
  the department's liaisons on the board and to its leaders (分管领导: the department's
  managers and viewers — only those who may see the case), and the board's group robots;
- ``department_counts``: 督办 and 重办 per department, read from the steps (the overdue page
  shows them; the departments' evaluation will read them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from piccolo.query.functions.aggregate import Count
from pydantic import Field

from portal.accounts.tables import Role, User
from portal.boards.access import BoardAccess, access_for
from portal.boards.services import who_may_see_card
from portal.cards import services as cards
from portal.core.errors import Conflict, NotFound, PermissionDenied
from portal.core.identity import CurrentUser
from portal.core.labels import mask_numbers
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.outbox import Effect
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.inquiries import workflow
from portal.inquiries.queue import inquiry_accesses, open_cases, row_of
from portal.inquiries.tables import InquiryStep

ACTION = "supervise"
RECENT = timedelta(days=30)
# The states in which a case is the lead department's to move; in the others it waits for
# the centre, and a late case is the centre's.
DEPARTMENT_STATES = frozenset({"dispatched", "handling"})
CENTRE = "centre"


class SuperviseInput(Input):
    note: Annotated[str, Field(min_length=1, max_length=500)]

    messages = {"note": _l("Write what the department must do (at most 500 characters).")}


@dataclass
class Supervision:
    """What one 督办 did: its step, whom it told, how many leaders it could not tell (they
    may not see the case), and the case's count now."""

    card_id: int
    step_id: int
    supervise_count: int
    told: list[int] = field(default_factory=list)
    not_told: int = 0


@dataclass
class Batch:
    """A department's 督办: one notice per overdue case."""

    done: list[Supervision] = field(default_factory=list)

    @property
    def not_told(self) -> int:
        return sum(item.not_told for item in self.done)


def note_of(data: Any) -> str:
    """The note from a form or a JSON object: FormError (422) before anything is read."""
    return parse(SuperviseInput, data).note


# Reads ------------------------------------------------------------------------------------


async def managed_accesses(user: CurrentUser) -> list[BoardAccess]:
    """The inquiry boards this user manages; PermissionDenied (403) when none."""
    managed = [access for access in await inquiry_accesses(user) if access.can_manage]
    if not managed:
        raise PermissionDenied
    return managed


async def department_counts(board_ids: list[int] | None = None, *, now: datetime | None = None) -> dict[int, dict]:
    """Per department (id): ``supervised`` (督办 notices in all), ``supervised_recent`` (in the
    last 30 days) and ``reopened`` (重办: dissatisfied follow-ups that sent its case back),
    from the cases' steps; ``board_ids`` limits them to those boards (None: every board)."""
    since = (now or datetime.now(UTC)) - RECENT

    async def count(condition) -> dict[int, int]:
        query = InquiryStep.select(InquiryStep.department, Count(alias="n")).where(
            condition & InquiryStep.department.is_not_null()
        )
        if board_ids is not None:
            query = query.where(InquiryStep.board.is_in(board_ids or [0]))
        return {row["department"]: row["n"] for row in await query.group_by(InquiryStep.department)}

    supervised = await count(InquiryStep.action == ACTION)
    recent = await count((InquiryStep.action == ACTION) & (InquiryStep.created_at >= since))
    reopened = await count((InquiryStep.action == "follow_up") & (InquiryStep.to_state == "handling"))
    return {
        department: {
            "supervised": supervised.get(department, 0),
            "supervised_recent": recent.get(department, 0),
            "reopened": reopened.get(department, 0),
        }
        for department in sorted({*supervised, *recent, *reopened})
    }


def holder_of(case: dict[str, Any]) -> int | str:
    """Who holds the case now: its lead department, or the centre."""
    if case["state"] in DEPARTMENT_STATES and case.get("department") is not None:
        return case["department"]
    return CENTRE


async def overdue(user: CurrentUser) -> dict[str, Any]:
    """The overdue page: ``groups`` (one per holder, the centre last, the most overdue case
    first), ``counts`` (per department: overdue now, 督办 recent and in all, 重办)."""
    accesses = await managed_accesses(user)
    now = datetime.now(UTC)
    cases = await open_cases(accesses, routed_only=False, overdue_at=now)
    departments = await workflow.department_names()
    by_holder: dict[int | str, list[dict[str, Any]]] = {}
    for case in cases:
        by_holder.setdefault(holder_of(case), []).append(row_of(case, [], now))
    figures = await department_counts([access.board_id for access in accesses], now=now)
    ids = sorted(
        {key for key in by_holder if key != CENTRE} | set(figures), key=lambda d: departments.get(d, {}).get("code", "")
    )
    counts = [
        {
            "department": department,
            "overdue": len(by_holder.get(department, [])),
            **figures.get(department, {"supervised": 0, "supervised_recent": 0, "reopened": 0}),
        }
        for department in ids
        if department in departments
    ]
    groups = [
        {"department": key, "rows": sorted(by_holder[key], key=lambda row: row["due_at"])}
        for key in [*[d for d in ids if d in by_holder], *([CENTRE] if CENTRE in by_holder else [])]
    ]
    return {
        "groups": groups,
        "counts": counts,
        "departments": departments,
        "total": len(cases),
        "centre_overdue": len(by_holder.get(CENTRE, [])),
    }


async def notices(card_id: int, card: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The case's 督办 notices, newest first (its drawer section); given the card as shown to
    the viewer, masked as its timeline is."""
    return [step for step in reversed(await workflow.steps(card_id, card)) if step["action"] == ACTION]


# Writes -----------------------------------------------------------------------------------


async def leaders(department: int) -> list[int]:
    """The department's leaders (分管领导): its active users whose global role is manager or
    viewer (an administrator of the department too)."""
    rows = await User.select(User.id).where(
        (User.department == department)
        & (User.active == True)  # noqa: E712
        & User.role.is_in([Role.manager, Role.viewer, Role.admin])
    )
    return [row["id"] for row in rows]


async def supervise(access: BoardAccess, card_id: int, note: Any) -> Supervision:
    """Issue one 督办 notice on the case. NotFound for a case this viewer may not see;
    PermissionDenied (403) unless she manages the board; FormError (422) for a missing or
    too long note; Conflict (409) for a closed or merged case, or one not dispatched to a
    department yet. Nothing is written unless all is well."""
    await workflow.case_access(access, card_id)
    if not access.can_manage:
        raise PermissionDenied
    text = note_of({"note": note})
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        state = workflow.state_of(await workflow.column_of(card["column"]))
        if state == "closed":
            raise Conflict(_("This case is closed (办结): there is nothing to supervise."))
        if card.get("master_card"):
            raise Conflict(_("This case is merged under case #%(id)s; supervise that one.", id=card["master_card"]))
        department = card.get("department")
        if department is None:
            raise Conflict(_("This case has not been dispatched to a department yet."))
        rows = await InquiryStep.insert(
            InquiryStep(
                card=card_id,
                board=access.board_id,
                action=ACTION,
                from_state=state,
                to_state=state,
                actor=access.user.id,
                department=department,
                text=text,
                data={"due_at": card["due_at"].isoformat() if card.get("due_at") else None},
            )
        ).returning(InquiryStep.id)
        step_id = rows[0]["id"]
        count = (card.get("supervise_count") or 0) + 1  # the board is locked: no lost update
        await _kind().update_detail(card_id, {"supervise_count": count})
        unit.record(
            EventKind.inquiry_supervised,
            "card",
            card_id,
            {"action": ACTION, "step": step_id, "from_state": state, "to_state": state, "department": department},
        )
        liaisons = await workflow.liaisons(access.board_id, [department])
        heads = [user_id for user_id in await leaders(department) if user_id not in liaisons]
        wanted = [user_id for user_id in [*liaisons, *heads] if user_id != access.user.id]
        told = await who_may_see_card(card_id, wanted)
        name = await _department_name(department)
        title = _("Supervision notice (督办): “%(title)s”", title=mask_numbers(card["title"]))
        await cards.notify_within(
            unit,
            [
                (
                    user_id,
                    {
                        "kind": "case",
                        "title": title[:200],
                        "dedupe_key": f"case:{step_id}:{user_id}",
                        "body": mask_numbers(text)[:300],
                        "link": f"/boards/{access.board_id}?card={card_id}",
                        "card_id": card_id,
                    },
                )
                for user_id in told
            ],
        )
        unit.after_commit(
            Effect(
                "robots",
                {
                    "board_id": access.board_id,
                    "key": f"case:{step_id}",
                    "text": _(
                        "Supervision (督办): “%(title)s” → %(department)s: %(note)s",
                        title=mask_numbers(card["title"]),
                        department=name,
                        note=mask_numbers(text),
                    ),
                },
            )
        )
        cards.after_card_write(unit, access, {**card, "supervise_count": count})
    return Supervision(card_id, step_id, count, told, len([u for u in wanted if u not in told]))


async def supervise_case(user: CurrentUser, card_id: int, note: Any) -> Supervision:
    """``supervise`` for a case given by id (its board's access for this user)."""
    access = await access_for(user, await cards.find_board_of(card_id))
    return await supervise(access, card_id, note)


async def supervise_department(user: CurrentUser, department: int, note: Any) -> Batch:
    """督办 on every case the department holds that is overdue on the boards this user
    manages: one notice per case, each its own unit. PermissionDenied unless she manages an
    inquiry board; FormError for a bad note; Conflict when the department has none."""
    accesses = await managed_accesses(user)
    text = note_of({"note": note})
    by_board = {access.board_id: access for access in accesses}
    now = datetime.now(UTC)
    late = [case for case in await open_cases(accesses, overdue_at=now) if holder_of(case) == department]
    if not late:
        raise Conflict(_("This department holds no overdue case."))
    batch = Batch()
    for case in late:
        try:
            batch.done.append(await supervise(by_board[case["board"]], case["id"], text))
        except (Conflict, NotFound):
            continue  # closed or moved on meanwhile: nothing to press it on
    return batch


def _kind():
    from portal.inquiries.kind import KIND as INQUIRIES  # the kind imports the workflow

    return INQUIRIES


async def _department_name(department: int) -> str:
    names = await workflow.department_names()
    return (names.get(department) or {}).get("name_zh", "")
