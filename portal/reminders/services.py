"""Reminders: 催办 before a deadline, a notice at it, 督办 to the managers after it.

Every reminder has a deterministic key — (card, stage, kind, round, due time) — that is
both the arq job id (so scheduling twice queues it once) and the notification's unique
key (so running a job twice notifies once). A job re-reads the card and does nothing if
the reminder no longer applies (moved on, paused, extended, closed). A cron sweep
re-schedules from the database whatever Redis lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.boards import services as boards
from portal.cards.tables import Card
from portal.i18n import gettext as _
from portal.notifications import delivery
from portal.notifications import services as notifications
from portal.notifications.tables import Notification
from portal.settings import get_settings
from portal.sla import services as sla


def nudge_fraction() -> float:
    """催办 when this share of the time is used (PORTAL_NUDGE_AT, three quarters by default)."""
    from portal.settings import get_settings

    return get_settings().nudge_at


MAX_ESCALATION_ROUNDS = 30  # one a working day for six weeks at most
SWEEP_HORIZON = timedelta(hours=2)  # the sweep (re)queues what falls due within this window
STALE_AFTER = timedelta(hours=1)  # a "due now" notice later than this is noise
ESCALATION_DELAY = timedelta(minutes=1)  # 督办 once the deadline has clearly passed
JOB_NAME = "send_reminder"


@dataclass(frozen=True)
class Reminder:
    card_id: int
    stage: str
    kind: str  # nudge | due | escalation
    round: int
    due_at: datetime
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.card_id}:{self.stage}:{self.kind}:{self.round}:{self.due_at.astimezone(UTC).isoformat()}"

    @property
    def job_id(self) -> str:
        return f"reminder:{self.key}"


def plan(card: dict[str, Any], calendar, escalation_rounds: int = 1) -> list[Reminder]:
    """The reminders a card's current deadline calls for (pure)."""
    due, started, stage = card.get("due_at"), card.get("stage_started_at"), card.get("due_stage")
    if not due or not stage or card.get("archived"):
        return []
    reminders = []
    if started and started < due:
        nudge_at = started + (due - started) * nudge_fraction()
        reminders.append(Reminder(card["id"], stage, "nudge", 0, due, nudge_at))
    reminders.append(Reminder(card["id"], stage, "due", 0, due, due))
    for round_number in range(escalation_rounds):
        reminders.append(
            Reminder(card["id"], stage, "escalation", round_number, due, escalation_time(calendar, due, round_number))
        )
    return reminders


def escalation_time(calendar, due: datetime, round_number: int) -> datetime:
    """督办 right after the deadline, then at the start of each following working day."""
    if round_number == 0:
        return due + ESCALATION_DELAY
    day = calendar.local(due).date()
    for _day in range(round_number):
        day = calendar.next_working_day(day)
    return datetime.combine(day, calendar.periods[0][0], tzinfo=calendar.timezone)


# What a reminder needs to know about its card.
REMINDER_FIELDS = (
    Card.id,
    Card.board,
    Card.title,
    Card.due_at,
    Card.due_stage,
    Card.stage_started_at,
    Card.archived,
    Card.assignee,
    Card.paused_at,
    Card.column.meaning.as_alias("meaning"),
)


async def _card(card_id: int) -> dict[str, Any] | None:
    return await Card.select(*REMINDER_FIELDS).where(Card.id == card_id).first()


async def schedule_card(arq, card_id: int, now: datetime | None = None) -> int:
    """Queue the card's coming reminders; returns how many were newly queued."""
    card = await _card(card_id)
    if card is None:
        return 0
    return await _enqueue(arq, card, now or datetime.now(UTC))


async def _enqueue(arq, card: dict[str, Any], now: datetime) -> int:
    calendar = await sla.get_calendar()
    overdue_days = 0
    if card["due_at"] and card["due_at"] < now:
        overdue_days = max(0, (calendar.local(now).date() - calendar.local(card["due_at"]).date()).days)
    queued = 0
    plans = plan(card, calendar, escalation_rounds=min(overdue_days + 2, MAX_ESCALATION_ROUNDS))
    latest_escalation = max((r.at for r in plans if r.kind == "escalation" and r.at <= now), default=None)
    for reminder in plans:
        # Missed reminders still go out (the sweep re-arms what Redis lost), but only while
        # they make sense: no 催办 after the deadline, no "due now" hours later, and of the
        # daily 督办 rounds only the latest one.
        if reminder.kind == "nudge" and now >= reminder.due_at:
            continue
        if reminder.kind == "due" and now > reminder.at + STALE_AFTER:
            continue
        if reminder.kind == "escalation" and reminder.at <= now and reminder.at != latest_escalation:
            continue
        job = await arq.enqueue_job(
            JOB_NAME,
            card["id"],
            reminder.stage,
            reminder.kind,
            reminder.round,
            reminder.due_at.astimezone(UTC).isoformat(),
            _job_id=reminder.job_id,
            _defer_until=max(reminder.at, now),
        )
        queued += job is not None
    return queued


async def sweep(arq, now: datetime | None = None) -> int:
    """Re-arm every reminder the database says is coming (or overdue) within the horizon."""
    now = now or datetime.now(UTC)
    cards = await Card.select(*REMINDER_FIELDS).where(
        (Card.archived == False)
        & Card.due_at.is_not_null()
        & Card.paused_at.is_null()  # noqa: E712
        & (Card.due_at < now + SWEEP_HORIZON)
    )
    queued = 0
    for card in cards:
        queued += await _enqueue(arq, card, now)
    return queued


async def send(card_id: int, stage: str, kind: str, round_number: int, due_iso: str) -> list[int]:
    """Run one reminder: re-check that it still applies, then notify each recipient once.
    Returns who was newly notified (empty when it no longer applies or was sent before)."""
    card = await _card(card_id)
    if card is None or card["archived"] or card["meaning"] == "done" or card["due_stage"] != stage:
        return []
    if card["paused_at"] is not None:
        return []  # 挂起: the clock stands still; resuming plans new reminders
    if card["due_at"] is None or card["due_at"].astimezone(UTC).isoformat() != due_iso:
        return []  # the deadline moved (extension, new stage): a new reminder was planned for it
    reminder = Reminder(card_id, stage, kind, round_number, card["due_at"], card["due_at"])
    if kind == "escalation":
        recipients = await boards.board_managers(card["board"])
        title = _("Escalation: “%(title)s” is overdue", title=card["title"])
    else:
        recipients = [card["assignee"]] if card["assignee"] else await boards.board_managers(card["board"])
        title = (
            _("Reminder: “%(title)s” is due soon", title=card["title"])
            if kind == "nudge"
            else _("“%(title)s” has reached its deadline", title=card["title"])
        )
    notified = []
    for user_id in recipients:
        added = await notifications.notify(
            user_id,
            kind,
            title,
            dedupe_key=f"reminder:{reminder.key}:{user_id}",
            link=f"/boards/{card['board']}?card={card_id}",
            card_id=card_id,
        )
        if added:
            notified.append(user_id)
    # E-mail and group robots: each claims its own delivery, so a rerun sends nothing twice.
    if get_settings().smtp_host:
        rows = await Notification.select(Notification.id).where(
            Notification.dedupe_key.like(f"reminder:{reminder.key}:%")
        )
        for row in rows:
            await delivery.email_notification(row["id"])
    await delivery.post_to_robots(card["board"], reminder.key, title)
    return notified
