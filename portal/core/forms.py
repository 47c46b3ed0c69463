"""Small helpers shared by every form: errors that carry per-field messages."""

from __future__ import annotations

from collections.abc import Mapping


class FormError(Exception):
    """Bad input: ``errors`` maps a field name (or "__all__") to a translated message.

    Raised by forms and services before anything is written, so a rejected request
    changes nothing.
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


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
