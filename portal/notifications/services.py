"""Notifications: list, count unread, mark read. Writers add rows with a dedupe key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.accounts.services import CurrentUser
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


async def unread_count(user: CurrentUser) -> int:
    return await Notification.count().where((Notification.user == user.id) & Notification.read_at.is_null())


async def mark_read(user: CurrentUser, notification_id: int | None = None) -> None:
    """Mark one (or, without an id, all) of the user's own notifications read."""
    query = Notification.update({Notification.read_at: datetime.now(UTC)}).where(
        (Notification.user == user.id) & Notification.read_at.is_null()
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    await query


async def notify(
    user_id: int, kind: str, title: str, dedupe_key: str, *, body: str = "", link: str = "", card_id: int | None = None
) -> bool:
    """Add one notification unless one with the same key exists; True when added.

    The unique key decides (one statement, race-free): a second insert fails and is ignored."""
    try:
        await Notification.insert(
            Notification(
                user=user_id, kind=kind, title=title, body=body, link=link, card_id=card_id, dedupe_key=dedupe_key
            )
        )
    except Exception as error:  # a concurrent writer won the unique key: same outcome
        if "unique" in str(error).lower() or "duplicate key" in str(error).lower():
            return False
        raise
    return True
