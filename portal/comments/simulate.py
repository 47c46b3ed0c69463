"""``portal simulate``: realistic comments fed to a comments board through the intake path
(the same creation, triage and live updates as a signed post), for demos and load.

The texts are the demo city's comments (``portal/comments/demo.json``), each sent as a new
message with its own external id, arriving now."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from portal.boards.access import system_access
from portal.comments import intake_services
from portal.comments.intake import IntakeMessage
from portal.comments.kind import KIND
from portal.core.errors import FormError
from portal.demo.services import kind_content
from portal.i18n import gettext as _


def messages(rng: random.Random):
    """An endless stream of demo comments as intake messages."""
    cards = [card["fields"] for card in kind_content(KIND)["cards"] if card["fields"].get("platform")]
    while True:
        fields = rng.choice(cards)
        yield IntakeMessage(
            platform=fields["platform"],
            external_id=f"sim-{uuid.uuid4().hex[:20]}",
            author=fields.get("author_handle") or "网友",
            text=fields.get("body") or fields["title"],
            received_at=datetime.now(UTC),
            link=fields.get("link") or "",
        )


async def run(board_id: int, rate: float, seconds: float, *, echo: Callable[[str], None] = print) -> int:
    """Send ``rate`` comments a second for ``seconds``; returns how many cards were made."""
    access = await system_access(board_id)
    if access.board_kind != KIND.name:
        raise FormError({"board": _("Choose a comments board.")})
    rng = random.Random()
    started = time.monotonic()
    sent = 0
    for message in messages(rng):
        if time.monotonic() - started >= seconds:
            break
        await intake_services.receive(access, message)
        sent += 1
        if sent % max(1, int(rate * 10)) == 0:
            echo(f"{sent} comments in {time.monotonic() - started:.0f} s")
        # Keep to the rate: sleep until this message's slot, if ahead of it, but never past the
        # end (--per-hour 30 is one every two minutes: --seconds 10 sends one and stops at 10 s).
        await asyncio.sleep(max(0.0, min(started + sent / rate, started + seconds) - time.monotonic()))
    return sent
