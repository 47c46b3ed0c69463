"""An inquiry's loop, enforced on the server: 待受理 → 已派单 → 办理中 → 待审核 → 已答复 → 办结.

A case's state is the column it is in (``state_of``): the board shows the states as its
columns, and the only ways between them are the actions below, each allowed in some states
and to some people:

============== ================= =============== ======================================
action         from              to              who
============== ================= =============== ======================================
accept         new               (stays)         the centre: category, urgency
answer_directly new              answered        the centre, for what it answers itself
dispatch       new               dispatched      the centre: lead and assisting departments
sign           dispatched        handling        the lead department (签收)
return         dispatched        new             the lead department, with a reason (退单)
opinion        dispatched…review (stays)         an assisting department (协办意见)
contact        handling…answered (stays)         the lead department or the centre
submit_answer  handling          review          the lead department
approve        review            answered        the centre (审核通过)
send_back      review            handling        the centre, with a reason (审核退回)
follow_up      answered          closed/handling the centre: the citizen's verdict (回访);
                                                 dissatisfied reopens the case (重办)
============== ================= =============== ======================================

"The centre" is whoever works the board and is not a department's liaison; "the lead
department" is a liaison of the case's responsible department; "an assisting department" a
liaison of one of its assisting departments. A board's manager may also act for a department
(a department with no liaison on the board must not stall a case).

Dragging a card is one of these actions or nothing (``on_move``): a drag may do what an
allowed action with no further input would do (sign, approve, dispatch to the departments
already on the card, submit the answer already written); anything else is refused with the
button to use. Each action is one unit of the write path: its step row (the case's
timeline), the card's move (stage history and the stage's clock), its event and whom it
tells, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from portal.accounts.tables import Department, Role
from portal.boards.access import BoardAccess
from portal.boards.tables import BoardMember
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.core.choices import INQUIRY_CATEGORIES, Choices
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.labels import mask_numbers
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.outbox import Effect
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.inquiries import merging
from portal.inquiries.tables import InquiryStep
from portal.sla import clocks

KIND = "inquiries"

STATES = Choices(
    ("new", _l("New (待受理)")),
    ("dispatched", _l("Dispatched (已派单)")),
    ("handling", _l("Handling (办理中)")),
    ("review", _l("In review (待审核)")),
    ("answered", _l("Answered (已答复)")),
    ("closed", _l("Closed (办结)")),
)
# The state each default column stands for (回访, a column of older boards, is answered:
# the follow-up is the answered case's next action).
STATE_BY_COLUMN_KEY = {
    "pending_accept": "new",
    "dispatched": "dispatched",
    "handling": "handling",
    "review": "review",
    "answered": "answered",
    "follow_up": "answered",
    "closed": "closed",
}
COLUMN_KEY_BY_STATE = {
    "new": "pending_accept",
    "dispatched": "dispatched",
    "handling": "handling",
    "review": "review",
    "answered": "answered",
    "closed": "closed",
}
# A column a manager added stands for the state its meaning suggests (a "材料补正" column
# with meaning "working" is part of handling).
STATE_BY_MEANING = {"new": "new", "working": "handling", "waiting": "handling", "done": "closed"}

URGENCIES = Choices(
    ("normal", _l("Normal (一般)")),
    ("urgent", _l("Urgent (紧急)")),
    ("critical", _l("Critical (特急)")),
)
URGENCY_ALIASES = {"一般": "normal", "紧急": "urgent", "特急": "critical"}
PRIORITY_BY_URGENCY = {"normal": "normal", "urgent": "high", "critical": "urgent"}

VERDICTS = Choices(
    ("satisfied", _l("Satisfied (满意)")),
    ("basically_satisfied", _l("Basically satisfied (基本满意)")),
    ("dissatisfied", _l("Dissatisfied (不满意)")),
)
VERDICT_ALIASES = {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "dissatisfied"}


def state_of(column: dict[str, Any]) -> str:
    return STATE_BY_COLUMN_KEY.get(column.get("key") or "") or STATE_BY_MEANING.get(column.get("meaning"), "handling")


# Input ------------------------------------------------------------------------------------


def _alias(aliases: dict[str, str]):
    return BeforeValidator(lambda value: aliases.get(value, value) if isinstance(value, str) else value)


Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]


class NoInput(Input):
    pass


class AcceptInput(Input):
    category: INQUIRY_CATEGORIES.literal()  # type: ignore[valid-type]
    urgency: Annotated[Literal["normal", "urgent", "critical"], _alias(URGENCY_ALIASES)]

    messages = {"category": _l("Choose a category."), "urgency": _l("Choose an urgency: 一般, 紧急 or 特急.")}


class AnswerInput(Input):
    answer: LongText

    messages = {"answer": _l("Write the answer (at most 5000 characters).")}


class DispatchInput(Input):
    lead_department: int
    assisting_departments: list[int] = []
    instructions: Annotated[str, Field(max_length=2000)] = ""

    messages = {
        "lead_department": _l("Choose the lead department."),
        "assisting_departments": _l("Choose a department."),
        "instructions": _l("Use at most 2000 characters."),
    }

    @field_validator("lead_department")
    @classmethod
    def _lead(cls, value: int, info: ValidationInfo) -> int:
        departments = (info.context or {}).get("departments")
        if departments is not None and value not in departments:
            raise ValueError(_("Choose the lead department."))
        return value

    @field_validator("assisting_departments")
    @classmethod
    def _assisting(cls, value: list[int], info: ValidationInfo) -> list[int]:
        departments = (info.context or {}).get("departments")
        if departments is not None and set(value) - departments:
            raise ValueError(_("Choose a department."))
        return sorted(set(value))


class ReasonInput(Input):
    reason: Text

    messages = {"reason": _l("Give a reason (at most 2000 characters).")}


class OpinionInput(Input):
    text: Text

    messages = {"text": _l("Write the opinion (at most 2000 characters).")}


class ContactInput(Input):
    note: Text

    messages = {"note": _l("Say how the citizen was contacted and what was said (at most 2000 characters).")}


class FollowUpInput(Input):
    verdict: Annotated[Literal["satisfied", "basically_satisfied", "dissatisfied"], _alias(VERDICT_ALIASES)]
    remarks: Annotated[str, Field(max_length=2000)] = ""

    messages = {"verdict": _l("Choose the citizen's verdict."), "remarks": _l("Use at most 2000 characters.")}


# The actions ------------------------------------------------------------------------------

CENTRE, LEAD, ASSISTING, LEAD_OR_CENTRE = "centre", "lead", "assisting", "lead_or_centre"


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    sources: frozenset[str]
    target: str | None  # None: the case stays where it is
    who: str
    input: type[Input]


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("accept", _l("Accept (受理)"), frozenset({"new"}), None, CENTRE, AcceptInput),
        Action(
            "answer_directly", _l("Answer directly (直接答复)"), frozenset({"new"}), "answered", CENTRE, AnswerInput
        ),
        Action("dispatch", _l("Dispatch (派单)"), frozenset({"new"}), "dispatched", CENTRE, DispatchInput),
        Action("sign", _l("Sign for it (签收)"), frozenset({"dispatched"}), "handling", LEAD, NoInput),
        Action("return", _l("Return it (退单)"), frozenset({"dispatched"}), "new", LEAD, ReasonInput),
        Action(
            "opinion",
            _l("Add an opinion (协办意见)"),
            frozenset({"dispatched", "handling", "review"}),
            None,
            ASSISTING,
            OpinionInput,
        ),
        Action(
            "contact",
            _l("Record a contact (联系记录)"),
            frozenset({"handling", "review", "answered"}),
            None,
            LEAD_OR_CENTRE,
            ContactInput,
        ),
        Action(
            "submit_answer", _l("Submit the answer (提交答复)"), frozenset({"handling"}), "review", LEAD, AnswerInput
        ),
        Action("approve", _l("Approve (审核通过)"), frozenset({"review"}), "answered", CENTRE, NoInput),
        Action("send_back", _l("Send back (审核退回)"), frozenset({"review"}), "handling", CENTRE, ReasonInput),
        Action("follow_up", _l("Follow up (回访)"), frozenset({"answered"}), "closed", CENTRE, FollowUpInput),
    )
}
# A drag between these states is this action, when the card already holds its input.
DRAG_ACTIONS = {
    ("new", "dispatched"): "dispatch",
    ("new", "answered"): "answer_directly",
    ("dispatched", "handling"): "sign",
    ("handling", "review"): "submit_answer",
    ("review", "answered"): "approve",
}


def is_centre(access: BoardAccess) -> bool:
    return access.can_edit and access.department_only is None


def may(access: BoardAccess, action: Action, card: dict[str, Any]) -> bool:
    """May this viewer take this action on this case (whatever its state)?"""
    if not access.can_edit:
        return False
    if action.who == CENTRE:
        return is_centre(access)
    lead = card.get("department")
    lead_liaison = access.department_only is not None and lead is not None and access.department_only == lead
    if action.who == LEAD:
        return lead_liaison or access.can_manage
    if action.who == LEAD_OR_CENTRE:
        return lead_liaison or is_centre(access)
    assisting = card.get("assisting_departments") or []
    return (access.department_only is not None and access.department_only in assisting) or access.can_manage


def allowed(access: BoardAccess, card: dict[str, Any], state: str) -> list[Action]:
    """The actions this viewer may take on the case now: its buttons."""
    if card.get("master_card"):
        return []  # merged under a master case: the master's answer answers it
    actions = [action for action in ACTIONS.values() if state in action.sources and may(access, action, card)]
    if card.get("accepted_at") is None:
        actions = [action for action in actions if action.name != "dispatch"]
    return actions


def _refuse(action: Action, state: str) -> Conflict:
    return Conflict(
        _(
            "“%(action)s” is not possible while the case is %(state)s.",
            action=action.label,
            state=STATES.label(state),
        )
    )


# Reads ------------------------------------------------------------------------------------


async def case_access(access: BoardAccess, card_id: int) -> None:
    if access.board_kind != KIND:
        raise NotFound
    await cards.require_visible(access, card_id)


# A column by id, archived or not (a case in an archived column keeps its state).
column_of = cards.column_any


_STEP_FIELDS = (
    InquiryStep.id,
    InquiryStep.action,
    InquiryStep.from_state,
    InquiryStep.to_state,
    InquiryStep.text,
    InquiryStep.data,
    InquiryStep.due_at,
    InquiryStep.created_at,
    InquiryStep.actor.display_name.as_alias("actor_name"),
    InquiryStep.department,
    InquiryStep.department.name_zh.as_alias("department_zh"),
    InquiryStep.department.name_en.as_alias("department_en"),
)


async def steps(card_id: int, card: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The case's timeline, oldest first. Given the card as shown to a viewer (concealed),
    the steps' text is masked as its question is for whoever may not reveal the citizen's
    numbers (a contact record or an answer may carry them)."""
    rows = (
        await InquiryStep.select(*_STEP_FIELDS)
        .where(InquiryStep.card == card_id)
        .order_by(InquiryStep.id)
        .output(load_json=True)
    )
    if card is not None and not card.get("may_reveal"):
        for row in rows:
            row["text"] = mask_numbers(row["text"] or "")
    return rows


async def department_names() -> dict[int, dict[str, Any]]:
    rows = await Department.select(Department.id, Department.code, Department.name_zh, Department.name_en).where(
        Department.active == True  # noqa: E712
    )
    return {row["id"]: row for row in rows}


# Writes -----------------------------------------------------------------------------------


async def act(access: BoardAccess, card_id: int, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Take action ``name`` on the case with ``payload`` (its JSON body or form): the case as
    it is afterwards, with its ``state``. NotFound for a case this viewer may not see or an
    unknown action; Conflict (409) for an action not allowed in this state or for this user;
    FormError (422) for bad input. Nothing is written unless all is well."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound
    await case_access(access, card_id)
    access.require_edit()  # a viewer never writes: 403, as for every write
    form = parse(action.input, payload, context={"departments": await cards.department_ids()})
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        source = await column_of(card["column"])
        state = state_of(source)
        await _apply(unit, access, card, action, form, state, source)
    return await case(access, card_id)


async def case(access: BoardAccess, card_id: int) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    column = await column_of(card["column"])
    state = state_of(column)
    return {
        "card_id": card_id,
        "state": state,
        "state_label": str(STATES.label(state)),
        "column": column["id"],
        "department": card.get("department"),
        "assisting_departments": card.get("assisting_departments") or [],
        "urgency": card.get("urgency") or "",
        "category": card.get("category"),
        "answer": card.get("answer") or "",
        "reopen_count": card.get("reopen_count") or 0,
        "supervise_count": card.get("supervise_count") or 0,
        "due_at": card.get("due_at").isoformat() if card.get("due_at") else None,
        "due_stage": card.get("due_stage"),
        "actions": [action.name for action in allowed(access, card, state)],
        "version": card.get("version"),
    }


async def _apply(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    action: Action,
    form: Any,
    state: str,
    source: dict[str, Any],
    *,
    dragged_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The action's own writes inside the caller's unit; returns the card as it is after
    them. ``dragged_to``: a drag is moving the card there (the generic move moves it)."""
    if card.get("master_card"):
        raise Conflict(
            _("This case is merged under case #%(id)s; its answer answers this one.", id=card["master_card"])
        )
    if state not in action.sources:
        raise _refuse(action, state)
    if not may(access, action, card):
        raise Conflict(_("Only %(who)s may do this.", who=WHO[action.who]))
    if action.name == "dispatch" and card.get("accepted_at") is None:
        raise Conflict(_("Accept the case (受理) before dispatching it."))
    now = datetime.now(UTC)
    target_state = action.target
    detail: dict[str, Any] = {}
    common: dict[Any, Any] = {}
    text, data, department = "", {}, access.department_only if access.department_only not in (None, -1) else None
    before_departments = [card.get("department"), *(card.get("assisting_departments") or [])]
    notices: list[tuple[list[int], str, str]] = []  # (recipients, title, body)
    robots_text = ""
    title = mask_numbers(card["title"])  # notices and robots reach people who may not reveal numbers

    if action.name == "accept":
        detail = {"category": form.category, "urgency": form.urgency, "accepted_at": now}
        common = {Card.priority: PRIORITY_BY_URGENCY[form.urgency]}
        data = {"category": form.category, "urgency": form.urgency}
        await clocks.stop(card["id"], now)  # 受理 in time: the accept clock stops here
    elif action.name == "answer_directly":
        detail = {"answer": form.answer, "accepted_at": card.get("accepted_at") or now}
        text = form.answer
    elif action.name == "dispatch":
        lead = form.lead_department
        assisting = sorted(set(form.assisting_departments) - {lead})
        common = {Card.department: lead, Card.assisting_departments: assisting}
        detail = {"instructions": form.instructions}
        text, department = form.instructions, lead
        data = {"lead_department": lead, "assisting_departments": assisting}
        notices.append(
            (
                await liaisons(access.board_id, [lead]),
                _("Case routed to your department: “%(title)s”", title=title),
                form.instructions,
            )
        )
        if assisting:
            notices.append(
                (
                    await liaisons(access.board_id, assisting),
                    _("Your department is asked to assist: “%(title)s”", title=title),
                    form.instructions,
                )
            )
        robots_text = _("派单: “%(title)s” → %(department)s", title=title, department=await _department_name(lead))
    elif action.name == "sign":
        department = card.get("department")
    elif action.name == "return":
        text, department = form.reason, card.get("department")
        notices.append(
            (await _dispatchers(access, card["id"]), _("Case returned (退单): “%(title)s”", title=title), form.reason)
        )
    elif action.name == "opinion":
        text = form.text
        notices.append(
            (
                await liaisons(access.board_id, [card.get("department")]),
                _("An assisting department's opinion on “%(title)s”", title=title),
                form.text,
            )
        )
    elif action.name == "contact":
        text = form.note
    elif action.name == "submit_answer":
        detail = {"answer": form.answer}
        text, department = form.answer, card.get("department")
        notices.append(
            (await _dispatchers(access, card["id"]), _("Answer submitted for review: “%(title)s”", title=title), "")
        )
    elif action.name == "approve":
        department = card.get("department")
    elif action.name == "send_back":
        text, department = form.reason, card.get("department")
        notices.append(
            (
                await liaisons(access.board_id, [card.get("department")]),
                _("Answer sent back (审核退回): “%(title)s”", title=title),
                form.reason,
            )
        )
    elif action.name == "follow_up":
        detail = {"verdict": form.verdict}
        text, data = form.remarks, {"verdict": form.verdict}
        department = card.get("department")
        if form.verdict == "dissatisfied":
            target_state = "handling"  # 重办: back to the lead department, counted
            detail["reopen_count"] = (card.get("reopen_count") or 0) + 1
            notices.append(
                (
                    await liaisons(access.board_id, [card.get("department")]),
                    _("Case reopened after a dissatisfied follow-up (重办): “%(title)s”", title=title),
                    form.remarks,
                )
            )

    if dragged_to is not None and target_state is not None and state_of(dragged_to) != target_state:
        raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label))
    if common:
        await Card.update({**common, Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
        card = {**card, **{column._meta.name: value for column, value in common.items()}}
    if detail:
        await _kind().update_detail(card["id"], detail)
        card = {**card, **detail}

    due_at = None
    moved = False
    if target_state is not None and target_state != state:
        target = dragged_to
        if target is None:
            target = await cards.column_by_key(access, COLUMN_KEY_BY_STATE[target_state])
            if target is None:
                raise Conflict(_("This board has no column for “%(state)s”.", state=STATES.label(target_state)))
            await cards.move_within(unit, access, card, target, now=now)
            moved = True
        if moved:
            due_at = (await Card.select(Card.due_at).where(Card.id == card["id"]).first() or {}).get("due_at")
    rows = await InquiryStep.insert(
        InquiryStep(
            card=card["id"],
            board=access.board_id,
            action=action.name,
            from_state=state,
            to_state=target_state or state,
            actor=access.user.id,
            department=department,
            text=text,
            data=data,
            due_at=due_at,
        )
    ).returning(InquiryStep.id)
    step_id = rows[0]["id"]
    unit.record(
        EventKind.inquiry_action,
        "card",
        card["id"],
        {
            "action": action.name,
            "step": step_id,
            "from_state": state,
            "to_state": target_state or state,
            "department": department,
        },
    )
    # Notices reach people who may not reveal the citizen's numbers: bodies are masked.
    notices = [(recipients, title, mask_numbers(body or "")) for recipients, title, body in notices]
    await cards.tell_viewers(unit, access, card["id"], notices, kind="case", key=f"case:{step_id}")
    if robots_text:
        unit.after_commit(
            Effect("robots", {"board_id": access.board_id, "key": f"case:{step_id}", "text": robots_text})
        )
    if dragged_to is None:
        cards.after_card_write(unit, access, card, before=[d for d in before_departments if d is not None])
    # Cases merged under this one follow it when it is answered or closed (its answer answers them).
    if target_state is not None and target_state != state:
        await merging.follow_master(unit, access, card["id"], target_state)
    return card


WHO = {
    CENTRE: _l("the centre (中心)"),
    LEAD: _l("the lead department"),
    ASSISTING: _l("an assisting department"),
    LEAD_OR_CENTRE: _l("the lead department or the centre"),
}


def _kind():
    from portal.inquiries.kind import KIND as INQUIRIES

    return INQUIRIES


async def liaisons(board_id: int, departments: list[int | None]) -> list[int]:
    """The board's active liaisons of these departments (the department's hands on the case)."""
    wanted = [department for department in departments if department is not None]
    if not wanted:
        return []
    rows = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == board_id)
        & (BoardMember.user.role == Role.liaison)
        & (BoardMember.user.active == True)  # noqa: E712
        & BoardMember.user.department.is_in(wanted)
    )
    return [row["user"] for row in rows]


async def _dispatchers(access: BoardAccess, card_id: int) -> list[int]:
    """Whom the centre's side of a case tells: who dispatched it (else the board's managers)."""
    row = (
        await InquiryStep.select(InquiryStep.actor)
        .where((InquiryStep.card == card_id) & (InquiryStep.action == "dispatch"))
        .order_by(InquiryStep.id, ascending=False)
        .first()
    )
    if row and row["actor"]:
        return [row["actor"]]
    managers = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == access.board_id) & (BoardMember.role == "manager")
    )
    return [manager["user"] for manager in managers]


async def _department_name(department_id: int) -> str:
    row = await Department.select(Department.name_zh).where(Department.id == department_id).first()
    return row["name_zh"] if row else ""


# The kind's hooks: a drag is an action or nothing; new cases start at 待受理 ---------------


async def on_move(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], source: dict[str, Any], target: dict[str, Any]
) -> dict[str, Any] | None:
    """A drag (or the API's move) between states is the action it stands for, when the card
    already holds that action's input and this viewer may take it; within a state (a
    reorder, a column a manager added for the same state) it is only a move."""
    from_state, to_state = state_of(source), state_of(target)
    if from_state == to_state:
        return None
    name = DRAG_ACTIONS.get((from_state, to_state))
    full = await cards.load_for_write(access, card["id"])
    if name is None:
        needed = next(
            (
                action
                for action in ACTIONS.values()
                if from_state in action.sources and action.target == to_state and may(access, action, full)
            ),
            None,
        )
        if needed is None and from_state == "answered" and to_state == "handling":
            needed = ACTIONS["follow_up"]
        if needed is not None and may(access, needed, full):
            raise Conflict(_("Use the “%(action)s” button for this step.", action=needed.label))
        raise Conflict(
            _(
                "A case cannot go from %(source)s to %(target)s.",
                source=STATES.label(from_state),
                target=STATES.label(to_state),
            )
        )
    action = ACTIONS[name]
    payload: dict[str, Any] = {}
    if name == "dispatch":
        if full.get("department") is None:
            raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label))
        payload = {
            "lead_department": full["department"],
            "assisting_departments": full.get("assisting_departments") or [],
            "instructions": full.get("instructions") or "",
        }
    elif name in ("submit_answer", "answer_directly"):
        if not (full.get("answer") or "").strip():
            raise Conflict(_("Write the answer first, then use the “%(action)s” button.", action=action.label))
        payload = {"answer": full["answer"]}
    try:
        form = parse(action.input, payload, context={"departments": await cards.department_ids()})
    except FormError as error:
        raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label)) from error
    return await _apply(unit, access, full, action, form, from_state, source, dragged_to=target)


async def on_update(access: BoardAccess, card: dict[str, Any], changes: dict[str, Any]) -> None:
    """The drawer's form may not do what only the loop's actions may: routing a case is 派单
    (while it is new), and its answer is written while it is worked — not rewritten once
    submitted for review (except by the centre reviewing it) or answered."""
    state = state_of(await column_of(card["column"]))
    errors = {}
    if state != "new" and ({"department", "assisting_departments"} & changes.keys()):
        field = "department" if "department" in changes else "assisting_departments"
        errors[field] = _("A dispatched case is routed by the loop: return it (退单) to change its departments.")
    if "answer" in changes and not (state in ("new", "handling") or (state == "review" and is_centre(access))):
        errors["answer"] = _("The answer can no longer be changed here: it has been submitted or answered.")
    if errors:
        raise FormError(errors)


def on_create(access: BoardAccess, column: dict[str, Any]) -> None:
    """A new case starts at 待受理; it reaches the later states only through the loop."""
    if state_of(column) != "new":
        raise Conflict(_("A new case starts in “%(state)s”.", state=STATES.label("new")))
