"""Writing the audit trail. Other domains call these inside their own transactions."""

from __future__ import annotations

from typing import Any

from portal.events.tables import Event


async def record(
    verb: str,
    *,
    actor_id: int | None,
    object_type: str,
    object_id: int | None = None,
    payload: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """An account or admin event: who did what to which object (no board sequence)."""
    await Event.insert(
        Event(
            verb=verb,
            actor=actor_id,
            object_type=object_type,
            object_id=object_id,
            payload=payload or {},
            ip=ip[:45],
        )
    )


async def recent(limit: int = 100, verb_prefix: str | None = None) -> list[dict[str, Any]]:
    query = (
        Event.select(
            Event.id,
            Event.verb,
            Event.object_type,
            Event.object_id,
            Event.payload,
            Event.ip,
            Event.created_at,
            Event.actor.display_name.as_alias("actor_name"),
        )
        .order_by(Event.id, ascending=False)
        .limit(limit)
    )
    if verb_prefix:
        query = query.where(Event.verb.like(f"{verb_prefix}%"))
    return await query
