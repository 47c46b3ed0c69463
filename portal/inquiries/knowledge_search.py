"""Searching the knowledge base in Chinese: which words a query holds, and how well an entry
answers it.

Citizens type questions, not keywords: 异地就医报销 or 医保报销要什么材料. Chinese has no
spaces, so the query is cut into words by jieba (异地 / 就医 / 报销), and an entry matches a
word when its question or answer contains it as a substring (so 报销 finds 医保报销需要哪些
材料 whatever jieba would make of the entry). Question words that say nothing about the
topic (怎么, 哪些, 需要 …) are dropped. Ranking, best first:

1. entries containing every word come before those that lack some; when none contains them
   all, those with at least half of them are shown (a long question still finds an answer);
2. the whole query found as typed, in the question, counts most; then each word found in
   the question (it says what the entry is about), then in the answer;
3. among equals, the more viewed and the more recently updated first.

One tokenizer per process, built on first use (jieba reads its dictionary in about a
second), shared by the public page and the staff search; never one per request.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jieba

QUERY_MAX = 100  # characters of a query that are read
TERMS_MAX = 8  # words of a query that are searched for

# Words of the city's services that jieba's general dictionary would split or glue wrongly.
DOMAIN_WORDS = (
    "医保", "社保", "公积金", "居住证", "异地就医", "医保卡", "社保卡", "电子凭证", "个人账户",
    "灵活就业", "退休", "养老金", "生育津贴", "失业金", "落户", "积分落户", "不动产", "网签",
    "备案", "门诊", "住院", "慢特病", "转移接续", "12345",
)  # fmt: skip
# Words that ask rather than say what about: dropped from a query (unless nothing else is left).
STOP_WORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 么 是 在 和 与 及 或 还 也 都 就 要 能 会 可 可以 能否 是否 有 没有 我 我们 你 您
    他 她 请问 想问 问 一下 咨询 怎么 怎么样 怎样 如何 什么 哪些 哪里 哪儿 哪个 多少 多久 几 为什么 需要 需 要求
    办 应该 该 请 谢谢 么办 怎么办""".split()
)
SEPARATORS = re.compile(r"[\s\W_]+")

_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()


def tokenizer() -> jieba.Tokenizer:
    """The process's one tokenizer for knowledge search."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                built = jieba.Tokenizer()
                built.tmp_dir = tempfile.gettempdir()  # jieba's dictionary cache, never beside the code
                for word in DOMAIN_WORDS:
                    built.add_word(word)
                built.initialize()
                _tokenizer = built
    return _tokenizer


def normalize(query: str) -> str:
    """The query as searched: trimmed, inner spaces collapsed, at most QUERY_MAX characters."""
    return " ".join(query.split())[:QUERY_MAX]


def terms(query: str) -> list[str]:
    """The words to look for, in order, without repeats: each space- or punctuation-separated
    chunk cut by jieba, question words dropped. A query of question words only keeps them."""
    found: list[str] = []
    every: list[str] = []
    for chunk in SEPARATORS.split(normalize(query).lower()):
        if not chunk:
            continue
        for word in tokenizer().cut(chunk):
            word = word.strip()
            if not word or word in every:
                continue
            every.append(word)
            if word not in STOP_WORDS:
                found.append(word)
    return (found or every)[:TERMS_MAX]


def score(entry: dict[str, Any], query: str, words: list[str]) -> tuple[int, float]:
    """(how many of ``words`` the entry contains, a relevance score); (0, 0) for no match."""
    question = (entry.get("question") or "").lower()
    answer = (entry.get("answer") or "").lower()
    whole = normalize(query).lower()
    matched = 0
    points = 0.0
    if whole and whole in question:
        points += 10
    elif whole and whole in answer:
        points += 4
    for word in words:
        weight = 1.0 if len(word) > 1 else 0.5  # one character says less than a word
        in_question, in_answer = word in question, word in answer
        if in_question or in_answer:
            matched += 1
        points += weight * (3 * in_question + min(answer.count(word), 3) * 0.5)
    if whole and (whole in question or whole in answer):
        matched = max(matched, len(words))  # found as typed: it matches, whatever the cut
    return matched, points


def rank(
    entries: list[dict[str, Any]], query: str, limit: int | None = None, *, loose: bool = False
) -> list[dict[str, Any]]:
    """``entries`` that match ``query``, best first (see the module's docstring). ``loose``:
    any entry with one of the words counts (suggestions from an inquiry's title, where a
    citizen's 深圳 or 住院 should not hide an entry on 报销)."""
    words = terms(query)
    if not words:
        return entries[:limit] if limit else entries
    scored = []
    for entry in entries:
        matched, points = score(entry, query, words)
        if matched:
            scored.append((matched, points, entry))
    if not scored:
        return []
    if loose:
        pass
    elif any(matched >= len(words) for matched, _, _ in scored):
        scored = [item for item in scored if item[0] >= len(words)]
    else:
        scored = [item for item in scored if item[0] >= math.ceil(len(words) / 2)]

    def order(item: tuple[int, float, dict[str, Any]]) -> tuple:
        matched, points, entry = item
        updated = entry.get("updated_at")
        return (-matched, -points, -(entry.get("view_count") or 0), -(updated.timestamp() if updated else 0))

    scored.sort(key=order)
    result = [entry for _, _, entry in scored]
    return result[:limit] if limit else result
