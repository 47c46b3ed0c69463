"""The thumbnail effect: an image attachment, once committed, is queued for the worker.

Staged in the upload's own transaction; the arq job id is deterministic per attachment, so
queueing twice (the outbox may run a row twice) makes one thumbnail."""

from __future__ import annotations

from typing import Any

from portal.events.outbox import Effect, EffectContext, handler

JOB_NAME = "make_attachment_thumbnail"


def job_id(attachment_id: int) -> str:
    return f"attachment-thumbnail:{attachment_id}"


def thumbnail(attachment_id: int) -> Effect:
    return Effect("queue_attachment_thumbnail", {"attachment_id": attachment_id})


@handler("queue_attachment_thumbnail")
async def queue_thumbnail(ctx: EffectContext, payload: dict[str, Any]) -> None:
    if ctx.arq is None:
        raise RuntimeError("no job queue in this process's effect context")
    attachment_id = int(payload["attachment_id"])
    await ctx.arq.enqueue_job(JOB_NAME, attachment_id, _job_id=job_id(attachment_id))
