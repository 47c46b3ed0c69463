"""Near-duplicate comments: the same question asked by many people is grouped, unrelated
questions are not, and stored signatures give the same answers as the texts."""

from __future__ import annotations

import itertools

import pytest

from portal.comments import similar
from portal.comments.similar import SimilarIndex

QUESTION = "请问医保异地就医备案在哪里办理？"

# Thirty people asking the same thing, each in their own words.
SAME_QUESTION = [
    prefix + core + suffix
    for prefix, core, suffix in itertools.product(
        ["", "请问", "您好，", "想问一下", "小编你好，", "麻烦问下"],
        ["医保异地就医备案在哪里办理", "医保异地就医备案在哪办理"],
        ["？", "，谢谢", "！急"],
    )
][:30]

UNRELATED = [
    "小区门口的路灯坏了好几天了，晚上很黑",
    "公积金贷款额度怎么计算？",
    "医保报销比例是多少",  # same topic, different question
    "请问社保卡在哪里办理？",  # same sentence pattern, different subject
    "地铁三号线什么时候通车",
]


def build_index(texts: list[str]) -> SimilarIndex:
    index = SimilarIndex()
    for key, text in enumerate(texts):
        index.add(key, text)
    return index


def test_the_same_question_asked_thirty_ways_is_found_and_unrelated_ones_are_not():
    assert len(SAME_QUESTION) == 30
    index = build_index(SAME_QUESTION + UNRELATED)
    assert len(index) == 35
    found = index.similar(QUESTION, limit=100)
    assert sorted(key for key, _ in found) == list(range(30))
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True) and all(0.5 <= score <= 1 for score in scores)


def test_an_unrelated_comment_finds_nothing():
    index = build_index(SAME_QUESTION)
    for text in UNRELATED:
        assert index.similar(text) == [], text


def test_punctuation_spaces_and_full_width_do_not_matter():
    index = build_index(["医保异地就医备案在哪里办理"])
    assert index.similar("医保 异地就医备案，在哪里办理？？") == [(0, 1.0)]
    index = build_index(["ETC卡在哪里办理比较方便"])
    assert index.similar("ＥＴＣ卡在哪里办理比较方便") == [(0, 1.0)]


def test_short_comments_match_only_identical_ones():
    index = build_index(["好的", "谢谢", "谢谢小编", "收到！", "👍👍", "？？？"])
    assert index.similar("好的！") == [(0, 1.0)]
    assert index.similar("谢谢") == [(1, 1.0)]
    assert index.similar("小编谢谢") == []
    assert index.similar("收到") == [(3, 1.0)]
    assert index.similar("好的呀") == []
    assert index.similar("👍👍") == [(4, 1.0)]
    assert index.similar("？？") == []


def test_similar_to_a_stored_comment_excludes_itself_and_limit_applies():
    index = build_index(SAME_QUESTION + UNRELATED)
    found = index.similar_to(0, limit=100)
    assert 0 not in dict(found) and len(found) >= 20
    assert len(index.similar_to(0, limit=5)) == 5
    assert index.similar(SAME_QUESTION[0], limit=100, exclude=0) == found
    assert index.similar(QUESTION, limit=0) == []
    with pytest.raises(KeyError):
        index.similar_to(999)


def test_add_replaces_and_remove_forgets():
    index = build_index(["医保异地就医备案在哪里办理"])
    index.add(0, "小区门口的路灯坏了好几天了")
    assert len(index) == 1
    assert index.similar(QUESTION) == []
    index.remove(0)
    index.remove(0)  # already gone: nothing happens
    assert len(index) == 0 and 0 not in index
    assert index.similar(QUESTION) == []


def test_signature_round_trip_gives_the_same_similarities():
    texts = SAME_QUESTION + UNRELATED
    signatures = [similar.signature(text) for text in texts]
    assert all(len(data) == similar.SIGNATURE_BYTES == similar.NUM_PERM * 4 for data in signatures)
    assert similar.from_signature(signatures[0]) == similar.minhash(texts[0])
    assert similar.signature(texts[0]) == signatures[0]  # stable: fixed seed and permutations

    rebuilt = SimilarIndex()
    for key, data in enumerate(signatures):
        rebuilt.add_signature(key, data)
    original = build_index(texts)
    for text in [QUESTION, *UNRELATED]:
        assert rebuilt.similar(text, limit=100) == original.similar(text, limit=100)
    assert rebuilt.similar_to(3, limit=100) == original.similar_to(3, limit=100)


def test_a_signature_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="bytes"):
        similar.from_signature(b"\x00" * 10)
    with pytest.raises(ValueError):
        SimilarIndex(threshold=0)
