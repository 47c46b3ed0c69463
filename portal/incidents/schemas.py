"""An incident's typed input: the drawer's form and the JSON API (the card's fields), and
each workflow action's input (portal.incidents.workflow)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from portal.cards.schemas import CardInput, one_line_title
from portal.core.choices import RISK_LEVELS
from portal.core.errors import FormError
from portal.core.schemas import Input
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

Level = RISK_LEVELS.literal()
LEVEL_ALIASES = {"蓝": "blue", "黄": "yellow", "橙": "orange", "红": "red", "IV": "blue", "III": "yellow"}
LEVEL_ALIASES.update({"II": "orange", "I": "red"})
STATEMENT_MAX = 5000


def _level_alias(value):
    return LEVEL_ALIASES.get(value, value) if isinstance(value, str) else value


def _people(value: list[int], info: ValidationInfo) -> list[int]:
    people = (info.context or {}).get("people")
    if people is not None and set(value) - set(people):
        raise ValueError(_("Choose people who are on this board."))
    return list(dict.fromkeys(value))


class IncidentInput(CardInput):
    level: Level = "blue"  # type: ignore[valid-type]
    topic_id: Annotated[int, Field(ge=1)] | None = None
    alert_id: Annotated[int, Field(ge=1)] | None = None
    responsible: list[int] = []
    statement: Annotated[str, Field(max_length=STATEMENT_MAX)] = ""  # the draft 回应口径

    messages = {
        **CardInput.messages,
        "level": _l("Choose a level: 蓝, 黄, 橙 or 红."),
        "topic_id": _l("Enter a topic number."),
        "alert_id": _l("Enter an alert number."),
        "responsible": _l("Choose people who are on this board."),
        "statement": _l("Use at most 5000 characters."),
    }

    @field_validator("level", mode="before")
    @classmethod
    def _alias(cls, value):
        return _level_alias(value)

    @field_validator("responsible")
    @classmethod
    def _responsible(cls, value: list[int], info: ValidationInfo) -> list[int]:
        return _people(value, info)

    def to_fields(self, *, creating: bool = False) -> dict:
        """The topic and the alert are the incident's origin, set when an alert is made an
        incident (转为事件, ``portal.incidents.services.open_incident``) and never by hand: a
        number typed in would show the name of a topic on a board the writer does not see.
        A new card (the form, the API) refuses them; an edit keeps them only when sent, for
        ``portal.incidents.workflow.on_update`` to refuse a change (the API's edit sends the
        stored ones back, which change nothing; the form does not send them)."""
        fields = super().to_fields(creating=creating)
        for name in LINKED:
            if creating and fields.get(name) is not None:
                raise FormError({name: linked_message()})
            if creating or name not in self.model_fields_set:
                fields.pop(name, None)
        return fields


LINKED = ("topic_id", "alert_id")


def linked_message() -> str:
    return _("The topic and the alert are set when an alert is made an incident (转为事件); they cannot be changed.")


# The actions' input --------------------------------------------------------------------

Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=STATEMENT_MAX)]


class NoInput(Input):
    pass


class OpenInput(Input):
    """``portal.incidents.services.open_incident``'s input (an alert's 转为事件)."""

    title: str
    level: Level  # type: ignore[valid-type]
    topic_id: Annotated[int, Field(ge=1)] | None = None
    alert_id: Annotated[int, Field(ge=1)] | None = None
    comment_card_ids: Annotated[list[int], Field(max_length=500)] = []

    messages = {
        "title": _l("Enter a title of at most 200 characters."),
        "level": _l("Choose a level: 蓝, 黄, 橙 or 红."),
        "topic_id": _l("Enter a topic number."),
        "alert_id": _l("Enter an alert number."),
        "comment_card_ids": _l("Choose comments (at most 500)."),
    }

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return one_line_title(value)

    @field_validator("level", mode="before")
    @classmethod
    def _alias(cls, value):
        return _level_alias(value)


# The card's version the writer read (the drawer's forms send it): an action that replaces a
# text refuses a stale one (409) rather than overwrite what someone wrote meanwhile. Absent
# (an API client that does not say): no check.
CardVersion = Annotated[int, Field(ge=1)] | None


class AssessInput(Input):
    level: Level  # type: ignore[valid-type]
    # None (left out): the current value stays, so re-assessing the level alone keeps the rest.
    assessment: Annotated[str, Field(max_length=2000)] | None = None
    responsible: list[int] | None = None
    card_version: CardVersion = None

    messages = {
        "card_version": _l("This value is not valid."),
        "level": _l("Choose a level: 蓝, 黄, 橙 or 红."),
        "assessment": _l("Use at most 2000 characters."),
        "responsible": _l("Choose people who are on this board."),
    }

    @field_validator("level", mode="before")
    @classmethod
    def _alias(cls, value):
        return _level_alias(value)

    @field_validator("responsible")
    @classmethod
    def _responsible(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        return None if value is None else _people(value, info)


class PlanInput(Input):
    plan: Text
    card_version: CardVersion = None

    messages = {"plan": _l("Write the handling plan (at most 2000 characters).")}


class StatementInput(Input):
    text: LongText

    messages = {"text": _l("Write the response statement (at most 5000 characters).")}


class VersionInput(Input):
    version: Annotated[int, Field(ge=1)]

    messages = {"version": _l("Say which version you read.")}


class PublishInput(VersionInput):
    """Publishing names the approved version it publishes (the button shows it)."""

    messages = {"version": _l("Say which approved version you publish.")}


class ReturnInput(VersionInput):
    reason: Text

    messages = {**VersionInput.messages, "reason": _l("Give a reason (at most 2000 characters).")}


class InstructionInput(Input):
    text: Text
    card_version: CardVersion = None

    messages = {"text": _l("Write the instruction (at most 2000 characters).")}


class ReviewInput(Input):
    text: LongText
    card_version: CardVersion = None

    messages = {"text": _l("Write the review: what happened, what worked, what to change (at most 5000 characters).")}


class LinkInput(Input):
    comment_card_ids: Annotated[list[int], Field(min_length=1, max_length=500)]

    messages = {"comment_card_ids": _l("Choose comments (at most 500).")}

    @field_validator("comment_card_ids", mode="before")
    @classmethod
    def _split(cls, value):
        # The drawer's form sends one field of numbers separated by commas or spaces.
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            value = value[0]
        if isinstance(value, str):
            return [part for part in re.split(r"[\s,，、#]+", value) if part]
        return value
