"""Outbox handlers that deliver notifications once the write that added them has committed.

Each runs as its own outbox row, so one failing delivery (SMTP down, a robot refusing)
neither holds back the others nor repeats them: the outbox retries the failed row only.
All are idempotent, as the outbox requires: a bell refresh can be repeated, an e-mail is
claimed on its notification row, a robot post on its delivery row.
"""

from __future__ import annotations

from typing import Any

from portal.events.outbox import EffectContext, handler
from portal.notifications import delivery


@handler("refresh_bells")
async def refresh_bells(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """{user_ids}: refresh each user's bell (unread count) wherever they have the portal open."""
    from portal.live import publisher  # the live package renders templates: loaded when needed

    user_ids = [int(user_id) for user_id in payload.get("user_ids") or []]
    if user_ids:
        await publisher.notify_users(publisher.backend_for(ctx.redis).publish, user_ids)


@handler("email")
async def email(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """{notification_id}: e-mail it if SMTP is set up and the user wants this kind.

    A transient failure raises DeliveryFailed (the claim on ``emailed_at`` released), and the
    outbox retries the row later; a notification e-mailed before is not sent again."""
    await delivery.email_notification(int(payload["notification_id"]))


@handler("robots")
async def robots(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """{board_id, key, text}: tell the board's group robots, each once per key.

    Every robot is tried; those that failed are released and DeliveryFailed is raised, so
    the outbox's retry posts to them only."""
    await delivery.post_to_robots(int(payload["board_id"]), str(payload["key"]), str(payload["text"]))
