"""Typed input: one pydantic model per request body, for HTML forms and the JSON API alike.

``parse(Model, data)`` takes a posted form (a multi-dict of strings) or a decoded JSON object
and returns the model, or raises ``FormError`` with one translated message per field — every
field's message at once, keyed by the model's field names, which are the form's field names
and the API's JSON keys. Rules live in the model: constraints in the annotations, checks
that need translated messages in validators that raise ``ValueError(_("…"))``, and
``messages`` for the constraint errors that have no validator of their own.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from portal.core.forms import FormError
from portal.i18n import gettext as _

M = TypeVar("M", bound="Input")


class Input(BaseModel):
    """Base of every request body; ``messages`` maps a field to the message shown when its
    constraints fail (a validator's own message wins)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    messages: ClassVar[Mapping[str, Any]] = {}


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, set, tuple):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_dict(arg) for arg in typing.get_args(annotation))
    return False


def _nested(data: Any, name: str) -> dict[str, Any]:
    """Fields named ``name.a.b`` as {"a": {"b": value}} (blank values left out)."""
    nested: dict[str, Any] = {}
    prefix = name + "."
    for key in data.keys():
        value = data.get(key)
        if not key.startswith(prefix) or not isinstance(value, str) or not value.strip():
            continue
        *path, last = key[len(prefix) :].split(".")
        target = nested
        for part in path:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            target[last] = value
    return nested


def from_form(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """A posted form as the model's input: lists from repeated fields, a dict from fields
    named ``field.key`` (or ``field.key.subkey``), empty strings as absent (so optional fields
    take their default), file parts ignored."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if _is_dict(field.annotation):
            nested = _nested(data, name)
            if nested or any(key.startswith(name + ".") for key in data.keys()):
                values[name] = nested
            continue
        if _is_list(field.annotation):
            items = data.getall(name, []) if hasattr(data, "getall") else data.get(name, [])
            items = [item for item in (items if isinstance(items, list) else [items]) if isinstance(item, str)]
            if items or name in data:
                values[name] = [item.replace("\r\n", "\n") for item in items if item.strip()]
            continue
        value = data.get(name)
        if isinstance(value, str) and value.strip() != "":
            # Browsers send a textarea's line breaks as CRLF; the API and stored text use LF.
            values[name] = value.replace("\r\n", "\n")
    return values


def parse(model: type[M], data: Any, *, form: bool | None = None, context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` (a form when it has ``getall``, else a JSON object) into ``model``."""
    is_form = hasattr(data, "getall") if form is None else form
    if not is_form and not isinstance(data, Mapping):
        raise FormError({"__all__": _("The request body must be a JSON object.")})
    raw = from_form(model, data) if is_form else dict(data)
    try:
        return model.model_validate(raw, context=context or {})
    except ValidationError as error:
        raise FormError(field_errors(model, error)) from None


def field_errors(model: type[BaseModel], error: ValidationError) -> dict[str, str]:
    messages = getattr(model, "messages", {})
    errors: dict[str, str] = {}
    for problem in error.errors():
        location = problem.get("loc") or ()
        name = str(location[0]) if location else "__all__"
        if name in errors:
            continue
        if problem["type"] == "value_error":
            text = str(problem.get("ctx", {}).get("error") or problem["msg"]).removeprefix("Value error, ")
        elif name in messages:
            text = str(messages[name])
        elif problem["type"] == "missing":
            text = _("This field is required.")
        else:
            text = _("This value is not valid.")
        errors[name] = text
    return errors
