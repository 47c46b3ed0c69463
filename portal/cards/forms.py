"""Request structs for cards: quick add, the full form (per board kind), moves and notes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from portal.boards.tables import BoardKind, Priority
from portal.core.forms import FormError, long_text, optional_int, text
from portal.i18n import gettext as _
from portal.settings import get_settings

PLATFORMS = ("wechat", "weibo", "douyin", "website", "hotline")
SENTIMENTS = ("positive", "neutral", "negative")
CATEGORIES = ("policy", "complaint", "suggestion", "help", "complex")
CAMPAIGN_FORMATS = ("qa", "poll", "livestream", "quiz")
PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
MAX_LABELS = 8


def _version(data: Mapping[str, str]) -> int:
    version = optional_int(data.get("version"))
    if version is None or version < 1:
        raise FormError({"__all__": _("The form is missing the card's version. Reload the page.")})
    return version


def _datetime(value: str, name: str, errors: dict[str, str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter a date and time like 2026-11-26 09:30.")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=get_settings().tz)


@dataclass
class QuickAddForm:
    title: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> QuickAddForm:
        title = text(data, "title")
        if not title:
            raise FormError({"title": _("Enter a title.")})
        if len(title) > 200:
            raise FormError({"title": _("Use at most 200 characters.")})
        return cls(title=title)


@dataclass
class CardForm:
    """Every editable field; ``fields`` holds only the ones this board kind has."""

    version: int | None
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, data: Mapping[str, str], kind: str, *, creating: bool, people: set[int], departments: set[int]
    ) -> CardForm:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        values["title"] = text(data, "title")
        if not values["title"] or len(values["title"]) > 200:
            errors["title"] = _("Enter a title of at most 200 characters.")
        values["body"] = long_text(data, "body")
        if len(values["body"]) > 5000:
            errors["body"] = _("Use at most 5000 characters.")
        values["priority"] = text(data, "priority") or Priority.normal
        if values["priority"] not in {p.value for p in Priority}:
            errors["priority"] = _("Choose a priority.")
        assignee = text(data, "assignee")
        values["assignee"] = optional_int(assignee)
        if assignee and values["assignee"] not in people:
            errors["assignee"] = _("Choose someone who is on this board.")
        labels = [label.strip() for label in re.split(r"[,，]", text(data, "labels")) if label.strip()]
        if len(labels) > MAX_LABELS or any(len(label) > 20 for label in labels):
            errors["labels"] = _("Up to 8 labels of at most 20 characters, separated by commas.")
        values["labels"] = list(dict.fromkeys(labels))

        if kind == BoardKind.comments:
            values["platform"] = text(data, "platform") or None
            if values["platform"] not in (None, *PLATFORMS):
                errors["platform"] = _("Choose a platform.")
            values["author_handle"] = text(data, "author_handle")[:80]
            values["link"] = text(data, "link")
            if values["link"] and (
                urlsplit(values["link"]).scheme not in ("http", "https") or len(values["link"]) > 500
            ):
                errors["link"] = _("Enter a web address starting with http:// or https://.")
            values["sentiment"] = text(data, "sentiment") or None
            if values["sentiment"] not in (None, *SENTIMENTS):
                errors["sentiment"] = _("Choose a sentiment.")
            values["received_at"] = _datetime(text(data, "received_at"), "received_at", errors)
        elif kind == BoardKind.inquiries:
            values["citizen_name"] = text(data, "citizen_name")[:40]
            phone = re.sub(r"\s", "", text(data, "citizen_phone"))
            if phone and "*" in phone and not creating:
                values.pop("citizen_phone", None)  # a masked number was shown: keep the stored one
            elif phone and not PHONE_PATTERN.match(phone):
                errors["citizen_phone"] = _("Enter a mobile number (11 digits) or a landline like 0571-87654321.")
            else:
                values["citizen_phone"] = phone
            values["category"] = text(data, "category") or None
            if values["category"] not in (None, *CATEGORIES):
                errors["category"] = _("Choose a category.")
            values["department"] = optional_int(data.get("department"))
            if data.get("department") and values["department"] not in departments:
                errors["department"] = _("Choose a department.")
            assisting = data.getall("assisting_departments", []) if hasattr(data, "getall") else []
            values["assisting_departments"] = sorted({optional_int(d) for d in assisting} & departments)
            values["received_at"] = _datetime(text(data, "received_at"), "received_at", errors)
            values["answer"] = long_text(data, "answer")[:5000]
        elif kind == BoardKind.campaigns:
            platforms = data.getall("platforms", []) if hasattr(data, "getall") else []
            values["platforms"] = [p for p in PLATFORMS if p in platforms]
            values["campaign_format"] = text(data, "campaign_format") or None
            if values["campaign_format"] not in (None, *CAMPAIGN_FORMATS):
                errors["campaign_format"] = _("Choose a format.")
            values["starts_at"] = _datetime(text(data, "starts_at"), "starts_at", errors)
            values["ends_at"] = _datetime(text(data, "ends_at"), "ends_at", errors)
            if values["starts_at"] and values["ends_at"] and values["ends_at"] < values["starts_at"]:
                errors["ends_at"] = _("The end is before the start.")
            values["goals"] = long_text(data, "goals")[:2000]
            values["reward_rules"] = long_text(data, "reward_rules")[:2000]
        version = None
        if not creating:
            try:
                version = _version(data)
            except FormError as error:
                errors.update(error.errors)
        if errors:
            raise FormError(errors)
        return cls(version=version, fields=values)


@dataclass
class MoveForm:
    column_id: int
    after_id: int | None  # the card it lands under; None = top of the column
    version: int

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> MoveForm:
        column_id = optional_int(data.get("column_id"))
        if column_id is None:
            raise FormError({"column_id": _("Choose a column.")})
        after = text(data, "after_id")
        # "end" (the move menu's "at the bottom") is any id that is not in the column.
        after_id = -1 if after == "end" else optional_int(after)
        if after and after_id is None:
            raise FormError({"after_id": _("Choose a position.")})
        return cls(column_id=column_id, after_id=after_id, version=_version(data))


@dataclass
class NoteForm:
    body: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> NoteForm:
        body = long_text(data, "body")
        if not body:
            raise FormError({"body": _("Write something first.")})
        if len(body) > 5000:
            raise FormError({"body": _("Use at most 5000 characters.")})
        return cls(body=body)
