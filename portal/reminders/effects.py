"""Reminder effects: after a card write commits, (re)arm its reminder jobs (run by the outbox).

Idempotent by construction: each reminder's arq job id is deterministic per (card, stage,
threshold, due time), so arming twice queues nothing new; a job re-reads its card and does
nothing when it no longer applies.
"""

from __future__ import annotations

from typing import Any

from portal.events.outbox import Effect, EffectContext, handler


def arm(card_id: int) -> Effect:
    return Effect("arm_reminders", {"card_id": card_id})


@handler("arm_reminders")
async def arm_reminders(ctx: EffectContext, payload: dict[str, Any]) -> None:
    from portal.reminders import services as reminders

    if ctx.arq is None:
        raise RuntimeError("no job queue in this process's effect context")
    await reminders.schedule_card(ctx.arq, payload["card_id"])
