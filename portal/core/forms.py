"""Small helpers for reading form fields. (``FormError`` lives in ``portal.core.errors``;
it is importable from here too.)"""

from __future__ import annotations

from collections.abc import Mapping

from portal.core.errors import FormError

__all__ = ["FormError", "MAX_ID", "long_text", "optional_int", "text", "valid_id"]


def text(data: Mapping[str, str], name: str, max_length: int = 200) -> str:
    """A single-line text field, trimmed; over-long input is cut by validation, not here."""
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


MAX_ID = 2**31 - 1  # the largest id either database stores; larger input is simply invalid


def optional_int(value: str | None) -> int | None:
    """A whole number from a form field, or None (also for non-ASCII digits and absurd sizes)."""
    if not isinstance(value, str | int) or str(value).strip() == "":
        return None
    raw = str(value).strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        return None
    number = int(raw)
    return number if -MAX_ID <= number <= MAX_ID else None


def long_text(data: Mapping[str, str], name: str, max_length: int = 5000) -> str:
    """A multi-line text field; anything that is not text (a file part) counts as empty."""
    value = data.get(name, "")
    return value.strip()[: max_length + 1] if isinstance(value, str) else ""


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID
