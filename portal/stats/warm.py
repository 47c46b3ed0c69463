"""Loading the figures' facts (portal.stats.facts) ahead of the first dashboard, when a web
process starts. Kept apart from them: the facts bring numpy, a third of a second of a
process's start, which a process on a small database need not pay until someone asks."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger("portal.stats.facts")

WARM_FROM = 10_000  # cards: below, the first dashboard loads its facts in a blink anyway


async def warm() -> None:
    """On a large database the first load reads every case's history, which takes a second
    or two: do it now rather than in a manager's first request."""
    from portal.cards.tables import Card

    try:
        if await Card.count() < WARM_FROM:
            return
        from portal.stats import facts

        await facts.KEEPER.current()
    except asyncio.CancelledError:
        raise
    except Exception:  # the dashboard loads them again, and says what went wrong there
        logger.exception("could not load the figures' facts ahead of time")
