"""A campaign's task checklist (设计海报, 发布活动预告, 直播控评, 发放奖励 …): list, add, edit,
mark done or not, remove, reorder, and fill in from the format's plan template
(``portal.campaigns.plan_templates``).

Every write is one unit of the write path: the task rows, the tile's counters
(``CampaignDetail.tasks_total`` / ``tasks_done``, recounted in the same transaction), the
card's version (so every open drawer reloads the section and every board shows the new
progress), a ``campaign.task`` event, the notification to a new owner, and the effects to run
after commit (the tile to the board's viewers, the tasks' reminders armed). Viewers may not
write (403); bad input is a FormError (422) and nothing is written; an archived campaign's
checklist is history (409).

The campaign's owner (the card's assignee) is the default owner of its template's tasks: the
team hands them on as it divides the work.

A template task's due time follows the campaign's dates (``on_campaign_updated``: dates set
later or moved move it, and its reminders with it) until it is done or a person sets its due
time (``due_by_hand``): then it stays where she put it. Once the plan is approved, the dates it
follows are the approved ones: new dates on the card are a proposal and move nothing until a
manager approves them (``portal.campaigns.workflow`` calls ``follow_dates`` then); a proposal
returned or dropped leaves the tasks where they were.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import Field, field_validator

from portal.boards import services as boards
from portal.boards.access import BoardAccess
from portal.campaigns import plan_templates, task_reminders, workflow
from portal.campaigns.tables import CampaignDetail, CampaignTask
from portal.cards import services as cards
from portal.cards.schemas import local_datetime, one_line_title
from portal.cards.tables import Card
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings
from portal.sla import services as sla

MAX_TASKS = 200  # a checklist longer than this is a typing accident, not a campaign
DUE_SOON = timedelta(days=1)  # the list marks what is due within a day
ACTIONS = ("done", "undone", "edit", "remove", "up", "down")


# Input ------------------------------------------------------------------------------------


class TaskInput(Input):
    """A task as the add and edit forms send it (and the API's POST): every field given."""

    title: str
    owner: int | None = None
    due_at: datetime | None = None

    messages = {
        "title": _l("Enter a title of at most 200 characters."),
        "owner": _l("Choose someone who may see this campaign."),
        "due_at": _l("Enter a date and time like 2026-11-26 09:30."),
    }

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return one_line_title(value)

    @field_validator("due_at", mode="before")
    @classmethod
    def _due(cls, value: Any) -> Any:
        return local_datetime(value)


class TaskPatch(TaskInput):
    """The API's PATCH: only the fields sent change (``owner: null`` unassigns)."""

    title: str | None = None  # type: ignore[assignment]
    done: bool | None = None

    messages = {**TaskInput.messages, "done": _l("Send true or false.")}

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return None if value is None else one_line_title(value)


class MoveInput(Input):
    direction: Annotated[str, Field(pattern="^(up|down)$")]


# Reads ------------------------------------------------------------------------------------


def _query():
    return CampaignTask.select(
        CampaignTask.id,
        CampaignTask.title,
        CampaignTask.owner,
        CampaignTask.owner.display_name.as_alias("owner_name"),
        CampaignTask.due_at,
        CampaignTask.done_at,
        CampaignTask.done_by.display_name.as_alias("done_by_name"),
        CampaignTask.position,
        CampaignTask.template_key,
        CampaignTask.due_by_hand,
    )


async def list_tasks(card_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """The checklist in its order, each task marked overdue or due soon while not done."""
    now = now or datetime.now(UTC)
    rows = await _query().where(CampaignTask.card == card_id).order_by(CampaignTask.position, CampaignTask.id)
    for row in rows:
        due, done = row["due_at"], row["done_at"] is not None
        row["done"] = done
        row["overdue"] = not done and due is not None and due < now
        row["due_soon"] = not done and due is not None and now <= due < now + DUE_SOON
    return rows


def _may_own(person: dict[str, Any], card: dict[str, Any]) -> bool:
    """A task's owner works it (marks it done): a member who may see the campaign."""
    return "viewer" not in (person["role"], person["user_role"]) and cards.may_see(person, card)


async def owner_choices(access: BoardAccess, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [person for person in await boards.board_people(access.board_id) if _may_own(person, card)]


def _missing_from_template(card: dict[str, Any], tasks: list[dict[str, Any]]) -> list[plan_templates.TemplateTask]:
    have = {task["template_key"] for task in tasks if task["template_key"]}
    return [item for item in plan_templates.template_for(card.get("campaign_format")) if item.key not in have]


def _follows_dates(task: dict[str, Any]) -> bool:
    """A template task whose due time the campaign's dates decide: not done, not set by hand."""
    return bool(task["template_key"]) and task["done_at"] is None and not task["due_by_hand"]


def _dates(card: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The start and end the template's tasks follow: the approved ones once the plan is
    approved (a proposed change moves nothing), the draft's before."""
    in_force = workflow.schedule(card)
    return in_force["starts_at"], in_force["ends_at"]


async def _planned_due(card: dict[str, Any]) -> dict[str, datetime | None]:
    """The template's due time of each task key for the campaign's format and dates in force."""
    planned = plan_templates.planned_tasks(card.get("campaign_format"), *_dates(card), await sla.get_calendar())
    return {str(item["key"]): item["due_at"] for item in planned}  # type: ignore[misc]


async def _undated(card: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Template tasks still without a due time that the campaign's dates now give one."""
    waiting = [task for task in tasks if task["due_at"] is None and _follows_dates(task)]
    if not waiting:
        return []
    due = await _planned_due(card)
    return [task for task in waiting if due.get(task["template_key"]) is not None]


def _open_for_writing(state: str) -> bool:
    return state != "archived"


async def section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Everything the drawer's 任务清单 section and the API show."""
    await workflow.campaign_access(access, card_id)
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    tasks = await list_tasks(card_id)
    may_edit = access.can_edit and _open_for_writing(state)
    return {
        "card": card,
        "state": state,
        "tasks": tasks,
        "total": len(tasks),
        "done": sum(task["done"] for task in tasks),
        "missing": _missing_from_template(card, tasks),
        "undated": await _undated(card, tasks),
        # Template tasks waiting for the campaign's dates to have a due time.
        "waiting_for_dates": any(task["due_at"] is None and _follows_dates(task) for task in tasks)
        and not all(_dates(card)),
        "may_edit": may_edit,
        "owners": await owner_choices(access, card) if may_edit else [],
    }


def task_json(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task["id"],
        "title": task["title"],
        "owner": task["owner"],
        "owner_name": task["owner_name"],
        "due_at": task["due_at"].isoformat() if task["due_at"] else None,
        "due_by_hand": task["due_by_hand"],  # False: a template task's due time follows the dates
        "done": task["done"],
        "done_at": task["done_at"].isoformat() if task["done_at"] else None,
        "done_by": task["done_by_name"],
        "overdue": task["overdue"],
        "template_key": task["template_key"] or None,
    }


async def summary(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """The checklist for the API."""
    state = await section(access, card_id)
    return {
        "card_id": card_id,
        "total": state["total"],
        "done": state["done"],
        "tasks": [task_json(task) for task in state["tasks"]],
        "template_missing": [item.key for item in state["missing"]],
        "template_undated": [task["id"] for task in state["undated"]],
        "version": state["card"]["version"],
    }


async def get_task(access: BoardAccess, card_id: int, task_id: int) -> dict[str, Any]:
    await workflow.campaign_access(access, card_id)
    task = next((task for task in await list_tasks(card_id) if task["id"] == task_id), None)
    if task is None:
        raise NotFound
    return task_json(task)


# Writes -----------------------------------------------------------------------------------


async def _begin(access: BoardAccess, card_id: int) -> None:
    """404 for a card this viewer may not see (or not a campaign), then 403 for a viewer."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()


async def _load(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Inside the unit: the campaign as it is now, refused once archived."""
    card = await cards.load_for_write(access, card_id)
    if not _open_for_writing(workflow.state_of(await workflow.column_of(card["column"]))):
        raise Conflict(_("An archived campaign's checklist can no longer be changed."))
    return card


async def _task_row(card_id: int, task_id: int) -> dict[str, Any]:
    row = (
        await CampaignTask.select(*CampaignTask.all_columns())
        .where((CampaignTask.id == task_id) & (CampaignTask.card == card_id))
        .first()
    )
    if row is None:
        raise NotFound
    return row


async def _check_owner(access: BoardAccess, card: dict[str, Any], owner: int | None) -> None:
    if owner is not None and owner not in {person["id"] for person in await owner_choices(access, card)}:
        raise FormError({"owner": _("Choose someone who may see this campaign.")})


async def recount(card_id: int) -> None:
    """The tile's counters from the rows (inside the write's transaction)."""
    total = await CampaignTask.count().where(CampaignTask.card == card_id)
    done = await CampaignTask.count().where((CampaignTask.card == card_id) & CampaignTask.done_at.is_not_null())
    await CampaignDetail.update({CampaignDetail.tasks_total: total, CampaignDetail.tasks_done: done}).where(
        CampaignDetail.card == card_id
    )


async def _finish(unit: BoardWrite, access: BoardAccess, card: dict[str, Any], now: datetime) -> None:
    """What every task write ends with: counters, the card's version, the effects."""
    await recount(card["id"])
    await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card["id"])
    unit.after_commit(task_reminders.arm(card["id"]))
    cards.after_card_write(unit, access, card)


def _record(unit: BoardWrite, card_id: int, task_id: int, change: str, title: str) -> None:
    unit.record(EventKind.campaign_task, "card", card_id, {"task": task_id, "change": change, "title": title})


async def _tell_owner(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], owner: int | None, title: str, body: str, key: str
) -> None:
    """A task handed to someone else: she is told (kind "task"), once per hand-over."""
    if owner is None or owner == access.user.id:
        return
    if not await boards.who_may_see_card(card["id"], [owner]):
        return
    await cards.notify_within(
        unit,
        [
            (
                owner,
                {
                    "kind": "task",
                    "title": title[:200],
                    "dedupe_key": f"task-assigned:{card['id']}:{key}:{owner}",
                    "body": body[:300],
                    "link": f"/boards/{access.board_id}?card={card['id']}",
                    "card_id": card["id"],
                },
            )
        ],
    )


def _due_text(due_at: datetime | None) -> str:
    if due_at is None:
        return ""
    return _("Due %(at)s.", at=due_at.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M"))


async def _assigned(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], task_id: int, owner: int | None, title: str, due, now
) -> None:
    await _tell_owner(
        unit,
        access,
        card,
        owner,
        _("Task assigned to you: “%(task)s” (%(campaign)s)", task=title, campaign=card["title"]),
        _due_text(due),
        f"{task_id}:{now.timestamp()}",
    )


async def add_task(access: BoardAccess, card_id: int, payload: Any) -> int:
    """A new task at the end of the checklist; returns its id."""
    await _begin(access, card_id)
    form = parse(TaskInput, payload)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        await _check_owner(access, card, form.owner)
        if await CampaignTask.count().where(CampaignTask.card == card_id) >= MAX_TASKS:
            raise FormError({"title": _("A checklist holds at most %(count)s tasks.", count=MAX_TASKS)})
        now = datetime.now(UTC)
        rows = await CampaignTask.insert(
            CampaignTask(
                card=card_id,
                title=form.title,
                owner=form.owner,
                due_at=form.due_at,
                due_by_hand=form.due_at is not None,
                position=await _next_position(card_id),
                created_by=access.user.id,
                created_at=now,
            )
        ).returning(CampaignTask.id)
        task_id = rows[0]["id"]
        _record(unit, card_id, task_id, "added", form.title)
        await _assigned(unit, access, card, task_id, form.owner, form.title, form.due_at, now)
        await _finish(unit, access, card, now)
    return task_id


async def edit_task(access: BoardAccess, card_id: int, task_id: int, payload: Any, *, partial: bool = False) -> None:
    """Change a task's title, owner, due time (and, through the API's PATCH, whether it is
    done). ``partial``: only the fields sent change (the API); otherwise the form sends all."""
    await _begin(access, card_id)
    form = parse(TaskPatch if partial else TaskInput, payload)
    given = form.model_fields_set if partial else {"title", "owner", "due_at"}
    changes: dict[Any, Any] = {}
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        task = await _task_row(card_id, task_id)
        now = datetime.now(UTC)
        if "title" in given and form.title is not None and form.title != task["title"]:
            changes[CampaignTask.title] = form.title
        if "owner" in given and form.owner != task["owner"]:
            await _check_owner(access, card, form.owner)
            changes[CampaignTask.owner] = form.owner
        if "due_at" in given and _due_changed(form.due_at, task["due_at"], partial):
            changes[CampaignTask.due_at] = form.due_at
            changes[CampaignTask.due_by_hand] = True  # hers now: the campaign's dates no longer move it
        title = changes.get(CampaignTask.title, task["title"])
        if changes:
            await CampaignTask.update(changes).where(CampaignTask.id == task_id)
            _record(unit, card_id, task_id, "edited", title)
            if CampaignTask.owner in changes:
                due = changes.get(CampaignTask.due_at, task["due_at"])
                await _assigned(unit, access, card, task_id, form.owner, title, due, now)
        done = getattr(form, "done", None)
        if done is not None and done != (task["done_at"] is not None):
            await _mark(unit, access, task_id, done, now)
            _record(unit, card_id, task_id, "done" if done else "undone", title)
        if unit.events:
            await _finish(unit, access, card, now)


def _due_changed(sent: datetime | None, stored: datetime | None, partial: bool) -> bool:
    """Whether a person changed the due time. The form shows it to the minute, so a form sent
    back unchanged (a new title) leaves a due time with seconds as it is."""
    if sent is None or stored is None or partial:
        return sent != stored
    return sent != stored.replace(second=0, microsecond=0)


async def _mark(unit: BoardWrite, access: BoardAccess, task_id: int, done: bool, now: datetime) -> None:
    if done:
        values = {CampaignTask.done_at: now, CampaignTask.done_by: access.user.id}
    else:
        values = {CampaignTask.done_at: None, CampaignTask.done_by: None}
    await CampaignTask.update(values).where(CampaignTask.id == task_id)


async def set_done(access: BoardAccess, card_id: int, task_id: int, done: bool) -> None:
    """Tick a task off, or take the tick back (marking a done task done changes nothing)."""
    await _begin(access, card_id)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        task = await _task_row(card_id, task_id)
        if done == (task["done_at"] is not None):
            return
        now = datetime.now(UTC)
        await _mark(unit, access, task_id, done, now)
        _record(unit, card_id, task_id, "done" if done else "undone", task["title"])
        await _finish(unit, access, card, now)


async def remove_task(access: BoardAccess, card_id: int, task_id: int) -> None:
    await _begin(access, card_id)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        task = await _task_row(card_id, task_id)
        await CampaignTask.delete().where(CampaignTask.id == task_id)
        _record(unit, card_id, task_id, "removed", task["title"])
        await _finish(unit, access, card, datetime.now(UTC))


async def move_task(access: BoardAccess, card_id: int, task_id: int, payload: Any) -> None:
    """One place up or down the checklist (swaps with its neighbour; at an end, nothing)."""
    await _begin(access, card_id)
    form = parse(MoveInput, payload)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        await _task_row(card_id, task_id)
        order = [row["id"] for row in await list_tasks(card_id)]
        index = order.index(task_id)
        other = index - 1 if form.direction == "up" else index + 1
        if not 0 <= other < len(order):
            return
        order[index], order[other] = order[other], order[index]
        # Positions are renumbered to the list's order (a checklist is short).
        for position, row_id in enumerate(order):
            await CampaignTask.update({CampaignTask.position: position}).where(CampaignTask.id == row_id)
        title = (await _task_row(card_id, task_id))["title"]
        _record(unit, card_id, task_id, "moved", title)
        await _finish(unit, access, card, datetime.now(UTC))


async def _next_position(card_id: int) -> int:
    last = (
        await CampaignTask.select(CampaignTask.position)
        .where(CampaignTask.card == card_id)
        .order_by(CampaignTask.position, ascending=False)
        .first()
    )
    return (last["position"] + 1) if last else 0


# The plan template ------------------------------------------------------------------------


async def _add_from_template(
    unit: BoardWrite,
    access: BoardAccess,
    card: dict[str, Any],
    now: datetime,
) -> int:
    """Inside the caller's unit: the format's template tasks the checklist lacks (by template
    key), with due times from the campaign's start and end (empty while those are not set),
    owned by the campaign's owner. Returns how many were added."""
    planned = plan_templates.planned_tasks(card.get("campaign_format"), *_dates(card), await sla.get_calendar())
    if not planned:
        return 0
    have = {
        row["template_key"]
        for row in await CampaignTask.select(CampaignTask.template_key).where(CampaignTask.card == card["id"])
    }
    planned = [item for item in planned if item["key"] not in have]
    if not planned:
        return 0
    owner = card.get("assignee")
    if owner is not None and owner not in {person["id"] for person in await owner_choices(access, card)}:
        owner = None
    position = await _next_position(card["id"])
    rows = await CampaignTask.insert(
        *[
            CampaignTask(
                card=card["id"],
                title=item["title"],
                owner=owner,
                due_at=item["due_at"],
                position=position + offset,
                template_key=item["key"],
                created_by=access.user.id,
                created_at=now,
            )
            for offset, item in enumerate(planned)
        ]
    ).returning(CampaignTask.id)
    for row, item in zip(rows, planned, strict=True):
        _record(unit, card["id"], row["id"], "templated", str(item["title"]))
    await _tell_owner(
        unit,
        access,
        card,
        owner,
        _(
            "%(count)s tasks from the plan template are assigned to you: “%(campaign)s”",
            count=len(planned),
            campaign=card.get("title", ""),
        ),
        "",
        f"template:{now.timestamp()}",
    )
    return len(planned)


async def _date_undated(unit: BoardWrite, card: dict[str, Any]) -> int:
    """Inside the caller's unit: the template tasks still without a due time (not done, not
    set by hand) get the one the campaign's dates now give. Returns how many."""
    rows = await CampaignTask.select(*CampaignTask.all_columns()).where(
        (CampaignTask.card == card["id"]) & CampaignTask.due_at.is_null()
    )
    due = await _planned_due(card)
    undated = [task for task in rows if _follows_dates(task) and due.get(task["template_key"]) is not None]
    for task in undated:
        await CampaignTask.update({CampaignTask.due_at: due[task["template_key"]]}).where(CampaignTask.id == task["id"])
        _record(unit, card["id"], task["id"], "dated", task["title"])
    return len(undated)


class TemplateApplied(NamedTuple):
    added: int  # template tasks the checklist lacked
    dated: int  # template tasks that had no due time and now have the dates' one


async def apply_template(access: BoardAccess, card_id: int) -> TemplateApplied:
    """按模板补全任务: add the format's template tasks not on the checklist yet, and give the
    template's tasks still without a due time the one the campaign's dates now give (those
    not done and not set by hand). (0, 0): nothing to do. 409 while the campaign has no
    format."""
    await _begin(access, card_id)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await _load(access, card_id)
        if not plan_templates.template_for(card.get("campaign_format")):
            raise Conflict(_("Choose the campaign's format first: each format has its own template."))
        now = datetime.now(UTC)
        dated = await _date_undated(unit, card)
        added = await _add_from_template(unit, access, card, now)
        if added or dated:
            await _finish(unit, access, card, now)
    return TemplateApplied(added, dated)


async def on_campaign_created(unit: BoardWrite, access: BoardAccess, card_id: int, fields: dict[str, Any]) -> None:
    """The kind's hook, inside a new campaign's create unit: a campaign made with a format
    starts with its template's checklist (the create's own effects show the tile)."""
    if not plan_templates.template_for(fields.get("campaign_format")):
        return
    card = {**fields, "id": card_id, "board": access.board_id}
    if await _add_from_template(unit, access, card, datetime.now(UTC)):
        await recount(card_id)
        unit.after_commit(task_reminders.arm(card_id))


async def on_campaign_updated(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], changes: dict[str, Any]
) -> None:
    """The kind's hook, inside a campaign's edit unit (after the write; the edit raises the
    card's version and shows the tile): while the plan was never approved, new or moved dates
    move the template's tasks that follow them (``follow_dates``). After an approval the
    edit is a proposal: nothing moves until it is approved."""
    if "starts_at" not in changes and "ends_at" not in changes:
        return
    if card.get("approved_version") is not None:
        return  # a proposal awaiting re-approval: the tasks keep the approved dates
    after = {**card, **changes}
    await follow_dates(unit, card["id"], after.get("campaign_format"), after.get("starts_at"), after.get("ends_at"))


async def follow_dates(
    unit: BoardWrite,
    card_id: int,
    campaign_format: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> list[int]:
    """Inside the caller's unit: the due times of the template's tasks that follow the dates
    (not done, not set by hand) from these dates, recorded as one ``rescheduled`` event, and
    their reminders re-armed (the old ones, keyed by the old due time, then find it moved and
    send nothing). The caller raises the card's version. Returns the tasks moved."""
    due = await _planned_due({"campaign_format": campaign_format, "starts_at": starts_at, "ends_at": ends_at})
    if not due:
        return []
    rows = await CampaignTask.select(*CampaignTask.all_columns()).where(
        (CampaignTask.card == card_id) & (CampaignTask.template_key != "")
    )
    moved = []
    for task in rows:
        if not _follows_dates(task) or task["template_key"] not in due:
            continue  # done, set by hand, or not in this format's template
        new = due[task["template_key"]]
        if new != task["due_at"]:
            await CampaignTask.update({CampaignTask.due_at: new}).where(CampaignTask.id == task["id"])
            moved.append(task["id"])
    if not moved:
        return []
    await recount(card_id)
    unit.record(EventKind.campaign_task, "card", card_id, {"change": "rescheduled", "tasks": moved})
    unit.after_commit(task_reminders.arm(card_id))
    return moved


# Demo ------------------------------------------------------------------------------------


async def seed_tasks(
    card_id: int, state: str, fields: dict[str, Any], users: dict[str, dict[str, Any]], now: datetime
) -> None:
    """A demo campaign's checklist from its format's template, as its team would have left
    it in its column: nothing ticked while planning, the plan's own task once submitted, what
    was due before now while running, everything in review and archived. The tasks are
    shared between the campaign's owner and the board's members (by turns)."""
    card = await Card.select(Card.board, Card.assignee).where(Card.id == card_id).first()
    if card is None:
        return
    planned = plan_templates.planned_tasks(
        fields.get("campaign_format"), fields.get("starts_at"), fields.get("ends_at"), await sla.get_calendar()
    )
    if not planned:
        return
    people = [person for person in await boards.board_people(card["board"]) if _may_own(person, fields)]
    ids = {person["id"] for person in people}
    team = [card["assignee"]] if card["assignee"] in ids else []
    team += [person for person in fields.get("team") or [] if person in ids and person not in team]
    team += [person["id"] for person in people if person["role"] == "member" and person["id"] not in team][:2]
    rows = []
    for position, item in enumerate(planned):
        due = item["due_at"]
        owner = team[position % len(team)] if team else None
        if state in ("review", "archived"):
            done = True
        elif state == "running":
            done = due is not None and due < now
        elif state == "approval":
            done = item["key"] == "plan_final"
        else:
            done = False
        done_at = min(due, now) - timedelta(hours=2) if done and due is not None else (now if done else None)
        rows.append(
            CampaignTask(
                card=card_id,
                title=item["title"],
                owner=owner,
                due_at=due,
                done_at=done_at,
                done_by=owner if done else None,
                position=position,
                template_key=item["key"],
                created_by=card["assignee"],
                created_at=min(now, (fields.get("starts_at") or now) - timedelta(days=14)),
            )
        )
    await CampaignTask.insert(*rows)
    await recount(card_id)
