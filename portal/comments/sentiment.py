"""Sentiment of a public comment (留言情感倾向): negative, neutral or positive.

Lexicon-based on purpose. It ships inside the package (no model download, no network), each
result names the words that decided it (`hits`), and a person's correction of a word
(`overrides`) takes effect at once. The lexicons under `lexicon/` are written for comments on
government accounts: complaints (投诉, 推诿, 没人管), thanks (感谢, 辛苦了) and plain questions
(请问…需要什么材料), which carry no sentiment words and so come out neutral.

The rules, in the order they apply:

- jieba segments the text; lexicon words are added to a private tokenizer so that 踢皮球 or
  没人管 stay one token and do not change how other modules' jieba segments.
- A sentiment word is flipped by a negator a few tokens before it (不 满意, 没有 问题) or glued
  to it (不满意), and scaled by a degree adverb (非常, 有点). 不很满意 is softer than 很不满意.
- A contrast word (但是, 不过, 结果) halves what came before it: 谢谢回复，但是问题还没解决.
- A plain question (请问, 怎么办理, 哪里) is damped, so 我想举报违建打哪个电话 stays neutral,
  unless it is rhetorical (难道, 凭什么, 到底), which complaints often are.
- Runs of ？！ amplify the sentiment found, and alone (就这？？) lean negative.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import jieba

Label = Literal["negative", "neutral", "positive"]

WINDOW = 3  # tokens before a sentiment word searched for negators and degree adverbs
NEGATED = 0.8  # 不好 is a little milder than 差; also keeps 不是不满意 only mildly positive
SOFTENED = 0.6  # a degree adverb inside a negation weakens it: 不很满意, 不是特别方便
CONTRAST_DISCOUNT = 0.5  # what came before 但是 counts half
QUESTION_DAMPING = 0.4  # a plain question needs a strong word (投诉无门) to leave neutral
ANGRY_FACTOR = 1.3  # ？！ and ！！！ amplify
ANGRY_WEIGHT = 1.0  # …or, with no sentiment word at all, lean negative: 这也行？？？
OVERRIDE_WEIGHT = 3.0  # a person's correction outweighs any two lexicon words
NEUTRAL_BAND = 0.25  # |score| below this is neutral (a single weak word, weight 0.5, is not enough)

SIGNS = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
GLUED_NEGATORS = frozenset({"没有", "不", "没", "未", "无"})  # jieba often keeps 不满意, 没问题 as one token
GLUED_FILLERS = frozenset({"也", "都", "就", "还"})  # …and 也好, 都好
PARTICLES = frozenset("了啊呀啦哦呢")  # 太好了 is 太 + 好 (not 的 or 吧: 好的 and 好吧 are no praise)
POST_DEGREES = {"多": 1.5, "极了": 1.8, "得很": 1.5, "死": 1.8, "透": 1.8, "透了": 1.8}  # 方便多了, 烦死了
CONTRAST = frozenset({"但", "但是", "可是", "不过", "然而", "可惜", "结果", "只是"})
QUESTION_CUES = (
    "请问", "想问", "问一下", "咨询", "请教", "想了解", "想知道", "打听", "如何", "怎么办",
    "怎么申请", "怎么补办", "在哪", "哪里", "哪个", "哪些", "需要什么", "什么材料", "多久",
    "多长时间", "几点", "几号", "是否", "能否", "有没有", "可不可以",
)  # fmt: skip
RHETORICAL_CUES = ("难道", "凭什么", "到底", "究竟", "管不管", "有没有人管", "还让不让", "谁负责", "有什么用", "才能")
ANGRY = re.compile(r"[？！]*？[？！]+|[？！]+？[？！]*|！{3,}")  # ？？ ？！ ！？ ！！！
# A wait counted out loud is the commonest complaint with no sentiment word in it: 停水三天了, 跑了五趟,
# 等了一上午. "…就" says the opposite (第二天就修好了), so a span counts only after 等/排/拖/跑 or before
# 了/都/还/也, and 一趟都/一次都 (not even once) is no wait.
_NUMBER = r"[\d一两三四五六七八九十百几半]"
_TIME = r"(?:个)?多?(?:分钟|小时|天|周|星期|礼拜|月|年|上午|下午|晚上)多?"
_TIMES = r"(?:次|趟|遍|回)"
WAITED = re.compile(
    rf"(?:等|排|拖|跑|催)了?{_NUMBER}+(?:{_TIME}|{_TIMES})"
    rf"|(?:{_NUMBER}+{_TIME}|(?!一){_NUMBER}+{_TIMES})(?:了|都|还|也)"
)
WAIT_WEIGHT = 1.0
BOUNDARY = re.compile(r"[\W_]+")  # punctuation, spaces and emoji end a clause
HALF_TO_FULL = str.maketrans("!?,;:", "！？，；：")


@dataclass(frozen=True, slots=True)
class SentimentResult:
    label: Label
    score: float  # in [-1, 1]; negative below -NEUTRAL_BAND, positive above NEUTRAL_BAND
    hits: tuple[str, ...]  # lexicon words, corrected words and wait spans (三天了) that counted, in text order


@dataclass(frozen=True, slots=True)
class _Lexicon:
    polarity: dict[str, float]  # word -> signed weight
    negators: frozenset[str]
    degrees: dict[str, float]


_loaded: tuple[_Lexicon, jieba.Tokenizer] | None = None
_lock = threading.Lock()


def _entries(name: str) -> Iterator[tuple[str, float]]:
    """`word` or `word<TAB>weight` lines; `#` starts a comment line. Read from the package so a wheel works."""
    text = resources.files("portal.comments").joinpath("lexicon").joinpath(name).read_text("utf-8")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, weight = line.partition("\t")
            yield word.strip(), float(weight) if weight.strip() else 1.0


def _load() -> tuple[_Lexicon, jieba.Tokenizer]:
    """The lexicon and a tokenizer that knows its words, built once on first use (jieba takes ~1 s)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)  # "Building prefix dict…" is noise in our logs
                polarity = {word: -weight for word, weight in _entries("negative.txt")}
                polarity.update((word, weight) for word, weight in _entries("positive.txt"))
                lexicon = _Lexicon(
                    polarity=polarity,
                    negators=frozenset(word for word, _ in _entries("negation.txt")),
                    degrees=dict(_entries("degree.txt")),
                )
                tokenizer = jieba.Tokenizer()
                # jieba caches its prefix dictionary; keep that file in the temp dir, never beside the code.
                tokenizer.tmp_dir = tempfile.gettempdir()
                for word in (*lexicon.polarity, *lexicon.negators, *lexicon.degrees):
                    if len(word) > 1:
                        tokenizer.add_word(word)
                _loaded = (lexicon, tokenizer)
    return _loaded


def _polarity(token: str, lexicon: _Lexicon) -> tuple[str, float, bool]:
    """(lexicon word, weight, negated inside the token) — weight 0 when the token carries no sentiment.

    jieba keeps many modified words whole (不满意, 很漂亮, 太好了, 清清楚楚), so the token is also
    tried without a trailing particle, without a glued negator or degree adverb (whose factor is
    folded into the weight), and as the AABB reduplication of an AB word."""
    if token in lexicon.polarity:
        return token, lexicon.polarity[token], False
    if len(token) > 1 and token[-1] in PARTICLES:
        token = token[:-1]
    if len(token) == 4 and token[0] == token[1] and token[2] == token[3]:
        token = token[0] + token[2]
    if token in lexicon.polarity:
        return token, lexicon.polarity[token], False
    for cut in (2, 1):
        head, rest = token[:cut], token[cut:]
        if rest in lexicon.polarity and head != rest:  # 好好 (好好整顿) is an adverb, not praise
            if head in GLUED_NEGATORS:
                return rest, lexicon.polarity[rest], True
            if head in lexicon.degrees:
                return rest, lexicon.polarity[rest] * lexicon.degrees[head], False
            if head in GLUED_FILLERS:
                return rest, lexicon.polarity[rest], False
    return token, 0.0, False


def _modifier(tokens: list[str], index: int, negated: bool, lexicon: _Lexicon) -> float:
    """The factor the negators and degree adverbs just before tokens[index] apply to it."""
    negations = int(negated)
    inner = outer = 1.0  # degree adverbs inside the negation (不很好) and outside it (很不好)
    for token in reversed(tokens[max(0, index - WINDOW) : index]):
        if BOUNDARY.fullmatch(token) or token in CONTRAST or _polarity(token, lexicon)[1]:
            break  # a negator does not reach across a comma or past another sentiment word
        if token in lexicon.negators:
            negations += 1
        elif token in lexicon.degrees:
            if negations:
                outer *= lexicon.degrees[token]
            else:
                inner *= lexicon.degrees[token]
    if negations % 2 and inner > 1:
        inner = SOFTENED  # 不很满意: "not very satisfied" is a mild complaint, not a strong one
    return (-NEGATED) ** negations * inner * outer


def analyze(text: str, overrides: Mapping[str, str] | None = None) -> SentimentResult:
    """Label one comment. `overrides` maps a word to the label a person gave it; a corrected word that
    appears in the text counts heavily (OVERRIDE_WEIGHT) and replaces the lexicon's opinion of it."""
    lexicon, tokenizer = _load()
    text = re.sub(r"\s+", "，", text.translate(HALF_TO_FULL).lower().strip())
    corrected = {word: label for word, label in (overrides or {}).items() if word and word.lower() in text}
    for label in corrected.values():
        if label not in SIGNS:
            raise ValueError(f"an override label must be one of {sorted(SIGNS)}, not {label!r}")

    tokens = tokenizer.lcut(text, HMM=False)  # HMM guesses new words; lexicon matching wants the dictionary's
    raw = 0.0
    hits: dict[str, None] = {}  # ordered set
    for index, token in enumerate(tokens):
        if token in CONTRAST:
            raw *= CONTRAST_DISCOUNT
            continue
        if any(token in word.lower() for word in corrected):
            continue  # part of a corrected word: the person's label replaces the lexicon's
        word, weight, negated = _polarity(token, lexicon)
        if weight:
            after = POST_DEGREES.get(tokens[index + 1], 1.0) if index + 1 < len(tokens) else 1.0
            raw += weight * after * _modifier(tokens, index, negated, lexicon)
            hits[word] = None
    if waited := WAITED.search(text):
        raw -= WAIT_WEIGHT
        hits[waited.group()] = None

    if any(cue in text for cue in QUESTION_CUES) and not any(cue in text for cue in RHETORICAL_CUES):
        raw *= QUESTION_DAMPING
    if ANGRY.search(text):
        raw = raw * ANGRY_FACTOR if raw else -ANGRY_WEIGHT

    for word, label in corrected.items():
        raw += SIGNS[label] * OVERRIDE_WEIGHT
        hits[word] = None

    score = math.tanh(raw / 2)
    label: Label = "neutral" if abs(score) < NEUTRAL_BAND else "positive" if score > 0 else "negative"
    return SentimentResult(label=label, score=round(score, 4), hits=tuple(hits))
