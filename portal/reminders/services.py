"""Reminders: 催办 before a deadline, a notice at it, 督办 to the managers after it.

Every reminder has a deterministic key — (card, stage, kind, round, due time) — that is
both the arq job id (so scheduling twice queues it once) and the notification's unique
key (so running a job twice notifies once). A job re-reads the card and does nothing if
the reminder no longer applies (moved on, paused, extended, closed). A cron sweep
re-schedules from the database whatever Redis lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from portal.boards import services as boards
from portal.cards.tables import Card
from portal.db import write_transaction
from portal.events import outbox
from portal.events.outbox import Effect
from portal.i18n import gettext as _
from portal.notifications import services as notifications
from portal.sla import services as sla


def nudge_fraction() -> float:
    """催办 when this share of the time is used (PORTAL_NUDGE_AT, three quarters by default)."""
    from portal.settings import get_settings

    return get_settings().nudge_at


MAX_ESCALATION_ROUNDS = 30  # one a working day for six weeks at most
STALE_AFTER = timedelta(hours=1)  # a "due now" notice later than this is noise
ESCALATION_DELAY = timedelta(minutes=1)  # 督办 once the deadline has clearly passed
JOB_NAME = "send_reminder"
# The sweep. A full sweep re-arms every pending reminder, however far off; it runs when a
# worker starts, every hour, and whenever the marker below is missing (Redis lost its
# data: a FLUSHALL, a restore, a restart without persistence). In between, the sweep that
# runs every minute only re-arms the cards due within SOON either side of now.
ARMED_KEY = "portal:reminders:armed"  # when the last full sweep finished (no expiry)
FULL_SWEEP_EVERY = timedelta(hours=1)
SOON = timedelta(minutes=10)
_ARQ_JOB_PREFIX, _ARQ_RESULT_PREFIX = "arq:job:", "arq:result:"
_EXISTS_BATCH = 500


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


def pending(card: dict[str, Any], calendar, now: datetime) -> list[Reminder]:
    """The reminders still to send about a card as it stands now (pure).

    Missed reminders still go out (the sweep re-arms what Redis lost), but only while they
    make sense: no 催办 after the deadline, no "due now" hours later, and of the daily 督办
    rounds only the latest one. A closed (done column) or paused card has none."""
    if card.get("meaning") == "done" or card.get("paused_at") is not None:
        return []
    overdue_days = 0
    if card.get("due_at") and card["due_at"] < now:
        overdue_days = max(0, (calendar.local(now).date() - calendar.local(card["due_at"]).date()).days)
    plans = plan(card, calendar, escalation_rounds=min(overdue_days + 2, MAX_ESCALATION_ROUNDS))
    latest_escalation = max((r.at for r in plans if r.kind == "escalation" and r.at <= now), default=None)
    kept = []
    for reminder in plans:
        if reminder.kind == "nudge" and now >= reminder.due_at:
            continue
        if reminder.kind == "due" and now > reminder.at + STALE_AFTER:
            continue
        if reminder.kind == "escalation" and reminder.at <= now and reminder.at != latest_escalation:
            continue
        kept.append(reminder)
    return kept


def oldest_deadline_with_reminders_left(calendar, now: datetime) -> datetime:
    """Cards overdue since before this have had all their 督办 rounds (the last one, round
    MAX_ESCALATION_ROUNDS - 1, falls that many working days after the deadline's day); a
    day of grace lets a missed last round still go out."""
    today = calendar.local(now).date()
    day, working_days_after = today, 0
    # Step back while the working days after `day` (up to today) leave a round to come.
    while (today - day).days < 3660:  # (a calendar without working days stops somewhere)
        if working_days_after + calendar.is_working_day(day) > MAX_ESCALATION_ROUNDS - 1:
            break
        working_days_after += calendar.is_working_day(day)
        day -= timedelta(days=1)
    return datetime.combine(day - timedelta(days=1), time(0), tzinfo=calendar.timezone)


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
    return await _enqueue_reminders(arq, pending(card, await sla.get_calendar(), now), now)


async def _enqueue_reminders(arq, reminders: list[Reminder], now: datetime) -> int:
    queued = 0
    for reminder in reminders:
        job = await arq.enqueue_job(
            JOB_NAME,
            reminder.card_id,
            reminder.stage,
            reminder.kind,
            reminder.round,
            reminder.due_at.astimezone(UTC).isoformat(),
            _job_id=reminder.job_id,
            _defer_until=max(reminder.at, now),
        )
        queued += job is not None
    return queued


async def _not_yet_queued(arq, reminders: list[Reminder]) -> list[Reminder]:
    """Those whose job neither waits in Redis nor has run lately (one round trip per batch;
    enqueue_job checks again, so a race only costs a no-op)."""
    missing = []
    for start in range(0, len(reminders), _EXISTS_BATCH):
        batch = reminders[start : start + _EXISTS_BATCH]
        async with arq.pipeline(transaction=False) as pipe:
            for reminder in batch:
                pipe.exists(_ARQ_JOB_PREFIX + reminder.job_id, _ARQ_RESULT_PREFIX + reminder.job_id)
            found = await pipe.execute()
        missing += [reminder for reminder, count in zip(batch, found, strict=True) if not count]
    return missing


async def full_sweep_due(arq, now: datetime) -> bool:
    """No full sweep since Redis last lost its data, or none for an hour."""
    last = await arq.get(ARMED_KEY)
    if last is None:
        return True
    try:
        return now - datetime.fromisoformat(last.decode() if isinstance(last, bytes) else last) >= FULL_SWEEP_EVERY
    except ValueError:
        return True


async def sweep(arq, now: datetime | None = None, full: bool | None = None) -> int:
    """Re-arm from the database the reminders Redis does not hold; returns how many were queued.

    A full sweep covers every open card with a deadline, however far off; otherwise only the
    cards due within SOON either side of now. ``full=None`` decides by the marker (see
    ARMED_KEY). Cards in a done column, paused cards and cards overdue past their last 督办
    round are left alone, so old overdue cards are not queued again and again."""
    now = now or datetime.now(UTC)
    if full is None:
        full = await full_sweep_due(arq, now)
    calendar = await sla.get_calendar()
    where = (
        (Card.archived == False)  # noqa: E712
        & Card.due_at.is_not_null()
        & Card.paused_at.is_null()
        & (Card.column.meaning != "done")
    )
    if full:
        where &= Card.due_at >= oldest_deadline_with_reminders_left(calendar, now)
    else:
        where &= (Card.due_at >= now - SOON) & (Card.due_at <= now + SOON)
    reminders = [
        reminder
        for card in await Card.select(*REMINDER_FIELDS).where(where)
        for reminder in pending(card, calendar, now)
    ]
    queued = await _enqueue_reminders(arq, await _not_yet_queued(arq, reminders), now)
    if full:
        await arq.set(ARMED_KEY, now.isoformat())
    return queued


async def send(card_id: int, stage: str, kind: str, round_number: int, due_iso: str) -> list[int]:
    """Run one reminder as one unit: re-check that it still applies, notify each recipient
    once and stage the deliveries, all in one transaction; run the deliveries after commit.
    Returns who was newly notified (empty when it no longer applies or was sent before).

    Deliveries are outbox rows (bells, one e-mail per notification, the group robots, for a
    督办 the next round): each runs and is retried on its own, so a failing SMTP server or
    robot neither holds back the others nor makes this job fail, and a job that runs twice
    stages nothing the second time."""
    async with write_transaction():
        card = await _card(card_id)
        if card is None or card["archived"] or card["meaning"] == "done" or card["due_stage"] != stage:
            return []
        if card["paused_at"] is not None:
            return []  # 挂起: the clock stands still; resuming plans new reminders
        if card["due_at"] is None or card["due_at"].astimezone(UTC).isoformat() != due_iso:
            return []  # the deadline moved (extension, new stage): a new reminder was planned for it
        reminder = Reminder(card_id, stage, kind, round_number, card["due_at"], card["due_at"])
        # Only people who may see the card hear its title: a card re-routed after it was assigned
        # no longer reminds the other department's liaison; its managers who can see it are told.
        if kind == "escalation":
            recipients = await boards.card_managers(card_id)
            title = _("Escalation: “%(title)s” is overdue", title=card["title"])
        else:
            recipients = await boards.who_may_see_card(card_id, [card["assignee"]]) or await boards.card_managers(
                card_id
            )
            title = (
                _("Reminder: “%(title)s” is due soon", title=card["title"])
                if kind == "nudge"
                else _("“%(title)s” has reached its deadline", title=card["title"])
            )
        notified, notification_ids = [], []
        for user_id in recipients:
            notification_id = await notifications.notify(
                user_id,
                kind,
                title,
                dedupe_key=f"reminder:{reminder.key}:{user_id}",
                link=f"/boards/{card['board']}?card={card_id}",
                card_id=card_id,
            )
            if notification_id is not None:
                notified.append(user_id)
                notification_ids.append(notification_id)
        effects = notifications.delivery_effects(notification_ids, notified)
        # The first run of this reminder (the unique keys say so) also tells the robots and
        # arms the next 督办; a rerun stages nothing. With nobody to notify there is no key
        # to decide by: the robots' own per-robot claims keep that case to one post each.
        if notification_ids or not recipients:
            effects.append(Effect("robots", {"board_id": card["board"], "key": reminder.key, "text": title}))
            if kind == "escalation":
                # While it stays overdue, the next working day's 督办 is queued.
                effects.append(Effect("arm_reminders", {"card_id": card_id}))
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return notified
