"""Live effects: what a committed board write shows its viewers (run by the outbox).

Writers add them to their unit (``portal.events.unit``); a web process runs them right
after the commit, a worker runs whatever a crashed process left. They publish through the
Redis pub/sub backend directly (not the web's ChannelsPlugin), so a worker sends exactly
what a web process would. All are idempotent: a repeated message is one the browser has
already applied (same card versions, same sequence number).
"""

from __future__ import annotations

from typing import Any

from portal.events.outbox import Effect, EffectContext, handler


def cards_changed(
    board_id: int,
    card_ids: list[int],
    before: list[int] | None,
    after: list[int] | None,
    kind: str | None = None,
) -> Effect:
    """Show these cards' tiles as they are after the write. ``before``/``after``: the
    departments whose liaisons may see them before and after (see portal.live.channels).
    The unit fills in ``seq``: the board's number once the write commits."""
    return Effect(
        "publish_cards",
        # ``kind``: the board's card kind, so that the tiles are read in one statement.
        {"board_id": board_id, "card_ids": list(card_ids), "seq": None, "before": before, "after": after, "kind": kind},
    )


def board_refreshed(board_id: int) -> Effect:
    """The board's columns changed: viewers re-fetch the board (``seq`` filled by the unit)."""
    return Effect("publish_refresh", {"board_id": board_id, "seq": None})


def access_changed(user_id: int) -> Effect:
    """The user's board memberships changed: their open sockets re-check their access."""
    return Effect("access_changed", {"user_id": user_id})


def _send(ctx: EffectContext):
    from portal.live import publisher

    return publisher.backend_for(ctx.redis).publish


@handler("publish_cards")
async def publish_cards(ctx: EffectContext, payload: dict[str, Any]) -> None:
    from portal.cards.services import CardChange
    from portal.live import publisher

    send = _send(ctx)
    for card_id in payload["card_ids"]:
        change = CardChange(
            board_id=payload["board_id"],
            seq=payload["seq"],
            card_id=card_id,
            verb="",
            departments_before=payload.get("before"),
            departments_after=payload.get("after"),
        )
        await publisher.publish_card_change(send, change, payload.get("kind"))


@handler("publish_refresh")
async def publish_refresh(ctx: EffectContext, payload: dict[str, Any]) -> None:
    from portal.live import publisher

    await publisher.publish_refresh(_send(ctx), payload["board_id"], payload["seq"])


@handler("access_changed")
async def access_changed_handler(ctx: EffectContext, payload: dict[str, Any]) -> None:
    from portal.live import publisher

    await publisher.publish_access_changed(_send(ctx), payload["user_id"])
