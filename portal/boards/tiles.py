"""Card tiles on the board page, each rendered once per distinct content and language.

A tile's HTML is a pure function of its row (every field the board page selected for it:
id, version, title, labels, assignee name, the kind's tile fields …), the viewer's language
and the templates. So the cache key is the whole row plus the language: any change to
anything the tile shows (an edit, a move, a renamed assignee, a merged comment) is a new
key, and the next page shows it at once; nothing is ever served stale and nothing needs
invalidating. Old entries simply age out.

Measured (bench/board.py --load, 1,000 cards): rendering the tiles was most of a board
page's time; a page of cached tiles costs a dictionary look-up per card.

Off in development (PORTAL_DEVELOPMENT), where templates change under a running server.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from portal.i18n import current_locale
from portal.settings import get_settings

CARD_TEMPLATE = "partials/boards/_card.html"
# Fields the board page selects that no tile shows (the body is there for the board's search,
# and can be long): left out of the key. A tile template that starts showing one must drop it here.
NOT_SHOWN = frozenset({"body"})
# Tiles kept per web process (about half a kilobyte each): a few big boards in two languages.
MAX_TILES = 20_000

_cache: dict[tuple, str] = {}


def card_tiles(cards: list[dict[str, Any]], tile: Any, tile_partial: str | None) -> Markup:
    """The tiles of one column, in order: ``partials/boards/_card.html`` for each card, with
    ``tile`` the card kind's tile module (imported once per column)."""
    from portal.core.templating import environment

    template = environment().get_template(CARD_TEMPLATE)
    if get_settings().development:
        return Markup("".join(template.render(card=card, tile=tile) for card in cards))  # noqa: S704 (autoescaped)
    context = (current_locale(), tile_partial)
    parts = []
    for card in cards:
        # Lists (labels, assisting departments) as tuples, to be hashable.
        shown = [name for name in card if name not in NOT_SHOWN]
        key = (context, tuple(shown), tuple([tuple(v) if (v := card[name]).__class__ is list else v for name in shown]))
        try:
            html = _cache.get(key)
        except TypeError:  # a value that cannot be a key (a JSON object): render it afresh
            parts.append(template.render(card=card, tile=tile))
            continue
        if html is None:
            html = _cache[key] = template.render(card=card, tile=tile)
            if len(_cache) > MAX_TILES:
                del _cache[next(iter(_cache))]  # the oldest
        parts.append(html)
    # Each part is the output of an autoescaping template, as an {% include %} would give.
    return Markup("".join(parts))  # noqa: S704


def clear() -> None:
    _cache.clear()


def _install_template_global() -> None:
    from portal.core.templating import environment

    environment().globals.update(card_tiles=card_tiles)


_install_template_global()
