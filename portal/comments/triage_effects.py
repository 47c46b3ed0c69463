"""The triage effect: a new comment card, once committed, is queued for the worker's triage.

Staged by the comments kind's ``created_effects`` hook in the card's own transaction, so every
new comment is triaged whoever made it (the drawer, the API, intake, an import) and a crash
between the commit and the queueing costs seconds, not the triage. The arq job id is
deterministic per card: queueing twice (the outbox may run a row twice) runs the job once.
"""

from __future__ import annotations

from typing import Any

from portal.events.outbox import Effect, EffectContext, handler

JOB_NAME = "triage_comment"


def job_id(card_id: int) -> str:
    return f"triage:{card_id}"


def triage(card_id: int) -> Effect:
    return Effect("queue_triage", {"card_id": card_id})


@handler("queue_triage")
async def queue_triage(ctx: EffectContext, payload: dict[str, Any]) -> None:
    if ctx.arq is None:
        raise RuntimeError("no job queue in this process's effect context")
    card_id = int(payload["card_id"])
    await ctx.arq.enqueue_job(JOB_NAME, card_id, _job_id=job_id(card_id))
