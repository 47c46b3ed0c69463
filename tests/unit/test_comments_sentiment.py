"""Sentiment of public comments: what a person triaging comments would notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.comments.sentiment import SentimentResult, analyze

# jieba 0.42's source has invalid escape sequences, compiled (and warned about) on first use.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")

DATA = Path(__file__).resolve().parent.parent / "data" / "sentiment_gov.tsv"


@pytest.mark.parametrize(
    "text",
    [
        "打了三次12345，每次都说转给相关部门，然后就没下文了",
        "办个证来回跑了五趟，窗口之间互相推诿，说不归他们管",
        "楼下工地半夜还在施工，投诉了也没用，太扰民了",
        "物业乱收费，找街道街道说找住建，踢皮球",
        "多次反映路灯不亮，到现在都没人管",
        "工作人员态度太差了，问两句就不耐烦",
    ],
)
def test_clear_complaints_are_negative(text: str) -> None:
    result = analyze(text)
    assert result.label == "negative"
    assert result.score < 0
    assert result.hits  # the words that decided it are named


@pytest.mark.parametrize(
    "text",
    [
        "感谢社区的工作人员，帮我家老人把医保卡办好了",
        "交警同志辛苦了！",
        "昨天反映的问题今天就解决了，效率高，点赞",
        "回复很及时，谢谢小编",
        "窗口的小姑娘很耐心，给你们点个赞",
    ],
)
def test_thanks_are_positive(text: str) -> None:
    result = analyze(text)
    assert result.label == "positive"
    assert result.score > 0


@pytest.mark.parametrize(
    "text",
    [
        "请问公积金提取需要什么材料？",
        "居住证怎么办理",
        "请问社保卡丢了在哪里补办",
        "明天地铁几点开始运营",
        "我想举报一个违建，应该打哪个电话",  # a complaint word inside a plain question
    ],
)
def test_plain_questions_are_neutral(text: str) -> None:
    assert analyze(text).label == "neutral"


def test_negation_flips() -> None:
    assert analyze("满意").label == "positive"
    assert analyze("不满意").label == "negative"
    assert analyze("对处理结果很不满意").label == "negative"
    assert analyze("问题一直没解决").label == "negative"
    assert analyze("没有问题").label != "negative"
    assert analyze("现在办社保不用排队了").label == "positive"
    # a double negation does not read as a complaint
    assert analyze("不是不满意").label != "negative"


def test_negation_does_not_cross_a_comma() -> None:
    assert analyze("没想到，服务这么好").label == "positive"


def test_degree_words_raise_the_score() -> None:
    assert abs(analyze("非常满意").score) > abs(analyze("满意").score)
    assert abs(analyze("太慢了").score) > abs(analyze("有点慢").score)
    assert abs(analyze("非常不满意").score) > abs(analyze("不满意").score)
    # a degree word inside a negation softens it: 不是很满意 is milder than 不满意
    assert analyze("不满意").score < analyze("不是很满意").score < 0


def test_contrast_weighs_what_comes_after() -> None:
    assert analyze("谢谢回复，但是问题还是没解决").label == "negative"
    assert analyze("虽然过程有点长，但最后解决了，谢谢").label == "positive"


def test_angry_punctuation_adds_weight() -> None:
    assert analyze("又延期了？？？").score < analyze("又延期了").score < 0
    assert analyze("就这？？").label == "negative"


def test_override_changes_the_outcome() -> None:
    assert analyze("这服务真是绝了").label == "neutral"
    corrected = analyze("这服务真是绝了", overrides={"绝了": "positive"})
    assert corrected.label == "positive"
    assert "绝了" in corrected.hits

    # a person may also take a word's sentiment away: 曝光台 is the team's own column
    assert analyze("曝光台的线索已经收到").label == "negative"
    assert analyze("曝光台的线索已经收到", overrides={"曝光": "neutral"}).label == "neutral"

    # a corrected word that is not in the text changes nothing
    assert analyze("谢谢", overrides={"绝了": "negative"}) == analyze("谢谢")


def test_unknown_override_label_is_refused() -> None:
    with pytest.raises(ValueError):
        analyze("这服务真是绝了", overrides={"绝了": "great"})


def test_result_shape() -> None:
    result = analyze("感谢！")
    assert isinstance(result, SentimentResult)
    assert -1.0 <= result.score <= 1.0
    assert isinstance(result.hits, tuple)
    with pytest.raises(AttributeError):
        result.label = "negative"  # frozen
    empty = analyze("")
    assert (empty.label, empty.score, empty.hits) == ("neutral", 0.0, ())


def test_accuracy_on_the_labelled_comments() -> None:
    rows = [line.split("\t", 1) for line in DATA.read_text("utf-8").splitlines()[1:] if line.strip()]
    assert len(rows) >= 220
    for label in ("negative", "neutral", "positive"):
        assert sum(1 for truth, _ in rows if truth == label) >= 60
    correct = sum(1 for truth, text in rows if analyze(text).label == truth)
    assert correct / len(rows) >= 0.75
