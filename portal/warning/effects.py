"""Outbox handlers of the early warning: arming an alert's escalation job, and telling the
people who may watch a board's topics that its topics or alerts changed.

The live signal goes out on each person's own channel (``user:{id}``, the /ws/me socket every
page but a board's keeps open) as a tiny element that, swapped in on the 舆情监测 page, makes
the page fetch its own live section again: each viewer gets what she may see, from her own
request, and one render serves everybody (no per-viewer render in the worker)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from portal.events.outbox import EffectContext, handler

SIGNAL_TEMPLATE = "partials/warning/_signal.html"


def job_id(alert_id: int, at: str) -> str:
    return f"warning-escalate:{alert_id}:{at}"


@handler("arm_warning_escalation")
async def arm_warning_escalation(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """{alert_id, at}: run ``escalate_warning_alert`` at that moment (a deterministic job id:
    arming twice queues it once; the sweep re-arms nothing, it escalates what is due)."""
    from portal.warning.services import ESCALATE_JOB

    if ctx.arq is None:
        raise RuntimeError("no job queue in this process's effect context")
    # (A simulated clock's moment may be past: then it runs at once, and finds it due.)
    at = max(datetime.fromisoformat(str(payload["at"])), datetime.now(UTC))
    alert_id = int(payload["alert_id"])
    await ctx.arq.enqueue_job(ESCALATE_JOB, alert_id, _job_id=job_id(alert_id, payload["at"]), _defer_until=at)


async def watchers(board_id: int) -> list[int]:
    """Who may have the 舆情监测 page open on this board: its members but liaisons, and the
    administrators."""
    from portal.accounts.tables import Role, User
    from portal.boards.tables import BoardMember

    members = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == board_id)
        & (BoardMember.user.active == True)  # noqa: E712
        & (BoardMember.user.role != Role.liaison)
    )
    admins = await User.select(User.id).where((User.role == Role.admin) & (User.active == True))  # noqa: E712
    return list(dict.fromkeys([row["user"] for row in members] + [row["id"] for row in admins]))


# Every observed comment changes a board's counts; in a surge that is several a second, and
# each signal makes every viewer fetch the live section. So a board signals at most once per
# period: the first change signals at once (a Redis key set if absent, expiring after the
# period), later ones within the period leave one trailing job at the period's end (a job id
# per board and period: queued once), so the last change is always seen within seconds.
SIGNAL_PERIOD_MS = 5000
SIGNAL_JOB = "signal_warning_live"


def signal_key(board_id: int) -> str:
    return f"warning-live-signal:{board_id}"


def signal_job_id(board_id: int, period: int) -> str:
    return f"warning-live:{board_id}:{period}"


async def signal(redis: Any, board_id: int) -> None:
    """Tell the board's watchers to fetch their live section again (now, unconditionally)."""
    from portal.live import fragments, publisher

    html = fragments.render(SIGNAL_TEMPLATE)
    send = publisher.backend_for(redis).publish
    for user_id in await watchers(board_id):
        await publisher.publish_to_user(send, user_id, html)


@handler("warning_changed")
async def warning_changed(ctx: EffectContext, payload: dict[str, Any]) -> None:
    """{board_id}: the board's topics or alerts changed; open 舆情监测 pages refresh (at most
    once per SIGNAL_PERIOD_MS per board, see above)."""
    board_id = int(payload["board_id"])
    if await ctx.redis.set(signal_key(board_id), "1", nx=True, px=SIGNAL_PERIOD_MS):
        await signal(ctx.redis, board_id)
        return
    if ctx.arq is None:
        return  # (no job queue here: the next change after the period signals)
    period = int(time.time() * 1000) // SIGNAL_PERIOD_MS + 1
    at = datetime.fromtimestamp(period * SIGNAL_PERIOD_MS / 1000, UTC)
    await ctx.arq.enqueue_job(SIGNAL_JOB, board_id, _job_id=signal_job_id(board_id, period), _defer_until=at)


async def trailing_signal(redis: Any, board_id: int) -> None:
    """The worker's job at a period's end: signal, and open a new period (so a change just
    after it waits for the next trailing signal instead of signalling twice in a row)."""
    await redis.set(signal_key(board_id), "1", px=SIGNAL_PERIOD_MS)
    await signal(redis, board_id)
