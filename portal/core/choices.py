"""One source per enumeration: the stored value, its label (English message id, translated
to Chinese by the catalog) and its order. Forms, templates, deadline policies, the API
schema and the demo data all read these; nothing else lists the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from portal.i18n import lazy_gettext as _l


class Choices:
    """An ordered set of (value, label) pairs."""

    def __init__(self, *entries: tuple[str, object]) -> None:
        self._entries = tuple(entries)
        self._labels = dict(entries)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self._entries)

    def __contains__(self, value: object) -> bool:
        return value in self._labels

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def label(self, value: str | None) -> str:
        """The label in the active language ('' for no value, the code itself if unknown)."""
        return str(self._labels.get(value, value or "")) if value is not None else ""

    def options(self) -> list[tuple[str, str]]:
        """(value, label) pairs in display order, for <select> and checkbox lists."""
        return [(value, str(label)) for value, label in self._entries]

    def literal(self):
        """A ``Literal[...]`` of the values, for typed input and the API schema."""
        return Literal[self.values]  # type: ignore[valid-type]


ROLES = Choices(
    ("admin", _l("Administrator")),
    ("manager", _l("Manager")),
    ("member", _l("Member")),
    ("liaison", _l("Department liaison")),
    ("viewer", _l("Viewer")),
)

PRIORITIES = Choices(
    ("urgent", _l("Urgent")),
    ("high", _l("High")),
    ("normal", _l("Normal")),
    ("low", _l("Low")),
)

PLATFORMS = Choices(
    ("wechat", _l("WeChat")),
    ("weibo", _l("Weibo")),
    ("douyin", _l("Douyin")),
    ("website", _l("Website")),
    ("hotline", _l("12345 hotline")),
)

# Campaigns run on the accounts the team publishes on (not the hotline).
CAMPAIGN_PLATFORMS = Choices(*[(value, label) for value, label in PLATFORMS._entries if value != "hotline"])

SENTIMENTS = Choices(
    ("positive", _l("Positive")),
    ("neutral", _l("Neutral")),
    ("negative", _l("Negative")),
)

INQUIRY_CATEGORIES = Choices(
    ("policy", _l("Policy question")),
    ("complaint", _l("Complaint")),
    ("suggestion", _l("Suggestion")),
    ("help", _l("Request for help")),
    ("complex", _l("Complex case")),
)

CAMPAIGN_FORMATS = Choices(
    ("qa", _l("Q&A")),
    ("poll", _l("Poll")),
    ("livestream", _l("Livestream")),
    ("quiz", _l("Knowledge challenge")),
    ("short_video", _l("Short video")),
)

# 预警等级 / 事件等级: the four colours of public-opinion risk, least to most serious. Alerts
# (portal.warning) and incidents (portal.incidents) store these codes.
RISK_LEVELS = Choices(
    ("blue", _l("Blue · IV General (蓝 一般)")),
    ("yellow", _l("Yellow · III Major (黄 较大)")),
    ("orange", _l("Orange · II Serious (橙 重大)")),
    ("red", _l("Red · I Extremely serious (红 特别重大)")),
)
RISK_LEVEL_RANK = {value: rank for rank, value in enumerate(RISK_LEVELS.values)}

# The deadline clocks a card can be on (``Card.due_stage``): each stage's own, and a campaign's end.
CLOCK_STAGES = Choices(
    ("first_response", _l("First reply")),
    ("accept", _l("Accept")),
    ("sign", _l("Sign for")),
    ("answer", _l("Answer")),
    ("review", _l("Review")),
    ("follow_up", _l("Follow-up")),
    ("statement_review", _l("Statement approval")),
    ("campaign", _l("Campaign end")),
)

WEBHOOK_KINDS = Choices(
    ("wecom", _l("WeCom")),
    ("dingtalk", _l("DingTalk")),
)

# Order of importance for sorting work (most urgent first).
PRIORITY_RANK = {value: rank for rank, value in enumerate(PRIORITIES.values)}
