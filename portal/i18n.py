"""Languages: Simplified Chinese by default, English on a per-user switch.

Message ids in code and templates are English; each request (or job) sets the active
locale in a context variable, and ``gettext`` translates against that locale's catalog.
Catalogs live in ``portal/locales/<locale>/LC_MESSAGES/messages.po``; the compiled
``.mo`` is rebuilt on load whenever it is missing or older than its ``.po``.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from functools import cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

from portal import LOCALES_DIR

DEFAULT_LOCALE = "zh_Hans"
LOCALES = {"zh_Hans": "简体中文", "en": "English"}

_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def normalize_locale(value: str | None) -> str:
    return value if value in LOCALES else DEFAULT_LOCALE


def compile_catalog(locale: str) -> None:
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    po_path, mo_path = folder / "messages.po", folder / "messages.mo"
    if not po_path.exists():
        return
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    with mo_path.open("wb") as mo_file:
        write_mo(mo_file, catalog)


@cache
def translations(locale: str) -> NullTranslations:
    compile_catalog(locale)
    loaded = Translations.load(str(LOCALES_DIR), [locale], domain="messages")
    return loaded


def current_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str | None) -> contextvars.Token:
    return _current_locale.set(normalize_locale(locale))


@contextmanager
def use_locale(locale: str | None):
    token = set_locale(locale)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **variables) -> str:
    text = translations(current_locale()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    text = translations(current_locale()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def lazy_gettext(message: str) -> LazyProxy:
    """For module-level constants: translated when shown, in the viewer's locale."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext
