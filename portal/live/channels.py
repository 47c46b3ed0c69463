"""Channel names (built here only) and the message envelope sent through them.

A message is one header line of JSON and then the HTML, once per language:
    {"type": "cards", "seq": 42, "cards": [3], "before": [3], "after": [3],
     "data": {}, "sizes": {"zh_Hans": 812, "en": 790}}\n<zh html><en html>

``type`` says what the message is, so that nobody has to guess it from the HTML:
    cards     card tiles to upsert or delete (``cards``: their ids; ``seq``: the board event)
    refresh   the board's columns changed, or too much was missed: re-fetch the board
    presence  who is looking at the board
    editing   "张三 正在编辑" on a card (``data``: card, user, name; no name: cleared)
    bell      the user's unread count (user channel)
    access    control only, never forwarded: the user's sessions, account or board
              memberships changed; open sockets re-check their access at once (user channel)
``before``/``after`` are the departments whose liaisons may see the card before and
after the change (null: everyone on the board). Each fragment is rendered once per
language and the same bytes go to every viewer of that language.

What the browser gets is ``browser_header`` (type, seq, cards and data: never the
departments) as one JSON line, then the HTML of its language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from portal.i18n import LOCALES

CARDS = "cards"
REFRESH = "refresh"
PRESENCE = "presence"
EDITING = "editing"
BELL = "bell"
ACCESS = "access"


def board_channel(board_id: int) -> str:
    return f"board:{board_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Envelope:
    seq: int | None
    html: dict[str, bytes]  # locale → fragment (a missing locale is empty)
    before: list[int] | None = None
    after: list[int] | None = None
    type: str = CARDS
    cards: list[int] = field(default_factory=list)  # ids of the cards the fragment touches
    data: dict[str, Any] = field(default_factory=dict)  # small, JSON-safe, shown to the browser

    def encode(self) -> bytes:
        parts = [self.html.get(locale, b"") for locale in LOCALES]
        header = {
            "type": self.type,
            "seq": self.seq,
            "cards": [int(card_id) for card_id in self.cards],
            "before": self.before,
            "after": self.after,
            "data": self.data,
            "sizes": {locale: len(part) for locale, part in zip(LOCALES, parts, strict=True)},
        }
        return json.dumps(header, ensure_ascii=False).encode() + b"\n" + b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        header_line, _, rest = data.partition(b"\n")
        header = json.loads(header_line)
        html, offset = {}, 0
        for locale in LOCALES:
            size = header["sizes"].get(locale, 0)
            html[locale] = rest[offset : offset + size]
            offset += size
        return cls(
            seq=header.get("seq"),
            html=html,
            before=header.get("before"),
            after=header.get("after"),
            type=header.get("type") or CARDS,
            cards=header.get("cards") or [],
            data=header.get("data") or {},
        )

    def browser_header(self) -> str:
        """The first line of what a browser receives: what app.js keeps its state from."""
        return json.dumps({"type": self.type, "seq": self.seq, "cards": self.cards, **self.data}, ensure_ascii=False)

    def for_browser(self, locale: str) -> str:
        return self.browser_header() + "\n" + self.html.get(locale, b"").decode()


def for_browser(kind: str, html: str, *, seq: int | None = None, cards: list[int] | None = None) -> str:
    """A message made for one socket only (catch-up, deletes): the same shape as a broadcast."""
    header = json.dumps({"type": kind, "seq": seq, "cards": cards or []}, ensure_ascii=False)
    return header + "\n" + html
