"""The one Jinja2 environment: used by pages, htmx fragments and (later) broadcasts.

Partials that are broadcast must not touch ``request``, ``csrf_input`` or ``url_for``;
everything they need is passed explicitly or comes from the globals below.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from portal import STATIC_DIR, TEMPLATES_DIR
from portal.core import choices, labels
from portal.events.labels import payload_text, verb_label
from portal.i18n import LOCALES, current_locale, translations
from portal.settings import get_settings


@cache
def _static_fingerprint(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.exists() else "missing"


def static_url(path: str) -> str:
    """A cache-busting URL: the content hash changes when the file does."""
    return f"/static/{path}?v={_static_fingerprint(path)}"


def format_datetime(value: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # a time kept in a JSON column (a campaign's key moments)
        value = datetime.fromisoformat(value)
    return value.astimezone(get_settings().tz).strftime(pattern)


def department_name(name_zh: str | None, name_en: str | None) -> str:
    """Departments carry both names; show the one in the viewer's language."""
    return (name_en if current_locale() == "en" else name_zh) or name_zh or ""


def _gettext(message: str) -> str:
    return translations(current_locale()).ugettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ungettext(singular, plural, n)


@cache
def environment() -> Environment:
    return build_environment(development=get_settings().development)


def build_environment(development: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Outside development each template is compiled once and kept: no stat() of every
        # included file on every render. The cache holds every template there is.
        auto_reload=development,
        cache_size=-1,
    )
    # newstyle: templates write _("Hello %(name)s", name=user) and Jinja formats it.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.globals.update(
        static_url=static_url,
        LOCALES=LOCALES,
        current_locale=current_locale,
        choices=choices,
        role_label=choices.ROLES.label,
        platform_label=choices.PLATFORMS.label,
        priority_label=choices.PRIORITIES.label,
        department_name=department_name,
        mask_phone=labels.mask_phone,
        verb_label=verb_label,
        payload_text=payload_text,
        mask_numbers=labels.mask_numbers,
    )
    env.filters["datetime"] = format_datetime
    return env
