"""Reminders of a campaign's tasks, through the deadlines engine's machinery
(``portal.reminders.services``): a 催办 before a task is due, a notice when it is due, and one
notice to the campaign's owner and the board's managers once it is overdue.

The same guarantees as a card's reminders:

- every reminder has a deterministic key — (task, kind, due time) — that is both the arq job
  id (arming twice queues it once) and, with the recipient, the notification's unique key
  (a job that runs twice notifies once);
- the job re-reads the task and does nothing when the reminder no longer applies: the task
  is done or removed, its due time moved (the new due time has reminders of its own), the
  campaign is archived or in a done column; a 催办 that would arrive after the due time, or a
  "due now" notice long after it, is dropped too;
- every task write arms its campaign's reminders after the commit (an outbox effect,
  ``arm``), and a cron sweep re-arms from the database whatever Redis lost.

When the 催办 comes: one working day before the due time, at the same time of day kept inside
working hours (due Monday 10:00 → Friday 10:00; due Saturday 20:00 at a livestream → Friday
17:30), on the portal's working calendar (holidays and 调休 included). A task's due time is a
date on the campaign's timeline, not a span of work like a card's clock, so the card's rule (a
share of the time since the clock started) would nudge a task planned a month ahead weeks
early. Only when the task was created less than that working day before it is due does the
card's rule apply: the 催办 comes once the nudge fraction of the time since its creation has
passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from portal.boards import services as boards
from portal.campaigns.tables import CampaignTask
from portal.db import write_transaction
from portal.events import outbox
from portal.events.outbox import Effect, EffectContext, handler
from portal.i18n import gettext as _
from portal.notifications import services as notifications
from portal.reminders import services as reminders
from portal.settings import get_settings
from portal.sla import services as sla
from portal.sla.calendar import BusinessCalendar

JOB_NAME = "send_task_reminder"
NOTIFICATION_KIND = "task"
KINDS = ("nudge", "due", "overdue")
OVERDUE_AFTER = timedelta(minutes=1)  # the overdue notice once the due time has clearly passed
STALE_AFTER = reminders.STALE_AFTER  # a "due now" notice later than this is noise
# A missed overdue notice (Redis lost it) still goes out this long after the due time; older
# overdue tasks are left alone by the sweep rather than queued again every hour.
OVERDUE_GRACE = timedelta(days=2)
# The sweep, as for the cards' reminders: a full sweep (every open task, however far off) when
# a worker starts, every hour and whenever Redis has lost the marker; in between, only the
# tasks due within SOON either side of now.
ARMED_KEY = "portal:task-reminders:armed"
FULL_SWEEP_EVERY = reminders.FULL_SWEEP_EVERY
SOON = reminders.SOON


@dataclass(frozen=True)
class TaskReminder:
    task_id: int
    kind: str  # nudge | due | overdue
    due_at: datetime
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.task_id}:{self.kind}:{self.due_at.astimezone(UTC).isoformat()}"

    @property
    def job_id(self) -> str:
        return f"task-reminder:{self.key}"


def _previous_working_day(calendar: BusinessCalendar, day: date) -> date:
    for _step in range(3660):
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            return day
    return day


def nudge_time(calendar: BusinessCalendar, due_at: datetime, created_at: datetime | None) -> datetime | None:
    """When to send the 催办 (see the module's note); None when there is no time for one."""
    local = calendar.local(due_at)
    opens, closes = calendar.periods[0][0], calendar.periods[-1][1]
    clock = min(max(local.time(), opens), closes)
    at = datetime.combine(_previous_working_day(calendar, local.date()), clock, tzinfo=calendar.timezone)
    if created_at is not None and at <= created_at:
        if created_at >= due_at:
            return None
        at = created_at + (due_at - created_at) * reminders.nudge_fraction()
    return at


def plan(task: dict[str, Any], calendar: BusinessCalendar) -> list[TaskReminder]:
    """The reminders an open task's due time calls for (pure)."""
    due = task.get("due_at")
    if due is None or task.get("done_at") is not None or task.get("archived") or task.get("meaning") == "done":
        return []
    if task.get("created_at") is not None and task["created_at"] >= due:
        return []  # set down already past due (a template applied late): whoever did it knows
    planned = []
    nudge_at = nudge_time(calendar, due, task.get("created_at"))
    if nudge_at is not None:
        planned.append(TaskReminder(task["id"], "nudge", due, nudge_at))
    planned.append(TaskReminder(task["id"], "due", due, due))
    planned.append(TaskReminder(task["id"], "overdue", due, due + OVERDUE_AFTER))
    return planned


def still_useful(reminder: TaskReminder, now: datetime) -> bool:
    """Whether a reminder sent now still makes sense (missed ones go out while they do)."""
    if reminder.kind == "nudge":
        return now < reminder.due_at
    if reminder.kind == "due":
        return now <= reminder.due_at + STALE_AFTER
    return now <= reminder.due_at + OVERDUE_GRACE


def pending(task: dict[str, Any], calendar: BusinessCalendar, now: datetime) -> list[TaskReminder]:
    """The reminders still to send about a task as it stands now (pure)."""
    return [reminder for reminder in plan(task, calendar) if still_useful(reminder, now)]


# What a reminder needs to know about its task and campaign.
FIELDS = (
    CampaignTask.id,
    CampaignTask.card,
    CampaignTask.title,
    CampaignTask.owner,
    CampaignTask.due_at,
    CampaignTask.done_at,
    CampaignTask.created_at,
    CampaignTask.card.title.as_alias("card_title"),
    CampaignTask.card.board.as_alias("board"),
    CampaignTask.card.assignee.as_alias("card_assignee"),
    CampaignTask.card.archived.as_alias("archived"),
    CampaignTask.card.column.meaning.as_alias("meaning"),
)
_OPEN = CampaignTask.done_at.is_null() & CampaignTask.due_at.is_not_null()


async def schedule_card(arq, card_id: int, now: datetime | None = None) -> int:
    """Queue the coming reminders of a campaign's open tasks; returns how many were newly
    queued (none twice: the job ids are the reminders' keys)."""
    now = now or datetime.now(UTC)
    calendar = await sla.get_calendar()
    rows = await CampaignTask.select(*FIELDS).where((CampaignTask.card == card_id) & _OPEN)
    return await _enqueue(arq, [r for row in rows for r in pending(row, calendar, now)], now)


async def _enqueue(arq, planned: list[TaskReminder], now: datetime) -> int:
    queued = 0
    for reminder in planned:
        job = await arq.enqueue_job(
            JOB_NAME,
            reminder.task_id,
            reminder.kind,
            reminder.due_at.astimezone(UTC).isoformat(),
            _job_id=reminder.job_id,
            _defer_until=max(reminder.at, now),
        )
        queued += job is not None
    return queued


async def _not_yet_queued(arq, planned: list[TaskReminder]) -> list[TaskReminder]:
    """Those whose job neither waits in Redis nor has run lately (one round trip per batch)."""
    missing = []
    for start in range(0, len(planned), 500):
        batch = planned[start : start + 500]
        async with arq.pipeline(transaction=False) as pipe:
            for reminder in batch:
                pipe.exists("arq:job:" + reminder.job_id, "arq:result:" + reminder.job_id)
            found = await pipe.execute()
        missing += [reminder for reminder, count in zip(batch, found, strict=True) if not count]
    return missing


async def _full_sweep_due(arq, now: datetime) -> bool:
    last = await arq.get(ARMED_KEY)
    if last is None:
        return True
    try:
        return now - datetime.fromisoformat(last.decode() if isinstance(last, bytes) else last) >= FULL_SWEEP_EVERY
    except ValueError:
        return True


async def sweep(arq, now: datetime | None = None, full: bool | None = None) -> int:
    """Re-arm from the database the task reminders Redis does not hold; returns how many were
    queued. ``full=None`` decides by the marker (ARMED_KEY), as the cards' sweep does."""
    now = now or datetime.now(UTC)
    if full is None:
        full = await _full_sweep_due(arq, now)
    where = (
        _OPEN
        & (CampaignTask.card.archived == False)  # noqa: E712
        & (CampaignTask.card.column.meaning != "done")
        & (CampaignTask.due_at >= now - (OVERDUE_GRACE if full else SOON))
    )
    if not full:
        where &= CampaignTask.due_at <= now + SOON
    calendar = await sla.get_calendar()
    planned = [r for row in await CampaignTask.select(*FIELDS).where(where) for r in pending(row, calendar, now)]
    queued = await _enqueue(arq, await _not_yet_queued(arq, planned), now)
    if full:
        await arq.set(ARMED_KEY, now.isoformat())
    return queued


def _titles(kind: str, task: dict[str, Any]) -> tuple[str, str]:
    names = {"task": task["title"], "campaign": task["card_title"]}
    due = task["due_at"].astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M")
    if kind == "nudge":
        return _("Task due soon: “%(task)s” (%(campaign)s)", **names), _("Due %(at)s.", at=due)
    if kind == "due":
        return _("Task due now: “%(task)s” (%(campaign)s)", **names), _("Due %(at)s.", at=due)
    return _("Task overdue: “%(task)s” (%(campaign)s)", **names), _("It was due %(at)s and is not done.", at=due)


async def _recipients(kind: str, task: dict[str, Any]) -> list[int]:
    """Who hears it (only people who may see the campaign): the 催办 and the due notice go to
    the task's owner (without one, to the campaign's owner; without either, to its
    managers); the overdue notice to the campaign's owner and the board's managers."""
    card_id = task["card"]
    if kind == "overdue":
        return await boards.who_may_see_card(card_id, [task["card_assignee"], *await boards.card_managers(card_id)])
    for person in (task["owner"], task["card_assignee"]):
        if person is not None and (seen := await boards.who_may_see_card(card_id, [person])):
            return seen
    return await boards.card_managers(card_id)


async def send(task_id: int, kind: str, due_iso: str, now: datetime | None = None) -> list[int]:
    """Run one task reminder as one unit: re-check that it still applies, notify each
    recipient once (the unique key) and stage the deliveries in the same transaction; run
    them after commit. Returns who was newly notified (empty when it no longer applies or
    was sent before)."""
    if kind not in KINDS:
        return []
    async with write_transaction():
        task = await CampaignTask.select(*FIELDS).where(CampaignTask.id == task_id).first()
        if task is None or task["done_at"] is not None or task["archived"] or task["meaning"] == "done":
            return []  # removed, done, or the campaign is over
        if task["due_at"] is None or task["due_at"].astimezone(UTC).isoformat() != due_iso:
            return []  # the due time moved: the new one has reminders of its own
        reminder = TaskReminder(task_id, kind, task["due_at"], task["due_at"])
        if not still_useful(reminder, now or datetime.now(UTC)):
            return []  # the worker was down past the point where it made sense
        title, body = _titles(kind, task)
        notified, notification_ids = [], []
        for user_id in await _recipients(kind, task):
            notification_id = await notifications.notify(
                user_id,
                NOTIFICATION_KIND,
                title[:200],
                dedupe_key=f"task-reminder:{reminder.key}:{user_id}",
                body=body,
                link=f"/boards/{task['board']}?card={task['card']}",
                card_id=task["card"],
            )
            if notification_id is not None:
                notified.append(user_id)
                notification_ids.append(notification_id)
        effects = notifications.delivery_effects(notification_ids, notified)
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return notified


# The effect: after a task write commits, (re)arm its campaign's task reminders.


def arm(card_id: int) -> Effect:
    return Effect("arm_task_reminders", {"card_id": card_id})


@handler("arm_task_reminders")
async def arm_task_reminders(ctx: EffectContext, payload: dict[str, Any]) -> None:
    if ctx.arq is None:
        raise RuntimeError("no job queue in this process's effect context")
    await schedule_card(ctx.arq, payload["card_id"])
