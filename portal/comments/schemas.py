"""A comment's typed input (the drawer's form and the JSON API)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from portal.cards.schemas import CardInput, ReceivedInput
from portal.core.choices import PLATFORMS, SENTIMENTS
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

Platform = PLATFORMS.literal()
Sentiment = SENTIMENTS.literal()


class CommentInput(ReceivedInput):
    platform: Platform | None = None  # type: ignore[valid-type]
    author_handle: Annotated[str, Field(max_length=80)] = ""
    link: Annotated[str, Field(max_length=500)] = ""
    sentiment: Sentiment | None = None  # type: ignore[valid-type]

    messages = {
        **CardInput.messages,
        "platform": _l("Choose a platform."),
        "sentiment": _l("Choose a sentiment."),
        "author_handle": _l("Use at most 80 characters."),
        "link": _l("Enter a web address starting with http:// or https://."),
    }

    @field_validator("link")
    @classmethod
    def _link(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(_("Enter a web address starting with http:// or https://."))
        return value
