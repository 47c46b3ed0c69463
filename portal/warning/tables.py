"""The early-warning tables: topics, which comment belongs to which, per-topic counts per
five-minute slot, admins' watch rules, alerts, and the one settings row.

Counts are kept per slot (an integer: minutes since the epoch // 5) rather than per timestamp
so that a window's volume is a sum over a handful of rows, the same on SQLite and PostgreSQL.
"""

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, OnDelete, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.accounts.tables import User
from portal.boards.tables import Board
from portal.cards.tables import Card


class WarningTopic(Table, tablename="warning_topic"):
    """A topic of one comments board, grown one comment at a time (portal.warning.topics)."""

    board = ForeignKey(references=Board, index=True)
    name = Varchar(length=80, default="")  # its top keywords: "地铁 停运 暴雨"
    keywords = JSONB(default={})  # word -> how many of its comments have it (the top ones kept)
    platforms = JSONB(default={})  # platform -> comments
    comments = Integer(default=0)
    negative = Integer(default=0)
    # The baseline: an exponentially weighted mean of comments per slot, folded in up to
    # (excluding) rate_slot; see portal.warning.detection.fold.
    rate = Real(default=0.0)
    # The same mean of its negative comments (folded with rate, the same slots): negative_rate
    # / rate is the topic's usual negative share, which a window's is compared with.
    negative_rate = Real(default=0.0)
    rate_slot = Integer(null=True, default=None)
    first_at = Timestamptz(default=TimestamptzNow())
    last_at = Timestamptz(default=TimestamptzNow(), index=True)


class WarningTopicMember(Table, tablename="warning_topic_member"):
    """One comment in one topic: assigned once, when the comment is triaged."""

    card = ForeignKey(references=Card, unique=True, index=True)
    topic = ForeignKey(references=WarningTopic, index=True)
    board = ForeignKey(references=Board)
    slot = Integer()
    negative = Boolean(default=False)
    score = Real(default=0.0)  # how well it matched the topic (1.0: it started the topic)
    created_at = Timestamptz(default=TimestamptzNow())


class WarningTopicBucket(Table, tablename="warning_topic_bucket"):
    """Comments (and negative ones) of a topic in one five-minute slot; unique (topic, slot)
    (a raw unique index in the migration), incremented with one upsert."""

    topic = ForeignKey(references=WarningTopic, index=True)
    slot = Integer()
    comments = Integer(default=0)
    negative = Integer(default=0)


class WatchRule(Table, tablename="warning_watch_rule"):
    """An admin's rule: topics whose comments mention one of the keywords (or fall in one of
    the categories) alert at the rule's own thresholds, at least at the rule's level."""

    name = Varchar(length=60)
    board = ForeignKey(references=Board, null=True)  # None: every comments board
    keywords = JSONB(default=[])
    categories = JSONB(default=[])
    window_minutes = Integer(default=30)
    min_count = Integer(default=5)
    ratio = Real(default=3.0)
    level = Varchar(length=8, default="blue")  # the lowest level its alerts get
    active = Boolean(default=True)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WarningAlert(Table, tablename="warning_alert"):
    """One surge of one topic. Raised again while the surge goes on it is this row again: its
    count rises and its level may too (never down)."""

    board = ForeignKey(references=Board, index=True)
    topic = ForeignKey(references=WarningTopic, index=True)
    rule = ForeignKey(references=WatchRule, null=True, on_delete=OnDelete.set_null)  # a rule removed later
    level = Varchar(length=8)  # blue, yellow, orange, red (portal.warning.detection.LEVELS)
    reason = Varchar(length=200, default="")
    raised_count = Integer(default=1)  # how many times detection found this surge
    window_minutes = Integer(default=10)
    volume = Integer(default=0)  # comments in the window at the last raise
    expected = Real(default=0.0)  # what the baseline expected in that window
    negative_share = Real(default=0.0)
    sample_cards = JSONB(default=[])  # card ids of recent comments (never a phone number)
    first_at = Timestamptz(default=TimestamptzNow())
    last_at = Timestamptz(default=TimestamptzNow(), index=True)  # the last raise
    acknowledged_by = ForeignKey(references=User, null=True)
    acknowledged_at = Timestamptz(null=True, default=None)
    escalate_at = Timestamptz(null=True, default=None)  # 橙 / 红 unacknowledged: when it escalates
    escalated_at = Timestamptz(null=True, default=None)
    incident_card = Integer(null=True, default=None)
    # Its topic was merged into another whose alert was open too: that alert carries on (its
    # count and level took this one's); this one is kept for the record and does nothing more.
    merged_into = Integer(null=True, default=None)
    note = Text(default="")


class WarningSetting(Table, tablename="warning_setting"):
    """One row (admins): how long an unacknowledged 橙 / 红 alert waits before it escalates."""

    escalate_minutes = Integer(default=15)
    updated_at = Timestamptz(default=TimestamptzNow())


WARNING_TABLES = [WarningTopic, WarningTopicMember, WarningTopicBucket, WatchRule, WarningAlert, WarningSetting]
