"""Message catalogs: extract, check, compile (run as ``python -m portal.devtools.i18n``).

Message ids are English. ``extract`` scans Python code and templates and merges the
result into both catalogs: new ids get an empty msgstr in ``zh_Hans`` (a translator
fills it) and their own text in ``en`` (English is the source language, kept as a
catalog so that wording can be edited without touching code). Ids no longer used
are dropped. ``check`` lists every id that is missing from a catalog or untranslated,
and is what the test suite runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from portal import LOCALES_DIR, PACKAGE_DIR, REPO_DIR, TEMPLATES_DIR, i18n

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
SOURCES = [
    (PACKAGE_DIR, [("**.py", "python")], {}),
    (REPO_DIR / "workers", [("**.py", "python")], {}),
    (TEMPLATES_DIR, [("**.html", "jinja2")], {"extensions": "jinja2.ext.i18n", "trimmed": "false"}),
]
Message = str | tuple[str, str]


def extract() -> dict[Message, list[tuple[str, int]]]:
    """Every message id in code and templates, with where it appears."""
    found: dict[Message, list[tuple[str, int]]] = {}
    for folder, method_map, options in SOURCES:
        if not folder.exists():
            continue
        options_map = {pattern: options for pattern, _ in method_map}
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map, options_map, keywords=KEYWORDS
        ):
            if "devtools" in filename.split("/"):
                continue
            key = message if isinstance(message, str) else tuple(message[:2])
            if key:
                found.setdefault(key, []).append((str(Path(folder, filename).relative_to(REPO_DIR)), lineno))
    return found


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str, folder: Path | None = None) -> Catalog:
    path = (folder / locale / "LC_MESSAGES" / "messages.po") if folder else po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def merge(locale: str) -> tuple[int, int]:
    """Bring one catalog in line with the sources; returns (added, dropped)."""
    messages = extract()
    old = load(locale)
    new = Catalog(locale=locale, project="portal", charset="utf-8")
    added = 0
    for key, locations in sorted(messages.items(), key=lambda item: str(item[0])):
        previous = old.get(key if isinstance(key, str) else key[0])
        if previous is not None and previous.string:
            string = previous.string
        elif locale == "en":
            string = key
        else:
            string = "" if isinstance(key, str) else ("", "")
            added += 1
        new.add(key, string, locations=locations)
    dropped = sum(1 for message in old if message.id and message.id not in new)
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, new, width=0, omit_header=False, sort_output=True)
    return added, dropped


def problems(folder: Path | None = None) -> list[str]:
    """Every message id that is missing from a catalog or has an empty translation there."""
    messages = extract()
    report = []
    for locale in i18n.LOCALES:
        catalog = load(locale, folder)
        for key, locations in messages.items():
            msgid = key if isinstance(key, str) else key[0]
            entry = catalog.get(msgid)
            strings = [] if entry is None else ([entry.string] if isinstance(entry.string, str) else entry.string)
            if entry is None or not all(strings):
                file, line = locations[0]
                report.append(f"{locale}: no translation for {msgid!r} ({file}:{line})")
    return report


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        for locale in i18n.LOCALES:
            added, dropped = merge(locale)
            print(f"{locale}: {added} new to translate, {dropped} dropped")
        return 0
    if command == "compile":
        for locale in i18n.LOCALES:
            i18n.compile_catalog(locale)
        return 0
    if command == "check":
        report = problems()
        for line in report:
            print(line)
        print(f"{len(report)} untranslated" if report else "all messages are translated in every catalog")
        return 1 if report else 0
    print("usage: python -m portal.devtools.i18n [extract|compile|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
