"""Surge detection (pure: numbers in, a verdict out; portal.warning.services feeds it).

Time is cut into five-minute slots. A topic's baseline is an exponentially weighted mean of
its comments per slot (half-life six hours, so it follows the day's rhythm). A young topic has
little evidence of its own, so it starts from a prior, the board's: the comments of the board's
other topics in the last hour times the share of a big ordinary topic (3 %), weighted out as
the topic ages (``baseline``: the mean as if it had started at the prior); on a busy board an
ordinary new topic gathering a few comments in a few minutes is what is expected, not a surge.
Under all this, a floor of two comments an hour. Four windows are looked at: the last minute
(sliding, counted from the comments' own moments, so a surge is seen within its first minute;
it counts the different people who wrote them, ``short_volume``: a post and its thread's
replies in a minute are a conversation, not a surge) and the last 10, 30 and 60 minutes
(sums of slots, the current one included). A window is a surge when its volume is at least
4 x what the baseline expects and the chance of so many comments were the baseline still true
(the Poisson tail) is below one in a million, with at least 6 comments — or at least 4 when
that chance is below one in ten million (four comments in a minute on a topic of two an
hour: 120 x, p = 5e-8). The level follows the size of the jump,
its significance, the negative share and (10/30/60 minutes) the share of the board's comments:

    蓝 IV 一般      the window trips the thresholds
    黄 III 较大     ≥ 20 x and p < 1e-7; ≥ 15 comments and ≥ 6 x; ≥ 10 and mostly negative
    橙 II 重大      ≥ 100 x and p < 1e-7 (four comments in a minute on a topic of two an
                    hour: a surge of 40 in ten minutes is 橙 45 s in); ≥ 50 x and p < 1e-8
                    (five in a minute); ≥ 30 comments and ≥ 10 x; ≥ 20 and ≥ 8 x and mostly
                    negative; ≥ 30 that are ≥ 15 % of the board's comments in the window (a
                    busy board, where a new topic's baseline is the board's prior: at least
                    100 comments of other topics in the window);
                    also any comment with a 重大 sensitive word (services)
    红 I 特别重大   ≥ 100 comments and ≥ 20 x, or ≥ 60 and ≥ 15 x and mostly negative
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.i18n import lazy_gettext as _l

SLOT_MINUTES = 5
SHORT_WINDOWS = (1,)  # minutes, sliding: counted from the comments' moments (services)
SLOT_WINDOWS = (10, 30, 60)  # minutes, sums of five-minute slots
WINDOWS = SHORT_WINDOWS + SLOT_WINDOWS
HALF_LIFE_SLOTS = 72  # six hours
ALPHA = 1 - 0.5 ** (1 / HALF_LIFE_SLOTS)
FLOOR_PER_HOUR = 2.0
# A young topic's prior: this share of its board's other comments (per hour, the last hour's).
# The demo city's heaviest ordinary subject (thank-you messages) is about 5 % of its comments,
# the median one under 1 %: at 3 % an ordinary topic never outruns the prior by the 4 x (and
# the p < 1e-6) a surge needs (2 % did, at 720 an hour: tests/unit/test_warning_detection.py),
# while a surge is still many times it; on a quiet board (30 an hour: 0.9) the floor rules
# and a surge is seen in its first minute. Higher (5 %) silences a busy board's surges.
TYPICAL_SHARE = 0.03
BOARD_MINUTES = 60  # the board's traffic is counted over this much of the recent past
BOARD_MIN_MINUTES = 5  # ... and never over less (a board's first minutes say little)
MOSTLY_NEGATIVE = 0.6
# A surge of at least 30 comments that is this share of its board's comments in the window is
# 橙 whatever its ratio (a busy board: 40 in ten minutes over 720 an hour are about 25 %; the
# demo city's heaviest ordinary subject is 5 % of a day's comments, and an ordinary topic does
# not surge at all there).
BOARD_SHARE = 0.15
# ... and only where the board is busy: at least this many comments of its other topics in the
# window. On a quiet board a topic's share says nothing (alone in the window it is 100 %), and
# below this (600 an hour on the 10-minute window) 30 comments in ten minutes are ≥ 10 x the
# board's prior already, 橙 by their ratio.
BOARD_SHARE_MIN_OTHERS = 100
QUIET_MINUTES = 60  # a surge raised again within this is the same surge (the same alert)
# A topic's negative share against its own usual share (negative_rate / rate, ``usual_share``):
# a window "turns negative" when it has at least TURN_MIN_NEGATIVE negative comments, its share
# is TURN_POINTS above the usual one, and so many negatives are that unlikely were the usual
# share still true (the binomial tail). It counts as "mostly negative" for the levels, and on the
# 30 and 60 minute windows, with TURN_MIN_COUNT comments, alerts by itself (``negative_turn``).
TURN_POINTS = 0.3
TURN_MIN_NEGATIVE = 5
TURN_P_VALUE = 1e-3
TURN_ALERT_P_VALUE = 1e-8
TURN_MIN_COUNT = 12
TURN_WINDOWS = (30, 60)
USUAL_MIN_RATE = 2 * SLOT_MINUTES / 60  # a topic's usual share is known from two comments an hour on
USUAL_MIN_AGE_SLOTS = 24  # ... and two hours of its own history

LEVELS = ("blue", "yellow", "orange", "red")
LEVEL_LABELS = {
    "blue": _l("Blue (IV, general)"),
    "yellow": _l("Yellow (III, serious)"),
    "orange": _l("Orange (II, major)"),
    "red": _l("Red (I, especially major)"),
}
ESCALATING = ("orange", "red")  # unacknowledged, these escalate


def level_rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def higher(a: str | None, b: str | None) -> str | None:
    return a if level_rank(a) >= level_rank(b) else b


def slot_of(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // 60) // SLOT_MINUTES


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_MINUTES * 60, UTC)


def fold(rate: float, rate_slot: int | None, counts: dict[int, int], now_slot: int) -> float:
    """The baseline (comments per slot) with every finished slot before ``now_slot`` folded
    in: slots since ``rate_slot`` with their counts, empty ones as zero."""
    if rate_slot is None or rate_slot >= now_slot:
        return rate
    for slot in sorted(s for s in counts if rate_slot <= s < now_slot):
        rate *= (1 - ALPHA) ** (slot - rate_slot)  # the empty slots in between
        rate = (1 - ALPHA) * rate + ALPHA * counts[slot]
        rate_slot = slot + 1
    return rate * (1 - ALPHA) ** (now_slot - rate_slot)


def board_prior(comments: int, minutes: float) -> float:
    """A young topic's expected comments per slot before it has evidence of its own: the
    board's other topics' ``comments`` in the last ``minutes`` (at most BOARD_MINUTES; a
    board younger than that counts since its first comment) times TYPICAL_SHARE."""
    minutes = max(float(minutes), BOARD_MIN_MINUTES)
    return comments / minutes * SLOT_MINUTES * TYPICAL_SHARE


def baseline(rate: float, age_slots: int, prior: float) -> float:
    """The baseline a topic is judged against: its own weighted mean ``rate`` (``fold``,
    which starts at zero) plus the board's ``prior`` with the weight the mean has not yet
    given to the topic's own slots, (1 - ALPHA) ** age: the mean as if it had started at the
    prior. A new topic is judged against the prior; after six hours half of it is left; after
    two days none. (The floor applies on top, in ``expected_in``.)"""
    return rate + (1 - ALPHA) ** max(0, age_slots) * prior


@dataclass(frozen=True)
class Thresholds:
    min_count: int = 6
    ratio: float = 4.0
    p_value: float = 1e-6  # chance of so many comments were the baseline still true
    # Fewer comments suffice when they are far less likely still: a surge's first minute.
    quick_min_count: int = 4
    quick_p_value: float = 1e-7
    # A one-minute window is noisy (a post's replies come in bursts): it must also show a
    # jump this large, and be as unlikely as the quick rule asks, whatever its count.
    short_ratio: float = 20.0
    windows: tuple[int, ...] = WINDOWS


DEFAULTS = Thresholds()


@dataclass(frozen=True)
class Surge:
    level: str
    window_minutes: int
    volume: int
    expected: float
    negative_share: float
    p_value: float = 1.0

    @property
    def ratio(self) -> float:
        return self.volume / self.expected if self.expected else 0.0


def expected_in(rate: float, window_minutes: int) -> float:
    floor = FLOOR_PER_HOUR * SLOT_MINUTES / 60
    return max(rate, floor) * window_minutes / SLOT_MINUTES


def poisson_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), summed in log space (no overflow for big counts)."""
    if count <= 0:
        return 1.0
    total, i = 0.0, count
    while True:
        term = math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1))
        total += term
        if term < total * 1e-12 or i > count + 10_000:
            return min(1.0, total)
        i += 1


def window_counts(buckets: dict[int, tuple[int, int]], now_slot: int, window_minutes: int) -> tuple[int, int]:
    slots = window_minutes // SLOT_MINUTES
    volume = negative = 0
    for slot in range(now_slot - slots + 1, now_slot + 1):
        count, neg = buckets.get(slot, (0, 0))
        volume += count
        negative += neg
    return volume, negative


def binomial_tail(count: int, trials: int, share: float) -> float:
    """P(X >= count) for X ~ Binomial(trials, share), summed in log space."""
    if count <= 0:
        return 1.0
    if count > trials:
        return 0.0
    share = min(max(share, 1e-9), 1 - 1e-9)
    total = 0.0
    for k in range(count, trials + 1):
        total += math.exp(
            math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1)
            + k * math.log(share) + (trials - k) * math.log(1 - share)
        )  # fmt: skip
    return min(1.0, total)


LOOKBACK_SLOTS = max(TURN_WINDOWS) // SLOT_MINUTES - 1  # the finished slots of the longest window


def unfold(rate: float, counts: dict[int, int], now_slot: int, slots: int = LOOKBACK_SLOTS) -> float:
    """The weighted mean as it was ``slots`` slots before ``now_slot`` (``fold`` backwards:
    the contributions of those slots' ``counts`` taken out)."""
    for slot in range(now_slot - slots, now_slot):
        rate -= ALPHA * (1 - ALPHA) ** (now_slot - 1 - slot) * counts.get(slot, 0)
    return max(0.0, rate / (1 - ALPHA) ** slots)


def usual_share(
    rate: float,
    negative_rate: float,
    age_slots: int,
    buckets: dict[int, tuple[int, int]] | None = None,
    now_slot: int | None = None,
) -> float | None:
    """The topic's usual negative share (its weighted means' ratio), or None while it has too
    little history of its own to tell (a young or very quiet topic: the absolute rule only).
    With its ``buckets``, the share as it was before the longest window (``unfold``): a turn
    under way must not raise the bar it is judged against."""
    if buckets is not None and now_slot is not None:
        rate = unfold(rate, {slot: count for slot, (count, _n) in buckets.items()}, now_slot)
        negative_rate = unfold(negative_rate, {slot: negative for slot, (_c, negative) in buckets.items()}, now_slot)
        age_slots -= LOOKBACK_SLOTS
    if age_slots < USUAL_MIN_AGE_SLOTS or rate < USUAL_MIN_RATE:
        return None
    return min(1.0, max(0.0, negative_rate / rate))


def turned_negative(volume: int, negative: int, usual: float | None, p_value: float = TURN_P_VALUE) -> bool:
    """Is this window's negative share far above the topic's usual one (see TURN_POINTS)?"""
    if usual is None or negative < TURN_MIN_NEGATIVE or not volume:
        return False
    if negative / volume < usual + TURN_POINTS:
        return False
    return binomial_tail(negative, volume, max(usual, 0.05)) < p_value


def level_for(
    volume: int,
    ratio: float,
    negative_share: float,
    p_value: float = 1.0,
    board_share: float | None = None,
    turned: bool = False,
) -> str:
    """The level of a window that tripped the thresholds: by its size (a big jump in many
    comments), by its significance (a huge jump in a few, which no chance explains: four
    comments in a minute on a topic of two an hour are 120 x, p = 5e-8), or by its share of
    the board's comments in the window (``board_share``: on a busy board, a new topic is
    judged against the board's prior, so a surge's ratio stays modest while it takes a fifth
    of everything the board receives). ``turned``: the window's negative share is far above
    the topic's usual one (``turned_negative``), which counts as mostly negative."""
    negative = negative_share >= MOSTLY_NEGATIVE or turned
    if (volume >= 100 and ratio >= 20) or (volume >= 60 and ratio >= 15 and negative):
        return "red"
    if (
        (ratio >= 50 and p_value < 1e-8)
        or (ratio >= 100 and p_value < 1e-7)
        or (volume >= 30 and ratio >= 10)
        or (volume >= 20 and ratio >= 8 and negative)
        or (volume >= 30 and board_share is not None and board_share >= BOARD_SHARE)
    ):
        return "orange"
    if (ratio >= 20 and p_value < 1e-7) or (volume >= 15 and ratio >= 6) or (volume >= 10 and negative):
        return "yellow"
    return "blue"


def detect(
    buckets: dict[int, tuple[int, int]],
    now_slot: int,
    rate: float,
    thresholds: Thresholds = DEFAULTS,
    recent: dict[int, tuple[int, int]] | None = None,
    board: dict[int, int] | None = None,
    usual: float | None = None,
    people: dict[int, int] | None = None,
) -> Surge | None:
    """The strongest surge among the windows (highest level, then the largest ratio), or None.

    ``buckets``: slot -> (comments, negative) for the topic's recent slots; ``rate``: its
    baseline per slot (``fold``) before now; ``recent``: the short windows' own counts,
    minutes -> (comments, negative) in the last that many minutes (a short window without
    them is skipped); ``board``: slot -> the comments of the board's other topics, for the
    slot windows' share of the board (left out: no share rule); ``usual``: the topic's usual
    negative share (``usual_share``; None: the absolute rule alone); ``people``: the short
    windows' distinct authors, minutes -> how many (``short_volume``)."""
    found: Surge | None = None
    for window in thresholds.windows:
        if window in SHORT_WINDOWS:
            if recent is None or window not in recent:
                continue
            comments, negative = recent[window]
            volume = short_volume(comments, (people or {}).get(window))
        else:
            volume, negative = window_counts(buckets, now_slot, window)
            comments = volume
        expected = expected_in(rate, window)
        if volume < min(thresholds.min_count, thresholds.quick_min_count) or volume < thresholds.ratio * expected:
            continue
        chance = poisson_tail(volume, expected)
        if chance > thresholds.p_value:
            continue
        if volume < thresholds.min_count and chance > thresholds.quick_p_value:
            continue
        short = window in SHORT_WINDOWS
        if short and (volume < thresholds.short_ratio * expected or chance > thresholds.quick_p_value):
            continue
        share = negative / comments if comments else 0.0
        board_share = None
        if board is not None and not short:
            others = sum(board.get(slot, 0) for slot in range(now_slot - window // SLOT_MINUTES + 1, now_slot + 1))
            if others >= BOARD_SHARE_MIN_OTHERS:  # a quiet board's share says nothing
                board_share = volume / (volume + others)
        turned = turned_negative(comments, negative, usual)
        level = level_for(volume, volume / expected, share, chance, board_share, turned)
        surge = Surge(level, window, volume, expected, share, chance)
        if found is None or (level_rank(surge.level), surge.ratio) > (level_rank(found.level), found.ratio):
            found = surge
    return found


def short_volume(comments: int, people: int | None) -> int:
    """What a short window counts: people, not comments. A post and the replies its thread
    draws within a minute are mostly a conversation among a few people (the poster answering,
    two people arguing), and on a quiet topic four comments in a minute would otherwise be 橙
    at once; a surge's first minute is different people each saying it. Each person counts once
    (``people``: the distinct authors among the window's comments, an unnamed one counted as
    someone new; None: not known, the comments). Without thread data, four different people on
    one quiet topic within a minute still count as a surge's start: they are the acceptance's."""
    return comments if people is None else min(comments, people)


def negative_turn(buckets: dict[int, tuple[int, int]], now_slot: int, rate: float, usual: float | None) -> Surge | None:
    """A topic turning negative at its ordinary volume (an alert of its own, 蓝, 黄 from 20
    comments): on the 30 or 60 minute window, at least TURN_MIN_COUNT comments whose negative
    share is TURN_POINTS above the topic's usual one and beyond chance (p < TURN_ALERT_P_VALUE).
    None when it has no usual share yet or nothing turned."""
    found: Surge | None = None
    for window in TURN_WINDOWS:
        volume, negative = window_counts(buckets, now_slot, window)
        if volume < TURN_MIN_COUNT or not turned_negative(volume, negative, usual, TURN_ALERT_P_VALUE):
            continue
        chance = binomial_tail(negative, volume, max(usual or 0.0, 0.05))
        surge = Surge(
            "yellow" if volume >= 20 else "blue", window, volume, expected_in(rate, window), negative / volume, chance
        )
        if found is None or chance < found.p_value:
            found = surge
    return found
