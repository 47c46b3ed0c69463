"""Grouping comments into topics as they arrive (pure: no database here).

A comment is read into its keywords: jieba's TF-IDF extraction (its shipped IDF table), with
the words that say nothing about a topic (今天, 什么, 问题 …) left out. A topic keeps, for each
word, the sum of its weights in the topic's comments. A comment joins the topic whose top words carry most of
its own keywords' weight (and share at least two of them, or one that carries much of it),
otherwise it starts a new topic. This is incremental by construction: one
comment is compared with the board's recent topics, never with the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TOP_KEYWORDS = 8  # keywords read from one comment
TOPIC_TERMS = 12  # a topic's words a comment is compared with
KEPT_TERMS = 40  # a topic's words kept in the table
NAME_TERMS = 3
SINGLE_WORD_THRESHOLD = 0.4  # one shared word must carry this much (地铁站 停运 / 地铁 停运)
ANCHOR_THRESHOLD = 0.2
THRESHOLD = 0.3  # share of the comment's keyword weight found among the topic's words

# Words that appear in comments about anything: never what a topic is about.
STOPWORDS = frozenset(
    """今天 昨天 明天 现在 早上 上午 中午 下午 晚上 时候 什么 怎么 怎么办 为什么 请问 你们 我们 他们 大家
    这个 那个 这样 那样 一下 一直 已经 还是 就是 可以 能不能 是不是 有没有 没有 问题 情况 希望 谢谢 感谢
    相关 部门 有关 一个 真的 到底 时间 小时 多少 几天 回复 知道 需要 不能 不是 还有 而且 但是 因为 所以
    如果 或者 以及 然后 自己 这么 那么 非常 特别 比较 越来越 一些 很多 各位 领导 市民 网友 政府 官方
    号线 天天 每天 哪里 哪儿 没人 有人 一点 我要 到位 不到位 要求 反映 一下子
    几次 次数 目前 最近 今年 去年 本月 本周 地方 东西""".split()
)
_NOISE = re.compile(r"^[\d\W_a-zA-Z]+$")


def keywords(text: str) -> dict[str, float]:
    """The comment's keywords with their TF-IDF weights (jieba, loaded on first use)."""
    import jieba
    import jieba.analyse

    found: dict[str, float] = {}
    for word, weight in jieba.analyse.extract_tags(text or "", topK=TOP_KEYWORDS * 2, withWeight=True):
        if len(word) < 2 or word in STOPWORDS or _NOISE.match(word):
            continue
        found[word] = float(weight)
        if len(found) >= TOP_KEYWORDS:
            break
    # A longer word also says its parts: 地铁站 is about the 地铁 (jieba's search segmentation
    # gives the dictionary words inside it), so "地铁站停运" and "地铁停运" meet.
    for word, weight in list(found.items()):
        if len(word) < 3:
            continue
        for part in jieba.cut_for_search(word):
            if part != word and len(part) >= 2 and part not in STOPWORDS and not _NOISE.match(part):
                found[part] = max(found.get(part, 0.0), weight * 0.8)
    return found


def top_terms(terms: dict[str, float], count: int = TOPIC_TERMS) -> list[str]:
    return [word for word, _n in sorted(terms.items(), key=lambda item: (-item[1], item[0]))[:count]]


def name_of(terms: dict[str, float]) -> str:
    """A name people can read: the topic's most frequent words, "地铁 停运 暴雨"."""
    return " ".join(top_terms(terms, NAME_TERMS))


def same_subject(a: dict[str, float], b: dict[str, float]) -> bool:
    """Two topics about one subject: their two heaviest words are the same two words."""
    first, second = top_terms(a, 2), top_terms(b, 2)
    return len(first) == 2 and set(first) == set(second)


def similarity(words: dict[str, float], terms: dict[str, float]) -> tuple[float, int]:
    """(share of the comment's keyword weight among the topic's top words, words shared)."""
    total = sum(words.values())
    if not total or not terms:
        return 0.0, 0
    top = set(top_terms(terms))
    shared = [word for word in words if word in top]
    return sum(words[word] for word in shared) / total, len(shared)


@dataclass(frozen=True)
class Match:
    topic_id: int | None  # None: start a new topic
    score: float


def best_topic(words: dict[str, float], topics: list[tuple[int, dict[str, float]]]) -> Match:
    """The topic this comment belongs to among ``topics`` ((id, terms), most recent first)."""
    if not words:
        return Match(None, 0.0)
    best: Match = Match(None, 0.0)
    heaviest = max(words, key=lambda word: words[word])
    for topic_id, terms in topics:
        score, shared = similarity(words, terms)
        enough = shared >= 2 or (shared == 1 and (len(words) <= 2 or score >= SINGLE_WORD_THRESHOLD))
        # Or the comment's heaviest word is what the topic is about (one of its name's words):
        # "停水没有通知，水务部门给个说法" belongs with "停水 小区 物业" however much else it says.
        anchored = heaviest in top_terms(terms, NAME_TERMS) and score >= ANCHOR_THRESHOLD
        if ((enough and score >= THRESHOLD) or anchored) and score > best.score:
            best = Match(topic_id, score)
    return best


def grow(terms: dict[str, float], words: dict[str, float]) -> dict[str, float]:
    """The topic's words with this comment's added: each word's weight is the sum of its
    TF-IDF weights in the topic's comments (the heaviest KEPT_TERMS kept)."""
    grown = dict(terms)
    for word, weight in words.items():
        grown[word] = round(grown.get(word, 0.0) + weight, 3)
    if len(grown) > KEPT_TERMS:
        grown = {word: grown[word] for word in top_terms(grown, KEPT_TERMS)}
    return grown
