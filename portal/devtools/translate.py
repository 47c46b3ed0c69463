"""Fill zh_Hans translations from a JSON object {msgid: msgstr} (``python -m portal.devtools.translate F``).

A convenience for translators working in bulk; the catalog stays the source of truth.
"""

from __future__ import annotations

import json
import sys

from babel.messages.pofile import write_po

from portal.devtools.i18n import load, po_path


def fill(locale: str, translations: dict[str, str]) -> int:
    catalog = load(locale)
    filled = 0
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.id in translations and not message.string:
            message.string = translations[message.id]
            filled += 1
        elif message.id and not isinstance(message.id, str) and message.id[0] in translations:
            if not all(message.string):
                message.string = (translations[message.id[0]],)
                filled += 1
    with po_path(locale).open("wb") as handle:
        write_po(handle, catalog, width=0, sort_output=True)
    return filled


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        print(fill("zh_Hans", json.load(source)), "filled")
