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

from collections import OrderedDict
from operator import itemgetter
from typing import Any

from markupsafe import Markup
from piccolo.utils.encoding import load_json

from portal.i18n import current_locale
from portal.settings import get_settings

CARD_TEMPLATE = "partials/boards/_card.html"
# Fields the board page selects that no tile shows (the body is there for the board's search,
# and can be long): left out of the key. A tile template that starts showing one must drop it here.
NOT_SHOWN = frozenset({"body"})
# Tiles kept per web process (about half a kilobyte each): a few big boards in two languages.
# The least recently shown go first.
MAX_TILES = 20_000

_cache: OrderedDict[tuple, str] = OrderedDict()


class TileRows(list):
    """A column's cards as the board page read them, with ``json_text`` naming the fields
    still in their JSON text (labels, assisting departments, a kind's list fields): the text
    is part of the key as it is, and decoded only for a tile that has to be rendered."""

    __slots__ = ("json_text",)

    def __init__(self, rows=(), json_text: tuple[str, ...] = ()) -> None:
        super().__init__(rows)
        self.json_text = json_text


def decoded(card: dict[str, Any], json_text: tuple[str, ...]) -> dict[str, Any]:
    """The card with its JSON-text fields decoded (a copy: the row stays as read)."""
    if not json_text:
        return card
    card = dict(card)
    for name in json_text:
        value = card.get(name)
        if value.__class__ is str:
            card[name] = load_json(value)
    return card


def card_tiles(cards: list[dict[str, Any]], tile: Any, tile_partial: str | None) -> Markup:
    """The tiles of one column, in order: ``partials/boards/_card.html`` for each card, with
    ``tile`` the card kind's tile module (imported once per column)."""
    from portal.core.templating import environment

    template = environment().get_template(CARD_TEMPLATE)
    json_text = getattr(cards, "json_text", ())
    if get_settings().development:
        return Markup("".join(template.render(card=decoded(card, json_text), tile=tile) for card in cards))  # noqa: S704 (autoescaped)
    if not cards:
        return Markup("")
    context = (current_locale(), tile_partial)
    # The rows of one statement share their fields: the key's names once, its values in one call.
    shown = tuple(name for name in cards[0] if name not in NOT_SHOWN)
    count = len(cards[0])
    values = itemgetter(*shown) if len(shown) > 1 else (lambda card: (card[shown[0]],))
    parts = []
    for card in cards:
        if len(card) == count:
            key = (context, shown, values(card))
        else:  # not a row like the first: its own names
            names = tuple(name for name in card if name not in NOT_SHOWN)
            key = (context, names, tuple(card[name] for name in names))
        try:
            html = _cache.get(key)
        except TypeError:  # a decoded list (labels): as a tuple, to be hashable
            key = (key[0], key[1], tuple([tuple(v) if v.__class__ is list else v for v in key[2]]))
            try:
                html = _cache.get(key)
            except TypeError:  # a value that cannot be a key (a JSON object): render it afresh
                parts.append(template.render(card=decoded(card, json_text), tile=tile))
                continue
        if html is None:
            html = _cache[key] = template.render(card=decoded(card, json_text), tile=tile)
            if len(_cache) > MAX_TILES:
                _cache.popitem(last=False)  # the least recently shown
        else:
            _cache.move_to_end(key)
        parts.append(html)
    # Each part is the output of an autoescaping template, as an {% include %} would give.
    return Markup("".join(parts))  # noqa: S704


def clear() -> None:
    _cache.clear()


def _install_template_global() -> None:
    from portal.core.templating import environment

    environment().globals.update(card_tiles=card_tiles)


_install_template_global()
