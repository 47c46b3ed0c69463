"""Sensitive words and category rules on comment text: what a triager sees highlighted
and suggested, plus properties checked against a naive reference matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.comments import matching
from portal.comments.matching import (
    CategoryRule,
    CategoryRules,
    Hit,
    SensitiveWords,
    Tier,
    highlight,
    normalize,
)

WORDS = SensitiveWords(
    [
        ("上访", "重大"),
        ("集体上访", Tier.major),
        ("曝光", "较大"),
        ("垃圾", "一般"),
        ("ABC", Tier.serious),
    ]
)


# Sensitive words -------------------------------------------------------------------------


def test_a_major_word_in_a_long_comment_is_found_with_its_span():
    text = (
        "我们小区的老旧管网改造从去年拖到现在，问了街道说在走流程，问了物业说等通知，"
        "冬天暖气一直不热，家里有八十多岁的老人。再没人答复，我们几户人家准备去市里上访。"
    )
    hits = WORDS.find(text)
    assert [(hit.word, hit.tier) for hit in hits] == [("上访", Tier.major)]
    assert text[hits[0].start : hits[0].end] == "上访"
    assert hits[0].start == text.index("上访")
    assert WORDS.highest(text) is Tier.major


def test_overlapping_words_pick_the_longest():
    text = "听说明天要组织集体上访"
    (hit,) = WORDS.find(text)
    assert (hit.word, text[hit.start : hit.end]) == ("集体上访", "集体上访")


def test_several_words_come_in_text_order_and_the_highest_tier_wins():
    text = "服务态度真垃圾，再不处理就找媒体曝光"
    assert [hit.word for hit in WORDS.find(text)] == ["垃圾", "曝光"]
    assert WORDS.highest(text) is Tier.serious
    assert WORDS.highest("谢谢小编，办好了") is None
    assert WORDS.find("") == []


def test_full_width_and_upper_case_latin_match_with_spans_in_the_original_text():
    for text in ["这个ＡＢＣ项目", "这个abc项目", "这个Abc项目", "这个ａｂｃ项目"]:
        (hit,) = WORDS.find(text)
        assert (hit.start, hit.end, hit.word) == (2, 5, "ABC"), text


def test_characters_whose_nfkc_form_is_longer_do_not_shift_the_spans():
    # NFKC turns "㈱" into "(株)" and "ﬁ" into "fi": folded as a whole string, every span after
    # them would be off by two and one.
    text = "㈱ﬁ公司被曝光了"
    (hit,) = WORDS.find(text)
    assert text[hit.start : hit.end] == "曝光"
    assert len(normalize(text)) == len(text)


def test_a_word_listed_twice_keeps_its_most_serious_tier_and_blank_words_are_ignored():
    words = SensitiveWords([("维权", "一般"), ("维权", "较大"), ("  ", "重大"), ("", "重大")])
    assert len(words) == 1
    assert words.highest("业主维权") is Tier.serious
    assert len(SensitiveWords([])) == 0
    assert SensitiveWords([]).find("任何文字") == []


def test_tiers_are_ordered_by_rank_and_parse_from_either_name():
    assert [tier.rank for tier in (Tier.general, Tier.serious, Tier.major)] == [1, 2, 3]
    assert Tier.parse("重大") is Tier.major is Tier.parse("major") is Tier.parse(" Major ")
    assert Tier.major.zh == "重大"
    assert matching.highest_tier([Tier.serious, Tier.general]) is Tier.serious
    with pytest.raises(ValueError):
        Tier.parse("特大")


def test_highlight_segments_rejoin_to_the_original_text():
    text = "ＡＢＣ小区的垃圾没人清运，要曝光！"
    segments = highlight(text, WORDS.find(text))
    assert "".join(part for part, _ in segments) == text
    assert [(part, tier) for part, tier in segments if tier] == [
        ("ＡＢＣ", Tier.serious),
        ("垃圾", Tier.general),
        ("曝光", Tier.serious),
    ]
    assert highlight("", []) == []
    assert highlight("没有敏感词", []) == [("没有敏感词", None)]


def test_highlight_ignores_overlapping_and_out_of_range_hits():
    text = "abcdef"
    hits = [Hit(1, 4, "bcd", Tier.general), Hit(2, 5, "cde", Tier.major), Hit(5, 9, "f", Tier.major)]
    assert highlight(text, hits) == [("a", None), ("bcd", Tier.general), ("e", None), ("f", Tier.major)]


# Build cache ------------------------------------------------------------------------------


def test_build_reuses_the_automaton_until_the_version_changes():
    pairs = [("上访", "重大")]
    first = matching.build(pairs, version="test-v1")
    assert matching.build(iter(()), version="test-v1") is first  # the pairs are not even read
    assert matching.cached("test-v1") is first
    assert matching.cached("test-never-built") is None
    second = matching.build([("上访", "重大"), ("维权", "较大")], version="test-v2")
    assert second is not first and second.highest("维权") is Tier.serious


def test_build_without_a_version_reuses_equal_lists():
    first = matching.build([("测试词甲", "一般"), ("测试词乙", "重大")])
    again = matching.build([("测试词乙", Tier.major), ("测试词甲", Tier.general)])
    assert again is first
    assert matching.build([("测试词甲", "较大"), ("测试词乙", "重大")]) is not first


def test_build_rules_reuses_by_version():
    rules = matching.build_rules([("医保", ["医保"], 0)], version="test-rules-v1")
    assert matching.build_rules([], version="test-rules-v1") is rules
    assert matching.cached_rules("test-rules-v1") is rules


# Categories -------------------------------------------------------------------------------


def test_classify_picks_the_category_with_the_most_keywords():
    rules = matching.default_category_rules()
    assert rules.classify("医保报销比例是多少") == "医保"
    assert rules.classify("公积金贷款额度怎么算？") == "公积金"
    assert rules.classify("孩子明年上小学，学区怎么划分") == "教育"
    assert rules.classify("今天的推文写得真好，小编辛苦了") is None
    assert rules.classify("") is None


def test_ties_go_to_the_higher_priority_then_to_the_first_rule():
    rules = CategoryRules(
        [
            CategoryRule("甲", ("共同",), 0),
            CategoryRule("乙", ("共同",), 5),
            CategoryRule("丙", ("共同", "独有"), 0),
        ]
    )
    assert rules.classify("共同") == "乙"
    assert rules.classify("共同和独有") == "丙"
    assert rules.ranked("共同和独有") == [("丙", ["共同", "独有"]), ("乙", ["共同"]), ("甲", ["共同"])]
    assert CategoryRules([("甲", ["共同"], 0), ("乙", ["共同"], 0)]).classify("共同") == "甲"


def test_keywords_count_once_each_and_match_full_width_and_case():
    rules = CategoryRules([("交通", ["公交", "地铁"], 0), ("就业", ["APP", "招聘"], 0)])
    assert rules.classify("公交公交公交，地铁呢") == "交通"
    assert rules.ranked("公交公交公交，招聘ａｐｐ") == [("就业", ["招聘", "APP"]), ("交通", ["公交"])]
    assert CategoryRules([]).classify("医保") is None
    assert CategoryRules([("空", [], 0)]).classify("医保") is None


# Data files -------------------------------------------------------------------------------


def test_the_default_lists_load_and_make_sense():
    pairs = matching.default_sensitive_word_pairs()
    tiers = dict(pairs)
    assert tiers["群体性事件"] is Tier.major and tiers["维权"] is Tier.serious and tiers["忽悠"] is Tier.general
    assert len(pairs) == len(tiers)  # no word listed twice
    words = matching.default_sensitive_words()
    assert words.highest("有人在组织群体性事件") is Tier.major
    categories = [rule.category for rule in matching.default_category_rule_list()]
    assert {"社保", "医保", "公积金", "交通", "教育", "住房", "环保", "就业", "户籍"} <= set(categories)
    assert len(categories) == len(set(categories))


def test_data_file_errors_name_the_line():
    assert matching.parse_sensitive_words("# 注释\n\n上访\t重大\n") == [("上访", Tier.major)]
    with pytest.raises(ValueError, match="line 2"):
        matching.parse_sensitive_words("上访\t重大\n维权\n")
    with pytest.raises(ValueError, match="line 1: unknown tier"):
        matching.parse_sensitive_words("上访\t特大\n")
    assert matching.parse_category_rules("医保\t医保，报销、异地就医\t3\n") == [
        CategoryRule("医保", ("医保", "报销", "异地就医"), 3)
    ]
    with pytest.raises(ValueError, match="line 1: priority"):
        matching.parse_category_rules("医保\t医保\t高\n")


# Properties -------------------------------------------------------------------------------

ALPHABET = "abcAＡ甲乙"  # upper-case and full-width A fold to a
small_texts = st.text(alphabet=ALPHABET, max_size=30)
small_words = st.lists(
    st.tuples(st.text(alphabet=ALPHABET, min_size=1, max_size=4), st.sampled_from(list(Tier))), max_size=6
)


def reference_find(text: str, pairs: list[tuple[str, Tier]]) -> list[tuple[int, int]]:
    """Leftmost-longest by brute force: at each position, the longest word starting there."""
    folded = normalize(text)
    keys = {normalize(word.strip()) for word, _ in pairs} - {""}
    spans = []
    position = 0
    while position < len(folded):
        found = [key for key in keys if folded.startswith(key, position)]
        if found:
            length = max(map(len, found))
            spans.append((position, position + length))
            position += length
        else:
            position += 1
    return spans


@pytest.mark.hypothesis
@settings(max_examples=300, deadline=None)
@given(text=small_texts, pairs=small_words)
def test_hits_are_real_non_overlapping_occurrences_as_in_a_naive_matcher(text, pairs):
    hits = SensitiveWords(pairs).find(text)
    folded_words = {normalize(word.strip()) for word, _ in pairs}
    for hit in hits:
        assert normalize(text[hit.start : hit.end]) == normalize(hit.word.strip())
        assert normalize(hit.word.strip()) in folded_words
    for before, after in zip(hits, hits[1:], strict=False):
        assert before.end <= after.start
    assert [(hit.start, hit.end) for hit in hits] == reference_find(text, pairs)


@pytest.mark.hypothesis
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60) | small_texts, pairs=small_words)
def test_highlight_segments_always_rejoin_to_the_text(text, pairs):
    segments = highlight(text, SensitiveWords(pairs).find(text))
    assert "".join(part for part, _ in segments) == text
    assert all(part for part, _ in segments)
