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
ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dX]$")
# GB 11643: the 18th character checks the first 17 (weights 2^(17-i) mod 11).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# A masked number keeps the stored one; these are the fields that may come back masked.
MASKABLE = ("citizen_phone", "citizen_id_number")


def valid_id_number(value: str) -> bool:
    """An 18-character resident ID number (身份证号) whose check character is right."""
    if not ID_NUMBER_PATTERN.match(value):
        return False
    return _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11] == value[17]


Category = INQUIRY_CATEGORIES.literal()
Channel = PLATFORMS.literal()


class InquiryInput(ReceivedInput):
    citizen_name: Annotated[str, Field(max_length=40)] = ""
    citizen_phone: str = ""
    citizen_id_number: str = ""
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
        return value  # a masked number ("*") means "keep the stored one": see ``to_fields``

    @field_validator("citizen_id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        value = re.sub(r"\s", "", value).upper()
        if value and "*" not in value and not valid_id_number(value):
            raise ValueError(_("Enter an 18-character ID number (17 digits and a digit or X) and check it."))
        return value  # masked ("*"): keep the stored one, as for the phone

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
        """A masked number ("138****5678", "3301**********1234", as the card shows them: see
        portal.inquiries.privacy) keeps the stored one on an edit; a new inquiry needs the
        whole number."""
        fields = super().to_fields(creating=creating)
        masked = [name for name in MASKABLE if "*" in (fields.get(name) or "")]
        if masked and creating:
            raise FormError({name: self._whole_number(name) for name in masked})
        for name in masked:
            fields.pop(name)
        return fields

    @staticmethod
    def _whole_number(name: str) -> str:
        if name == "citizen_id_number":
            return _("Enter an 18-character ID number (17 digits and a digit or X) and check it.")
        return _("Enter a mobile number (11 digits) or a landline like 0571-87654321.")
