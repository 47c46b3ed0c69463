"""Notifications: list, count unread, mark read. Writers add rows with a dedupe key and
stage their delivery (bell, e-mail) as outbox effects in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from piccolo.querystring import QueryString

from portal.accounts.services import CurrentUser, NotFound, get_active_user_with
from portal.accounts.tables import User
from portal.events.outbox import Effect
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


# The bell's count (unread notifications), as a subquery of the signed-in user's row (table
# names are the tables' own, not input).
_UNREAD_OF_USER = QueryString(
    f"(SELECT COUNT(*) FROM {Notification._meta.tablename} AS unread"  # noqa: S608
    f' WHERE unread."user" = {User._meta.tablename}.id AND unread.read_at IS NULL)'
)


async def active_user_and_unread(user_id: int) -> tuple[CurrentUser, int] | None:
    """The active user behind a session and their bell's count: one statement, not two
    (every signed-in page needs both)."""
    found = await get_active_user_with(user_id, _UNREAD_OF_USER)
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
