"""上报: a sensitive comment reported upward — to 网信办 (cac), a leader or a department — with
a risk level, a reason and its own response clock; the target's instruction (批示) comes back
onto the card.

One escalation is one unit of the write path: the Escalation row, the card's move to 已上报
(``portal.cards.services.move_within``, the move's own steps inside this unit: stage history,
clocks — the first-reply clock keeps its due time, 已上报 is not a stage of its own), the
``comment.escalated`` event and the targets' notifications, all in one transaction: a card
never sits in 已上报 without its targets having been told.

Who sees an escalation: its targets (they are told about it precisely so that they answer
it, even when they are not members of the board) and whoever manages the board. Both may
give the instruction or close it; anyone else who may see the card sees it in the drawer
(403 for acting on it), anyone who may not see the card gets 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from portal.accounts.services import CurrentUser, NotFound, PermissionDenied
from portal.accounts.tables import Department, Role, User
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for, system_access
from portal.boards.tables import BoardMember, BoardRole
from portal.cards import services as cards
from portal.comments.tables import CommentDetail, Escalation, EscalationStatus
from portal.core.choices import Choices
from portal.core.forms import FormError, valid_id
from portal.core.schemas import Input
from portal.events.kinds import EventKind
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.sla import services as sla

KIND = "comments"
REPORTED_COLUMN = "reported"  # 已上报
CAC_DEPARTMENT = "cac"  # 网信办: its people and the administrators receive escalations to cac

TARGETS = Choices(
    ("cac", _l("Cyberspace Administration (网信办)")),
    ("leader", _l("A leader")),
    ("department", _l("A department")),
)
RISKS = Choices(
    ("general", _l("General risk")),
    ("serious", _l("Serious risk")),
    ("major", _l("Major risk")),
)
STATUSES = Choices(
    (EscalationStatus.open, _l("Waiting for instruction")),
    (EscalationStatus.instructed, _l("Instructed")),
    (EscalationStatus.closed, _l("Closed")),
)

# Its own response clock: a major risk within 2 working hours, anything else within 1
# working day (counted as every working-day clock is: from the next working day).
RESPONSE = {"major": (2, "working_hours")}
RESPONSE_DEFAULT = (1, "working_days")


class EscalationInput(Input):
    target: Literal["cac", "leader", "department"]
    target_user: int | None = None
    target_department: int | None = None
    risk: Literal["general", "serious", "major"]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]

    messages = {
        "target": _l("Choose whom to report to."),
        "risk": _l("Choose a risk level."),
        "reason": _l("Say why it is reported (at most 1000 characters)."),
        "target_user": _l("Choose a leader."),
        "target_department": _l("Choose a department."),
    }

    @model_validator(mode="after")
    def _named(self) -> EscalationInput:
        if self.target == "leader" and self.target_user is None:
            raise FormError({"target_user": _("Choose a leader.")})
        if self.target == "department" and self.target_department is None:
            raise FormError({"target_department": _("Choose a department.")})
        return self


class InstructionInput(Input):
    instruction: Annotated[str, Field(min_length=1, max_length=2000)]

    messages = {"instruction": _l("Write the instruction (at most 2000 characters).")}


def response_due(calendar, start: datetime, risk: str) -> datetime:
    amount, mode = RESPONSE.get(risk, RESPONSE_DEFAULT)
    return calendar.due(start, amount, mode)


# Reads ------------------------------------------------------------------------------------


def _require_comments(access: BoardAccess) -> None:
    """A card of another kind has no escalations here: like a card that does not exist."""
    if access.board_kind != KIND:
        raise NotFound


async def comment_access(user: CurrentUser, card_id: int) -> BoardAccess:
    """The viewer's access to a comment card she may see (NotFound otherwise)."""
    access = await access_for(user, await cards.find_board_of(card_id))
    _require_comments(access)
    await cards.require_visible(access, card_id)
    return access


async def leaders() -> list[dict[str, Any]]:
    """Whom a comment may be reported to as "a leader": active managers and viewers (分管领导)."""
    return (
        await User.select(User.id, User.display_name, User.title, User.role)
        .where(User.role.is_in([Role.manager, Role.viewer]) & (User.active == True))  # noqa: E712
        .order_by(User.display_name)
    )


async def departments() -> list[dict[str, Any]]:
    return (
        await Department.select(Department.id, Department.code, Department.name_zh, Department.name_en)
        .where(Department.active == True)  # noqa: E712
        .order_by(Department.id)
    )


_FIELDS = (
    Escalation.id,
    Escalation.card,
    Escalation.board,
    Escalation.target,
    Escalation.target_user,
    Escalation.target_department,
    Escalation.target_user.display_name.as_alias("target_user_name"),
    Escalation.target_department.name_zh.as_alias("target_department_zh"),
    Escalation.target_department.name_en.as_alias("target_department_en"),
    Escalation.risk,
    Escalation.reason,
    Escalation.status,
    Escalation.due_at,
    Escalation.instruction,
    Escalation.instructed_at,
    Escalation.instructed_by.display_name.as_alias("instructed_by_name"),
    Escalation.created_at,
    Escalation.created_by.display_name.as_alias("created_by_name"),
)


def _decorate(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    row["overdue"] = row["status"] == EscalationStatus.open and row["due_at"] is not None and row["due_at"] < now
    return row


async def for_card(access: BoardAccess, card_id: int) -> list[dict[str, Any]]:
    """The card's escalations, newest first (the drawer section)."""
    now = datetime.now(UTC)
    rows = await Escalation.select(*_FIELDS).where(Escalation.card == card_id).order_by(Escalation.id, ascending=False)
    return [_decorate(row, now) for row in rows]


async def section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    return {
        "card": card,
        "access": access,
        "escalations": await for_card(access, card_id),
        "leaders": await leaders() if access.can_edit else [],
        "departments": await departments() if access.can_edit else [],
        "targets": TARGETS,
        "risks": RISKS,
        "statuses": STATUSES,
        "errors": {},
        "values": None,
        "flash": "",
    }


async def _managed_boards(user: CurrentUser) -> set[int]:
    rows = await BoardMember.select(BoardMember.board).where(
        (BoardMember.user == user.id) & (BoardMember.role == BoardRole.manager)
    )
    # A liaison or a viewer given manager membership does not manage (see access_for).
    if user.role in (Role.liaison, Role.viewer):
        return set()
    return {row["board"] for row in rows}


async def _is_cac(user: CurrentUser) -> bool:
    if user.is_admin:
        return True
    if user.department_id is None:
        return False
    return await Department.exists().where((Department.id == user.department_id) & (Department.code == CAC_DEPARTMENT))


def _targets_user(row: dict[str, Any], user: CurrentUser, cac: bool) -> bool:
    if row["target"] == "cac":
        return cac
    if row["target"] == "leader":
        return row["target_user"] == user.id
    return (
        row["target_department"] is not None
        and row["target_department"] == user.department_id
        and user.role in (Role.liaison, Role.manager)
    )


async def list_for(user: CurrentUser) -> list[dict[str, Any]]:
    """The 上报 list: escalations this user is a target of or whose board she manages; open
    ones first (the most urgent due time first), then the rest newest first."""
    now = datetime.now(UTC)
    cac = await _is_cac(user)
    managed = await _managed_boards(user)
    query = Escalation.select(
        *_FIELDS,
        Escalation.card.title.as_alias("card_title"),
        Escalation.card.body.as_alias("card_body"),
        Escalation.board.name.as_alias("board_name"),
    ).where(Escalation.card.archived == False)  # noqa: E712
    if not user.is_admin:
        mine = (Escalation.target == "leader") & (Escalation.target_user == user.id)
        if cac:
            mine = mine | (Escalation.target == "cac")
        if user.department_id is not None and user.role in (Role.liaison, Role.manager):
            mine = mine | ((Escalation.target == "department") & (Escalation.target_department == user.department_id))
        if managed:
            mine = mine | Escalation.board.is_in(sorted(managed))
        query = query.where(mine)
    rows = await query.order_by(Escalation.id, ascending=False).limit(500)
    authors = {
        row["card"]: row["author_handle"]
        for row in await CommentDetail.select(CommentDetail.card, CommentDetail.author_handle).where(
            CommentDetail.card.is_in([row["card"] for row in rows] or [0])
        )
    }
    for row in rows:
        _decorate(row, now)
        row["author_handle"] = authors.get(row["card"], "")
        row["may_act"] = row["status"] != EscalationStatus.closed
    far = datetime.max.replace(tzinfo=UTC)
    open_rows = sorted(
        (row for row in rows if row["status"] == EscalationStatus.open), key=lambda row: row["due_at"] or far
    )
    return open_rows + [row for row in rows if row["status"] != EscalationStatus.open]


async def _acting(user: CurrentUser, escalation_id: int) -> tuple[dict[str, Any], BoardAccess | None]:
    """The escalation, if this user may act on it: a target or a manager of its board.
    Someone who may see the card but is neither is refused (403); anyone else: 404."""
    if not valid_id(escalation_id):
        raise NotFound
    row = (
        await Escalation.select(
            *_FIELDS,
            Escalation.card.title.as_alias("card_title"),
            Escalation.card.assignee.as_alias("assignee"),
        )
        .where((Escalation.id == escalation_id) & (Escalation.card.archived == False))  # noqa: E712
        .first()
    )
    if row is None:
        raise NotFound
    access = None
    try:
        access = await access_for(user, row["board"])
        await cards.require_visible(access, row["card"])
    except NotFound:
        access = None
    if (access is not None and access.can_manage) or _targets_user(row, user, await _is_cac(user)):
        return row, access
    if access is not None:
        raise PermissionDenied
    raise NotFound


# Writes -----------------------------------------------------------------------------------


async def _recipients(target: str, target_user: int | None, target_department: int | None) -> list[int]:
    """Whom an escalation tells: for cac the administrators and 网信办's people; for a leader
    that person; for a department its liaisons and managers."""
    active = User.active == True  # noqa: E712
    if target == "cac":
        rows = await User.select(User.id).where(
            active & ((User.role == Role.admin) | (User.department.code == CAC_DEPARTMENT))
        )
    elif target == "leader":
        rows = [{"id": target_user}]
    else:
        rows = await User.select(User.id).where(
            active & (User.department == target_department) & User.role.is_in([Role.liaison, Role.manager])
        )
    return list(dict.fromkeys(row["id"] for row in rows if row["id"] is not None))


async def _check_target(form: EscalationInput) -> tuple[int | None, int | None]:
    if form.target == "leader":
        if not await User.exists().where(
            (User.id == form.target_user) & User.role.is_in([Role.manager, Role.viewer]) & (User.active == True)  # noqa: E712
        ):
            raise FormError({"target_user": _("Choose a leader.")})
        return form.target_user, None
    if form.target == "department":
        if not await Department.exists().where(
            (Department.id == form.target_department) & (Department.active == True)  # noqa: E712
        ):
            raise FormError({"target_department": _("Choose a department.")})
        return None, form.target_department
    return None, None


async def escalate(access: BoardAccess, card_id: int, form: EscalationInput) -> int:
    """上报 the comment: returns the escalation's id. The card moves to 已上报 (if it is not
    there already) keeping its first-reply clock; the targets are notified (bell, e-mail)."""
    _require_comments(access)
    access.require_edit()
    target_user, target_department = await _check_target(form)
    recipients = await _recipients(form.target, target_user, target_department)
    if not recipients:
        raise FormError({"target": _("Nobody would receive this report. Choose another recipient.")})
    reported = await cards.column_by_key(access, REPORTED_COLUMN)
    calendar = await sla.get_calendar()
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        now = datetime.now(UTC)
        rows = await Escalation.insert(
            Escalation(
                card=card_id,
                board=access.board_id,
                target=form.target,
                target_user=target_user,
                target_department=target_department,
                risk=form.risk,
                reason=form.reason,
                due_at=response_due(calendar, now, form.risk),
                created_by=access.user.id,
            )
        ).returning(Escalation.id)
        escalation_id = rows[0]["id"]
        if reported is not None and card["column"] != reported["id"]:
            # 已上报 is no stage: the first-reply clock keeps running and keeps its due time.
            await cards.move_within(unit, access, card, reported, now=now)
        unit.record(
            EventKind.comment_escalated,
            "card",
            card_id,
            {"escalation": escalation_id, "target": form.target, "risk": form.risk},
        )
        title = _(
            "%(name)s reported “%(title)s” (%(risk)s)",
            name=access.user.display_name,
            title=card["title"],
            risk=RISKS.label(form.risk),
        )
        await cards.notify_within(
            unit,
            [
                (
                    user_id,
                    {
                        "kind": "escalation",
                        "title": title[:200],
                        "dedupe_key": f"escalated:{escalation_id}:{user_id}",
                        "body": form.reason[:300],
                        "link": "/escalations",
                        "card_id": card_id,
                    },
                )
                for user_id in recipients
            ],
        )
        cards.after_card_write(unit, access, card)
    return escalation_id


async def _decide(user: CurrentUser, escalation_id: int, instruction: str | None) -> dict[str, Any]:
    row, _access = await _acting(user, escalation_id)
    if row["status"] == EscalationStatus.closed:
        if instruction is None:
            return row  # closed already (two people closed it at once): nothing to do
        raise FormError({"instruction": _("This report is closed.")})
    async with board_write(row["board"], user.id) as unit:
        now = datetime.now(UTC)
        if instruction is not None:
            await Escalation.update(
                {
                    Escalation.status: EscalationStatus.instructed,
                    Escalation.instruction: instruction,
                    Escalation.instructed_by: user.id,
                    Escalation.instructed_at: now,
                }
            ).where(Escalation.id == escalation_id)
            unit.record(EventKind.escalation_instructed, "card", row["card"], {"escalation": escalation_id})
            # The instruction comes back to whoever works the card (if she may still see it).
            assignee = row["assignee"]
            if assignee and assignee != user.id and await boards.who_may_see_card(row["card"], [assignee]):
                title = _(
                    "%(name)s gave an instruction on “%(title)s”", name=user.display_name, title=row["card_title"]
                )
                await cards.notify_within(
                    unit,
                    [
                        (
                            assignee,
                            {
                                "kind": "escalation",
                                "title": title[:200],
                                "dedupe_key": f"instructed:{escalation_id}:{unit.seq}",
                                "body": instruction[:300],
                                "link": f"/boards/{row['board']}?card={row['card']}",
                                "card_id": row["card"],
                            },
                        )
                    ],
                )
        else:
            await Escalation.update({Escalation.status: EscalationStatus.closed}).where(Escalation.id == escalation_id)
            unit.record(EventKind.escalation_closed, "card", row["card"], {"escalation": escalation_id})
        # The card's timeline changed: its viewers get the tile again (as after a note).
        # (As the portal: a target from outside the board may decide without seeing the board.)
        system = await system_access(row["board"])
        try:
            cards.after_card_write(unit, system, await cards.load_for_write(system, row["card"]))
        except NotFound:
            pass  # archived since: nobody is watching its tile
    return row


async def instruct(user: CurrentUser, escalation_id: int, form: InstructionInput) -> dict[str, Any]:
    """批示: the target's (or a manager's) instruction, shown on the card; the card's assignee
    is notified."""
    return await _decide(user, escalation_id, form.instruction)


async def close(user: CurrentUser, escalation_id: int) -> dict[str, Any]:
    return await _decide(user, escalation_id, None)
