"""Surge detection on numbers alone (portal.warning.detection): a real jump alerts at a level
that follows its size; a busy topic's ordinary wobble and a quiet topic's odd comment do not."""

from __future__ import annotations

import random

from portal.warning import detection, topics


def poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def test_forty_comments_in_ten_minutes_on_a_quiet_topic_is_an_orange_surge():
    now = 1000
    buckets = {now - 1: (20, 15), now: (20, 16)}
    surge = detection.detect(buckets, now, rate=2 * 5 / 60)  # about two an hour
    assert surge is not None
    assert surge.level == "orange"
    assert surge.volume == 40


def test_a_surge_on_a_quiet_topic_is_orange_at_its_fourth_comment_in_a_minute():
    """The acceptance: 40 in ten minutes (one every 15 s) on a topic of about two an hour is
    橙 at its fourth comment, 45 s in, not the fifth at 60 s (a live worker's second more
    would make that a minute and a bit)."""
    rate, now = 2 * 5 / 60, 1000  # about two an hour
    three = {now: (3, 0)}
    assert detection.detect(three, now, rate, recent={1: (3, 0)}) is None  # replies to a post
    four = detection.detect({now: (4, 0)}, now, rate, recent={1: (4, 0)})
    assert four is not None and four.window_minutes == 1 and four.level == "orange"  # 120 x, p = 5e-8
    assert 4e-8 < four.p_value < 6e-8
    five = detection.detect({now: (5, 4)}, now, rate, recent={1: (5, 4)})
    assert five.level == "orange" and five.window_minutes == 1  # p = 3e-10
    # On a topic of three an hour the fourth could still be chance (p = 3e-7); the fifth is 橙.
    busier = 3 * 5 / 60
    assert detection.detect({now: (4, 0)}, now, busier, recent={1: (4, 0)}) is None
    assert detection.detect({now: (5, 0)}, now, busier, recent={1: (5, 0)}).level == "orange"
    # Four in five minutes (not in one) is chance enough on a quiet topic; so is four in a
    # minute on a topic of ten an hour (p = 3e-5).
    assert detection.detect({now: (4, 0)}, now, rate, recent={1: (2, 0)}) is None
    assert detection.detect({now: (4, 0)}, now, 10 * 5 / 60, recent={1: (4, 0)}) is None
    # The minute counts people: four comments by two or three (a post and its thread's
    # conversation) are nothing; by four different people, 橙. Unknown authors: the comments.
    for few in (1, 2, 3):
        assert detection.detect({now: (4, 0)}, now, rate, recent={1: (4, 0)}, people={1: few}) is None
    assert detection.detect({now: (4, 0)}, now, rate, recent={1: (4, 0)}, people={1: 4}).level == "orange"
    assert detection.short_volume(5, None) == 5 and detection.short_volume(5, 2) == 2


def test_a_few_comments_start_a_blue_alert_and_the_level_follows_the_size():
    rate = 2 * 5 / 60
    assert detection.detect({10: (3, 0)}, 10, rate) is None
    assert detection.detect({9: (3, 0), 10: (3, 0)}, 10, rate) is None  # six could be chance
    assert detection.detect({9: (3, 0), 10: (4, 0)}, 10, 2.5 * 5 / 60).level == "blue"  # 17 x, p = 3e-7
    assert detection.detect({9: (3, 0), 10: (4, 0)}, 10, rate).level == "yellow"  # 21 x, p = 9e-8
    assert detection.detect({9: (8, 0), 10: (8, 0)}, 10, rate).level == "yellow"
    big = {slot: (10, 8) for slot in range(0, 12)}
    assert detection.detect(big, 11, rate).level == "red"


def test_on_a_busy_board_a_surge_taking_a_large_share_of_the_board_is_orange():
    """1,080 an hour on the board (a prior of about 30 an hour for a new topic): 30 comments
    of a new topic in ten minutes are 5.6 x its baseline, 蓝 by their ratio; they are a fifth
    of all the board received in those ten minutes, so 橙."""
    rate, now = detection.board_prior(1080, 60), 100  # 1,080 others in the last hour
    buckets = {now - 1: (15, 5), now: (15, 5)}
    board = {now - 1: 60, now: 60}  # the other topics' comments, two slots
    alone = detection.detect(buckets, now, rate)
    assert alone is not None and alone.level == "blue" and alone.window_minutes == 10
    shared = detection.detect(buckets, now, rate, board=board)
    assert shared.level == "orange" and shared.window_minutes == 10  # 30 of 150: 20 %
    # A smaller share (30 of 330: 9 %) leaves it as it was; fewer than 30 comments too.
    assert detection.detect(buckets, now, rate, board={now - 1: 150, now: 150}).level == "blue"
    small = {now - 1: (10, 0), now: (10, 0)}
    assert detection.detect(small, now, rate / 2, board={now - 1: 10, now: 10}).level == "yellow"


def test_the_board_share_rule_needs_a_busy_board():
    """On a quiet board a topic's share of the window says nothing (alone in it, it is all of
    it): 30 comments in ten minutes at 7.5 x are 黄 there, whether the other topics were
    silent (the service's empty map) or sent a few; with 120 others they are a fifth of a busy
    board's window, 橙."""
    now, rate = 100, 2.0  # 4 expected in ten minutes
    buckets = {now - 1: (15, 0), now: (15, 0)}
    assert detection.detect(buckets, now, rate).level == "yellow"
    assert detection.detect(buckets, now, rate, board={}).level == "yellow"  # nobody else wrote
    assert detection.detect(buckets, now, rate, board={now - 1: 20, now: 20}).level == "yellow"  # 40 others
    assert detection.detect(buckets, now, rate, board={now - 1: 60, now: 60}).level == "orange"  # 120 others


def test_a_topic_turning_negative_is_judged_against_its_own_usual_share():
    # Usually one comment in ten is negative: eight of twelve are beyond chance (p = 5e-6).
    assert detection.turned_negative(12, 8, 0.1)
    # A topic that is usually half negative: eight of twelve is ordinary; so is anything while
    # the topic has no usual share yet (young or very quiet: the absolute 60 % rule only).
    assert not detection.turned_negative(12, 8, 0.5)
    assert not detection.turned_negative(12, 8, None)
    assert not detection.turned_negative(6, 4, 0.1)  # four negatives are too few to tell
    assert detection.usual_share(0.5, 0.1, detection.USUAL_MIN_AGE_SLOTS) == 0.2
    assert detection.usual_share(0.5, 0.1, 3) is None
    # Judged against the share before the window: an hour of complaints does not raise it.
    history = detection.fold(0.5, 0, {slot: 6 for slot in range(0, 300)}, 300)
    negatives = detection.fold(0.05, 0, {slot: 6 if slot >= 290 else 0 for slot in range(0, 300)}, 300)
    buckets = {slot: (6, 6 if slot >= 290 else 0) for slot in range(289, 301)}
    assert detection.usual_share(history, negatives, 300) > 0.05
    assert detection.usual_share(history, negatives, 300, buckets, 300) < 0.02
    # At its ordinary volume (twelve an hour), a topic whose comments turn negative alerts on
    # its own: 蓝, 黄 from 20 comments in the window.
    rate, now = 1.0, 100
    turned = {slot: (3, 2) for slot in range(now - 5, now - 1)} | {now - 1: (2, 2), now: (2, 2)}
    # 16 in 30 minutes, 12 of them negative where one in ten is usual: p = 1e-9
    found = detection.negative_turn(turned, now, rate, usual=0.1)
    assert found is not None and found.level == "blue" and found.window_minutes == 30
    assert detection.detect(turned, now, rate, usual=0.1) is None  # no volume surge
    assert detection.negative_turn(turned, now, rate, usual=0.45) is None  # usual enough for it
    assert detection.negative_turn(turned, now, rate, usual=None) is None
    more = {slot: (4, 3) for slot in range(now - 5, now + 1)}
    assert detection.negative_turn(more, now, rate, usual=0.1).level == "yellow"
    # In a surge, turning negative counts as mostly negative for the level: 20 comments at 8 x,
    # half of them negative where one in ten is usual, are 橙 (黄 by the absolute rule).
    surge = {now - 1: (10, 5), now: (10, 5)}
    quiet = 1.25  # a slot's mean: 20 comments are 8 x the 2.5 expected in ten minutes
    assert detection.detect(surge, now, quiet).level == "yellow"
    assert detection.detect(surge, now, quiet, usual=0.1).level == "orange"


def ordinary_comments(
    rng: random.Random,
    per_hour: float,
    hours: float,
    bursts: float,
    share: float,
    moods: random.Random,
    threads: float = 0.0,
    talk: random.Random | None = None,
) -> list[tuple[float, bool, int]]:
    """(second, negative?, author) of a topic's ordinary comments: a Poisson stream, a share of
    whose comments draw one or two replies within two minutes from other people (a popular
    post); a post is negative with chance ``share`` (drawn from ``moods``) and its replies
    share its mood (so negatives come in clusters too). With chance ``threads`` (drawn from
    ``talk``) a post without such replies draws three within its minute, a conversation:
    someone answers, the poster answers back, and one of the two or a third person goes on.
    (Four different people on a quiet topic within a minute are the acceptance's surge: without
    thread data nothing tells them from a popular post, see detection.short_volume.)"""
    comments, at, people = [], 0.0, iter(range(1, 10**9))
    while True:
        at += rng.expovariate(per_hour / 3600)
        if at >= hours * 3600:
            return sorted(comments)
        negative = moods.random() < share
        poster = next(people)
        comments.append((at, negative, poster))
        if rng.random() < bursts:
            comments += [(at + rng.uniform(5, 120), negative, next(people)) for _ in range(rng.choice((1, 2)))]
        elif talk is not None and talk.random() < threads:
            other = next(people)
            authors = (other, poster, talk.choice((other, poster, next(people))))
            moments = sorted(talk.uniform(5, 55) for _ in authors)
            comments += [(at + moment, negative, author) for moment, author in zip(moments, authors, strict=True)]


def test_ordinary_variation_of_busy_and_quiet_topics_raises_nothing_over_a_simulated_week():
    """Each comment is judged as the service judges it: the slots, the baseline folded up to
    now, and the last minute to the second, counting its people. Bursts of replies included,
    and threads (a post and three replies in its minute: four comments in a minute on a quiet
    topic, 120 x its baseline); each topic's comments are negative at its own share (a reply as
    its post), which its usual share learns, and a negative turn at ordinary volume is looked
    for too."""
    for threads in (0.0, 0.05):
        judge_a_week(threads)


def judge_a_week(threads: float) -> None:
    """``threads``: the chance that a post draws a thread of three replies in its minute. Without
    threads nothing at all is raised; with them no 橙, and nothing from the minute's window (a
    thread's minute is three people at most): the ten-minute window may see 蓝 or 黄 where two posts'
    threads and replies come together (seven comments in ten minutes on a topic of two an hour,
    21 x: 黄), which is the slot windows' business and not the minute's."""
    rng, moods, talk = random.Random(3), random.Random(4), random.Random(5)
    full_minutes = 0
    for per_hour, share in ((0.5, 0.2), (2, 0.1), (6, 0.5), (20, 0.3), (60, 0.15)):  # quiet to very busy
        rate, negative_rate, rate_slot, buckets, seen = per_hour * 5 / 60, per_hour * 5 / 60 * share, 0, {}, []
        stream = ordinary_comments(rng, per_hour, 7 * 24, 0.15, share, moods, threads=threads, talk=talk)
        for at, mood, author in stream:
            slot = int(at // 60) // detection.SLOT_MINUTES
            count, negative = buckets.get(slot, (0, 0))
            buckets[slot] = (count + 1, negative + int(mood))
            seen.append((at, author))
            recent = {m: (sum(1 for t, _a in seen if t >= at - 60 * m), 0) for m in detection.SHORT_WINDOWS}
            people = {m: len({a for t, a in seen if t >= at - 60 * m}) for m in detection.SHORT_WINDOWS}
            full_minutes += recent[1][0] >= 4
            baseline = detection.fold(rate, rate_slot, {s: c for s, (c, _n) in buckets.items()}, slot)
            negative_rate = detection.fold(negative_rate, rate_slot, {s: n for s, (_c, n) in buckets.items()}, slot)
            usual = detection.usual_share(baseline, negative_rate, slot, buckets, slot)
            verdict = detection.detect(buckets, slot, baseline, recent=recent, usual=usual, people=people)
            if threads:
                quiet = verdict is None or (verdict.level in ("blue", "yellow") and verdict.window_minutes > 1)
                assert quiet, (per_hour, at, recent, people, verdict)
            else:
                assert verdict is None, (per_hour, at, recent, people, verdict)
            if not threads:  # (threads of one mood are clusters the negative turn is not asked about)
                assert detection.negative_turn(buckets, slot, baseline, usual) is None, (per_hour, at, usual)
            rate, rate_slot = baseline, slot
            for old in [s for s in buckets if s < slot - 13]:
                del buckets[old]
            seen = [(t, a) for t, a in seen if t >= at - 300]
    if threads:
        assert full_minutes > 100  # many minutes with four comments or more, quiet topics' among them


def test_the_baseline_follows_a_topic_that_grows_busy_slowly():
    rate = detection.fold(0.0, 0, {slot: 5 for slot in range(0, 288)}, 288)
    assert 4.0 < rate < 5.0  # a day of five a slot: the baseline has learnt it
    assert detection.fold(rate, 288, {}, 288 + 72) < rate * 0.51  # six empty hours halve it


def test_levels_order_and_the_higher_one_wins():
    assert detection.higher("blue", "orange") == "orange"
    assert detection.higher("red", "yellow") == "red"
    assert detection.higher(None, "blue") == "blue"


def test_a_topic_is_named_after_its_heaviest_words_and_unrelated_comments_do_not_join_it():
    first = topics.keywords("暴雨导致地铁2号线停运，什么时候恢复？")
    terms = topics.grow({}, first)
    second = topics.keywords("地铁停运了，站里挤满了人")
    assert topics.best_topic(second, [(1, terms)]).topic_id == 1
    other = topics.keywords("医保报销比例今年有变化吗")
    assert topics.best_topic(other, [(1, terms)]).topic_id is None
    assert set(topics.name_of(topics.grow(terms, second)).split()) >= {"地铁", "停运"}


def test_two_topics_whose_heaviest_words_agree_are_one_subject():
    a = {"停运": 9.0, "地铁": 7.0, "暴雨": 2.0}
    b = {"地铁": 5.0, "停运": 4.0, "困在": 3.0}
    assert topics.same_subject(a, b)
    assert not topics.same_subject(a, {"停运": 5.0, "公交": 4.0})
    assert not topics.same_subject({"停运": 1.0}, {"停运": 1.0})


def test_a_young_topic_starts_from_its_board_s_traffic_and_its_own_evidence_takes_over():
    # 720 other comments in the last hour: a new topic is expected to have 3 % of them.
    prior = detection.board_prior(720, 60)
    assert abs(prior - 720 * detection.TYPICAL_SHARE * 5 / 60) < 1e-9
    assert detection.baseline(0.0, 0, prior) == prior
    six_hours = detection.baseline(0.0, detection.HALF_LIFE_SLOTS, prior)
    assert abs(six_hours - prior / 2) < 1e-9
    assert detection.baseline(0.2, 2 * 288, prior) < 0.2 + prior * 0.01  # two days: its own
    assert detection.board_prior(3, 0.5) == detection.board_prior(3, detection.BOARD_MIN_MINUTES)
    # On a quiet board (30 an hour) the floor still rules: a surge's fourth comment in a
    # minute is 橙.
    quiet = detection.baseline(0.0, 0, detection.board_prior(30, 60))
    assert detection.detect({10: (3, 0)}, 10, quiet, recent={1: (3, 0)}) is None
    assert detection.detect({10: (4, 0)}, 10, quiet, recent={1: (4, 0)}).level == "orange"
    # On a busy one, five comments in a few minutes on a new topic are ordinary.
    busy = detection.baseline(0.0, 0, prior)
    assert detection.detect({10: (5, 0)}, 10, busy, recent={1: (3, 0)}) is None


def demo_cold_start(per_hour: float, hours: float, seed: int, share: float | None = None) -> list[tuple]:
    """A fresh board fed the demo city's comments at ``per_hour`` (busier by day, 1.5 x, as the
    simulation's morning; bursts of replies included), each comment put in a topic and judged
    as the service judges it: the topic's slots and own mean, the board's other topics' last
    hour as the prior, the last minute to the second. Returns the surges found."""
    from portal.comments import simulate as comment_simulation

    rng, stream = random.Random(seed), comment_simulation.messages(random.Random(seed))
    arrivals, at = [], 0.0
    while True:
        at += rng.expovariate(per_hour * 1.5 / 3600)
        if at >= hours * 3600:
            break
        text = next(stream).text
        arrivals.append((at, text))
        if rng.random() < 0.15:
            arrivals += [(at + rng.uniform(5, 120), "同问，" + text) for _ in range(rng.choice((1, 2)))]
    words_of: dict[str, dict[str, float]] = {}
    terms: dict[int, dict[str, float]] = {}
    state: dict[int, dict] = {}  # topic -> buckets, own mean, its slot, first slot, moments
    board: dict[int, int] = {}  # slot -> the board's comments
    found = []
    for at, text in sorted(a for a in arrivals if a[0] < hours * 3600):
        if text not in words_of:
            words_of[text] = topics.keywords(text)
        words = words_of[text]
        topic = topics.best_topic(words, list(terms.items())).topic_id
        slot = int(at // 60) // detection.SLOT_MINUTES
        if topic is None:
            topic = len(terms)
            state[topic] = {"buckets": {}, "rate": 0.0, "rate_slot": None, "first": slot, "seen": []}
        terms[topic] = topics.grow(terms.get(topic, {}), words)
        own = state[topic]
        own["buckets"][slot] = (own["buckets"].get(slot, (0, 0))[0] + 1, 0)
        board[slot] = board.get(slot, 0) + 1
        own["seen"] = [t for t in own["seen"] if t >= at - 60] + [at]
        counts = {s: c for s, (c, _n) in own["buckets"].items()}
        own["rate"] = detection.fold(own["rate"], own["rate_slot"], counts, slot)
        own["rate_slot"] = slot
        since = slot - detection.BOARD_MINUTES // detection.SLOT_MINUTES
        others = sum(c for s, c in board.items() if s >= since) - sum(
            c for s, (c, _n) in own["buckets"].items() if s >= since
        )
        first = min((other["first"] for t, other in state.items() if t != topic), default=slot)
        minutes = at / 60 - max(first, since) * detection.SLOT_MINUTES
        prior = detection.board_prior(others, minutes)
        if share is not None:
            prior = prior * share / detection.TYPICAL_SHARE
        judged = detection.baseline(own["rate"], slot - own["first"], prior)
        surge = detection.detect(own["buckets"], slot, judged, recent={1: (len(own["seen"]), 0)})
        if surge is not None:
            found.append((round(at), topics.name_of(terms[topic]), surge))
    return found


def test_ordinary_demo_traffic_on_a_fresh_board_raises_nothing_in_its_first_two_hours():
    """The reviewer's cold start: the demo's ``portal simulate --rate 0.2`` (720 an hour) and
    200 an hour on a board with no history. Against the old floor of two an hour alone (no
    board prior) the same traffic alerts on ordinary topics within minutes."""
    for per_hour in (720, 200):
        assert demo_cold_start(per_hour, 2, seed=1) == [], per_hour
    assert demo_cold_start(720, 0.5, seed=1, share=0.0) != []  # the old baseline: false alerts
