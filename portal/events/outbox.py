"""The outbox: what must happen after a write commits, written in the same transaction.

A write (see ``portal.events.unit``) stages its effects — publish to the board's viewers,
arm or cancel reminders, refresh bells, e-mail, group robots — as rows of the ``outbox``
table inside its own transaction. After the commit, the process that wrote them runs them
at once (``run``); should it die first, a worker finds the rows its claim no longer covers
and runs them (``run_pending``). Each row is marked done when its handler returns; a handler
that fails is retried later with a growing delay, and never turns the committed change into
an error for the person who made it.

Handlers are registered by the domain that owns the effect (``@handler("publish_cards")``)
and receive the ``EffectContext`` of the process running them. They must be idempotent: a
row may run twice if a process dies between running it and marking it done.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.events.tables import Outbox

log = logging.getLogger("portal.outbox")

# The writing process owns its rows this long; after that a worker may take them over.
OWNER_CLAIM = timedelta(seconds=5)
WORKER_CLAIM = timedelta(seconds=60)
MAX_ATTEMPTS = 12
# Modules that register handlers; imported on first use so that web processes and workers
# know the same effects whatever they imported first.
HANDLER_MODULES = (
    "portal.live.effects",
    "portal.reminders.effects",
    "portal.notifications.effects",
    "portal.comments.triage_effects",
    "portal.comments.replies",
    "portal.campaigns.task_reminders",
    "portal.warning.effects",
    "portal.search.effects",
    "portal.attachments.effects",
)

Handler = Callable[["EffectContext", dict[str, Any]], Awaitable[None]]
_handlers: dict[str, Handler] = {}


@dataclass(frozen=True)
class Effect:
    """One thing to do after commit: a handler's name and a JSON-serialisable payload."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class EffectContext:
    """What handlers need from the process running them (web or worker)."""

    redis: Any  # redis.asyncio.Redis: publishing to the live channels
    arq: Any = None  # arq's pool: scheduling reminder jobs


# One context per event loop: its connections belong to that loop. A web process and a
# worker have one loop each; tests also run apps in loops of their own, beside theirs.
_contexts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EffectContext] = weakref.WeakKeyDictionary()


def configure(context: EffectContext | None) -> None:
    """Set by the web app's lifespan and the worker's start-up (inside their event loop);
    None turns running off. Where nothing is configured, rows wait for a worker."""
    loop = asyncio.get_running_loop()
    if context is None:
        _contexts.pop(loop, None)
    else:
        _contexts[loop] = context


def context() -> EffectContext | None:
    try:
        return _contexts.get(asyncio.get_running_loop())
    except RuntimeError:  # no event loop: nothing can run here anyway
        return None


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        _handlers[name] = function
        return function

    return register


# Effects that follow others: a domain's own effect staged whenever a unit stages one of
# another's (search re-reads the cards a unit publishes), without every writer naming it.
# name -> functions from the unit's effects of that name to the further effects.
Follower = Callable[[list[Effect]], list[Effect]]
_followers: dict[str, list[Follower]] = {}


def follows(name: str) -> Callable[[Follower], Follower]:
    def register(function: Follower) -> Follower:
        _followers.setdefault(name, []).append(function)
        return function

    return register


def followers_of(effects: list[Effect]) -> list[Effect]:
    """The further effects the registered followers add to a unit's ``effects``. A follower
    that fails is logged and left out: it never fails the write it follows."""
    _load_handlers()
    extra: list[Effect] = []
    for name, functions in _followers.items():
        matching = [effect for effect in effects if effect.name == name]
        if matching:
            for function in functions:
                try:
                    extra.extend(function(matching))
                except Exception:
                    log.exception("outbox: the follower %s of %s failed", function.__name__, name)
    return extra


_loaded = False


def _load_handlers() -> None:
    # Every module, once: a writer importing one of them (for its Effect builders) must not
    # make this process forget the others' handlers.
    global _loaded
    if _loaded:
        return
    for module in HANDLER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
            log.warning("outbox: handler module %s is missing", module)
    _loaded = True


async def stage(effects: list[Effect], now: datetime | None = None) -> list[int]:
    """Write effects as outbox rows; call inside the write's transaction."""
    if not effects:
        return []
    now = now or datetime.now(UTC)
    rows = await Outbox.insert(
        *[
            Outbox(effect=effect.name, payload=effect.payload, run_after=now, claimed_until=now + OWNER_CLAIM)
            for effect in effects
        ]
    ).returning(Outbox.id)
    return [row["id"] for row in rows]


async def run(ids: list[int], effects: list[Effect] | None = None) -> int:
    """Run rows this process just committed; returns how many succeeded. Never raises.

    The writer passes the effects it staged (in the order of ``ids``), so nothing is read
    back; it still holds its claim on the rows, which is extended only if the handlers take
    long enough for a worker to think the writer died."""
    ctx = context()
    if not ids or ctx is None:
        return 0
    try:
        if effects is not None and len(effects) == len(ids):
            rows = [
                {"id": row_id, "effect": effect.name, "payload": effect.payload, "attempts": 0}
                # ids are handed out in insertion order, so the sorted ids match the effects
                for row_id, effect in zip(sorted(ids), effects, strict=True)
            ]
        else:
            rows = (
                await Outbox.select(Outbox.id, Outbox.effect, Outbox.payload, Outbox.attempts)
                .where(Outbox.id.is_in(ids) & Outbox.done_at.is_null())
                .output(load_json=True)
            )
    except Exception:  # the database hiccuped: the worker will run them
        log.exception("outbox: could not read rows %s", ids)
        return 0
    return await _run_rows(ctx, sorted(rows, key=lambda row: row["id"]), keep_claim=True)


async def run_pending(ctx: EffectContext | None = None, limit: int = 200, now: datetime | None = None) -> int:
    """Claim rows nobody is running (their writer died, or they wait for a retry) and run them."""
    ctx = ctx or context()
    if ctx is None:
        return 0
    now = now or datetime.now(UTC)
    due = (
        await Outbox.select(Outbox.id)
        .where(
            Outbox.done_at.is_null()
            & (Outbox.run_after <= now)
            & (Outbox.claimed_until.is_null() | (Outbox.claimed_until < now))
        )
        .order_by(Outbox.id)
        .limit(limit)
    )
    if not due:
        return 0
    ids = [row["id"] for row in due]
    # The claim is the guard between workers: only rows still unclaimed are taken.
    claimed = (
        await Outbox.update({Outbox.claimed_until: now + WORKER_CLAIM})
        .where(
            Outbox.id.is_in(ids)
            & Outbox.done_at.is_null()
            & (Outbox.claimed_until.is_null() | (Outbox.claimed_until < now))
        )
        .returning(Outbox.id)
    )
    if not claimed:
        return 0
    rows = (
        await Outbox.select(Outbox.id, Outbox.effect, Outbox.payload, Outbox.attempts)
        .where(Outbox.id.is_in([row["id"] for row in claimed]))
        .order_by(Outbox.id)
        .output(load_json=True)
    )
    return await _run_rows(ctx, rows)


async def _run_rows(ctx: EffectContext, rows: list[dict[str, Any]], keep_claim: bool = False) -> int:
    _load_handlers()
    done: list[int] = []
    started = time.monotonic()
    extended = False
    for index, row in enumerate(rows):
        if keep_claim and not extended and time.monotonic() - started > OWNER_CLAIM.total_seconds() / 2:
            # Slow handlers (an SMTP server taking its time): keep the rest of the rows ours,
            # so that a worker does not take them over while they still run here.
            extended = True
            rest = [later["id"] for later in rows[index:]]
            try:
                await Outbox.update({Outbox.claimed_until: datetime.now(UTC) + WORKER_CLAIM}).where(
                    Outbox.id.is_in(rest) & Outbox.done_at.is_null()
                )
            except Exception:
                log.exception("outbox: could not extend the claim on %s", rest)
        function = _handlers.get(row["effect"])
        try:
            if function is None:
                raise LookupError(f"no handler for effect {row['effect']!r}")
            await function(ctx, row["payload"] or {})
        except Exception as error:  # any failure is retried later; the write stays committed
            await _failed(row, error)
        else:
            done.append(row["id"])
    if done:
        try:
            await Outbox.update({Outbox.done_at: datetime.now(UTC)}).where(Outbox.id.is_in(done))
        except Exception:  # they will run again: handlers are idempotent
            log.exception("outbox: could not mark rows %s done", done)
    return len(done)


async def _failed(row: dict[str, Any], error: Exception) -> None:
    attempts = row["attempts"] + 1
    log.warning(
        "outbox: %s #%s %s failed (attempt %s): %s: %s",
        row["effect"],
        row["id"],
        json.dumps(row["payload"], ensure_ascii=False)[:200],
        attempts,
        type(error).__name__,
        error,
    )
    updates: dict[Any, Any] = {
        Outbox.attempts: attempts,
        Outbox.last_error: f"{type(error).__name__}: {error}"[:500],
        Outbox.claimed_until: None,
        # Another runner may have finished it meanwhile; running it again is harmless
        # (handlers are idempotent), losing it is not.
        Outbox.done_at: None,
        Outbox.run_after: datetime.now(UTC) + timedelta(seconds=min(5 * 2**attempts, 3600)),
    }
    if attempts >= MAX_ATTEMPTS:
        # Given up: kept for the operator (done with an error), no longer retried.
        updates[Outbox.done_at] = datetime.now(UTC)
    try:
        await Outbox.update(updates).where(Outbox.id == row["id"])
    except Exception:
        log.exception("outbox: could not record the failure of #%s", row["id"])


async def pending_count() -> int:
    return await Outbox.count().where(Outbox.done_at.is_null())


async def purge_done(older_than: timedelta = timedelta(days=7)) -> int:
    """Done rows are kept a week for inspection, then removed by the worker."""
    cutoff = datetime.now(UTC) - older_than
    rows = await Outbox.delete().where(Outbox.done_at.is_not_null() & (Outbox.done_at < cutoff)).returning(Outbox.id)
    return len(rows)
