"""Typed input for cards: the same models parse the drawer's form and the JSON API.

``CardInput`` holds what every card has; each card kind's package adds its own fields in a
subclass (``kind_of(board_kind).input_model``). Validation needs two facts from the board —
who may be assigned and which departments exist — passed as the validation context (``people``, ``departments``); the
service then checks what only it can (e.g. that the assignee may see the card).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from portal.core.choices import PRIORITIES
from portal.core.schemas import Input
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

# Dates outside these years are typing slips, and near the ends of what Python can represent
# they break deadline and reminder arithmetic after the card is saved.
FIRST_YEAR, LAST_YEAR = 2000, 2100
CLOCK_SKEW = timedelta(minutes=5)  # a browser clock slightly ahead is not "in the future"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
MAX_LABELS = 8

Priority = PRIORITIES.literal()


def local_datetime(value: Any) -> Any:
    """A time without an offset is local time (the portal's time zone); bounded years."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace(" ", "T").replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(_("Enter a date and time like 2026-11-26 09:30.")) from None
    if isinstance(value, datetime):
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(_("Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
        if value.tzinfo is None:
            value = value.replace(tzinfo=get_settings().tz)
    return value


def one_line_title(value: str) -> str:
    if not value or len(value) > 200:
        raise ValueError(_("Enter a title of at most 200 characters."))
    if CONTROL_CHARACTERS.search(value):
        raise ValueError(_("A title is one line of text, without line breaks or control characters."))
    return value


class CardInput(Input):
    """What every card has, as the drawer's form and the API send it."""

    title: str
    body: Annotated[str, Field(max_length=5000)] = ""
    priority: Priority = "normal"  # type: ignore[valid-type]
    assignee: int | None = None
    labels: list[str] = []

    messages = {
        "title": _l("Enter a title of at most 200 characters."),
        "body": _l("Use at most 5000 characters."),
        "priority": _l("Choose a priority."),
        "assignee": _l("Choose someone who is on this board."),
    }

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return one_line_title(value)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        # The form sends one comma-separated field; the API a list.
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            value = value[0]
        if isinstance(value, str):
            value = [label.strip() for label in re.split(r"[,，]", value) if label.strip()]
        if isinstance(value, list):
            labels = [str(label).strip() for label in value if str(label).strip()]
            if len(labels) > MAX_LABELS or any(len(label) > 20 for label in labels):
                raise ValueError(_("Up to 8 labels of at most 20 characters, separated by commas."))
            return list(dict.fromkeys(labels))
        return value

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: int | None, info: ValidationInfo) -> int | None:
        people = (info.context or {}).get("people")
        if value is not None and people is not None and value not in people:
            raise ValueError(_("Choose someone who is on this board."))
        return value

    def to_fields(self, *, creating: bool = False) -> dict[str, Any]:
        """The validated input as the card service takes it (a kind may hold some back)."""
        return self.model_dump()


class ReceivedInput(CardInput):
    """A card that stands for a message: when it was received starts its first clock."""

    received_at: datetime | None = None

    @field_validator("received_at", mode="before")
    @classmethod
    def _received(cls, value: Any) -> Any:
        return local_datetime(value)

    @field_validator("received_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError(_("This cannot be in the future."))
        return value


class MoveInput(Input):
    """Where a card goes: a column (by id, or by key through the API) and the card it lands
    under (none: the top; -1 or "end": the bottom), with the version the mover saw."""

    column_id: int | None = None
    column_key: Annotated[str, Field(max_length=40)] | None = None
    after_id: int | None = None
    version: Annotated[int, Field(ge=1)]

    messages = {
        "column_id": _l("Choose a column."),
        "after_id": _l("Choose a position."),
        "version": _l("The form is missing the card's version. Reload the page."),
    }

    @field_validator("after_id", mode="before")
    @classmethod
    def _end(cls, value: Any) -> Any:
        return -1 if value == "end" else value

    @model_validator(mode="after")
    def _some_column(self) -> MoveInput:
        if self.column_id is None and not self.column_key:
            raise ValueError(_("Choose a column."))
        return self


class QuickAddInput(Input):
    """Quick add at the top of a column: a title is enough."""

    title: str

    messages = {"title": _l("Enter a title of at most 200 characters.")}

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return one_line_title(value)


class NoteInput(Input):
    body: Annotated[str, Field(min_length=1, max_length=5000)]

    messages = {"body": _l("Write something (at most 5000 characters).")}
