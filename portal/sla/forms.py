"""Request structs for the deadline preview and the calendar admin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from portal.core.forms import FormError, optional_int, text
from portal.i18n import gettext as _
from portal.sla.calendar import DurationMode

MAX_DURATION = {
    DurationMode.natural_hours: 24 * 366,
    DurationMode.working_hours: 8 * 366,
    DurationMode.working_days: 366,
}

# The years the calendar works with: holiday data exists for a few decades at most, and
# arithmetic near year 1 or 9999 would run off the end of the date range.
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass
class PreviewForm:
    start: datetime
    duration: int
    mode: str

    @classmethod
    def parse(cls, data: Mapping[str, str], *, require_offset: bool, default_tz=None) -> PreviewForm:
        errors: dict[str, str] = {}
        raw_start = text(data, "start")
        start = None
        try:
            start = datetime.fromisoformat(raw_start.replace(" ", "T").replace("Z", "+00:00")) if raw_start else None
        except ValueError:
            pass
        if start is None:
            errors["start"] = _("Give the start as an ISO 8601 time with an offset, e.g. 2026-09-30T10:00:00+08:00.")
        elif start.tzinfo is None:
            if require_offset or default_tz is None:
                errors["start"] = _("The start needs a UTC offset, e.g. +08:00.")
            else:
                start = start.replace(tzinfo=default_tz)
        if start is not None and not MIN_YEAR <= start.year <= MAX_YEAR:
            errors["start"] = _(
                "The start must lie between the years %(low)s and %(high)s.", low=MIN_YEAR, high=MAX_YEAR
            )
        mode = text(data, "mode")
        if mode not in {m.value for m in DurationMode}:
            errors["mode"] = _("mode must be natural_hours, working_hours or working_days.")
        duration = optional_int(text(data, "duration"))
        if duration is None or duration < 0:
            errors["duration"] = _("duration must be a whole number, 0 or more.")
        elif mode in MAX_DURATION and duration > MAX_DURATION[DurationMode(mode)]:
            errors["duration"] = _("duration is too long (at most a year).")
        if errors:
            raise FormError(errors)
        return cls(start=start, duration=duration, mode=mode)


@dataclass
class DayForm:
    day: date
    kind: str

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> DayForm:
        try:
            day = date.fromisoformat(text(data, "day"))
        except ValueError:
            raise FormError({"day": _("Choose a date.")}) from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise FormError(
                {"day": _("Choose a date between the years %(low)s and %(high)s.", low=MIN_YEAR, high=MAX_YEAR)}
            )
        kind = text(data, "kind")
        if kind not in ("holiday", "workday", "default"):
            raise FormError({"kind": _("Choose holiday, workday or default.")})
        return cls(day=day, kind=kind)
