"""An incident's course, enforced on the server: 监测 → 研判 → 处置 → 回应 → 平息.

The incident's state is the column its card is in (``state_of``); the only ways between
states are the actions below, each allowed in some states and to some people:

================= ============================ ============ ==============================
action            from                         to           who
================= ============================ ============ ==============================
assess            监测 … 回应                   研判 (from 监测) an editor: level, 研判, people
respond-plan      研判, 处置                    处置          an editor: the handling plan
submit-statement  处置, 回应                    (stays)      an editor: a new version of 回应口径
approve-statement 处置, 回应                    (stays)      a manager, naming the version read
                                                            (not its drafter, when the board
                                                            has another manager)
return-statement  处置, 回应                    (stays)      a manager, with a reason
publish-statement 处置, 回应                    回应          an editor, naming the approved version
instruct          any but 平息                  (stays)      a manager, administrator or leader
                                                            (the viewer role: 批示)
link-comments     any but 平息                  (stays)      an editor
calm              处置, 回应                    平息          an editor
review            平息                          (stays)      an editor: 复盘
close             平息                          (archived)   an editor, once the review is written
================= ============================ ============ ==============================

"An editor" is anyone who works the board (members, managers, administrators); viewers
read only, except that a leader (a user of the global viewer role on the board) gives 批示.
A statement is published only as approved: approving names the version the manager read, so
a version submitted meanwhile is never approved unread, and by another manager than its
drafter where there is one (审核 is four eyes); submitting a new version withdraws an earlier
approval (what goes out is the latest version written, approved), and publishing names the
approved version. The
first-response clock is the card's own throughout (its pauses, extensions and level); a
statement awaiting approval has a due time of its own (``review_due``), shown beside it.
Dragging a card is one of these actions or a 409 naming the button.
Each action is one unit of the write path: its rows, the card's move (stage history and
clock), its ``incident.action`` event (the incident's timeline) and whom it tells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from portal.accounts.tables import Role
from portal.boards import services as boards
from portal.boards.access import BoardAccess
from portal.boards.tables import BoardRole
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.core.choices import RISK_LEVELS, Choices
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.incidents import schemas
from portal.incidents.schemas import LINKED, linked_message
from portal.incidents.tables import IncidentComment, IncidentStatement
from portal.sla import clocks, policies
from portal.sla import services as sla

KIND = "incidents"

STATES = Choices(
    ("monitoring", _l("Monitoring (监测)")),
    ("assessing", _l("Assessing (研判)")),
    ("handling", _l("Handling (处置)")),
    ("responding", _l("Responding (回应)")),
    ("calmed", _l("Calmed down (平息)")),
)
# The default columns' keys are the states; a column a manager added stands for the state
# its meaning suggests.
STATE_BY_MEANING = {"new": "monitoring", "working": "handling", "waiting": "responding", "done": "calmed"}
PRIORITY_BY_LEVEL = {"blue": "low", "yellow": "normal", "orange": "high", "red": "urgent"}
OPEN_STATES = frozenset({"monitoring", "assessing", "handling", "responding"})
# A statement follows the handling plan (先定处置方案，再出口径); a later one may follow in 回应.
STATEMENT_STATES = frozenset({"handling", "responding"})


def state_of(column: dict[str, Any]) -> str:
    key = column.get("key") or ""
    return key if key in STATES else STATE_BY_MEANING.get(column.get("meaning"), "handling")


EDITOR, MANAGER, LEADER = "editor", "manager", "leader"


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    sources: frozenset[str]
    target: str | None  # None: the incident stays where it is
    who: str
    input: type[Input]


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("assess", _l("Assess (研判)"), OPEN_STATES, "assessing", EDITOR, schemas.AssessInput),
        Action(
            "respond-plan",
            _l("Plan the response (处置方案)"),
            frozenset({"assessing", "handling"}),
            "handling",
            EDITOR,
            schemas.PlanInput,
        ),
        Action(
            "submit-statement",
            _l("Submit the statement (提交口径)"),
            STATEMENT_STATES,
            None,
            EDITOR,
            schemas.StatementInput,
        ),
        Action(
            "approve-statement",
            _l("Approve the statement (审核通过)"),
            STATEMENT_STATES,
            None,
            MANAGER,
            schemas.VersionInput,
        ),
        Action(
            "return-statement",
            _l("Return the statement (退回修改)"),
            STATEMENT_STATES,
            None,
            MANAGER,
            schemas.ReturnInput,
        ),
        Action(
            "publish-statement",
            _l("Publish the statement (发布回应)"),
            STATEMENT_STATES,
            "responding",
            EDITOR,
            schemas.PublishInput,
        ),
        Action("instruct", _l("Give an instruction (批示)"), OPEN_STATES, None, LEADER, schemas.InstructionInput),
        Action("link-comments", _l("Link comments (关联留言)"), OPEN_STATES, None, EDITOR, schemas.LinkInput),
        Action(
            "calm", _l("Calmed down (平息)"), frozenset({"handling", "responding"}), "calmed", EDITOR, schemas.NoInput
        ),
        Action("review", _l("Write the review (复盘)"), frozenset({"calmed"}), None, EDITOR, schemas.ReviewInput),
        Action("close", _l("Close (结案归档)"), frozenset({"calmed"}), None, EDITOR, schemas.NoInput),
    )
}
# A drag between these states is this action, when the card already holds its input.
DRAG_ACTIONS = {
    ("monitoring", "assessing"): "assess",
    ("assessing", "handling"): "respond-plan",
    ("handling", "responding"): "publish-statement",
    ("handling", "calmed"): "calm",
    ("responding", "calmed"): "calm",
}
WHO = {
    EDITOR: _l("someone who works this board"),
    MANAGER: _l("a manager of this board"),
    LEADER: _l("a manager or a leader of this board"),
}


def is_leader(access: BoardAccess) -> bool:
    """A leader on the board: a user of the global viewer role who is on it (领导, who reads
    and gives 批示 but works no card). A board viewer of another role is not one."""
    return access.board_role == BoardRole.viewer and access.user.role == Role.viewer and access.department_only is None


def may(access: BoardAccess, action: Action) -> bool:
    if action.who == MANAGER:
        return access.can_manage  # administrators count as managers
    if action.who == LEADER:
        return access.can_manage or is_leader(access)
    return access.can_edit


async def approval_by_drafter_refused(access: BoardAccess, card: dict[str, Any]) -> bool:
    """Four eyes (审核): the version awaiting review was submitted by this person, and the
    board has another manager who can approve it (a board with one manager lets that
    manager approve her own draft rather than block the response)."""
    pending = card.get("pending_version")
    if not pending or await _submitter(card["id"], pending) != access.user.id:
        return False
    return any(manager != access.user.id for manager in await boards.board_managers(access.board_id))


def allowed(access: BoardAccess, card: dict[str, Any], state: str, *, own_draft: bool = False) -> list[Action]:
    """The actions this viewer may take on the incident now: its buttons (an action whose
    precondition is not met yet — nothing to approve, nothing approved — is not offered;
    nor approving one's own draft, ``own_draft``: see ``approval_by_drafter_refused``)."""
    result = []
    for action in ACTIONS.values():
        if state not in action.sources or not may(access, action):
            continue
        if action.name in ("approve-statement", "return-statement") and not card.get("pending_version"):
            continue
        if action.name == "approve-statement" and own_draft:
            continue
        if action.name == "submit-statement" and card.get("pending_version"):
            continue
        if action.name == "publish-statement" and not _publishable(card):
            continue
        if action.name == "close" and not (card.get("review") or "").strip():
            continue
        if action.name == "calm" and card.get("pending_version"):
            continue
        result.append(action)
    return result


def _publishable(card: dict[str, Any]) -> bool:
    """An approved version not yet published, and it is the latest submitted (what goes out
    is the latest the team wrote and a manager approved)."""
    approved = card.get("approved_version")
    return (
        approved is not None
        and approved == card.get("statement_version")
        and approved != card.get("published_version")
        and not card.get("pending_version")
    )


async def review_due(card: dict[str, Any]) -> datetime | None:
    """When the manager's decision on the version awaiting review is due: its submission plus
    the statement_review policy for the incident's level (at the level it has now). None when
    nothing awaits review. Apart from the card's clock, which stays the first response."""
    pending = card.get("pending_version")
    if not pending:
        return None
    row = (
        await IncidentStatement.select(IncidentStatement.submitted_at)
        .where((IncidentStatement.card == card["id"]) & (IncidentStatement.version == pending))
        .first()
    )
    if row is None:
        return None
    deadline = policies.deadline_for(
        await sla.get_calendar(),
        await sla.list_policies(),
        board_kind=KIND,
        stage=REVIEW_STAGE,
        priority=card.get("priority") or "normal",
        category=card.get("level"),
        started_at=row["submitted_at"],
    )
    return deadline.due_at


# Reads ------------------------------------------------------------------------------------


async def incident_access(access: BoardAccess, card_id: int) -> None:
    if access.board_kind != KIND:
        raise NotFound
    await cards.require_visible(access, card_id)


async def versions(card_id: int) -> list[dict[str, Any]]:
    """The statement's versions, newest first."""
    return (
        await IncidentStatement.select(
            IncidentStatement.version,
            IncidentStatement.text,
            IncidentStatement.status,
            IncidentStatement.submitted_at,
            IncidentStatement.decided_at,
            IncidentStatement.reason,
            IncidentStatement.published_at,
            IncidentStatement.submitted_by.display_name.as_alias("submitted_by_name"),
            IncidentStatement.decided_by.display_name.as_alias("decided_by_name"),
        )
        .where(IncidentStatement.card == card_id)
        .order_by(IncidentStatement.version, ascending=False)
    )


async def incident(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """The incident as the API answers it: state, level, statement, actions for this viewer."""
    from portal.incidents.services import topic_name

    card = await cards.get_card(access, card_id)
    state = state_of(await cards.column_any(card["column"]))
    return {
        "card_id": card_id,
        "state": state,
        "state_label": str(STATES.label(state)),
        "level": card.get("level"),
        "level_label": RISK_LEVELS.label(card.get("level")),
        "topic_id": card.get("topic_id"),
        "topic_name": await topic_name(access.user, card.get("topic_id")),
        "alert_id": card.get("alert_id"),
        "assignee": card.get("assignee"),
        "responsible": card.get("responsible") or [],
        "assessment": card.get("assessment") or "",
        "plan": card.get("plan") or "",
        "statement": card.get("statement") or "",
        "statement_version": card.get("statement_version") or 0,
        "pending_version": card.get("pending_version"),
        "approved_version": card.get("approved_version"),
        "published_version": card.get("published_version"),
        "instruction": card.get("instruction") or "",
        "review": card.get("review") or "",
        "due_at": card["due_at"].isoformat() if card.get("due_at") else None,
        "due_stage": card.get("due_stage"),
        "review_due_at": due.isoformat() if (due := await review_due(card)) else None,
        "actions": [
            action.name
            for action in allowed(access, card, state, own_draft=await approval_by_drafter_refused(access, card))
        ],
        "version": card.get("version"),
    }


# Writes -----------------------------------------------------------------------------------


def _context(people: list[dict[str, Any]]) -> dict[str, Any]:
    return {"people": {person["id"] for person in people}}


async def act(access: BoardAccess, card_id: int, name: str, payload: Any) -> dict[str, Any]:
    """Take action ``name`` with ``payload`` (a JSON object or a form): the incident as it is
    afterwards. NotFound for an incident this viewer may not see or an unknown action;
    PermissionDenied (403) for a viewer; Conflict (409) for an action not allowed now or to
    this person; FormError (422) for bad input. Nothing is written unless all is well."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound
    await incident_access(access, card_id)
    if not (action.who == LEADER and may(access, action)):
        access.require_edit()  # a leader's 批示 is the one thing a viewer writes
    form = parse(action.input, payload, context=_context(await boards.board_people(access.board_id)))
    if action.name == "close":
        card = await cards.get_card(access, card_id)
        _check(access, card, action, state_of(await cards.column_any(card["column"])))
        await cards.archive_card(access, card_id, card["version"])  # on_archive: the review is required
        return {"card_id": card_id, "state": "closed", "archived": True}
    if action.name == "link-comments":
        from portal.incidents import services

        form.comment_card_ids = await services.check_comments(access.user, form.comment_card_ids)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        source = await cards.column_any(card["column"])
        await apply(unit, access, card, action, form, state_of(source))
    return await incident(access, card_id)


def _check(access: BoardAccess, card: dict[str, Any], action: Action, state: str) -> None:
    if state not in action.sources:
        raise Conflict(
            _(
                "“%(action)s” is not possible while the incident is %(state)s.",
                action=action.label,
                state=STATES.label(state),
            )
        )
    if not may(access, action):
        raise Conflict(_("Only %(who)s may do this.", who=WHO[action.who]))


async def apply(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    action: Action,
    form: Any,
    state: str,
    *,
    dragged_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The action's own writes inside the caller's unit; the card as it is after them.
    ``dragged_to``: a drag is moving the card there (the generic move moves it)."""
    _check(access, card, action, state)
    now = datetime.now(UTC)
    target_state = action.target
    if action.name == "assess" and state != "monitoring":
        target_state = None  # a later re-assessment changes the level, not the state
    detail: dict[str, Any] = {}
    common: dict[Any, Any] = {}
    event: dict[str, Any] = {}
    notices: list[tuple[list[int], str, str]] = []
    title = card["title"]

    if getattr(form, "card_version", None) is not None and form.card_version != card.get("version"):
        # The text this replaces changed since the writer read it: refuse, show the fresh one.
        raise Conflict(_("Someone changed this incident meanwhile; read it again (it now shows the latest) and retry."))
    if action.name == "assess":
        # Left out (None): the current value stays (re-assessing the level alone keeps the rest).
        assessment = (card.get("assessment") or "") if form.assessment is None else form.assessment
        responsible = (card.get("responsible") or []) if form.responsible is None else form.responsible
        detail = {"level": form.level, "assessment": assessment, "responsible": responsible}
        common = {Card.priority: PRIORITY_BY_LEVEL[form.level]}
        event = {"level": form.level, "text": assessment}
        if form.level != card.get("level"):
            # A new level sets a new time for the clock that runs (橙 after 蓝: 1 hour, not 24).
            common.update(
                _clock_columns(
                    await clocks.retime(
                        KIND,
                        card,
                        {"level": form.level, "priority": PRIORITY_BY_LEVEL[form.level]},
                        calendar=await sla.get_calendar(),
                        policy_rows=await sla.list_policies(),
                    )
                )
            )
            notices.append(
                (
                    _team(card, responsible),
                    _("Incident level set to %(level)s: “%(title)s”", level=RISK_LEVELS.label(form.level), title=title),
                    assessment,
                )
            )
    elif action.name == "respond-plan":
        detail = {"plan": form.plan}
        event = {"text": form.plan}
    elif action.name == "submit-statement":
        if card.get("pending_version"):
            raise Conflict(
                _("Version %(version)s is awaiting review; wait for the decision.", version=card["pending_version"])
            )
        version = (card.get("statement_version") or 0) + 1
        await IncidentStatement.insert(
            IncidentStatement(card=card["id"], version=version, text=form.text, submitted_by=access.user.id)
        )
        # A newer version withdraws an earlier approval: only the latest may be published. The
        # first-response clock runs on untouched; the review's due time is review_due's.
        detail = {
            "statement": form.text,
            "statement_version": version,
            "pending_version": version,
            "approved_version": None,
        }
        event = {"version": version}
        notices.append(
            (
                await boards.board_managers(access.board_id),
                _("Response statement to approve (口径待审): “%(title)s”", title=title),
                form.text,
            )
        )
    elif action.name in ("approve-statement", "return-statement"):
        if card.get("pending_version") != form.version:
            raise Conflict(
                _(
                    "Version %(version)s is not the one awaiting review (that is %(pending)s): reload and read it.",
                    version=form.version,
                    pending=card.get("pending_version") or "—",
                )
            )
        approve = action.name == "approve-statement"
        if approve and await approval_by_drafter_refused(access, card):
            raise Conflict(
                _(
                    "You submitted version %(version)s yourself: another manager of this board must approve it.",
                    version=form.version,
                )
            )
        reason = "" if approve else form.reason
        await IncidentStatement.update(
            {
                IncidentStatement.status: "approved" if approve else "returned",
                IncidentStatement.decided_by: access.user.id,
                IncidentStatement.decided_at: now,
                IncidentStatement.reason: reason,
            }
        ).where((IncidentStatement.card == card["id"]) & (IncidentStatement.version == form.version))
        detail = {"pending_version": None}
        if approve:
            detail["approved_version"] = form.version
        event = {"version": form.version, "text": reason}
        submitter = await _submitter(card["id"], form.version)
        notices.append(
            (
                [submitter] if submitter else [],
                _("Statement approved: “%(title)s”", title=title)
                if approve
                else _("Statement returned: “%(title)s”", title=title),
                reason,
            )
        )
    elif action.name == "publish-statement":
        if card.get("pending_version"):
            raise Conflict(_("Version %(version)s awaits review: decide it first.", version=card["pending_version"]))
        if not _publishable(card):
            raise Conflict(_("Only an approved statement can be published: submit it and have a manager approve it."))
        version = card["approved_version"]
        if form.version != version:
            raise Conflict(
                _(
                    "Version %(version)s is not the approved one (that is %(approved)s): reload and read it.",
                    version=form.version,
                    approved=version,
                )
            )
        await IncidentStatement.update({IncidentStatement.published_at: now}).where(
            (IncidentStatement.card == card["id"]) & (IncidentStatement.version == version)
        )
        detail = {"published_version": version, "published_at": now}
        event = {"version": version}
    elif action.name == "instruct":
        detail = {"instruction": form.text, "instructed_by": access.user.id, "instructed_at": now}
        event = {"text": form.text}
        notices.append((_team(card), _("Instruction (批示) on “%(title)s”", title=title), form.text))
    elif action.name == "link-comments":
        from portal.incidents import services

        linked = await services.link(card["id"], form.comment_card_ids, access.user.id)
        event = {"comments": linked}
    elif action.name == "calm":
        if card.get("pending_version"):
            raise Conflict(_("Version %(version)s awaits review: decide it first.", version=card["pending_version"]))
        detail = {"calmed_at": now}
    elif action.name == "review":
        detail = {"review": form.text, "reviewed_at": now}
        event = {"text": form.text}

    if dragged_to is not None and target_state is not None and state_of(dragged_to) != target_state:
        raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label))
    if common:
        await Card.update({**common, Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
        card = {**card, **{column._meta.name: value for column, value in common.items()}}
    if detail:
        await _kind().update_detail(card["id"], detail)
        card = {**card, **detail}
        if not common:
            await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
    if target_state is not None and target_state != state and dragged_to is None:
        target = await cards.column_by_key(access, target_state)
        if target is None:
            raise Conflict(_("This board has no column for “%(state)s”.", state=STATES.label(target_state)))
        await cards.move_within(unit, access, card, target, now=now)
    unit.record(
        EventKind.incident_action,
        "card",
        card["id"],
        {"action": action.name, "from_state": state, "to_state": target_state or state, **event},
    )
    await cards.tell_viewers(
        unit, access, card["id"], notices, kind="incident", key=f"incident:{card['id']}:{unit.seq}:{action.name}"
    )
    if dragged_to is None:
        cards.after_card_write(unit, access, card)
    return card


REVIEW_STAGE = "statement_review"


def _clock_columns(fields: dict[str, Any]) -> dict[Any, Any]:
    return {getattr(Card, name): value for name, value in fields.items()}


def _team(card: dict[str, Any], responsible: list[int] | None = None) -> list[int]:
    people = [card.get("assignee"), *(responsible if responsible is not None else card.get("responsible") or [])]
    return [person for person in dict.fromkeys(people) if person]


async def _submitter(card_id: int, version: int) -> int | None:
    row = (
        await IncidentStatement.select(IncidentStatement.submitted_by)
        .where((IncidentStatement.card == card_id) & (IncidentStatement.version == version))
        .first()
    )
    return row["submitted_by"] if row else None


def _kind():
    from portal.incidents.kind import KIND as INCIDENTS

    return INCIDENTS


# The kind's hooks ---------------------------------------------------------------------------


async def on_move(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], source: dict[str, Any], target: dict[str, Any]
) -> dict[str, Any] | None:
    """A drag between states is the action it stands for, when the card already holds its
    input and this viewer may take it; anything else is refused, naming the button to use."""
    from_state, to_state = state_of(source), state_of(target)
    if from_state == to_state:
        return None
    full = await cards.load_for_write(access, card["id"])
    name = DRAG_ACTIONS.get((from_state, to_state))
    if name is None:
        raise Conflict(
            _(
                "An incident cannot go from %(source)s to %(target)s.",
                source=STATES.label(from_state),
                target=STATES.label(to_state),
            )
        )
    action = ACTIONS[name]
    payload: dict[str, Any] = {}
    if name == "assess":
        payload = {
            "level": full.get("level") or "blue",
            "assessment": full.get("assessment") or "",
            "responsible": full.get("responsible") or [],
        }
    elif name == "respond-plan":
        if not (full.get("plan") or "").strip():
            raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label))
        payload = {"plan": full["plan"]}
    elif name == "publish-statement":
        # Only the unambiguous case: the latest version, approved and not yet published.
        if not _publishable(full):
            raise Conflict(
                _(
                    "Publish an approved statement with the “%(action)s” button: none is approved and unpublished.",
                    action=action.label,
                )
            )
        payload = {"version": full["approved_version"]}
    try:
        form = parse(action.input, payload, context={})
    except FormError as error:
        raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label)) from error
    return await apply(unit, access, full, action, form, from_state, dragged_to=target)


async def on_update(access: BoardAccess, card: dict[str, Any], changes: dict[str, Any]) -> None:
    """The form may edit the draft statement, but not while a version awaits review (the
    manager reads what was submitted), nor once the incident has calmed down. The topic and
    the alert are set by 转为事件 alone (``IncidentInput.to_fields``)."""
    changed = [name for name in LINKED if name in changes]
    if changed:
        raise FormError({name: linked_message() for name in changed})
    if "statement" not in changes:
        return
    if state_of(await cards.column_any(card["column"])) == "calmed":
        raise FormError({"statement": _("The incident has calmed down; its statement is no longer changed.")})
    if card.get("pending_version"):
        raise FormError({"statement": _("The statement is awaiting review; it can be changed once decided.")})


async def on_updated(unit: BoardWrite, access: BoardAccess, card: dict[str, Any], changes: dict[str, Any]) -> None:
    """A level changed in the form sets the priority that goes with it and a new time for the
    clock that runs, as 研判 does."""
    if "level" not in changes:
        return
    level = changes["level"]
    priority = PRIORITY_BY_LEVEL.get(level, card.get("priority"))
    fields = await clocks.retime(
        KIND,
        card,
        {"level": level, "priority": priority},
        calendar=await sla.get_calendar(),
        policy_rows=await sla.list_policies(),
    )
    await Card.update({Card.priority: priority, **_clock_columns(fields)}).where(Card.id == card["id"])


def on_create(access: BoardAccess, column: dict[str, Any]) -> None:
    """A new incident starts at 监测; it reaches the later states only through its actions."""
    if state_of(column) != "monitoring":
        raise Conflict(_("A new incident starts in “%(state)s”.", state=STATES.label("monitoring")))


async def on_archive(unit: BoardWrite, access: BoardAccess, card: dict[str, Any]) -> None:
    """An incident is archived (closed) only once it has calmed down and its review is written."""
    state = state_of(await cards.column_any(card["column"]))
    if state != "calmed":
        raise Conflict(_("Close an incident once it has calmed down (平息) and its review (复盘) is written."))
    if not (card.get("review") or "").strip():
        raise Conflict(_("Write the review (复盘) before closing the incident."))
    unit.record(
        EventKind.incident_action, "card", card["id"], {"action": "close", "from_state": state, "to_state": "closed"}
    )


async def comments_of(card_id: int) -> list[int]:
    rows = await IncidentComment.select(IncidentComment.comment).where(IncidentComment.incident == card_id)
    return [row["comment"] for row in rows]
