"""A campaign's typed input (the drawer's form and the JSON API): its plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from portal.campaigns.choices import METRICS as CAMPAIGN_METRICS
from portal.cards.schemas import CardInput, local_datetime
from portal.core.choices import CAMPAIGN_FORMATS, CAMPAIGN_PLATFORMS
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

CampaignFormat = CAMPAIGN_FORMATS.literal()
CampaignPlatform = CAMPAIGN_PLATFORMS.literal()
MAX_MOMENTS = 20
MAX_FIGURE = 1_000_000_000  # a count no campaign reaches: a typing slip above it
MAX_BUDGET = 100_000_000  # yuan
# One key moment per line: "2026-12-01 10:00 直播开始" (the time, then what happens).
_MOMENT_LINE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2})?)\s+(.+?)\s*$")


class Moment(BaseModel):
    at: datetime
    label: Annotated[str, Field(min_length=1, max_length=60)]

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", value):
            value = value.strip() + " 00:00"
        return local_datetime(value)


def _moment_lines(text: str) -> list[dict[str, str]]:
    moments = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _MOMENT_LINE.match(line)
        if match is None:
            raise ValueError(_("Line %(number)s: write a key moment as “2026-12-01 10:00 直播开始”.", number=number))
        day, _sep, clock = match.group(1).replace("T", " ").partition(" ")
        year, month, date = (int(part) for part in day.split("-"))
        moments.append({"at": f"{year:04d}-{month:02d}-{date:02d} {clock or '00:00'}", "label": match.group(2)})
    return moments


def moments_text(moments: list[dict[str, Any]], tz) -> str:
    """Key moments as the form's lines (the inverse of the form's parsing)."""
    lines = []
    for moment in moments or []:
        at = moment["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        lines.append(f"{at.astimezone(tz):%Y-%m-%d %H:%M} {moment['label']}")
    return "\n".join(lines)


class CampaignInput(CardInput):
    theme: Annotated[str, Field(max_length=200)] = ""
    policy_basis: Annotated[str, Field(max_length=2000)] = ""
    platforms: list[CampaignPlatform] = []  # type: ignore[valid-type]
    campaign_format: CampaignFormat | None = None  # type: ignore[valid-type]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    moments: list[Moment] = []
    audience: Annotated[str, Field(max_length=500)] = ""
    targets: dict[str, dict[str, int]] = {}
    goals: Annotated[str, Field(max_length=2000)] = ""
    reward_rules: Annotated[str, Field(max_length=2000)] = ""
    budget: Annotated[int, Field(ge=0, le=MAX_BUDGET)] | None = None
    team: list[int] = []

    messages = {
        **CardInput.messages,
        "theme": _l("Use at most 200 characters."),
        "policy_basis": _l("Use at most 2000 characters."),
        "platforms": _l("Choose the platforms."),
        "campaign_format": _l("Choose a format."),
        "moments": _l("Write a key moment as “2026-12-01 10:00 直播开始”, one per line, at most 20."),
        "audience": _l("Use at most 500 characters."),
        "targets": _l("Enter each goal as a whole number of at least 0."),
        "goals": _l("Use at most 2000 characters."),
        "reward_rules": _l("Use at most 2000 characters."),
        "budget": _l("Enter the budget in yuan, a whole number of at least 0."),
        "team": _l("Choose people who are on this board."),
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

    @field_validator("moments", mode="before")
    @classmethod
    def _moments(cls, value: Any) -> Any:
        # The form sends one textarea (a list of one string); the API a list of objects.
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = "\n".join(value)
        if isinstance(value, str):
            value = _moment_lines(value)
        if isinstance(value, list) and len(value) > MAX_MOMENTS:
            raise ValueError(_("At most %(count)s key moments.", count=MAX_MOMENTS))
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any, info: ValidationInfo) -> Any:
        """Goals per platform and figure, on the campaign's platforms; blanks and zeros left
        out, numbers checked."""
        if not isinstance(value, dict):
            return value
        chosen = info.data.get("platforms")
        targets: dict[str, dict[str, int]] = {}
        for platform, figures in value.items():
            if platform not in CAMPAIGN_PLATFORMS.values or not isinstance(figures, dict):
                raise ValueError(_("Goals are set per platform: %(platform)s is not one.", platform=platform))
            if (
                chosen is not None
                and platform not in chosen
                and any(str(n).strip() not in ("", "0") for n in figures.values())
            ):
                raise ValueError(
                    _(
                        "Goals are set for %(platform)s, which the campaign does not run on.",
                        platform=CAMPAIGN_PLATFORMS.label(platform),
                    )
                )
            for metric, number in figures.items():
                if metric not in CAMPAIGN_METRICS.values:
                    raise ValueError(_("“%(metric)s” is not a figure a campaign counts.", metric=metric))
                if isinstance(number, str):
                    number = number.strip().replace(",", "").replace("，", "")
                    if not number.isdigit():
                        raise ValueError(_("Enter each goal as a whole number of at least 0."))
                    number = int(number)
                if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_FIGURE:
                    raise ValueError(_("Enter each goal as a whole number of at least 0."))
                if number:
                    targets.setdefault(platform, {})[metric] = number
        return targets

    @field_validator("team")
    @classmethod
    def _team(cls, value: list[int], info: ValidationInfo) -> list[int]:
        people = (info.context or {}).get("people")
        if people is not None and any(person not in people for person in value):
            raise ValueError(_("Choose people who are on this board."))
        return list(dict.fromkeys(value))

    @field_validator("theme", "policy_basis", "audience", "goals", "reward_rules")
    @classmethod
    def _plain_text(cls, value: str, info: ValidationInfo) -> str:
        allowed = "" if info.field_name == "theme" else "\n\t"
        if any((ord(char) < 32 and char not in allowed) or ord(char) == 127 for char in value):
            raise ValueError(
                _("Write one line of text, without line breaks or control characters.")
                if info.field_name == "theme"
                else _("Remove the control characters from this text.")
            )
        return value

    def to_fields(self, *, creating: bool = False) -> dict[str, Any]:
        """The plan in one canonical form (times in UTC, moments in time order, platforms in
        the choice list's order, the team by id), so that a plan saved again unchanged — from
        the drawer, the API or the demo — compares equal and shows no false change."""
        fields = self.model_dump()
        fields["moments"] = [
            {"at": moment["at"].astimezone(UTC).isoformat(), "label": moment["label"]}
            for moment in sorted(fields["moments"], key=lambda moment: moment["at"])
        ]
        order = {code: index for index, code in enumerate(CAMPAIGN_PLATFORMS.values)}
        fields["platforms"] = sorted(dict.fromkeys(fields["platforms"]), key=order.__getitem__)
        fields["team"] = sorted(fields["team"])
        return fields
