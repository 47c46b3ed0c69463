"""A campaign's typed input (the drawer's form and the JSON API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from portal.cards.schemas import CardInput, local_datetime
from portal.core.choices import CAMPAIGN_FORMATS, CAMPAIGN_PLATFORMS
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

CampaignFormat = CAMPAIGN_FORMATS.literal()
CampaignPlatform = CAMPAIGN_PLATFORMS.literal()


class CampaignInput(CardInput):
    platforms: list[CampaignPlatform] = []  # type: ignore[valid-type]
    campaign_format: CampaignFormat | None = None  # type: ignore[valid-type]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    goals: Annotated[str, Field(max_length=2000)] = ""
    reward_rules: Annotated[str, Field(max_length=2000)] = ""

    messages = {
        **CardInput.messages,
        "platforms": _l("Choose the platforms."),
        "campaign_format": _l("Choose a format."),
        "goals": _l("Use at most 2000 characters."),
        "reward_rules": _l("Use at most 2000 characters."),
    }

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return local_datetime(value)

    @field_validator("ends_at")
    @classmethod
    def _order(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        starts_at = info.data.get("starts_at")
        if value and starts_at and value < starts_at:
            raise ValueError(_("The end is before the start."))
        return value
