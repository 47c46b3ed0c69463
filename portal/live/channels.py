"""Channel names (built here only) and the message envelope sent through them.

A message is one header line of JSON and then the HTML, once per language:
    {"seq": 42, "before": [3], "after": [3], "sizes": {"zh_Hans": 812, "en": 790}}\n<zh html><en html>
``before``/``after`` are the departments whose liaisons may see the card before and
after the change (null: everyone on the board). Each fragment is rendered once per
language and the same bytes go to every viewer of that language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portal.i18n import LOCALES


def board_channel(board_id: int) -> str:
    return f"board:{board_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Envelope:
    seq: int | None
    html: dict[str, bytes]  # locale → fragment
    before: list[int] | None = None
    after: list[int] | None = None

    def encode(self) -> bytes:
        header = {
            "seq": self.seq,
            "before": self.before,
            "after": self.after,
            "sizes": {locale: len(self.html[locale]) for locale in LOCALES},
        }
        return json.dumps(header).encode() + b"\n" + b"".join(self.html[locale] for locale in LOCALES)

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        header_line, _, rest = data.partition(b"\n")
        header = json.loads(header_line)
        html, offset = {}, 0
        for locale in LOCALES:
            size = header["sizes"][locale]
            html[locale] = rest[offset : offset + size]
            offset += size
        return cls(seq=header["seq"], html=html, before=header["before"], after=header["after"])
