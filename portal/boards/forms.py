"""Request structs for boards, columns and members."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from portal.boards.tables import BoardRole, ColumnMeaning
from portal.cards.kinds import is_kind
from portal.core.forms import FormError, optional_int, text
from portal.i18n import gettext as _


@dataclass
class BoardForm:
    name: str
    kind: str
    description: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> BoardForm:
        form = cls(name=text(data, "name"), kind=text(data, "kind"), description=text(data, "description"))
        errors = {}
        if not form.name or len(form.name) > 80:
            errors["name"] = _("Enter a name of at most 80 characters.")
        if not is_kind(form.kind):
            errors["kind"] = _("Choose what the board is for.")
        if len(form.description) > 500:
            errors["description"] = _("Use at most 500 characters.")
        if errors:
            raise FormError(errors)
        return form


@dataclass
class ColumnForm:
    name: str
    meaning: str
    wip_limit: int | None

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> ColumnForm:
        raw_limit = text(data, "wip_limit")
        form = cls(
            name=text(data, "name"),
            meaning=text(data, "meaning") or ColumnMeaning.working,
            wip_limit=optional_int(raw_limit),
        )
        errors = {}
        if not form.name or len(form.name) > 40:
            errors["name"] = _("Enter a name of at most 40 characters.")
        if form.meaning not in {meaning.value for meaning in ColumnMeaning}:
            errors["meaning"] = _("Choose what the column means.")
        if raw_limit and (form.wip_limit is None or not 1 <= form.wip_limit <= 999):
            errors["wip_limit"] = _("Enter a whole number from 1 to 999, or leave it empty.")
        if errors:
            raise FormError(errors)
        return form


@dataclass
class MemberForm:
    user_id: int
    role: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> MemberForm:
        user_id = optional_int(data.get("user_id"))
        role = text(data, "role")
        errors = {}
        if user_id is None:
            errors["user_id"] = _("Choose a user.")
        if role not in {r.value for r in BoardRole}:
            errors["role"] = _("Choose a board role.")
        if errors:
            raise FormError(errors)
        return cls(user_id=user_id, role=role)
