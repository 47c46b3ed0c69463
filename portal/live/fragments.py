"""Rendering what goes over the wire: outside any request, once per language."""

from __future__ import annotations

from typing import Any

from portal.core.templating import environment
from portal.i18n import LOCALES, use_locale


def render(template: str, **context: Any) -> dict[str, bytes]:
    """The same fragment in every language (template must not use request or csrf)."""
    compiled = environment().get_template(template)
    rendered = {}
    for locale in LOCALES:
        with use_locale(locale):
            rendered[locale] = compiled.render(**context).encode()
    return rendered


def render_one(template: str, locale: str, **context: Any) -> str:
    with use_locale(locale):
        return environment().get_template(template).render(**context)


def card_upsert(cards: list[dict[str, Any]], seq: int | None) -> dict[str, bytes]:
    """Cards to insert or replace (by id), each carrying its column and position so the
    browser can place it; archived ones become deletions."""
    return render("partials/live/_cards.html", cards=cards, seq=seq)


def card_delete_html(card_id: int) -> str:
    return f'<article id="card-{int(card_id)}" hx-swap-oob="delete"></article>'


def refresh(seq: int | None) -> dict[str, bytes]:
    return render("partials/live/_refresh.html", seq=seq)
