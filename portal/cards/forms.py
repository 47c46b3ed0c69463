"""Cards' request structs as the controllers and services use them. The rules live in the
typed input models of ``portal/cards/schemas.py``, shared with the JSON API; these adapters
parse a posted form with them and keep the interface the services take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from portal.cards.kinds import kind_of
from portal.cards.schemas import (
    CLOCK_SKEW,
    FIRST_YEAR,
    LAST_YEAR,
    MoveInput,
    NoteInput,
    QuickAddInput,
    local_datetime,
)
from portal.core.forms import FormError, optional_int
from portal.core.schemas import parse
from portal.i18n import gettext as _


def _version(data: Mapping[str, str]) -> int:
    version = optional_int(data.get("version"))
    if version is None or version < 1:
        raise FormError({"__all__": _("The form is missing the card's version. Reload the page.")})
    return version


def in_supported_range(value: datetime) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


def out_of_range_message() -> str:
    return _("Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)


def parse_datetime(value: str, name: str, errors: dict[str, str], *, not_future: bool = False) -> datetime | None:
    """A date and time from a form field outside a model (the extension request), within the
    supported years; a problem is added to ``errors`` under ``name`` and None returned."""
    if not value:
        return None
    try:
        parsed = local_datetime(value)
    except ValueError as error:
        errors[name] = str(error)
        return None
    if not_future and parsed > datetime.now(UTC) + CLOCK_SKEW:
        errors[name] = _("This cannot be in the future.")
        return None
    return parsed


@dataclass
class QuickAddForm:
    title: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> QuickAddForm:
        return cls(title=parse(QuickAddInput, data).title)


@dataclass
class CardForm:
    """Every editable field; ``fields`` holds only the ones this board kind has (validated by
    the kind's input model, the same one the JSON API uses)."""

    version: int | None
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, data: Mapping[str, str], kind: str, *, creating: bool, people: set[int], departments: set[int]
    ) -> CardForm:
        errors: dict[str, str] = {}
        version = None
        if not creating:
            try:
                version = _version(data)
            except FormError as error:
                errors.update(error.errors)
        try:
            card = parse(kind_of(kind).input_model, data, context={"people": people, "departments": departments})
            values = card.to_fields(creating=creating)
        except FormError as error:
            raise FormError({**error.errors, **errors}) from None
        if errors:
            raise FormError(errors)
        return cls(version=version, fields=values)


@dataclass
class MoveForm:
    column_id: int
    after_id: int | None  # the card it lands under; None = top of the column; -1 = the bottom
    version: int

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> MoveForm:
        move = parse(MoveInput, data)
        if move.column_id is None:
            raise FormError({"column_id": _("Choose a column.")})
        return cls(column_id=move.column_id, after_id=move.after_id, version=move.version)


@dataclass
class NoteForm:
    body: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> NoteForm:
        return cls(body=parse(NoteInput, data).body)
