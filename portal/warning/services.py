"""Early warning (舆情预警): the worker's incremental step and what the pages and API read.

``observe_comment(card_id)`` runs in the worker right after a comment's triage (its sentiment
and sensitive words are known then): it puts the comment in a topic (``topics``), adds it to
the topic's count for its five-minute slot, folds the finished slots into the topic's
baseline, and asks ``detection`` whether the topic surges — by the defaults and by every
watch rule that matches it. A surge raises an alert, or raises the topic's ongoing alert
again (one alert per surge: its count rises, its level may too). One transaction holds the
lot; the notifications, robot posts, the escalation job and the live signal are outbox
effects of the same transaction. Nothing here rescans history: one comment reads its
board's recent topics and its own topic's last hour of slots.

An unacknowledged 橙 / 红 alert escalates ``escalate_minutes`` (the settings row) after it
reached that level: an arq job deferred to that moment (``escalate_alert``), backed by a
sweep every minute; a conditional update claims the escalation, so it happens once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from piccolo.query.functions.aggregate import Sum
from pydantic import Field, field_validator

from portal.accounts.tables import Role, User
from portal.boards import services as boards
from portal.boards.access import access_for
from portal.boards.tables import Board, BoardMember, BoardRole
from portal.cards.tables import Card
from portal.comments.tables import CommentDetail
from portal.core.choices import PLATFORMS
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.core.forms import valid_id
from portal.core.identity import CurrentUser
from portal.core.schemas import Input
from portal.db import is_sqlite, write_transaction
from portal.events import outbox
from portal.events import services as audit
from portal.events.outbox import Effect
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.notifications import services as notifications
from portal.notifications.tables import Notification
from portal.warning import detection, topics
from portal.warning.detection import LEVEL_LABELS, LEVELS, Surge, Thresholds
from portal.warning.tables import (
    WarningAlert,
    WarningSetting,
    WarningTopic,
    WarningTopicBucket,
    WarningTopicMember,
    WatchRule,
)

KIND = "comments"
RECENT_TOPICS = timedelta(days=2)  # a comment is compared with the topics active this recently
CANDIDATE_TOPICS = 400
SAMPLES = 3
DEFAULT_ESCALATE_MINUTES = 15
ESCALATE_JOB = "escalate_warning_alert"
LEVEL_ZH = {
    "blue": "蓝色预警（IV 一般）",
    "yellow": "黄色预警（III 较大）",
    "orange": "橙色预警（II 重大）",
    "red": "红色预警（I 特别重大）",
}
# A citizen's phone number (or any long run of digits) never leaves in a notification.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1\d{2}[- ]?\d{4}[- ]?\d{4}(?!\d)|\d{7,}")


def level_label(level: str | None) -> str:
    return str(LEVEL_LABELS.get(level or "", ""))


def mask_numbers(text: str) -> str:
    return _PHONE.sub("***", text or "")


def comment_text(card: dict[str, Any]) -> str:
    title, body = (card.get("title") or "").strip(), (card.get("body") or "").strip()
    if not body:
        return title
    return body if body.startswith(title.rstrip("…. ")) else f"{title}\n{body}"


# The worker's step ------------------------------------------------------------------------


@dataclass
class Observation:
    card_id: int
    topic_id: int
    new_topic: bool
    alert_id: int | None = None
    level: str | None = None
    new_alert: bool = False
    notified: list[int] = field(default_factory=list)


async def _comment(card_id: int) -> dict[str, Any] | None:
    join = Card.id.join_on(CommentDetail.card)
    return (
        await Card.select(
            Card.id,
            Card.board,
            Card.board.kind.as_alias("kind"),
            Card.title,
            Card.body,
            Card.received_at,
            Card.created_at,
            join.sentiment.as_alias("sentiment"),
            join.topic.as_alias("category"),
            join.flag_tier.as_alias("flag_tier"),
            join.platform.as_alias("platform"),
        )
        .where(Card.id == card_id)
        .first()
    )


async def observe_comment(card_id: int, *, now: datetime | None = None) -> Observation | None:
    """Put one triaged comment in its topic and check the topic for a surge (see the module's
    note). None when there is nothing to do: not a comment, or observed before. ``now`` is the
    clock (a simulation passes its own); the comment counts in the slot it was received in."""
    now = now or datetime.now(UTC)
    card = await _comment(card_id)
    if card is None or card["kind"] != KIND:
        return None
    if await WarningTopicMember.exists().where(WarningTopicMember.card == card_id):
        return None
    words = topics.keywords(comment_text(card))  # jieba reads outside the transaction
    at = min(card.get("received_at") or card.get("created_at") or now, now)
    slot, now_slot = detection.slot_of(at), detection.slot_of(now)
    negative = card.get("sentiment") == "negative"
    async with write_transaction():
        # One board's warning step at a time: on PostgreSQL two workers would otherwise read
        # the same candidate topics before either locks one, and a merge could delete a topic
        # the other is adding a comment (or an alert) to. SQLite's writes are serialised already.
        await _lock_board(card["board"])
        if await WarningTopicMember.exists().where(WarningTopicMember.card == card_id):
            return None  # another worker was quicker
        topic, new_topic, score = await _assign(card, words, at, negative)
        await WarningTopicMember.insert(
            WarningTopicMember(
                card=card_id,
                topic=topic["id"],
                board=card["board"],
                slot=slot,
                negative=negative,
                score=score,
                created_at=at,  # the comment's moment: the short windows count by it
            )
        )
        await WarningTopicBucket.raw(
            "INSERT INTO warning_topic_bucket (topic, slot, comments, negative) VALUES ({}, {}, 1, {}) "
            "ON CONFLICT (topic, slot) DO UPDATE SET comments = warning_topic_bucket.comments + 1, "
            "negative = warning_topic_bucket.negative + excluded.negative",
            topic["id"],
            slot,
            int(negative),
        )
        buckets = await _buckets(topic["id"], min(topic["rate_slot"] or now_slot, now_slot - 12))
        rate = detection.fold(topic["rate"], topic["rate_slot"], {s: c for s, (c, _n) in buckets.items()}, now_slot)
        negative_rate = detection.fold(
            topic.get("negative_rate") or 0.0, topic["rate_slot"], {s: n for s, (_c, n) in buckets.items()}, now_slot
        )
        await WarningTopic.update(
            {WarningTopic.rate: rate, WarningTopic.negative_rate: negative_rate, WarningTopic.rate_slot: now_slot}
        ).where(WarningTopic.id == topic["id"])
        observation = Observation(card_id, topic["id"], new_topic)
        effects: list[Effect] = []
        # An old comment (an import) is counted, but it surges nothing now.
        if now - at <= timedelta(minutes=max(detection.WINDOWS)):
            recent, people = await _recent(topic["id"], now)
            # A young topic is judged against its board's traffic too (detection.baseline).
            board_comments, board_minutes, board_slots = await _board_traffic(card["board"], topic["id"], now)
            prior = detection.board_prior(board_comments, board_minutes)
            age = now_slot - detection.slot_of(topic.get("first_at") or at)
            judged = detection.baseline(rate, age, prior)
            usual = detection.usual_share(rate, negative_rate, age, buckets, now_slot)  # its usual negative share
            surge, rule_id, reason = await _judge(
                card, topic, buckets, now_slot, judged, recent, board_slots, usual, people
            )
            if surge is not None:
                alert_id, new_alert, level, notified = await _raise(
                    card, topic["id"], surge, rule_id, reason, now, effects
                )
                observation.alert_id, observation.new_alert, observation.level = alert_id, new_alert, level
                observation.notified = notified
        # Every comment changes the page's counts; the handler coalesces the signals per board
        # (at most one every few seconds, portal/warning/effects.py), so a surge is no storm.
        effects.append(Effect("warning_changed", {"board_id": card["board"]}))
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return observation


WARNING_LOCK = 0x5741524E  # the advisory locks' first key: "WARN" (the second is the board)


async def _lock_board(board_id: int) -> None:
    """Hold the board's warning lock until the transaction ends (PostgreSQL; a no-op on SQLite,
    whose immediate transaction is the lock)."""
    if not is_sqlite():
        await WarningTopic.raw("SELECT pg_advisory_xact_lock({}, {})", WARNING_LOCK, board_id)


async def _assign(card: dict[str, Any], words: dict[str, float], at: datetime, negative: bool):
    """The comment's topic (an existing one, updated, or a new one): (row, new?, score)."""
    candidates = (
        await WarningTopic.select(WarningTopic.id, WarningTopic.keywords)
        .where((WarningTopic.board == card["board"]) & (WarningTopic.last_at >= at - RECENT_TOPICS))
        .order_by(WarningTopic.last_at, ascending=False)
        .limit(CANDIDATE_TOPICS)
        .output(load_json=True)
    )
    match = topics.best_topic(words, [(row["id"], row["keywords"] or {}) for row in candidates])
    platform = card.get("platform") or ""
    if match.topic_id is None:
        terms = topics.grow({}, words)
        rows = await WarningTopic.insert(
            WarningTopic(
                board=card["board"],
                # Never the comment's own text: a title like "怎么办？138…" would carry a
                # citizen's phone number into bells, e-mail, robots and incident titles.
                name=mask_numbers(topics.name_of(terms)),
                keywords=terms,
                platforms={platform: 1} if platform else {},
                comments=1,
                negative=int(negative),
                rate=0.0,
                rate_slot=None,
                first_at=at,
                last_at=at,
            )
        ).returning(WarningTopic.id)
        if not terms:  # no keywords at all: a neutral name, by its number
            await WarningTopic.update({WarningTopic.name: unnamed_topic(rows[0]["id"])}).where(
                WarningTopic.id == rows[0]["id"]
            )
        row = {"id": rows[0]["id"], "rate": 0.0, "negative_rate": 0.0, "rate_slot": None, "keywords": terms}
        return {**row, "first_at": at}, True, 1.0
    # Counted first: on PostgreSQL the update locks the topic's row until commit, so two
    # workers observing the same topic take turns (its words, its baseline, and above all
    # its ongoing alert: one alert per surge, never two raised side by side).
    await WarningTopic.update(
        {WarningTopic.comments: WarningTopic.comments + 1, WarningTopic.negative: WarningTopic.negative + int(negative)}
    ).where(WarningTopic.id == match.topic_id)
    row = (
        await WarningTopic.select(
            WarningTopic.id,
            WarningTopic.keywords,
            WarningTopic.platforms,
            WarningTopic.rate,
            WarningTopic.negative_rate,
            WarningTopic.rate_slot,
            WarningTopic.last_at,
            WarningTopic.first_at,
        )  # fmt: skip
        .where(WarningTopic.id == match.topic_id)
        .output(load_json=True)
        .first()
    )
    terms = topics.grow(row["keywords"] or {}, words)
    platforms = dict(row["platforms"] or {})
    if platform:
        platforms[platform] = platforms.get(platform, 0) + 1
    await WarningTopic.update(
        {
            WarningTopic.keywords: terms,
            WarningTopic.name: topics.name_of(terms),
            WarningTopic.platforms: platforms,
            WarningTopic.last_at: max(row["last_at"], at),
        }
    ).where(WarningTopic.id == row["id"])
    twin = next(
        (
            other["id"]
            for other in candidates
            if other["id"] != row["id"] and topics.same_subject(terms, other["keywords"] or {})
        ),
        None,
    )
    if twin is not None:
        return await _merge(keep=min(twin, row["id"]), gone=max(twin, row["id"]), at=at), False, match.score
    return {**row, "keywords": terms}, False, match.score


async def _merge(keep: int, gone: int, at: datetime) -> dict[str, Any]:
    """Two topics that turned out to be one subject (their name words agree: the first
    comments of a surge joined an older topic and started another): the younger one's
    comments, counts, alerts and words move to the older, and it is removed; should both
    have an open alert, the two become one (``_merge_alerts``). Returns the older one as
    ``_assign`` does."""
    await _merge_alerts(keep, gone, at)
    rows = {
        row["id"]: row
        for row in await WarningTopic.select().where(WarningTopic.id.is_in([keep, gone])).output(load_json=True)
    }
    if keep not in rows or gone not in rows:
        # Gone already (merged by another step before the board lock was taken, or cleaned
        # away): nothing to merge; the comment stays with whichever of the two remains.
        left = rows.get(keep) or rows.get(gone)
        if left is None:
            raise LookupError(f"warning topics {keep} and {gone} are both gone")
        return {key: left[key] for key in ("id", "rate", "negative_rate", "rate_slot", "keywords", "first_at")}
    kept, merged = rows[keep], rows[gone]
    terms = dict(kept["keywords"] or {})
    for word, weight in (merged["keywords"] or {}).items():
        terms[word] = round(terms.get(word, 0.0) + weight, 3)
    terms = {word: terms[word] for word in topics.top_terms(terms, topics.KEPT_TERMS)}
    platforms = dict(kept["platforms"] or {})
    for code, count in (merged["platforms"] or {}).items():
        platforms[code] = platforms.get(code, 0) + count
    await WarningTopicMember.update({WarningTopicMember.topic: keep}).where(WarningTopicMember.topic == gone)
    await WarningAlert.update({WarningAlert.topic: keep}).where(WarningAlert.topic == gone)
    await WarningTopicBucket.raw(
        "INSERT INTO warning_topic_bucket (topic, slot, comments, negative) "
        "SELECT {}, slot, comments, negative FROM warning_topic_bucket WHERE topic = {} "
        "ON CONFLICT (topic, slot) DO UPDATE SET comments = warning_topic_bucket.comments + excluded.comments, "
        "negative = warning_topic_bucket.negative + excluded.negative",
        keep,
        gone,
    )
    await WarningTopicBucket.delete().where(WarningTopicBucket.topic == gone)
    slots = [slot for slot in (kept["rate_slot"], merged["rate_slot"]) if slot is not None]
    changes = {
        WarningTopic.keywords: terms,
        WarningTopic.name: topics.name_of(terms),
        WarningTopic.platforms: platforms,
        WarningTopic.comments: kept["comments"] + merged["comments"],
        WarningTopic.negative: kept["negative"] + merged["negative"],
        WarningTopic.rate: kept["rate"] + merged["rate"],  # (each as of its own last slot: close enough)
        WarningTopic.negative_rate: (kept["negative_rate"] or 0.0) + (merged["negative_rate"] or 0.0),
        WarningTopic.rate_slot: max(slots) if slots else None,
        WarningTopic.first_at: min(kept["first_at"], merged["first_at"]),
        WarningTopic.last_at: max(kept["last_at"], merged["last_at"]),
    }
    await WarningTopic.update(changes).where(WarningTopic.id == keep)
    # The alerts and members moved above; the FKs cascade, so a topic that still has any (it
    # cannot under the board lock, but a cascade would silently lose them) is left empty instead.
    if not (
        await WarningAlert.exists().where(WarningAlert.topic == gone)
        or await WarningTopicMember.exists().where(WarningTopicMember.topic == gone)
    ):
        await WarningTopic.delete().where(WarningTopic.id == gone)
    return {
        "id": keep,
        "rate": changes[WarningTopic.rate],
        "negative_rate": changes[WarningTopic.negative_rate],
        "rate_slot": changes[WarningTopic.rate_slot],
        "keywords": terms,
        "first_at": changes[WarningTopic.first_at],
    }


async def _recent(topic_id: int, now: datetime) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """The short windows' counts: (comments, negative) of the topic in the last minute, to the
    second (a slot would cut a surge's first minute in two), and the different people who
    wrote them (``detection.short_volume``: an author is her platform and handle; one
    without a handle counts as someone new). A handful of rows, their authors in the same read."""
    author = WarningTopicMember.card.id.join_on(CommentDetail.card)
    rows = await WarningTopicMember.select(
        WarningTopicMember.created_at,
        WarningTopicMember.negative,
        author.platform.as_alias("platform"),
        author.author_handle.as_alias("author"),
    ).where(
        (WarningTopicMember.topic == topic_id)
        & (WarningTopicMember.created_at >= now - timedelta(minutes=max(detection.SHORT_WINDOWS)))
        & (WarningTopicMember.created_at <= now)
    )
    counts, people = {}, {}
    for minutes in detection.SHORT_WINDOWS:
        inside = [row for row in rows if row["created_at"] >= now - timedelta(minutes=minutes)]
        counts[minutes] = (len(inside), sum(1 for row in inside if row["negative"]))
        named = {(row["platform"], row["author"]) for row in inside if row["author"]}
        people[minutes] = len(named) + sum(1 for row in inside if not row["author"])
    return counts, people


async def _board_traffic(board_id: int, topic_id: int, now: datetime) -> tuple[int, float, dict[int, int]]:
    """The comments of the board's other topics in the last hour (whole slots), the minutes
    they span (the hour, or less on a board whose first comment is younger) and the same
    comments per slot (a surge's share of the board, ``detection.detect``)."""
    since = detection.slot_start(detection.slot_of(now - timedelta(minutes=detection.BOARD_MINUTES)))
    others = (
        (WarningTopic.board == board_id) & (WarningTopic.last_at >= since) & (WarningTopic.id != topic_id)
    )  # fmt: skip
    first = await WarningTopic.select(WarningTopic.first_at).where(others).order_by(WarningTopic.first_at).first()
    if first is None:
        return 0, 0.0, {}
    rows = (
        await WarningTopicBucket.select(
            WarningTopicBucket.slot, Sum(WarningTopicBucket.comments).as_alias("comments")
        )  # fmt: skip
        .where(
            (WarningTopicBucket.topic.board == board_id)
            & (WarningTopicBucket.topic.last_at >= since)
            & (WarningTopicBucket.topic != topic_id)
            & (WarningTopicBucket.slot >= detection.slot_of(since))
        )
        .group_by(WarningTopicBucket.slot)
    )
    per_slot = {row["slot"]: int(row["comments"] or 0) for row in rows}
    minutes = (now - max(first["first_at"], since)).total_seconds() / 60
    return sum(per_slot.values()), minutes, per_slot


async def _open_alert(topic_id: int, now: datetime) -> dict[str, Any] | None:
    """The topic's ongoing alert: raised in the last QUIET_MINUTES and not merged away."""
    return (
        await WarningAlert.select()
        .where(
            (WarningAlert.topic == topic_id)
            & (WarningAlert.last_at >= now - timedelta(minutes=detection.QUIET_MINUTES))
            & WarningAlert.merged_into.is_null()
        )
        .order_by(WarningAlert.id, ascending=False)
        .output(load_json=True)
        .first()
    )


async def _merge_alerts(keep_topic: int, gone_topic: int, now: datetime) -> int | None:
    """One surge, one alert: when both merging topics have an open alert, the older alert
    carries on with the two counts added, the higher level, the numbers of both windows
    and the earlier escalation; the younger is marked merged into it (kept for the record,
    it no longer escalates). Nobody is told again: each heard of what they were told of.
    Returns the alert kept, or None when there was not two to merge."""
    alerts = [alert for alert in [await _open_alert(keep_topic, now), await _open_alert(gone_topic, now)] if alert]
    if len(alerts) < 2:
        return None
    kept, merged = sorted(alerts, key=lambda alert: (alert["first_at"], alert["id"]))
    level = detection.higher(kept["level"], merged["level"]) or kept["level"]
    volume = kept["volume"] + merged["volume"]
    negative = kept["negative_share"] * kept["volume"] + merged["negative_share"] * merged["volume"]
    escalations = [a["escalate_at"] for a in alerts if a["escalate_at"] is not None]
    # Acknowledged only if both were: an unacknowledged surge still has to reach someone.
    acknowledged = kept if kept["acknowledged_at"] and merged["acknowledged_at"] else None
    samples = list(dict.fromkeys((kept["sample_cards"] or []) + (merged["sample_cards"] or [])))[:SAMPLES]
    await WarningAlert.update(
        {
            WarningAlert.level: level,
            WarningAlert.raised_count: kept["raised_count"] + merged["raised_count"],
            WarningAlert.volume: volume,
            WarningAlert.expected: kept["expected"] + merged["expected"],
            WarningAlert.negative_share: negative / volume if volume else 0.0,
            WarningAlert.window_minutes: max(kept["window_minutes"], merged["window_minutes"]),
            WarningAlert.sample_cards: samples,
            WarningAlert.last_at: max(kept["last_at"], merged["last_at"]),
            WarningAlert.escalate_at: min(escalations) if escalations else None,
            WarningAlert.escalated_at: kept["escalated_at"] or merged["escalated_at"],
            WarningAlert.acknowledged_at: acknowledged["acknowledged_at"] if acknowledged else None,
            WarningAlert.acknowledged_by: acknowledged["acknowledged_by"] if acknowledged else None,
            WarningAlert.incident_card: kept["incident_card"] or merged["incident_card"],
            WarningAlert.topic: keep_topic,
        }
    ).where(WarningAlert.id == kept["id"])
    await WarningAlert.update({WarningAlert.merged_into: kept["id"], WarningAlert.escalate_at: None}).where(
        WarningAlert.id == merged["id"]
    )
    return kept["id"]


async def _buckets(topic_id: int, from_slot: int) -> dict[int, tuple[int, int]]:
    rows = await WarningTopicBucket.select(
        WarningTopicBucket.slot, WarningTopicBucket.comments, WarningTopicBucket.negative
    ).where((WarningTopicBucket.topic == topic_id) & (WarningTopicBucket.slot >= from_slot))
    return {row["slot"]: (row["comments"], row["negative"]) for row in rows}


async def _rules(board_id: int) -> list[dict[str, Any]]:
    return (
        await WatchRule.select()
        .where((WatchRule.active == True) & ((WatchRule.board == board_id) | WatchRule.board.is_null()))  # noqa: E712
        .order_by(WatchRule.id)
        .output(load_json=True)
    )


def rule_matches(rule: dict[str, Any], text: str, category: str | None, terms: dict[str, int]) -> bool:
    """A rule watches a topic when this comment (or the topic's words) has one of its
    keywords, or the comment falls in one of its categories."""
    if category and category in (rule.get("categories") or []):
        return True
    names = set(topics.top_terms(terms))
    return any(word and (word in text or word in names) for word in rule.get("keywords") or [])


async def _judge(
    card,
    topic,
    buckets,
    now_slot: int,
    rate: float,
    recent: dict[int, tuple[int, int]],
    board: dict[int, int],
    usual: float | None = None,
    people: dict[int, int] | None = None,
) -> tuple[Surge | None, int | None, str]:
    """The strongest verdict for the topic now: defaults, watch rules, a 重大 word; and a
    topic turning negative at its ordinary volume (its usual negative share: ``usual``)."""
    surge = detection.detect(buckets, now_slot, rate, recent=recent, board=board, usual=usual, people=people)
    rule_id, reason = None, "surge"
    if surge is None:
        surge = detection.negative_turn(buckets, now_slot, rate, usual)
        reason = "negative_turn" if surge is not None else reason
    text = comment_text(card)
    for rule in await _rules(card["board"]):
        if not rule_matches(rule, text, card.get("category"), topic["keywords"]):
            continue
        window = rule["window_minutes"] if rule["window_minutes"] in detection.SLOT_WINDOWS else 30
        count = max(1, rule["min_count"])
        thresholds = Thresholds(
            min_count=count, ratio=rule["ratio"], p_value=1.0, quick_min_count=count, windows=(window,)
        )
        found = detection.detect(buckets, now_slot, rate, thresholds)
        if found is None:
            continue
        found = Surge(
            detection.higher(found.level, rule["level"]) or found.level, found.window_minutes, found.volume,
            found.expected, found.negative_share,
        )  # fmt: skip
        if surge is None or detection.level_rank(found.level) > detection.level_rank(surge.level):
            surge, rule_id, reason = found, rule["id"], "rule"
    if card.get("flag_tier") == "major":
        # A 重大 sensitive word raises at least 橙, surge or not.
        window = detection.SLOT_WINDOWS[0]
        volume, negative = detection.window_counts(buckets, now_slot, window)
        share = negative / volume if volume else 0.0
        expected = detection.expected_in(rate, window)
        if surge is None:
            surge, reason = Surge("orange", window, volume, expected, share), "major_word"
        elif detection.level_rank(surge.level) < detection.level_rank("orange"):
            surge, reason = (
                Surge("orange", surge.window_minutes, surge.volume, surge.expected, surge.negative_share),
                "major_word",
            )
    return surge, rule_id, reason


REASONS = {
    "surge": _l("Volume far above the topic's baseline"),
    "rule": _l("A watch rule's thresholds were reached"),
    "major_word": _l("A major (重大) sensitive word"),
    "negative_turn": _l("Negative share far above the topic's usual one"),
}


async def escalate_minutes() -> int:
    row = await WarningSetting.select(WarningSetting.escalate_minutes).order_by(WarningSetting.id).first()
    return row["escalate_minutes"] if row else DEFAULT_ESCALATE_MINUTES


async def _raise(card, topic_id: int, surge: Surge, rule_id, reason: str, now: datetime, effects: list[Effect]):
    """Raise the topic's ongoing alert again, or a new one; stage who is told. Returns
    (alert id, new?, level, people notified)."""
    samples = [
        row["card"]
        for row in await WarningTopicMember.select(WarningTopicMember.card)
        .where(WarningTopicMember.topic == topic_id)
        .order_by(WarningTopicMember.id, ascending=False)
        .limit(SAMPLES)
    ]
    ongoing = await _open_alert(topic_id, now)
    numbers = {
        WarningAlert.window_minutes: surge.window_minutes,
        WarningAlert.volume: surge.volume,
        WarningAlert.expected: surge.expected,
        WarningAlert.negative_share: surge.negative_share,
        WarningAlert.sample_cards: samples,
        WarningAlert.last_at: now,
    }
    minutes = await escalate_minutes()
    if ongoing is None:
        rows = await WarningAlert.insert(
            WarningAlert(
                board=card["board"],
                topic=topic_id,
                rule=rule_id,
                level=surge.level,
                reason=reason,
                raised_count=1,
                window_minutes=surge.window_minutes,
                volume=surge.volume,
                expected=surge.expected,
                negative_share=surge.negative_share,
                sample_cards=samples,
                first_at=now,
                last_at=now,
                escalate_at=now + timedelta(minutes=minutes) if surge.level in detection.ESCALATING else None,
            )
        ).returning(WarningAlert.id)
        alert_id, level, new = rows[0]["id"], surge.level, True
        escalate_at = now + timedelta(minutes=minutes) if level in detection.ESCALATING else None
    else:
        alert_id, new = ongoing["id"], False
        level = detection.higher(ongoing["level"], surge.level) or surge.level
        changes = {**numbers, WarningAlert.raised_count: WarningAlert.raised_count + 1, WarningAlert.level: level}
        if level != ongoing["level"]:
            changes[WarningAlert.reason] = reason
        escalate_at = None
        if level in detection.ESCALATING and ongoing["escalate_at"] is None and ongoing["acknowledged_at"] is None:
            escalate_at = now + timedelta(minutes=minutes)
            changes[WarningAlert.escalate_at] = escalate_at
        await WarningAlert.update(changes).where(WarningAlert.id == alert_id)
        if level == ongoing["level"]:
            return alert_id, False, level, []  # the same surge at the same level: counted, nobody re-told
    if escalate_at is not None:
        effects.append(Effect("arm_warning_escalation", {"alert_id": alert_id, "at": escalate_at.isoformat()}))
    # Raised by a 重大 word alone, the group robots and the managers who may see the comment
    # were just told of that very comment by its triage (portal.comments.triage._flag): one
    # bell each is enough (the alert waits on the 舆情监测 page); they hear of the alert when
    # it grows or escalates. Whoever the triage did not tell (the member on duty) gets the bell.
    by_word = reason == "major_word"
    told = await _told_by_triage(card["id"]) if by_word else set()
    notified = await _notify_raised(
        card["board"], alert_id, topic_id, level, surge, samples, effects, robots=not by_word, skip=told
    )
    return alert_id, new, level, notified


async def _told_by_triage(card_id: int) -> set[int]:
    """Who has the triage's bell for this comment (a 较大 / 重大 sensitive word)."""
    rows = await Notification.select(Notification.user).where(
        Notification.dedupe_key.like(f"triage:{card_id}:%") & (Notification.card_id == card_id)
    )
    return {row["user"] for row in rows}


async def on_duty_and_managers(board_id: int) -> list[int]:
    """Who hears of a raised alert: the board's members on duty (值班) and its managers."""
    rows = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == board_id)
        & (BoardMember.on_duty == True)  # noqa: E712
        & (BoardMember.user.active == True)  # noqa: E712
        & BoardMember.user.role.not_in([Role.liaison])
    )
    return list(dict.fromkeys([row["user"] for row in rows] + await boards.board_managers(board_id)))


async def next_level_people(board_id: int) -> list[int]:
    """Who hears of an escalation: the board's managers again, its leaders (the global viewer
    role on the board) and the administrators."""
    leaders = await BoardMember.select(BoardMember.user).where(
        (BoardMember.board == board_id) & (BoardMember.user.role == Role.viewer) & (BoardMember.user.active == True)  # noqa: E712
    )
    admins = await User.select(User.id).where((User.role == Role.admin) & (User.active == True))  # noqa: E712
    return list(
        dict.fromkeys(await boards.board_managers(board_id) + [r["user"] for r in leaders] + [r["id"] for r in admins])
    )


async def _sample_lines(card_ids: list[int]) -> list[str]:
    if not card_ids:
        return []
    rows = await Card.select(Card.id, Card.title).where(Card.id.is_in(card_ids))
    titles = {row["id"]: row["title"] for row in rows}
    return [f"· {mask_numbers(titles[card_id])[:80]}" for card_id in card_ids if card_id in titles]


def unnamed_topic(topic_id: int) -> str:
    return _("Unclassified topic #%(id)s", id=topic_id)


async def topic_name(topic_id: int) -> str:
    """The topic's name as it leaves the service (bells, e-mail, robots, incident titles):
    masked, like every piece of a comment, in case a keyword was a number."""
    row = await WarningTopic.select(WarningTopic.name).where(WarningTopic.id == topic_id).first()
    return mask_numbers((row or {}).get("name") or "") or unnamed_topic(topic_id)


async def topic_board(topic_id: int) -> int | None:
    """The comments board a topic belongs to (None: no such topic, or cleaned away)."""
    row = await WarningTopic.select(WarningTopic.board).where(WarningTopic.id == topic_id).first()
    return row["board"] if row else None


def _numbers_line(surge: Surge) -> str:
    return _(
        "%(volume)s comments in %(minutes)s minutes (baseline %(expected)s), %(negative)s%% negative",
        volume=surge.volume,
        minutes=surge.window_minutes,
        expected=f"{surge.expected:.1f}",
        negative=round(surge.negative_share * 100),
    )


async def _notify_raised(
    board_id,
    alert_id,
    topic_id,
    level,
    surge: Surge,
    samples,
    effects,
    *,
    robots: bool = True,
    skip: frozenset[int] | set[int] = frozenset(),
) -> list[int]:
    name = await topic_name(topic_id)
    title = _("Public-opinion alert, %(level)s: %(topic)s", level=LEVEL_ZH.get(level, level), topic=name)
    body = "\n".join([_numbers_line(surge), *await _sample_lines(samples)])
    recipients = [user_id for user_id in await on_duty_and_managers(board_id) if user_id not in skip]
    ids, users = [], []
    for user_id in recipients:
        notification_id = await notifications.notify(
            user_id,
            "escalation",
            title[:200],
            f"warning:{alert_id}:{level}:{user_id}",
            body=body,
            link=f"/warning?alert={alert_id}#alert-{alert_id}",
        )
        if notification_id is not None:
            ids.append(notification_id)
            users.append(user_id)
    effects += notifications.delivery_effects(ids, users)
    if robots:
        text = f"{title}\n{body}"
        effects.append(Effect("robots", {"board_id": board_id, "key": f"warning:{alert_id}:{level}", "text": text}))
    return users


# Escalation ------------------------------------------------------------------------------


async def escalate_alert(alert_id: int, *, now: datetime | None = None) -> list[int]:
    """Escalate one unacknowledged 橙 / 红 alert whose time has come, once: a conditional
    update claims it (a second run, the sweep, another worker find it claimed). Returns who
    was told; empty when it no longer applies (acknowledged, escalated, not yet due)."""
    now = now or datetime.now(UTC)
    async with write_transaction():
        claimed = (
            await WarningAlert.update({WarningAlert.escalated_at: now})
            .where(
                (WarningAlert.id == alert_id)
                & WarningAlert.acknowledged_at.is_null()
                & WarningAlert.escalated_at.is_null()
                & WarningAlert.incident_card.is_null()
                & WarningAlert.merged_into.is_null()
                & WarningAlert.escalate_at.is_not_null()
                & (WarningAlert.escalate_at <= now)
                & WarningAlert.level.is_in(list(detection.ESCALATING))
            )
            .returning(
                WarningAlert.id,
                WarningAlert.board,
                WarningAlert.topic,
                WarningAlert.level,
                WarningAlert.volume,
                WarningAlert.window_minutes,
                WarningAlert.first_at,
            )  # fmt: skip
        )
        if not claimed:
            return []
        alert = claimed[0]
        name = await topic_name(alert["topic"])
        title = _(
            "Escalated: %(level)s alert “%(topic)s” not acknowledged",
            level=LEVEL_ZH.get(alert["level"], alert["level"]),
            topic=name,
        )
        body = _(
            "%(volume)s comments in %(minutes)s minutes; nobody has acknowledged it yet.",
            volume=alert["volume"],
            minutes=alert["window_minutes"],
        )
        ids, users = [], []
        for user_id in await next_level_people(alert["board"]):
            notification_id = await notifications.notify(
                user_id, "escalation", title[:200], f"warning-escalated:{alert_id}:{user_id}", body=body,
                link=f"/warning?alert={alert_id}#alert-{alert_id}",
            )  # fmt: skip
            if notification_id is not None:
                ids.append(notification_id)
                users.append(user_id)
        effects = [
            *notifications.delivery_effects(ids, users),
            Effect(
                "robots",
                {"board_id": alert["board"], "key": f"warning-escalated:{alert_id}", "text": f"{title}\n{body}"},
            ),
            Effect("warning_changed", {"board_id": alert["board"]}),
        ]
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return users


async def escalate_due(now: datetime | None = None) -> int:
    """The sweep behind the deferred jobs (Redis lost one, a worker was down): every alert
    whose escalation time has passed, escalated once. Returns how many were escalated."""
    now = now or datetime.now(UTC)
    due = await WarningAlert.select(WarningAlert.id).where(
        WarningAlert.acknowledged_at.is_null()
        & WarningAlert.escalated_at.is_null()
        & WarningAlert.incident_card.is_null()
        & WarningAlert.merged_into.is_null()
        & WarningAlert.escalate_at.is_not_null()
        & (WarningAlert.escalate_at <= now)
    )
    done = 0
    for row in due:
        # escalate_alert claims it; telling nobody (no managers, no admins) still counts.
        before = await WarningAlert.exists().where((WarningAlert.id == row["id"]) & WarningAlert.escalated_at.is_null())
        await escalate_alert(row["id"], now=now)
        after = await WarningAlert.exists().where((WarningAlert.id == row["id"]) & WarningAlert.escalated_at.is_null())
        done += before and not after
    return done


# Who may see what ----------------------------------------------------------------------------


async def warning_boards(user: CurrentUser) -> dict[int, dict[str, Any]]:
    """The comments boards whose topics and alerts this person sees: administrators every
    open one; others those they are on, except liaisons (topics mix every department's
    comments, and a liaison sees only her department's)."""
    query = Board.select(Board.id, Board.name).where((Board.kind == KIND) & (Board.archived == False))  # noqa: E712
    if not user.is_admin:
        if user.role == Role.liaison:
            return {}
        member_of = [
            row["board"] for row in await BoardMember.select(BoardMember.board).where(BoardMember.user == user.id)
        ]
        if not member_of:
            return {}
        query = query.where(Board.id.is_in(member_of))
    return {row["id"]: row for row in await query.order_by(Board.id)}


async def _alert_for(user: CurrentUser, alert_id: int) -> dict[str, Any]:
    if not valid_id(alert_id):
        raise NotFound
    alert = await WarningAlert.select().where(WarningAlert.id == alert_id).output(load_json=True).first()
    if alert is None or alert["board"] not in await warning_boards(user):
        raise NotFound
    return alert


async def alert_view(user: CurrentUser, alert_id: int) -> dict[str, Any]:
    """One alert as the API answers it (``alert_json``), with its topic's name; 404 for one on
    a board this person does not see."""
    alert = await _alert_for(user, alert_id)
    alert["topic_name"] = await topic_name(alert["topic"])
    return alert


async def _require_manage(user: CurrentUser, board_id: int) -> None:
    access = await access_for(user, board_id)
    if not access.can_manage or access.department_only is not None:
        raise PermissionDenied


async def _require_acknowledge(user: CurrentUser, board_id: int) -> None:
    """Who may acknowledge (确认) an alert: the board's managers (and administrators), and
    its members on duty (值班), whose bell rang first; not viewers, liaisons or others."""
    access = await access_for(user, board_id)
    if access.department_only is not None or not access.can_edit:
        raise PermissionDenied
    if not access.can_manage and board_id not in await on_duty_boards(user, [board_id]):
        raise PermissionDenied


async def on_duty_boards(user: CurrentUser, board_ids: list[int]) -> set[int]:
    """Of these boards, those where this person is a member on duty (值班)."""
    if user.role in (Role.liaison, Role.viewer) or not board_ids:
        return set()
    rows = await BoardMember.select(BoardMember.board).where(
        (BoardMember.user == user.id)
        & (BoardMember.on_duty == True)  # noqa: E712
        & BoardMember.role.is_in([BoardRole.manager, BoardRole.member])
        & BoardMember.board.is_in(board_ids)
    )
    return {row["board"] for row in rows}


# Reading: topics and alerts --------------------------------------------------------------------


async def topics_overview(user: CurrentUser, *, now: datetime | None = None, limit: int = 30) -> list[dict[str, Any]]:
    """The board's topics active in the last day: volume in the last hour and day, growth
    on the hour before, negative share, platforms and a few sample comments."""
    now = now or datetime.now(UTC)
    visible = await warning_boards(user)
    if not visible:
        return []
    now_slot = detection.slot_of(now)
    hour, day = 60 // detection.SLOT_MINUTES, 24 * 60 // detection.SLOT_MINUTES
    rows = (
        await WarningTopic.select(
            WarningTopic.id,
            WarningTopic.board,
            WarningTopic.name,
            WarningTopic.platforms,
            WarningTopic.comments,
            WarningTopic.first_at,
            WarningTopic.last_at,
        )  # fmt: skip
        .where(WarningTopic.board.is_in(list(visible)) & (WarningTopic.last_at >= now - timedelta(days=1)))
        .order_by(WarningTopic.last_at, ascending=False)
        .limit(500)
        .output(load_json=True)
    )
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    figures = {topic_id: {"hour": 0, "previous_hour": 0, "day": 0, "day_negative": 0} for topic_id in ids}
    for bucket in await WarningTopicBucket.select().where(
        WarningTopicBucket.topic.is_in(ids) & (WarningTopicBucket.slot > now_slot - day)
    ):
        entry = figures[bucket["topic"]]
        age = now_slot - bucket["slot"]
        entry["day"] += bucket["comments"]
        entry["day_negative"] += bucket["negative"]
        if age < hour:
            entry["hour"] += bucket["comments"]
        elif age < 2 * hour:
            entry["previous_hour"] += bucket["comments"]
    for row in rows:
        entry = figures[row["id"]]
        row.update(entry)
        row["growth"] = entry["hour"] - entry["previous_hour"]
        row["negative_share"] = entry["day_negative"] / entry["day"] if entry["day"] else 0.0
        row["board_name"] = visible[row["board"]]["name"]
        row["name"] = mask_numbers(row["name"]) or unnamed_topic(row["id"])
        row["platform_labels"] = [
            (PLATFORMS.label(code) if code in PLATFORMS else code, count)
            for code, count in sorted((row["platforms"] or {}).items(), key=lambda item: -item[1])
        ]
    rows = [row for row in rows if row["day"]]
    rows.sort(key=lambda row: (-row["hour"], -row["growth"], -row["day"], row["id"]))
    rows = rows[:limit]
    samples = await _samples([row["id"] for row in rows])
    for row in rows:
        row["samples"] = samples.get(row["id"], [])
    return rows


async def _samples(topic_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not topic_ids:
        return {}
    members = (
        await WarningTopicMember.select(
            WarningTopicMember.topic, WarningTopicMember.card, WarningTopicMember.card.title.as_alias("title")
        )
        .where(WarningTopicMember.topic.is_in(topic_ids))
        .order_by(WarningTopicMember.id, ascending=False)
        .limit(min(2000, len(topic_ids) * 40))
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in members:
        kept = found.setdefault(row["topic"], [])
        if len(kept) < SAMPLES:
            kept.append({"card_id": row["card"], "title": mask_numbers(row["title"])})
    return found


def alert_status(alert: dict[str, Any]) -> str:
    if alert.get("merged_into"):
        return "merged"
    if alert.get("incident_card"):
        return "incident"
    if alert.get("acknowledged_at"):
        return "acknowledged"
    return "escalated" if alert.get("escalated_at") else "open"


STATUS_LABELS = {
    "open": _l("Not acknowledged"),
    "escalated": _l("Escalated, not acknowledged"),
    "acknowledged": _l("Acknowledged"),
    "incident": _l("Made an incident"),
    "merged": _l("Merged into another alert of the same subject"),
}


async def list_alerts(user: CurrentUser, *, now: datetime | None = None, days: int = 1) -> list[dict[str, Any]]:
    """Alerts raised again in the last ``days`` on the boards this person sees: those
    waiting for someone first, then the higher levels, then the newest."""
    now = now or datetime.now(UTC)
    visible = await warning_boards(user)
    if not visible:
        return []
    rows = (
        await WarningAlert.select(
            *WarningAlert.all_columns(),
            WarningAlert.topic.name.as_alias("topic_name"),
            WarningAlert.acknowledged_by.display_name.as_alias("acknowledged_by_name"),
        )
        .where(WarningAlert.board.is_in(list(visible)) & (WarningAlert.last_at >= now - timedelta(days=days)))
        .order_by(WarningAlert.id, ascending=False)
        .limit(200)
        .output(load_json=True)
    )
    sample_ids = [card_id for row in rows for card_id in row["sample_cards"] or []]
    titles = {}
    if sample_ids:
        titles = {
            r["id"]: mask_numbers(r["title"])
            for r in await Card.select(Card.id, Card.title).where(Card.id.is_in(sample_ids))
        }
    for row in rows:
        row["topic_name"] = mask_numbers(row["topic_name"] or "") or unnamed_topic(row["topic"])
        row["status"] = alert_status(row)
        row["board_name"] = visible[row["board"]]["name"]
        row["samples"] = [{"card_id": c, "title": titles[c]} for c in row["sample_cards"] or [] if c in titles]
    rows.sort(key=lambda r: (r["status"] not in ("open", "escalated"), -detection.level_rank(r["level"]), -r["id"]))
    return rows


async def managed_boards(user: CurrentUser, board_ids: list[int]) -> set[int]:
    """Of these boards, those where this person may acknowledge alerts (manages the board)."""
    if user.is_admin:
        return set(board_ids)
    if user.role in (Role.liaison, Role.viewer):
        return set()
    rows = await BoardMember.select(BoardMember.board).where(
        (BoardMember.user == user.id)
        & (BoardMember.role == BoardRole.manager)
        & BoardMember.board.is_in(board_ids or [0])
    )
    return {row["board"] for row in rows}


def alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as the API answers it."""
    stamp = lambda value: value.isoformat() if value else None  # noqa: E731
    return {
        "id": alert["id"],
        "board": alert["board"],
        "topic": {"id": alert["topic"], "name": alert.get("topic_name") or ""},
        "level": alert["level"],
        "status": alert_status(alert),
        "reason": alert["reason"],
        "raised_count": alert["raised_count"],
        "window_minutes": alert["window_minutes"],
        "volume": alert["volume"],
        "expected": round(alert["expected"], 2),
        "negative_share": round(alert["negative_share"], 3),
        "samples": alert.get("samples") or [],
        "first_at": stamp(alert["first_at"]),
        "last_at": stamp(alert["last_at"]),
        "acknowledged_at": stamp(alert["acknowledged_at"]),
        "escalate_at": stamp(alert["escalate_at"]),
        "escalated_at": stamp(alert["escalated_at"]),
        "incident_card": alert["incident_card"],
        "merged_into": alert.get("merged_into"),
    }


def topic_json(topic: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": topic["id"],
        "board": topic["board"],
        "name": topic["name"],
        "last_hour": topic["hour"],
        "previous_hour": topic["previous_hour"],
        "growth": topic["growth"],
        "last_day": topic["day"],
        "negative_share": round(topic["negative_share"], 3),
        "platforms": topic["platforms"] or {},
        "samples": topic["samples"],
        "last_at": topic["last_at"].isoformat() if topic.get("last_at") else None,
    }


# Acting on an alert ------------------------------------------------------------------------------


async def acknowledge(user: CurrentUser, alert_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """确认: someone has it in hand; it will not escalate. The board's managers and its members
    on duty may (``_require_acknowledge``). 404 for an alert on a board this person does not
    see, 403 for one she may not act on; acknowledging twice changes nothing."""
    alert = await _alert_for(user, alert_id)
    await _require_acknowledge(user, alert["board"])
    async with write_transaction():
        acknowledged = (
            await WarningAlert.update(
                {WarningAlert.acknowledged_at: now or datetime.now(UTC), WarningAlert.acknowledged_by: user.id}
            )
            .where((WarningAlert.id == alert_id) & WarningAlert.acknowledged_at.is_null())
            .returning(WarningAlert.id)
        )
        if acknowledged:  # (twice changes nothing, so records nothing)
            await audit.record(
                "warning.alert_acknowledged", actor_id=user.id, object_type="warning_alert", object_id=alert_id,
                payload={"level": alert["level"]},
            )  # fmt: skip
        effects = [Effect("warning_changed", {"board_id": alert["board"]})]
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return await _alert_for(user, alert_id)


async def make_incident(user: CurrentUser, alert_id: int) -> int:
    """转为事件: an incident card on an incidents board (portal.incidents), linked to the
    alert's topic and its comments; the alert counts as acknowledged. Returns the card id."""
    alert = await _alert_for(user, alert_id)
    await _require_manage(user, alert["board"])
    if alert["incident_card"]:
        raise Conflict(_("This alert was made an incident already."))
    try:
        from portal.incidents.services import open_incident  # the incidents kind's door
    except ImportError:
        raise Conflict(_("Incidents are not available in this portal yet.")) from None
    # Claimed first (a double click, two managers at once): only the one whose conditional
    # update took the alert opens an incident; the placeholder is replaced by the card's id
    # below, or released if opening fails.
    async with write_transaction():
        claimed = (
            await WarningAlert.update({WarningAlert.incident_card: INCIDENT_CLAIMED})
            .where((WarningAlert.id == alert_id) & WarningAlert.incident_card.is_null())
            .returning(WarningAlert.id)
        )
    if not claimed:
        raise Conflict(_("This alert was made an incident already."))
    try:
        card_id = await _open_incident_for(user, alert, open_incident)
    except BaseException:
        await WarningAlert.update({WarningAlert.incident_card: None}).where(
            (WarningAlert.id == alert_id) & (WarningAlert.incident_card == INCIDENT_CLAIMED)
        )
        raise
    async with write_transaction():
        now = datetime.now(UTC)
        await WarningAlert.update({WarningAlert.incident_card: card_id}).where(WarningAlert.id == alert_id)
        await WarningAlert.update({WarningAlert.acknowledged_at: now, WarningAlert.acknowledged_by: user.id}).where(
            (WarningAlert.id == alert_id) & WarningAlert.acknowledged_at.is_null()
        )
        await audit.record(
            "warning.alert_incident", actor_id=user.id, object_type="warning_alert", object_id=alert_id,
            payload={"card_id": card_id, "level": alert["level"]},
        )  # fmt: skip
        effects = [Effect("warning_changed", {"board_id": alert["board"]})]
        outbox_ids = await outbox.stage(effects)
    await outbox.run(outbox_ids, effects)
    return card_id


INCIDENT_CLAIMED = -1  # warning_alert.incident_card while its incident is being opened


async def _open_incident_for(user: CurrentUser, alert: dict[str, Any], open_incident) -> int:
    alert_id = alert["id"]
    members = (
        await WarningTopicMember.select(WarningTopicMember.card)
        .where(WarningTopicMember.topic == alert["topic"])
        .order_by(WarningTopicMember.id, ascending=False)
        .limit(100)
    )
    name = await topic_name(alert["topic"])
    card_id = await open_incident(
        user,
        title=_("Incident: %(topic)s", topic=name)[:200],
        level=alert["level"],
        topic_id=alert["topic"],
        comment_card_ids=[row["card"] for row in members],
        alert_id=alert_id,
    )
    return card_id


# Watch rules and the escalation setting (admins) ---------------------------------------------------


def _words(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    words = [w.strip() for item in items for w in re.split(r"[,，、;；\s]+", str(item or ""))]
    return list(dict.fromkeys(w for w in words if w))


class WatchRuleInput(Input):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    board: int | None = None
    keywords: list[str] = []
    categories: list[str] = []
    window_minutes: int = 30
    min_count: Annotated[int, Field(ge=1, le=10000)] = 5
    ratio: Annotated[float, Field(ge=0, le=1000)] = 3.0
    level: str = "blue"

    messages = {
        "name": _l("Enter a name of at most 60 characters."),
        "min_count": _l("Enter a whole number from 1 to 10000."),
        "ratio": _l("Enter a number from 0 to 1000."),
        "board": _l("Choose a comments board, or none for every board."),
    }

    @field_validator("board", mode="before")
    @classmethod
    def _board(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("keywords", "categories", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[str]:
        words = _words(value)
        if any(len(word) > 40 for word in words) or len(words) > 50:
            raise ValueError(_("At most 50 words of at most 40 characters each."))
        return words

    @field_validator("window_minutes", mode="before")
    @classmethod
    def _window(cls, value: Any) -> int:
        try:
            minutes = int(str(value))
        except ValueError:
            minutes = 0
        if minutes not in detection.SLOT_WINDOWS:
            raise ValueError(_("Choose 10, 30 or 60 minutes."))
        return minutes

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> str:
        if value not in LEVELS:
            raise ValueError(_("Choose a level: blue, yellow, orange or red."))
        return str(value)


class WarningSettingInput(Input):
    escalate_minutes: Annotated[int, Field(ge=1, le=1440)]

    messages = {"escalate_minutes": _l("Enter a whole number of minutes from 1 to 1440.")}


def _require_admin(user: CurrentUser) -> None:
    if not user.is_admin:
        raise PermissionDenied


async def rules_page() -> dict[str, Any]:
    rules = (
        await WatchRule.select(*WatchRule.all_columns(), WatchRule.board.name.as_alias("board_name"))
        .order_by(WatchRule.id)
        .output(load_json=True)
    )
    boards_list = await Board.select(Board.id, Board.name).where((Board.kind == KIND) & (Board.archived == False))  # noqa: E712
    return {
        "rules": rules,
        "boards": boards_list,
        "levels": [(level, str(LEVEL_LABELS[level])) for level in LEVELS],
        "windows": detection.SLOT_WINDOWS,
        "escalate_minutes": await escalate_minutes(),
        "defaults": detection.DEFAULTS,
    }


async def add_rule(user: CurrentUser, form: WatchRuleInput) -> int:
    _require_admin(user)
    if not form.keywords and not form.categories:
        raise FormError({"keywords": _("Enter keywords or categories to watch.")})
    if form.board is not None and not await Board.exists().where((Board.id == form.board) & (Board.kind == KIND)):
        raise FormError({"board": _("Choose a comments board, or none for every board.")})
    async with write_transaction():
        rows = await WatchRule.insert(
            WatchRule(
                name=form.name,
                board=form.board,
                keywords=form.keywords,
                categories=form.categories,
                window_minutes=form.window_minutes,
                min_count=form.min_count,
                ratio=form.ratio,
                level=form.level,
                created_by=user.id,
            )
        ).returning(WatchRule.id)
        await audit.record(
            "warning.rule_added", actor_id=user.id, object_type="warning_rule", object_id=rows[0]["id"],
            payload={"name": form.name, "level": form.level, "board": form.board},
        )  # fmt: skip
    return rows[0]["id"]


async def delete_rule(user: CurrentUser, rule_id: int) -> None:
    _require_admin(user)
    if not valid_id(rule_id):
        raise NotFound
    async with write_transaction():
        removed = await WatchRule.delete().where(WatchRule.id == rule_id).returning(WatchRule.id, WatchRule.name)
        if not removed:
            raise NotFound
        await audit.record(
            "warning.rule_removed", actor_id=user.id, object_type="warning_rule", object_id=rule_id,
            payload={"name": removed[0]["name"]},
        )  # fmt: skip


async def set_escalate_minutes(user: CurrentUser, form: WarningSettingInput) -> None:
    _require_admin(user)
    async with write_transaction():
        row = await WarningSetting.select(WarningSetting.id).order_by(WarningSetting.id).first()
        if row is None:
            await WarningSetting.insert(WarningSetting(escalate_minutes=form.escalate_minutes))
        else:
            await WarningSetting.update(
                {WarningSetting.escalate_minutes: form.escalate_minutes, WarningSetting.updated_at: datetime.now(UTC)}
            ).where(WarningSetting.id == row["id"])
        await audit.record(
            "warning.escalation_set", actor_id=user.id, object_type="warning_setting", object_id=None,
            payload={"escalate_minutes": form.escalate_minutes},
        )  # fmt: skip


# Keeping the tables small (a daily worker cron) ---------------------------------------------------

BUCKET_KEEP_DAYS = 8  # the baseline folds slots as they finish; a week and a day is plenty
IDLE_TOPIC_DAYS = 30


async def purge_old(now: datetime | None = None) -> dict[str, int]:
    """Remove count rows older than BUCKET_KEEP_DAYS and topics idle for IDLE_TOPIC_DAYS that
    have no alert and no incident (their members and buckets with them). A topic idle that
    long is nobody's candidate any more (RECENT_TOPICS), so no observation races this.
    Returns how many of each went."""
    from portal.incidents.tables import IncidentDetail

    now = now or datetime.now(UTC)
    old_slot = detection.slot_of(now - timedelta(days=BUCKET_KEEP_DAYS))
    cutoff = now - timedelta(days=IDLE_TOPIC_DAYS)
    idle = await WarningTopic.select(WarningTopic.id).where(WarningTopic.last_at < cutoff)
    ids = sorted(row["id"] for row in idle)
    topics_removed = 0
    async with write_transaction():
        buckets = (
            await WarningTopicBucket.delete().where(WarningTopicBucket.slot < old_slot).returning(WarningTopicBucket.id)
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            alerts = await WarningAlert.select(WarningAlert.topic).where(WarningAlert.topic.is_in(chunk))
            incidents = await IncidentDetail.select(IncidentDetail.topic_id).where(IncidentDetail.topic_id.is_in(chunk))
            kept = {row["topic"] for row in alerts} | {row["topic_id"] for row in incidents}
            chunk = [topic_id for topic_id in chunk if topic_id not in kept]
            if chunk:
                await WarningTopicBucket.delete().where(WarningTopicBucket.topic.is_in(chunk))
                await WarningTopicMember.delete().where(WarningTopicMember.topic.is_in(chunk))
                removed = await WarningTopic.delete().where(WarningTopic.id.is_in(chunk)).returning(WarningTopic.id)
                topics_removed += len(removed)
    return {"buckets": len(buckets), "topics": topics_removed}
