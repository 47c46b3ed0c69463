"""The search index follows the cards: whenever a unit of the write path publishes cards to
their board's viewers (``publish_cards``: every card write does — create, edit, move, note,
reply, archive, restore), it also stages ``search_index`` for them, which re-reads their text
after the commit (``portal.search.indexer.reindex``: idempotent, unchanged text is not
rewritten). No writer names it: ``portal.events.outbox.follows`` adds it to the unit."""

from __future__ import annotations

from typing import Any

from portal.events.outbox import Effect, EffectContext, follows, handler


def reindex(card_ids: list[int]) -> Effect:
    return Effect("search_index", {"card_ids": sorted(set(card_ids))})


@follows("publish_cards")
def after_published(effects: list[Effect]) -> list[Effect]:
    card_ids = {card_id for effect in effects for card_id in effect.payload.get("card_ids") or []}
    return [reindex(list(card_ids))] if card_ids else []


@handler("search_index")
async def search_index(ctx: EffectContext, payload: dict[str, Any]) -> None:
    from portal.search import indexer

    await indexer.reindex(payload.get("card_ids") or [])
