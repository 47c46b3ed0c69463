"""Notifications: list, count unread, mark read. Writers add rows with a dedupe key and
stage their delivery (bell, e-mail) as outbox effects in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString

from portal.accounts.services import CurrentUser, NotFound, get_active_user_with
from portal.accounts.tables import User
from portal.cards.tables import Card
from portal.events.outbox import Effect
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.notifications.tables import Notification


async def list_for(user: CurrentUser, limit: int = 100) -> list[dict[str, Any]]:
    """Unread first, then newest first."""
    rows = (
        await Notification.select(
            Notification.id,
            Notification.kind,
            Notification.title,
            Notification.body,
            Notification.link,
            Notification.created_at,
            Notification.read_at,
        )
        .where(Notification.user == user.id)
        .order_by(Notification.id, ascending=False)
        .limit(limit)
    )
    return sorted(rows, key=lambda row: row["read_at"] is not None)


# Reminders (催办, 到期, 督办) come one per card and deadline: on a busy board, dozens a day. They
# are shown one line per kind and board ("督办 ×12 · 网友留言"); everything else one line per
# kind and card (a card's mentions together), or alone when it is about no card.
REMINDER_KEY_PREFIX = "reminder:"
KIND_LABELS = {
    "mention": _l("Mentions"),
    "nudge": _l("Due soon (催办)"),
    "due": _l("Deadline reached"),
    "escalation": _l("Escalations"),
    "reminder_escalation": _l("Overdue (督办)"),
    "extension": _l("Extensions"),
    "case": _l("Inquiry steps"),
    "task": _l("Campaign tasks"),
    "campaign": _l("Campaigns"),
    "incident": _l("Incidents"),
}
GROUPS_PER_PAGE = 20
# How far back the grouped list reads (the newest first): more than a person reads, bounded.
READ_BACK = 2000


@dataclass
class NotificationGroup:
    key: tuple
    kind: str
    label: str
    board_name: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)  # newest first

    @property
    def latest(self) -> dict[str, Any]:
        return self.items[0]

    @property
    def unread(self) -> int:
        return sum(1 for item in self.items if item["read_at"] is None)


def kind_label(kind: str, reminder: bool = False) -> str:
    label = KIND_LABELS.get(f"reminder_{kind}" if reminder else kind) or KIND_LABELS.get(kind)
    return str(label) if label else _("Notices")


async def grouped(user: CurrentUser, kind: str = "", unread_only: bool = False, page: int = 1) -> dict[str, Any]:
    """The notification centre's page: groups (unread first, then newest), a page of them,
    and the kinds this person has, with their unread counts, for the filter."""
    query = Notification.select(
        Notification.id,
        Notification.kind,
        Notification.title,
        Notification.body,
        Notification.link,
        Notification.card_id,
        Notification.dedupe_key,
        Notification.created_at,
        Notification.read_at,
    ).where(Notification.user == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    rows = await query.order_by(Notification.id, ascending=False).limit(READ_BACK)
    boards = await _boards_of([row["card_id"] for row in rows if row["card_id"] is not None])
    groups: dict[tuple, NotificationGroup] = {}
    for row in rows:
        reminder = row["dedupe_key"].startswith(REMINDER_KEY_PREFIX) and row["card_id"] is not None
        board = boards.get(row["card_id"]) or {}
        if reminder:
            key = (row["kind"], "board", board.get("id"))
        elif row["card_id"] is not None:
            key = (row["kind"], "card", row["card_id"])
        else:
            key = (row["kind"], "one", row["id"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = NotificationGroup(
                key, row["kind"], kind_label(row["kind"], reminder), board.get("name", "") if reminder else ""
            )
        group.items.append(row)
    ordered = sorted(groups.values(), key=lambda g: (g.unread == 0, -g.latest["id"]))
    pages = max(1, -(-len(ordered) // GROUPS_PER_PAGE))
    page = min(max(page, 1), pages)
    kinds = (
        await Notification.select(Notification.kind, Count(alias="total"), Count(Notification.read_at, alias="read"))
        .where(Notification.user == user.id)
        .group_by(Notification.kind)
    )
    return {
        "groups": ordered[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE],
        "page": page,
        "pages": pages,
        "kind": kind,
        "unread_only": unread_only,
        "kinds": sorted(
            ({"kind": k["kind"], "label": kind_label(k["kind"]), "unread": k["total"] - k["read"]} for k in kinds),
            key=lambda k: (-k["unread"], k["label"]),
        ),
    }


async def _boards_of(card_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not card_ids:
        return {}
    rows = await Card.select(Card.id, Card.board.id.as_alias("board_id"), Card.board.name.as_alias("board_name")).where(
        Card.id.is_in(sorted(set(card_ids)))
    )
    return {row["id"]: {"id": row["board_id"], "name": row["board_name"]} for row in rows}


async def mark_group_read(user: CurrentUser, notification_id: int) -> None:
    """Mark read every notification of the person's own that is shown in one line with this
    one (the same kind and card; for reminders, the same kind and board)."""
    row = (
        await Notification.select(Notification.kind, Notification.card_id, Notification.dedupe_key)
        .where((Notification.id == notification_id) & (Notification.user == user.id))
        .first()
    )
    if row is None:
        raise NotFound
    query = Notification.update({Notification.read_at: datetime.now(UTC)}).where(
        (Notification.user == user.id) & Notification.read_at.is_null() & (Notification.kind == row["kind"])
    )
    if row["card_id"] is None:
        query = query.where(Notification.id == notification_id)
    elif row["dedupe_key"].startswith(REMINDER_KEY_PREFIX):
        board = (await _boards_of([row["card_id"]])).get(row["card_id"], {}).get("id")
        same_board = Card.select(Card.id).where(Card.board == board)
        query = query.where(
            Notification.dedupe_key.like(REMINDER_KEY_PREFIX + "%") & Notification.card_id.is_in(same_board)
        )
    else:
        query = query.where(Notification.card_id == row["card_id"])
    await query


# The bell's count (unread notifications), as a subquery of the signed-in user's row (table
# names are the tables' own, not input).
_UNREAD_OF_USER = QueryString(
    f"(SELECT COUNT(*) FROM {Notification._meta.tablename} AS unread"  # noqa: S608
    f' WHERE unread."user" = {User._meta.tablename}.id AND unread.read_at IS NULL)'
)


async def active_user_and_unread(user_id: int) -> tuple[CurrentUser, int] | None:
    """The active user behind a session and their bell's count: one statement, not two
    (every signed-in page needs both)."""
    found = await get_active_user_with(user_id, _UNREAD_OF_USER, "unread")
    return (found[0], int(found[1] or 0)) if found else None


async def mark_read(user: CurrentUser, notification_id: int | None = None) -> None:
    """Mark one (or, without an id, all) of the user's own notifications read. Someone
    else's notification, or one that does not exist, is NotFound (404)."""
    if notification_id is not None and not await Notification.exists().where(
        (Notification.id == notification_id) & (Notification.user == user.id)
    ):
        raise NotFound
    query = Notification.update({Notification.read_at: datetime.now(UTC)}).where(
        (Notification.user == user.id) & Notification.read_at.is_null()
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    await query


async def link_of(user: CurrentUser, notification_id: int) -> str:
    """Where the user's own notification points ("" if nowhere)."""
    row = (
        await Notification.select(Notification.link)
        .where((Notification.id == notification_id) & (Notification.user == user.id))
        .first()
    )
    return (row or {}).get("link") or ""


async def notify(
    user_id: int, kind: str, title: str, dedupe_key: str, *, body: str = "", link: str = "", card_id: int | None = None
) -> int | None:
    """Add one notification unless one with the same key exists; returns its id, or None.

    One statement decides (INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id): a
    second writer with the same key gets no row back, and no error either, so it can run
    inside the caller's transaction (on PostgreSQL a failed insert would abort it). Nothing
    is delivered here: the caller stages ``delivery_effects`` in the same transaction."""
    rows = (
        await Notification.insert(
            Notification(
                user=user_id, kind=kind, title=title, body=body, link=link, card_id=card_id, dedupe_key=dedupe_key
            )
        )
        .on_conflict(target=Notification.dedupe_key, action="DO NOTHING")
        .returning(Notification.id)
    )
    return rows[0]["id"] if rows else None


def delivery_effects(notification_ids: list[int], user_ids: list[int]) -> list[Effect]:
    """What delivers new notifications once the write commits (see portal/notifications/effects.py):
    one bell refresh for the recipients, one e-mail row per notification (the handler decides
    whether SMTP is set up and whether the user wants that kind by e-mail)."""
    effects = []
    if user_ids:
        effects.append(Effect("refresh_bells", {"user_ids": sorted(set(user_ids))}))
    effects += [Effect("email", {"notification_id": notification_id}) for notification_id in notification_ids]
    return effects
