"""The signed intake API: a collector (a platform's webhook relay, a crawler run by the team)
posts one message as JSON, signed with a secret the portal shares with it.

Signing: the sender computes ``HMAC-SHA256(secret, f"{timestamp}." + body)`` over the exact
bytes of the body and sends it as ``X-Portal-Signature: sha256=<hex>`` with the Unix time
in ``X-Portal-Timestamp``. The timestamp is inside the MAC, so it cannot be changed without
the secret, and requests more than ``window`` seconds away from the server's clock are
refused. A request can be replayed within the window; the write path is idempotent on
(platform, external_id), so a replay changes nothing.

Secrets are stored as they are: the server recomputes the HMAC, so it needs the secret
itself, not a hash of it (unlike passwords). Keeping them (and limiting who can read them) is
the caller's concern. During rotation both the current and the previous secret are accepted
(``verify_any``).

``IntakeMessage`` is the body, validated with ``portal.core.schemas.parse``; the spreadsheet
import (``portal.comments.imports``) produces the same model.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from portal.core.choices import PLATFORMS
from portal.core.schemas import Input
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
SIGNATURE_PREFIX = "sha256="
WINDOW = 300  # seconds either side of the server's clock

# Dates outside these years are slips (as for cards); a sender's clock slightly ahead is fine.
FIRST_YEAR, LAST_YEAR = 2000, 2100
CLOCK_SKEW = timedelta(minutes=5)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
INTEGER = re.compile(r"[0-9]{1,15}")  # ASCII digits only; long enough for any Unix time in seconds

Platform = PLATFORMS.literal()


# Signatures ------------------------------------------------------------------------------


class BadSignature(Exception):
    """The request is not signed as the intake expects; ``reason`` is one of the constants below
    (for logs and tests), ``message`` a translated explanation for the sender."""

    MISSING = "missing"  # a header is absent or empty
    TIMESTAMP = "timestamp"  # the timestamp is not a whole number of seconds
    STALE = "stale"  # older than the window
    FUTURE = "future"  # further ahead than the window
    MISMATCH = "mismatch"  # no secret gives this signature for this body

    def __init__(self, reason: str, *, window: int = WINDOW) -> None:
        super().__init__(reason)
        self.reason = reason
        self.window = window

    @property
    def message(self) -> str:
        if self.reason == self.MISSING:
            return _(
                "The request must carry the %(timestamp)s and %(signature)s headers.",
                timestamp=TIMESTAMP_HEADER,
                signature=SIGNATURE_HEADER,
            )
        if self.reason == self.TIMESTAMP:
            return _("The timestamp must be a Unix time in whole seconds.")
        if self.reason == self.STALE:
            return _("The request is more than %(seconds)s seconds old.", seconds=self.window)
        if self.reason == self.FUTURE:
            return _(
                "The request's timestamp is more than %(seconds)s seconds ahead. Check the sender's clock.",
                seconds=self.window,
            )
        return _("The signature does not match the request.")


def new_secret() -> str:
    """A fresh shared secret (43 URL-safe characters, 256 bits)."""
    return token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    window: int = WINDOW,
) -> None:
    """Return if ``signature_header`` signs ``body`` at ``timestamp_header`` with ``secret`` and
    the timestamp is within ``window`` seconds of ``now``; raise ``BadSignature`` otherwise."""
    verify_any([secret], timestamp_header, signature_header, body, now, window)


def verify_any(
    secrets: Iterable[str],
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    window: int = WINDOW,
) -> None:
    """``verify`` against several secrets (the current and the previous one during rotation).
    Empty secrets are skipped: an unset "previous secret" must not be a key anyone can guess."""
    if isinstance(secrets, str | bytes):  # its characters would each be tried as a one-letter key
        raise TypeError("verify_any takes a list of secrets; use verify for one")
    timestamp_text = (timestamp_header or "").strip()
    signature = (signature_header or "").strip()
    if not timestamp_text or not signature:
        raise BadSignature(BadSignature.MISSING, window=window)
    if not INTEGER.fullmatch(timestamp_text):
        raise BadSignature(BadSignature.TIMESTAMP, window=window)
    timestamp = int(timestamp_text)
    if timestamp < now - window:
        raise BadSignature(BadSignature.STALE, window=window)
    if timestamp > now + window:
        raise BadSignature(BadSignature.FUTURE, window=window)
    # Bytes on both sides: compare_digest refuses non-ASCII text, and a header may hold anything.
    given = signature.lower().encode("utf-8", "replace")
    matched = False
    for secret in secrets:
        if secret:  # no early exit: every secret is tried, whichever matches
            matched |= hmac.compare_digest(sign(secret, timestamp, body).encode(), given)
    if not matched:
        raise BadSignature(BadSignature.MISMATCH, window=window)


# The body ----------------------------------------------------------------------------------


def aware_datetime(value: Any) -> Any:
    """An ISO 8601 time with its UTC offset (a time without one is ambiguous between systems)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(_("Enter the time in ISO 8601 format, like 2026-11-20T14:05:00+08:00.")) from None
    if not isinstance(value, datetime):
        raise ValueError(_("Enter the time in ISO 8601 format, like 2026-11-20T14:05:00+08:00."))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(_("Give the time with its UTC offset, like 2026-11-20T14:05:00+08:00."))
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(_("Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
    return value


MAX_INTAKE_ATTACHMENTS = 5


class IntakeAttachment(Input):
    """A file sent with the message (a screenshot of the post), its bytes in base64. Checked
    by content like any attachment (portal.attachments); image URLs are not fetched."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    content_base64: Annotated[str, Field(min_length=1)]

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(_("Send each attachment's content in base64.")) from None
        return value

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class IntakeMessage(Input):
    """One comment or private message as a collector sends it (and as an import row becomes).

    The validation context may hold ``now`` (an aware datetime) for the "not in the future"
    check; it defaults to the current time.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    platform: Platform  # type: ignore[valid-type]
    external_id: Annotated[str, Field(min_length=1, max_length=128)]
    author: Annotated[str, Field(max_length=80)] = ""
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    received_at: datetime
    link: Annotated[str, Field(max_length=500)] = ""
    # Screenshots of the post (its evidence should it be deleted): [{name, content_base64}].
    attachments: Annotated[list[IntakeAttachment], Field(max_length=MAX_INTAKE_ATTACHMENTS)] = []

    messages = {
        "platform": _l("Choose a platform."),
        "external_id": _l("Enter the message's ID on its platform (at most 128 characters)."),
        "author": _l("Use at most 80 characters."),
        "text": _l("Write something (at most 5000 characters)."),
        "received_at": _l("Enter the time in ISO 8601 format, like 2026-11-20T14:05:00+08:00."),
        "link": _l("Enter a web address starting with http:// or https://."),
        "attachments": _l("Send at most 5 attachments, each as {name, content_base64}."),
    }

    @field_validator("external_id", mode="before")
    @classmethod
    def _numeric_id(cls, value: Any) -> Any:
        # Many platforms number their messages; a JSON number is the same ID.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("external_id")
    @classmethod
    def _one_line_id(cls, value: str) -> str:
        if CONTROL_CHARACTERS.search(value):
            raise ValueError(_("Enter the message's ID on its platform (at most 128 characters)."))
        return value

    @field_validator("author", "link", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("received_at", mode="before")
    @classmethod
    def _aware(cls, value: Any) -> Any:
        return aware_datetime(value)

    @field_validator("received_at")
    @classmethod
    def _not_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = (info.context or {}).get("now") or datetime.now(UTC)
        if value > now + CLOCK_SKEW:
            raise ValueError(_("This cannot be in the future."))
        return value

    @field_validator("link")
    @classmethod
    def _link(cls, value: str) -> str:
        if value:
            try:
                parts = urlsplit(value)
            except ValueError:
                parts = None
            if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                raise ValueError(_("Enter a web address starting with http:// or https://."))
            if CONTROL_CHARACTERS.search(value):
                raise ValueError(_("Enter a web address starting with http:// or https://."))
        return value
