"""Sensitive words (敏感词) and category rules (分类规则) for triaging incoming comments.

Pure and database-free: later code keeps the words and rules in tables and calls these.

- ``SensitiveWords`` finds configured words in a comment, each with a ``Tier``
  (一般 / 较大 / 重大), as non-overlapping leftmost-longest hits whose spans index the
  *original* text, so a template can highlight them (``highlight``).
- ``CategoryRules`` suggests a category (社保, 医保, 公积金…) from keyword hits.

Both are built once into a single Aho–Corasick automaton (pyahocorasick): matching costs
one pass over the text whatever the number of words. Built objects are never mutated
afterwards, so one instance can serve concurrent readers; ``build`` / ``build_rules``
keep the last few instances by version so callers rebuild only when the list changes.

Matching is case-insensitive for Latin letters and ignores full-width/half-width
differences (``normalize``). A small default word list and rule set live in
``defaults/*.tsv`` for the demo and for seeding the tables.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import NamedTuple, TypeVar

import ahocorasick

# Tiers ----------------------------------------------------------------------------------


class Tier(StrEnum):
    """How serious a sensitive word is. Compare with ``rank``, not ``<`` (that compares strings)."""

    general = "general"  # 一般
    serious = "serious"  # 较大
    major = "major"  # 重大

    @property
    def rank(self) -> int:
        """1 for general, 2 for serious, 3 for major."""
        return _TIER_RANKS[self]

    @property
    def zh(self) -> str:
        """The Chinese name used in the data files (一般 / 较大 / 重大)."""
        return _TIER_ZH[self]

    @classmethod
    def parse(cls, value: str | Tier) -> Tier:
        """A tier from its stored value ("major") or its Chinese name ("重大")."""
        if isinstance(value, Tier):
            return value
        text = value.strip()
        try:
            return cls(text.lower())
        except ValueError:
            pass
        for tier, name in _TIER_ZH.items():
            if name == text:
                return tier
        raise ValueError(f"unknown tier {value!r}")


_TIER_RANKS = {Tier.general: 1, Tier.serious: 2, Tier.major: 3}
_TIER_ZH = {Tier.general: "一般", Tier.serious: "较大", Tier.major: "重大"}


def highest_tier(tiers: Iterable[Tier]) -> Tier | None:
    """The most serious of some tiers, None for none."""
    return max(tiers, key=lambda tier: tier.rank, default=None)


# Normalisation --------------------------------------------------------------------------


class _FoldTable(dict[int, str]):
    """Code point → its one-character folded form, filled on first use by ``str.translate``.

    Concurrent fills are harmless: two threads can only store the same value.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char).lower()
        if len(folded) != 1:
            lowered = char.lower()
            folded = lowered if len(lowered) == 1 else char
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def normalize(text: str) -> str:
    """Fold ``text`` for matching: NFKC and lower case, one character at a time.

    NFKC turns full-width Latin letters and digits into ASCII (``ＡＢＣ１２３`` →
    ``ABC123``), half-width katakana into full-width, the ideographic space into a space;
    then Latin letters are lower-cased. Applied to the whole string, NFKC may change its
    length (``㈱`` → ``(株)``, or a letter and a combining accent composing into one
    character), and the hit spans would no longer index the original text. So the
    folding is done per character, and a character whose folded form is not exactly one
    character is kept as it is: the result always has the same length as the input and
    position ``i`` of the folded text is position ``i`` of the original. The price is
    that such rare characters (ligatures, parenthesised ideographs, decomposed accents)
    are matched only as written. Words and texts are folded the same way.
    """
    return text.translate(_FOLD)


# Sensitive words ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """One sensitive word in a text: ``text[start:end]`` matched ``word`` (as configured)."""

    start: int
    end: int
    word: str
    tier: Tier


def _word_entries(pairs: Iterable[tuple[str, Tier | str]]) -> dict[str, tuple[str, Tier]]:
    """Folded word → (word as configured, tier). Blank words are skipped; a word listed twice
    (or two spellings that fold to the same word, such as ``ABC`` and ``ａｂｃ``) keeps its
    most serious tier."""
    entries: dict[str, tuple[str, Tier]] = {}
    for word, tier_value in pairs:
        tier = Tier.parse(tier_value)
        word = word.strip()
        key = normalize(word)
        if not key:
            continue
        previous = entries.get(key)
        if previous is None or tier.rank > previous[1].rank:
            entries[key] = (word, tier)
    return entries


def _digest(lines: Iterable[str]) -> str:
    hasher = hashlib.sha256()
    for line in sorted(lines):
        hasher.update(line.encode("utf-8"))
        hasher.update(b"\n")
    return hasher.hexdigest()


def _new_automaton() -> ahocorasick.Automaton:
    return ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)


class SensitiveWords:
    """An immutable sensitive-word list, matched with one Aho–Corasick automaton.

    ``find`` reports non-overlapping hits, leftmost first and, among the words starting at
    the same place, the longest: with 上访 and 集体上访 both listed, "集体上访" is one hit.
    A longer word therefore decides the tier of the words inside it. Nothing changes the
    automaton after ``__init__``, so concurrent ``find`` calls are safe.
    """

    __slots__ = ("_automaton", "_size", "_digest")

    def __init__(self, pairs: Iterable[tuple[str, Tier | str]]) -> None:
        self._init(_word_entries(pairs))

    @classmethod
    def _from_entries(cls, entries: dict[str, tuple[str, Tier]]) -> SensitiveWords:
        words = cls.__new__(cls)
        words._init(entries)
        return words

    def _init(self, entries: dict[str, tuple[str, Tier]]) -> None:
        automaton = _new_automaton()
        for key, (word, tier) in entries.items():  # building: each word is added once
            automaton.add_word(key, (len(key), word, tier))
        automaton.make_automaton()
        self._automaton = automaton
        self._size = len(entries)
        self._digest = _words_digest(entries)

    def __len__(self) -> int:
        """How many distinct (folded) words."""
        return self._size

    @property
    def digest(self) -> str:
        """A hash of the words and their tiers: equal lists have equal digests, whatever the order."""
        return self._digest

    def find(self, text: str) -> list[Hit]:
        """Non-overlapping hits in text order (leftmost, then longest)."""
        if not text or not self._size:  # (an automaton without words refuses to search)
            return []
        # The automaton reports every occurrence, overlapping ones included, by end position.
        # Keep the longest word per start, then take starts left to right, skipping any that
        # begins inside the previous hit. (pyahocorasick's own ``iter_long`` is not used: in
        # 2.3 it misses matches after a failed longer candidate, e.g. nothing in "ba" with
        # the words "a" and "bab", and can even return overlapping hits.)
        longest: dict[int, tuple[int, str, Tier]] = {}
        for end, (length, word, tier) in self._automaton.iter(normalize(text)):
            start = end - length + 1
            found = longest.get(start)
            if found is None or length > found[0]:
                longest[start] = (length, word, tier)
        hits: list[Hit] = []
        cursor = 0
        for start in sorted(longest):
            if start < cursor:
                continue
            length, word, tier = longest[start]
            hits.append(Hit(start, start + length, word, tier))
            cursor = start + length
        return hits

    def highest(self, text: str) -> Tier | None:
        """The most serious tier among the hits in ``text``, None if there are none."""
        return highest_tier(hit.tier for hit in self.find(text))


def _words_digest(entries: dict[str, tuple[str, Tier]]) -> str:
    return _digest(f"{key}\t{tier}\t{word}" for key, (word, tier) in entries.items())  # hits report the spelling


def highlight(text: str, hits: Iterable[Hit]) -> list[tuple[str, Tier | None]]:
    """``text`` cut into segments, each with the tier of its hit or None for plain text.

    The segments join back to ``text``. A template renders them with autoescape on, e.g.
    ``{% for part, tier in segments %}{% if tier %}<mark class="tier-{{ tier }}">{{ part
    }}</mark>{% else %}{{ part }}{% endif %}{% endfor %}``; no HTML is built here. Hits that
    overlap an earlier one or fall outside the text are ignored, hits running past its
    end are cut there.
    """
    segments: list[tuple[str, Tier | None]] = []
    cursor = 0
    for hit in sorted(hits, key=lambda hit: (hit.start, -hit.end)):
        if hit.start < cursor:
            continue
        end = min(hit.end, len(text))
        if end <= hit.start:
            continue
        if hit.start > cursor:
            segments.append((text[cursor : hit.start], None))
        segments.append((text[hit.start : end], hit.tier))
        cursor = end
    if cursor < len(text):
        segments.append((text[cursor:], None))
    return segments


# Category rules -------------------------------------------------------------------------


class CategoryRule(NamedTuple):
    """A category and the keywords that suggest it. Higher ``priority`` wins ties."""

    category: str
    keywords: tuple[str, ...]
    priority: int = 0


class CategoryRules:
    """Suggests a comment's category from keyword hits, with one Aho–Corasick automaton.

    Each category scores the number of its *distinct* keywords found anywhere in the text
    (overlaps count: "公积金贷款" can hit both 公积金 and 公积金贷款). The best score wins;
    ties go to the higher priority, then to the rule listed first. Rules naming the same
    category are merged (keywords pooled, highest priority, first position). A keyword
    may belong to several categories. Immutable once built, like ``SensitiveWords``.
    """

    __slots__ = ("_automaton", "_has_keywords", "_categories", "_priorities", "_digest")

    def __init__(self, rules: Iterable[tuple[str, Iterable[str], int]]) -> None:
        categories: list[str] = []
        priorities: list[int] = []
        keywords: dict[str, tuple[str, set[int]]] = {}  # folded → (first spelling, category indexes)
        index_of: dict[str, int] = {}
        for category, words, priority in rules:
            category = category.strip()
            if not category:
                raise ValueError("a category rule needs a category name")
            index = index_of.get(category)
            if index is None:
                index = index_of[category] = len(categories)
                categories.append(category)
                priorities.append(priority)
            else:
                priorities[index] = max(priorities[index], priority)
            for word in words:
                word = word.strip()
                key = normalize(word)
                if key:
                    keywords.setdefault(key, (word, set()))[1].add(index)
        automaton = _new_automaton()
        for key, (word, indexes) in keywords.items():  # building: each keyword is added once
            automaton.add_word(key, (word, tuple(sorted(indexes))))
        automaton.make_automaton()
        self._automaton = automaton
        self._has_keywords = bool(keywords)  # an automaton without words refuses to search
        self._categories = tuple(categories)
        self._priorities = tuple(priorities)
        # Rule order breaks ties, so it is part of the digest.
        category_lines = (f"{index}\t{name}\t{priorities[index]}" for index, name in enumerate(categories))
        keyword_lines = (f"{index}\t\t{key}" for key, (_word, indexes) in keywords.items() for index in indexes)
        self._digest = _digest([*category_lines, *keyword_lines])

    @property
    def categories(self) -> tuple[str, ...]:
        """The category names, in rule order."""
        return self._categories

    @property
    def digest(self) -> str:
        return self._digest

    def ranked(self, text: str) -> list[tuple[str, list[str]]]:
        """Every category with at least one keyword in ``text``, best first, with its distinct
        keywords (as configured) in the order they appear; shows why ``classify`` chose."""
        if not text or not self._has_keywords:
            return []
        found: dict[int, dict[str, None]] = {}  # category index → keywords, ordered
        for _end, (keyword, indexes) in self._automaton.iter(normalize(text)):
            for index in indexes:
                found.setdefault(index, {})[keyword] = None
        order = sorted(found, key=lambda index: (-len(found[index]), -self._priorities[index], index))
        return [(self._categories[index], list(found[index])) for index in order]

    def classify(self, text: str) -> str | None:
        """The suggested category, None when no keyword matches."""
        ranked = self.ranked(text)
        return ranked[0][0] if ranked else None


# Cache by version -----------------------------------------------------------------------

_CACHE_SIZE = 8  # a few lists alive at once (e.g. per-board lists, or old and new during a change)
_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[str, Hashable], SensitiveWords | CategoryRules] = OrderedDict()

_Built = TypeVar("_Built", SensitiveWords, CategoryRules)


def _lookup(kind: str, key: Hashable) -> SensitiveWords | CategoryRules | None:
    with _cache_lock:
        found = _cache.get((kind, key))
        if found is not None:
            _cache.move_to_end((kind, key))
        return found


def _remember(kind: str, key: Hashable, make: Callable[[], _Built]) -> _Built:
    found = _lookup(kind, key)
    if found is not None:
        return found  # type: ignore[return-value]
    built = make()  # outside the lock: two threads may both build, one result is kept
    with _cache_lock:
        kept = _cache.setdefault((kind, key), built)
        _cache.move_to_end((kind, key))
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return kept  # type: ignore[return-value]


def build(pairs: Iterable[tuple[str, Tier | str]], *, version: Hashable | None = None) -> SensitiveWords:
    """A ``SensitiveWords``, shared with earlier calls for the same list.

    With ``version`` (e.g. a counter or last-modified stamp the word table bumps on every
    change), a cached instance for that version is returned without reading ``pairs``;
    the caller promises that one version always means one list. Without it, the pairs
    are read and folded and the automaton is reused when their digest was seen before.
    """
    if version is not None:
        return _remember("words", ("version", version), lambda: SensitiveWords(pairs))
    entries = _word_entries(pairs)
    return _remember("words", ("digest", _words_digest(entries)), lambda: SensitiveWords._from_entries(entries))


def cached(version: Hashable) -> SensitiveWords | None:
    """The ``SensitiveWords`` built for ``version``, if still cached: lets an async caller skip
    loading the words at all (``cached(v) or build(await load(), version=v)``)."""
    found = _lookup("words", ("version", version))
    return found if isinstance(found, SensitiveWords) else None


def build_rules(rules: Iterable[tuple[str, Iterable[str], int]], *, version: Hashable | None = None) -> CategoryRules:
    """A ``CategoryRules``, shared with earlier calls for the same ``version`` (see ``build``).
    Without a version the rules are compiled and reused only if the digest was seen."""
    if version is not None:
        return _remember("rules", ("version", version), lambda: CategoryRules(rules))
    compiled = CategoryRules(rules)  # compiling is the only way to fold and merge them
    return _remember("rules", ("digest", compiled.digest), lambda: compiled)


def cached_rules(version: Hashable) -> CategoryRules | None:
    """The ``CategoryRules`` built for ``version``, if still cached."""
    found = _lookup("rules", ("version", version))
    return found if isinstance(found, CategoryRules) else None


# Data files -----------------------------------------------------------------------------

_KEYWORD_SEPARATORS = re.compile(r"[,，、]")


def _data_lines(text: str) -> Iterable[tuple[int, list[str]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, [field.strip() for field in line.split("\t")]


def parse_sensitive_words(text: str) -> list[tuple[str, Tier]]:
    """``word<TAB>tier`` lines (tier as 一般/较大/重大 or general/serious/major); blank lines
    and lines starting with ``#`` are skipped."""
    pairs: list[tuple[str, Tier]] = []
    for number, fields in _data_lines(text):
        if len(fields) != 2 or not fields[0]:
            raise ValueError(f"line {number}: expected word<TAB>tier")
        try:
            pairs.append((fields[0], Tier.parse(fields[1])))
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    return pairs


def parse_category_rules(text: str) -> list[CategoryRule]:
    """``category<TAB>keyword1,keyword2,...[<TAB>priority]`` lines (keywords may also be
    separated by ，or 、); blank lines and lines starting with ``#`` are skipped."""
    rules: list[CategoryRule] = []
    for number, fields in _data_lines(text):
        if len(fields) not in (2, 3) or not fields[0]:
            raise ValueError(f"line {number}: expected category<TAB>keywords[<TAB>priority]")
        keywords = tuple(word.strip() for word in _KEYWORD_SEPARATORS.split(fields[1]) if word.strip())
        try:
            priority = int(fields[2]) if len(fields) == 3 else 0
        except ValueError:
            raise ValueError(f"line {number}: priority must be an integer") from None
        rules.append(CategoryRule(fields[0], keywords, priority))
    return rules


def _default_file(name: str) -> str:
    return resources.files(__package__).joinpath("defaults").joinpath(name).read_text(encoding="utf-8")


def default_sensitive_word_pairs() -> list[tuple[str, Tier]]:
    """The default word list (``defaults/sensitive_words.tsv``), e.g. to seed the table."""
    return parse_sensitive_words(_default_file("sensitive_words.tsv"))


def default_category_rule_list() -> list[CategoryRule]:
    """The default category rules (``defaults/categories.tsv``), e.g. to seed the table."""
    return parse_category_rules(_default_file("categories.tsv"))


@cache
def default_sensitive_words() -> SensitiveWords:
    """The default word list, built once."""
    return SensitiveWords(default_sensitive_word_pairs())


@cache
def default_category_rules() -> CategoryRules:
    """The default category rules, built once."""
    return CategoryRules(default_category_rule_list())
