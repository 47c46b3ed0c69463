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


def optional_int(value: str | None) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
