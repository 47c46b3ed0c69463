"""A campaign's plan and its approval, enforced on the server: 策划 → 待审批 → 执行中 → 复盘 → 归档.

A campaign's state is the column it is in (``state_of``). The actions:

========== =================== =============== ===========================================
action     from                to              who
========== =================== =============== ===========================================
submit     planning            approval        an editor: the plan, complete, as version n
submit     running, review     (stays)         an editor: a change to the approved plan
withdraw   a pending version   planning/stays  an editor (撤回): edit the plan again
approve    a pending version   running/stays   a manager (批准): the version is frozen
return     a pending version   planning/stays  a manager, with reasons (退回)
revert     a change, not       (stays)         an editor (放弃修改), naming the card's version
           submitted                           she read: the approved plan back on the card
finish     running             review          an editor: the campaign is over (复盘)
archive    review              archived        an editor, once the review is written
========== =================== =============== ===========================================

Each submission is a ``CampaignPlanVersion``: a snapshot of the plan's fields as submitted.
An approved version is never changed; the plan in force is the approved one (its goals are
what the results are measured against). After approval the card's plan may still be edited,
but the edits are a proposal: the drawer shows them as a diff against the approved version
and they take effect when a manager approves them as the next version. While a version
awaits a decision the plan cannot be edited (withdraw it first). A change nobody wants any
more (returned, or never submitted) is dropped with ``revert``: the approved plan is copied
back onto the card, recorded as an edit of the fields it puts back. It names the card's
version the editor read (a colleague's edit since is not dropped unseen: 409), and it puts
back an owner only if an edit could assign her now (else the current owner stays).

Until a change is approved nothing runs on it: the campaign's due time, its template tasks'
due times (and their reminders), the tile and the calendar keep the approved schedule (the
detail's ``approved_*`` columns, set here when a version is approved). Before any approval the
draft is the plan, and they follow it.

A manager does not approve what she submitted herself while someone else could decide it (the
board's other managers): four eyes. A board with one manager is decided by her.

A drag between states is the action it stands for when it needs no further input (submit,
approve, finish, archive); a return needs reasons, so it is the button.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field

from portal.boards import services as boards
from portal.boards.access import BoardAccess
from portal.campaigns.choices import METRICS as CAMPAIGN_METRICS
from portal.cards import services as cards
from portal.cards.tables import Card
from portal.core.choices import CAMPAIGN_FORMATS, CAMPAIGN_PLATFORMS, Choices
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

KIND = "campaigns"

STATES = Choices(
    ("planning", _l("Planning (策划)")),
    ("approval", _l("Awaiting approval (待审批)")),
    ("running", _l("Running (执行中)")),
    ("review", _l("Review (复盘)")),
    ("archived", _l("Archived (归档)")),
)
COLUMN_KEY_BY_STATE = {state: state for state in STATES.values}
STATE_BY_MEANING = {"new": "planning", "waiting": "approval", "working": "running", "done": "archived"}

# The plan: what is submitted, approved and frozen (the card's title, description and owner,
# and the campaign's own fields but the review's).
PLAN_FIELDS = (
    "title",
    "body",
    "assignee",
    "theme",
    "policy_basis",
    "platforms",
    "campaign_format",
    "starts_at",
    "ends_at",
    "moments",
    "audience",
    "targets",
    "goals",
    "reward_rules",
    "budget",
    "team",
)
FIELD_LABELS = {
    "title": _l("Name"),
    "body": _l("Description"),
    "assignee": _l("Owner"),
    "theme": _l("Theme"),
    "policy_basis": _l("Policy or public concern"),
    "platforms": _l("Platforms"),
    "campaign_format": _l("Format"),
    "starts_at": _l("Starts"),
    "ends_at": _l("Ends"),
    "moments": _l("Key moments"),
    "audience": _l("Audience"),
    "targets": _l("Goals per platform"),
    "goals": _l("Goals"),
    "reward_rules": _l("Reward rules"),
    "budget": _l("Budget (yuan)"),
    "team": _l("Team"),
}
# What a plan must say before it is submitted.
REQUIRED = ("theme", "platforms", "campaign_format", "starts_at", "ends_at", "targets", "assignee")


def state_of(column: dict[str, Any]) -> str:
    key = column.get("key") or ""
    if key in COLUMN_KEY_BY_STATE:
        return key
    return STATE_BY_MEANING.get(column.get("meaning"), "running")


# Input ------------------------------------------------------------------------------------


class NoInput(Input):
    pass


class NoteInput(Input):
    note: Annotated[str, Field(max_length=2000)] = ""

    messages = {"note": _l("Use at most 2000 characters.")}


class DecisionInput(NoteInput):
    """A manager's decision names the version decided on: the one the manager read (a
    version withdrawn and submitted anew meanwhile is not approved unseen)."""

    version: int | None = None  # required from the buttons and the API; a drag decides on what the tile shows

    messages = {**NoteInput.messages, "version": _l("Reload: which version is decided on is missing.")}


class RevertInput(Input):
    """放弃修改 names the card's version the editor read (the drawer's button and the API send
    it): a colleague's edit made since is not dropped unseen."""

    version: int | None = None

    messages = {"version": _l("Reload: which version of the card you read is missing.")}


class ReasonInput(DecisionInput):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    messages = {**DecisionInput.messages, "reason": _l("Say why, in at most 2000 characters.")}


EDITOR, MANAGER = "editor", "manager"


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    who: str
    input: type[Input]


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("submit", _l("Submit for approval (提交审批)"), EDITOR, NoteInput),
        Action("withdraw", _l("Withdraw (撤回)"), EDITOR, NoInput),
        Action("approve", _l("Approve (批准)"), MANAGER, DecisionInput),
        Action("return", _l("Return with reasons (退回)"), MANAGER, ReasonInput),
        Action("revert", _l("Discard the change (放弃修改)"), EDITOR, RevertInput),
        Action("finish", _l("End and review (结束并复盘)"), EDITOR, NoInput),
        Action("archive", _l("Archive (归档)"), EDITOR, NoInput),
    )
}
DRAG_ACTIONS = {
    ("planning", "approval"): "submit",
    ("approval", "running"): "approve",
    ("running", "review"): "finish",
    ("review", "archived"): "archive",
}


def may(access: BoardAccess, action: Action) -> bool:
    return access.can_manage if action.who == MANAGER else access.can_edit


def available(card: dict[str, Any], state: str, changed: bool) -> set[str]:
    """The actions the campaign's state allows now, whoever asks (``changed``: the plan
    differs from the approved version)."""
    pending = card.get("pending_version") is not None
    names: set[str] = set()
    if pending:
        names |= {"withdraw", "approve", "return"}
    elif state == "planning" or card.get("approved_version") is None or changed:
        # (a campaign that reached 执行中 or 复盘 before plans were approved may still submit
        # its plan; an approved one submits only a change)
        if state != "archived":
            names.add("submit")
    if not pending and card.get("approved_version") is not None and changed and state != "archived":
        names.add("revert")  # drop the change: the approved plan back on the card
    if state == "running" and not pending:
        names.add("finish")
    if state == "review" and not pending:
        names.add("archive")
    return names


def allowed(access: BoardAccess, card: dict[str, Any], state: str, changed: bool) -> list[Action]:
    """This viewer's buttons."""
    names = available(card, state, changed)
    return [action for name, action in ACTIONS.items() if name in names and may(access, action)]


# The plan as data -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def snapshot(card: dict[str, Any]) -> dict[str, Any]:
    """The plan's fields of a card as JSON (times in UTC ISO form): what a version freezes."""
    plan = {name: _plain(card.get(name)) for name in PLAN_FIELDS}
    for name in ("platforms", "moments", "team"):
        plan[name] = plan[name] or []
    plan["targets"] = plan["targets"] or {}
    for name in ("body", "theme", "policy_basis", "audience", "goals", "reward_rules"):
        plan[name] = plan[name] or ""
    return plan


def missing(plan: dict[str, Any]) -> list[str]:
    """The required fields a plan leaves empty."""
    return [name for name in REQUIRED if not plan.get(name)]


def _time(value: Any) -> datetime | None:
    """A plan's time (ISO text in a snapshot) as an aware datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def schedule_columns(plan: dict[str, Any]) -> dict[str, Any]:
    """The detail's ``approved_*`` columns for an approved plan (a version's snapshot): the
    schedule in force, which the tile and the calendar read with the card."""
    return {
        "approved_starts_at": _time(plan.get("starts_at")),
        "approved_ends_at": _time(plan.get("ends_at")),
        "approved_platforms": list(plan.get("platforms") or []),
        "approved_moments": list(plan.get("moments") or []),
    }


def schedule(card: dict[str, Any]) -> dict[str, Any]:
    """The schedule in force of a card read with its detail fields: the approved version's
    start, end, platforms and key moments once a version is approved (a change awaiting
    approval, or returned, does not count), the draft's before any approval."""
    if card.get("approved_version") is None:
        return {name: card.get(name) for name in ("starts_at", "ends_at", "platforms", "moments")}
    return {
        "starts_at": _time(card.get("approved_starts_at")),
        "ends_at": _time(card.get("approved_ends_at")),
        "platforms": card.get("approved_platforms") or [],
        "moments": card.get("approved_moments") or [],
    }


def restored(plan: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's plan as the card's fields (times as datetimes), to write back on the card."""
    fields = {name: plan.get(name) for name in PLAN_FIELDS}
    fields["starts_at"] = _time(plan.get("starts_at"))
    fields["ends_at"] = _time(plan.get("ends_at"))
    for name in ("platforms", "moments", "team"):
        fields[name] = list(fields[name] or [])
    fields["targets"] = fields["targets"] or {}
    for name in ("body", "theme", "policy_basis", "audience", "goals", "reward_rules"):
        fields[name] = fields[name] or ""
    return fields


async def _people(*plans: dict[str, Any]) -> dict[int, str]:
    """The names of the people these plans name (their owners and teams)."""
    from portal.accounts.tables import User

    ids = {person for plan in plans for person in (plan.get("assignee"), *(plan.get("team") or [])) if person}
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(list(ids)))
    return {row["id"]: row["display_name"] for row in rows}


def show(name: str, value: Any, people: dict[int, str]) -> str:
    """A plan field's value as people read it (for the diff and the review page)."""
    tz = get_settings().tz
    if value in (None, "", [], {}):
        return "—"
    if name in ("starts_at", "ends_at"):
        return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if name == "campaign_format":
        return str(CAMPAIGN_FORMATS.label(value))
    if name == "platforms":
        return "、".join(str(CAMPAIGN_PLATFORMS.label(p)) for p in value)
    if name == "assignee":
        return people.get(value, str(value))
    if name == "team":
        return "、".join(people.get(person, str(person)) for person in value)
    if name == "moments":
        return "；".join(f"{datetime.fromisoformat(m['at']).astimezone(tz):%m-%d %H:%M} {m['label']}" for m in value)
    if name == "targets":
        return "；".join(
            f"{CAMPAIGN_PLATFORMS.label(platform)} "
            + "，".join(f"{CAMPAIGN_METRICS.label(metric)} {number:,}" for metric, number in figures.items())
            for platform, figures in value.items()
        )
    if name == "budget":
        return f"{value:,}"
    return str(value)


async def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two plans, field by field, as people read it."""
    before = before or {}
    people = await _people(before, after)
    return [
        {
            "field": name,
            "label": FIELD_LABELS[name],
            "before": show(name, before.get(name), people),
            "after": show(name, after.get(name), people),
        }
        for name in PLAN_FIELDS
        if _normal(name, before.get(name)) != _normal(name, after.get(name))
    ]


def _normal(name: str, value: Any) -> Any:
    """A plan field's value for comparing: empty is empty, times are instants (whatever
    offset they were written with), order does not matter in sets, line breaks are LF."""
    if value in (None, "", [], {}):
        return None
    if name == "moments":
        return sorted((datetime.fromisoformat(m["at"].replace("Z", "+00:00")), m["label"]) for m in value)
    if name in ("starts_at", "ends_at") and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if name in ("platforms", "team"):
        return sorted(value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    return value


# Reads ------------------------------------------------------------------------------------


async def campaign_access(access: BoardAccess, card_id: int) -> None:
    if access.board_kind != KIND:
        raise NotFound
    await cards.require_visible(access, card_id)


column_of = cards.column_any


async def versions(card_id: int) -> list[dict[str, Any]]:
    """Every submitted version, oldest first, with who submitted and who decided."""
    from portal.campaigns.tables import CampaignPlanVersion as V

    return (
        await V.select(
            V.id,
            V.version,
            V.plan,
            V.status,
            V.submitted_at,
            V.decided_at,
            V.reason,
            V.submitted_by,
            V.submitted_by.display_name.as_alias("submitted_by_name"),
            V.decided_by.display_name.as_alias("decided_by_name"),
        )
        .where(V.card == card_id)
        .order_by(V.version)
        .output(load_json=True)
    )


async def approved_plan(card_id: int, card: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The plan in force: the approved version's snapshot (None before any approval)."""
    from portal.campaigns.tables import CampaignPlanVersion as V

    if card is None:
        from portal.campaigns.tables import CampaignDetail

        card = (
            await CampaignDetail.select(CampaignDetail.approved_version).where(CampaignDetail.card == card_id).first()
            or {}
        )
    version = card.get("approved_version")
    if version is None:
        return None
    row = await V.select(V.plan).where((V.card == card_id) & (V.version == version)).output(load_json=True).first()
    return row["plan"] if row else None


async def effective_plan(card: dict[str, Any]) -> dict[str, Any]:
    """The plan results are measured against: the approved one, or the draft before approval."""
    return await approved_plan(card["id"], card) or snapshot(card)


async def others_decide(card_id: int, submitter: int | None) -> bool:
    """Whether someone besides the submitter could decide on her version: the board's other
    active managers who may see the campaign (with none, the administrators, as
    ``card_managers`` tells of a submission). Then she may not approve it herself."""
    if submitter is None:
        return False
    return any(person != submitter for person in await boards.card_managers(card_id))


async def plan_state(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Everything the drawer's 方案审批 section and the API show about the plan."""
    card = await cards.get_card(access, card_id)
    column = await column_of(card["column"])
    state = state_of(column)
    current = snapshot(card)
    approved = await approved_plan(card_id, card)
    changes = await diff(approved, current) if approved is not None else []
    history = await versions(card_id)
    pending = next((v for v in history if v["version"] == card.get("pending_version")), None)
    pending_changes = []
    if pending is not None:
        pending_changes = await diff(approved, pending["plan"]) if approved is not None else []
    actions = allowed(access, card, state, bool(changes))
    # The approved owner may no longer be assigned: 放弃修改 keeps the current one (and is no
    # button when the owner is all that differs).
    owner_kept = (
        approved is not None
        and any(action.name == "revert" for action in actions)
        and any(change["field"] == "assignee" for change in changes)
        and not await _assignable(access, card, approved.get("assignee"))
    )
    if owner_kept and len(changes) == 1:
        actions = [action for action in actions if action.name != "revert"]
    # Her own submission: the approve button is another manager's (the section says so).
    approve_elsewhere = (
        pending is not None
        and pending["submitted_by"] == access.user.id
        and any(action.name == "approve" for action in actions)
        and await others_decide(card_id, pending["submitted_by"])
    )
    if approve_elsewhere:
        actions = [action for action in actions if action.name != "approve"]
    return {
        "card": card,
        "state": state,
        "approved": approved,
        "changes": changes,  # the draft against the approved plan
        "pending": pending,
        "pending_changes": pending_changes,  # the submitted change against the approved plan
        "versions": history,
        "missing": missing(current),
        "actions": actions,
        "approve_elsewhere": approve_elsewhere,
        "owner_kept": owner_kept,
    }


async def summary(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """The plan's state for the API."""
    plan = await plan_state(access, card_id)
    return {
        "card_id": card_id,
        "state": plan["state"],
        "state_label": str(STATES.label(plan["state"])),
        "plan_version": plan["card"].get("plan_version") or 0,
        "approved_version": plan["card"].get("approved_version"),
        "pending_version": plan["card"].get("pending_version"),
        "approved_plan": plan["approved"],
        "changes": [{k: str(v) for k, v in change.items()} for change in plan["changes"]],
        "missing": plan["missing"],
        "actions": [action.name for action in plan["actions"]],
        "approve_elsewhere": plan["approve_elsewhere"],  # her own submission: another manager approves it
        "owner_kept": plan["owner_kept"],  # the approved owner may no longer be assigned: revert keeps the current one
        "versions": [
            {
                "version": v["version"],
                "status": v["status"],
                "submitted_by": v["submitted_by_name"],
                "submitted_at": v["submitted_at"].isoformat(),
                "decided_by": v["decided_by_name"],
                "decided_at": v["decided_at"].isoformat() if v["decided_at"] else None,
                "reason": v["reason"],
            }
            for v in plan["versions"]
        ],
        "version": plan["card"].get("version"),
    }


# Writes -----------------------------------------------------------------------------------


async def act(access: BoardAccess, card_id: int, name: str, payload: Any) -> dict[str, Any]:
    """Take action ``name`` on the campaign: its plan state afterwards. NotFound for an unknown
    action or a card this viewer may not see; Conflict (409) for one not allowed now or for
    this viewer; FormError (422) for bad input. Nothing is written unless all is well."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound
    await campaign_access(access, card_id)
    access.require_edit()
    form = parse(action.input, payload)
    if isinstance(form, DecisionInput | RevertInput) and form.version is None:
        raise FormError({"version": str(type(form).messages["version"])})
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        source = await column_of(card["column"])
        await _apply(unit, access, card, action, form, state_of(source))
    return await summary(access, card_id)


def _refuse(action: Action, state: str) -> Conflict:
    return Conflict(
        _(
            "“%(action)s” is not possible while the campaign is %(state)s.",
            action=action.label,
            state=STATES.label(state),
        )
    )


async def _apply(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    action: Action,
    form: Any,
    state: str,
    *,
    dragged_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The action's writes inside the caller's unit. ``dragged_to``: a drag is moving the
    card there (the generic move moves it)."""
    from portal.campaigns.tables import CampaignPlanVersion as V

    if not may(access, action):
        raise PermissionDenied(
            _("Only a manager of this board may do this.")
            if action.who == MANAGER
            else _("You may not change this board.")
        )
    if isinstance(form, RevertInput) and form.version != card["version"]:
        # Not what the editor read: a colleague's edit since would be dropped unseen.
        raise Conflict(
            _(
                "%(name)s changed this campaign after you read it, so nothing was discarded. "
                "Read the plan again, then discard the change if you still want to.",
                name=await _last_actor(card["id"]),
            )
        )
    current = snapshot(card)
    approved = await approved_plan(card["id"], card)
    changed = approved is not None and bool(await diff(approved, current))
    if action.name not in available(card, state, changed):
        if action.name == "submit" and approved is not None and not changed:
            raise Conflict(_("The plan is as approved: change it first, then submit the change."))
        raise _refuse(action, state)
    now = datetime.now(UTC)
    detail: dict[str, Any] = {}
    target: str | None = None
    version = card.get("pending_version")
    notices: list[tuple[list[int], str, str]] = []
    title = card["title"]

    if action.name == "submit":
        gaps = missing(current)
        if gaps:
            raise Conflict(
                _(
                    "Complete the plan before submitting it: %(fields)s.",
                    fields="、".join(str(FIELD_LABELS[name]) for name in gaps),
                )
            )
        version = (card.get("plan_version") or 0) + 1
        await V.insert(V(card=card["id"], version=version, plan=current, submitted_by=access.user.id, reason=form.note))
        detail = {"plan_version": version, "pending_version": version}
        target = "approval" if state == "planning" else None
        notices.append(
            (
                await boards.card_managers(card["id"]),
                _("Plan submitted for approval: “%(title)s”", title=title)
                if approved is None
                else _("A change to the plan awaits approval: “%(title)s”", title=title),
                form.note,
            )
        )
    elif action.name == "withdraw":
        await V.update({V.status: "withdrawn", V.decided_by: access.user.id, V.decided_at: now}).where(
            (V.card == card["id"]) & (V.version == version)
        )
        detail = {"pending_version": None}
        target = "planning" if state == "approval" else None
    elif action.name in ("approve", "return"):
        if form.version is not None and form.version != version:
            raise Conflict(
                _(
                    "Version %(seen)s is no longer the one awaiting approval (now: %(now)s). Read it again.",
                    seen=form.version,
                    now=version or "—",
                )
            )
        approving = action.name == "approve"
        reason = form.note if approving else form.reason
        submitter = (
            await V.select(V.submitted_by).where((V.card == card["id"]) & (V.version == version)).first() or {}
        ).get("submitted_by")
        if approving and submitter == access.user.id and await others_decide(card["id"], submitter):
            raise Conflict(
                _(
                    "You submitted version %(n)s yourself: another manager of this board approves it.",
                    n=version,
                )
            )
        await V.update(
            {
                V.status: "approved" if approving else "returned",
                V.decided_by: access.user.id,
                V.decided_at: now,
                V.reason: reason,
            }
        ).where((V.card == card["id"]) & (V.version == version))
        detail = {"pending_version": None}
        if approving:
            plan = (
                await V.select(V.plan)
                .where((V.card == card["id"]) & (V.version == version))
                .output(load_json=True)
                .first()
                or {}
            ).get("plan") or {}
            detail["approved_version"] = version
            detail.update(schedule_columns(plan))
            target = "running" if state == "approval" else None
            # New dates proposed after the last approval take effect now: the due time, the
            # template tasks and their reminders.
            await _follow(unit, card, plan)
        else:
            target = "planning" if state == "approval" else None
        recipients = [person for person in (submitter, card.get("assignee")) if person is not None]
        notices.append(
            (
                list(dict.fromkeys(recipients)),
                _("Plan approved: “%(title)s”", title=title)
                if approving
                else _("Plan returned (退回): “%(title)s”", title=title),
                reason,
            )
        )
    elif action.name == "revert":
        # The change is dropped: the approved plan back on the card (the approved version and
        # the schedule in force stay as they are; the tasks follow the approved dates). The
        # owner as an edit would assign her: one who may no longer be assigned (she left the
        # board, or may not see the campaign now) is not put back, the current owner stays.
        fields = restored(approved or {})
        if not await _assignable(access, card, fields["assignee"]):
            fields["assignee"] = card.get("assignee")
        changed_fields = _changed(current, {**(approved or {}), "assignee": fields["assignee"]})
        if not changed_fields:
            raise Conflict(
                _(
                    "The approved owner may no longer be assigned to this campaign, and nothing else differs "
                    "from the approved plan: submit the new owner for approval instead."
                )
            )
        common, own = _kind().split(fields)
        await Card.update({getattr(Card, name): value for name, value in common.items()}).where(Card.id == card["id"])
        card = {**card, **common}
        detail = own
        version = card.get("approved_version")
        # Recorded as an edit of those fields would be (the card's history, the assignment, and
        # what a stale save in an open drawer keeps of what was typed).
        unit.record(
            EventKind.card_assigned if changed_fields == ["assignee"] else EventKind.card_updated,
            "card",
            card["id"],
            {"fields": changed_fields, "assignee": fields["assignee"] if "assignee" in changed_fields else None},
        )
        await _follow(unit, card, approved or {})
    elif action.name == "finish":
        target = "review"
    elif action.name == "archive":
        if not (card.get("went_well") or "").strip() or not (card.get("to_change") or "").strip():
            raise Conflict(_("Write the review (what went well, what to change) before archiving."))
        target = "archived"

    if dragged_to is not None and (target is None or state_of(dragged_to) != target):
        raise Conflict(_("Use the “%(action)s” button for this step.", action=action.label))
    if detail:
        await _kind().update_detail(card["id"], detail)
        card = {**card, **detail}
    if detail.get("approved_version") is not None:
        from portal.campaigns import metrics  # (metrics reads the plan in force from here)

        await metrics.refresh_participants_pct(card)  # the goals in force may have changed
    if target is not None and target != state and dragged_to is None:
        column = await cards.column_by_key(access, COLUMN_KEY_BY_STATE[target])
        if column is None:
            raise Conflict(_("This board has no column for “%(state)s”.", state=STATES.label(target)))
        await cards.move_within(unit, access, card, column, now=now)
    if detail and target is None:
        await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
    unit.record(
        EventKind.campaign_action,
        "card",
        card["id"],
        {"action": action.name, "version": version, "from_state": state, "to_state": target or state},
    )
    await cards.tell_viewers(
        unit,
        access,
        card["id"],
        notices,
        kind="campaign",
        key=f"campaign:{card['id']}:{action.name}:{version}:{now.timestamp()}",
    )
    if dragged_to is None:
        cards.after_card_write(unit, access, card)
    return card


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The plan fields that differ between two plans (as snapshots), sorted."""
    return sorted(name for name in PLAN_FIELDS if _normal(name, before.get(name)) != _normal(name, after.get(name)))


async def _assignable(access: BoardAccess, card: dict[str, Any], person: int | None) -> bool:
    """Whether the card's edit would take this owner: nobody, or one of the board's people who
    may see the card (``portal.cards.services`` checks an edit's assignee the same way)."""
    if person is None:
        return True
    return person in {row["id"] for row in cards.people_for(await boards.board_people(access.board_id), card)}


async def _last_actor(card_id: int) -> str:
    """Who last changed the card (its newest event's actor), for a stale write's message."""
    from portal.events.tables import Event

    row = (
        await Event.select(Event.actor.display_name.as_alias("name"))
        .where((Event.object_type == "card") & (Event.object_id == card_id))
        .order_by(Event.id, ascending=False)
        .first()
    )
    return (row or {}).get("name") or _("Someone")


def _kind():
    from portal.campaigns.kind import KIND as CAMPAIGNS

    return CAMPAIGNS


async def _follow(unit: BoardWrite, card: dict[str, Any], plan: dict[str, Any]) -> bool:
    """Inside the unit: what runs on the plan in force follows it once it is in force (an
    approval, a dropped change): the campaign's due time is its end, and the template tasks
    that follow the dates (and their reminders) move to the approved dates. Whether the due
    time or a task moved."""
    from portal.campaigns import tasks  # (tasks reads the plan's state from here)

    end = _time(plan.get("ends_at"))
    due_moved = False
    if end is not None and card.get("due_stage") == "campaign":
        due_moved = card.get("due_at") != end
        await Card.update({Card.due_at: end}).where(Card.id == card["id"])
    moved = await tasks.follow_dates(unit, card["id"], plan.get("campaign_format"), _time(plan.get("starts_at")), end)
    return due_moved or bool(moved)


async def realign_approved() -> int:
    """Once, for a database from before the approved schedule was kept apart from the draft
    (``portal campaigns-realign``): an edit then moved an approved campaign's due time and its
    template tasks to dates nobody approved. Each open campaign with an approved plan gets
    them back on the approved dates (the rule an approval follows: ``_follow``), one unit of
    work per campaign, its viewers shown the tile and its task reminders re-armed. Tasks done
    or set by hand stay. Returns how many campaigns changed; running it again changes none."""
    from portal.boards.access import system_access
    from portal.boards.tables import Board
    from portal.campaigns.tables import CampaignDetail as D

    changed = 0
    for board in await Board.select(Board.id).where(Board.kind == KIND).order_by(Board.id):
        rows = await D.select(D.card).where(
            (D.card.board == board["id"]) & (D.card.archived == False) & D.approved_version.is_not_null()  # noqa: E712
        )
        if not rows:
            continue
        access = await system_access(board["id"])
        for row in rows:
            async with board_write(board["id"], None) as unit:
                card = await cards.load_for_write(access, row["card"])
                plan = await approved_plan(card["id"], card)
                if plan is None:
                    continue
                end = _time(plan.get("ends_at"))
                due_moves = end is not None and card.get("due_stage") == "campaign" and card.get("due_at") != end
                if not await _follow(unit, card, plan):
                    continue  # (a task moved is recorded as rescheduled; a due time, here)
                if due_moves:
                    unit.record(EventKind.card_updated, "card", card["id"], {"fields": ["due_at"]})
                now = datetime.now(UTC)
                await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
                cards.after_card_write(unit, access, card)
                changed += 1
    return changed


# The kind's hooks -------------------------------------------------------------------------


async def on_move(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], source: dict[str, Any], target: dict[str, Any]
) -> dict[str, Any] | None:
    """A drag between states is the action it stands for, or refused with the button to use."""
    from_state, to_state = state_of(source), state_of(target)
    if from_state == to_state:
        return None
    full = await cards.load_for_write(access, card["id"])
    name = DRAG_ACTIONS.get((from_state, to_state))
    if name is None:
        if from_state == "approval" and to_state == "planning" and full.get("pending_version") is not None:
            button = ACTIONS["return"] if access.can_manage else ACTIONS["withdraw"]
            raise Conflict(_("Use the “%(action)s” button for this step.", action=button.label))
        if to_state == "running" and from_state == "planning":
            raise Conflict(_("A campaign runs once its plan is approved: submit it for approval first."))
        raise Conflict(
            _(
                "A campaign cannot go from %(source)s to %(target)s.",
                source=STATES.label(from_state),
                target=STATES.label(to_state),
            )
        )
    action = ACTIONS[name]
    form = parse(action.input, {})
    return await _apply(unit, access, full, action, form, from_state, dragged_to=target)


async def on_update(access: BoardAccess, card: dict[str, Any], changes: dict[str, Any]) -> None:
    """While a version awaits a decision its plan cannot be edited (withdraw it first); an
    archived campaign's plan is history."""
    touched = [name for name in PLAN_FIELDS if name in changes]
    if not touched:
        return
    if card.get("pending_version") is not None:
        raise FormError(
            {touched[0]: _("The plan awaits approval and cannot be changed now: withdraw it (撤回) first.")}
        )
    if state_of(await column_of(card["column"])) == "archived":
        raise FormError({touched[0]: _("An archived campaign's plan can no longer be changed.")})


def on_create(access: BoardAccess, column: dict[str, Any]) -> None:
    """A new campaign starts as a plan (策划); it runs only once approved."""
    if state_of(column) != "planning":
        raise Conflict(_("A new campaign starts in “%(state)s”.", state=STATES.label("planning")))
