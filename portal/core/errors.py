"""The errors every domain raises; the web layer turns each into a page, a fragment or JSON.

- ``NotFound`` (404): no such object, or the actor may not know it exists;
- ``PermissionDenied`` (403): the actor may see it but not do this;
- ``Conflict`` (409): the object changed since the actor saw it, or the action is not
  allowed in its present state; carries a message for the person;
- ``FormError`` (422): bad input, with one message per field; raised before anything is
  written, so a rejected request changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping


class NotFound(Exception):
    """No such object (or the actor may not know it exists)."""

    status_code = 404


class PermissionDenied(Exception):
    """The actor may not do this."""

    status_code = 403


class Conflict(Exception):
    """The object is not in a state that allows this (stale version, illegal action)."""

    status_code = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FormError(Exception):
    """Bad input: ``errors`` maps a field name (or "__all__") to a translated message."""

    status_code = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)
