"""An inquiry's typed input (the drawer's form and the JSON API)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from portal.cards.schemas import CardInput, ReceivedInput
from portal.core.choices import INQUIRY_CATEGORIES, PLATFORMS
from portal.core.errors import FormError
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
Category = INQUIRY_CATEGORIES.literal()
Channel = PLATFORMS.literal()


class InquiryInput(ReceivedInput):
    citizen_name: Annotated[str, Field(max_length=40)] = ""
    citizen_phone: str = ""
    channel: Channel | None = None  # type: ignore[valid-type]
    category: Category | None = None  # type: ignore[valid-type]
    department: int | None = None
    assisting_departments: list[int] = []
    answer: Annotated[str, Field(max_length=5000)] = ""

    messages = {
        **CardInput.messages,
        "citizen_name": _l("Use at most 40 characters."),
        "channel": _l("Choose a platform."),
        "category": _l("Choose a category."),
        "department": _l("Choose a department."),
        "assisting_departments": _l("Choose a department."),
        "answer": _l("Use at most 5000 characters."),
    }

    @field_validator("citizen_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = re.sub(r"\s", "", value)
        if value and "*" not in value and not PHONE_PATTERN.match(value):
            raise ValueError(_("Enter a mobile number (11 digits) or a landline like 0571-87654321."))
        return value  # a masked number ("*") means "keep the stored one": see ``card_fields``

    @field_validator("department")
    @classmethod
    def _department(cls, value: int | None, info: ValidationInfo) -> int | None:
        departments = (info.context or {}).get("departments")
        if value is not None and departments is not None and value not in departments:
            raise ValueError(_("Choose a department."))
        return value

    @field_validator("assisting_departments")
    @classmethod
    def _assisting(cls, value: list[int], info: ValidationInfo) -> list[int]:
        departments = (info.context or {}).get("departments")
        return sorted(set(value) & departments) if departments is not None else sorted(set(value))

    def to_fields(self, *, creating: bool = False) -> dict:
        """A masked number ("138****5678", as shown to whoever may not see it) keeps the stored
        one on an edit; a new inquiry needs the whole number."""
        fields = super().to_fields(creating=creating)
        if "*" in (fields.get("citizen_phone") or ""):
            if creating:
                raise FormError(
                    {"citizen_phone": _("Enter a mobile number (11 digits) or a landline like 0571-87654321.")}
                )
            fields.pop("citizen_phone")
        return fields
