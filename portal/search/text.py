"""Search text in Chinese: words for the index and the query, and highlighted snippets.

Chinese has no spaces, so both the indexed text and the query are cut into words by jieba in
its search mode (``cut_for_search``: a long word also yields its parts, 地铁站 → 地铁 / 铁站 /
地铁站), and the words are stored separated by spaces; the engine's own tokenizer (FTS5's
unicode61, PostgreSQL's 'simple' configuration) then only splits on the spaces and folds
case. So "地铁停运" is searched as 地铁 AND 停运 and finds "地铁临时停运". The tokenizer is
the knowledge base's (``portal.inquiries.knowledge_search.tokenizer``: one per process, with
the city's service words: 医保, 公积金, 异地就医 …), loaded once (about a second).

A citizen's mobile and ID numbers are never indexed (they are taken out of the words) and
never shown: the text kept for snippets has them masked (138****5678) for everybody, as the
board's tiles do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from portal.core.labels import ID_IN_TEXT, PHONE_IN_TEXT, mask_numbers

QUERY_MAX = 100  # characters of a query that are read
TERMS_MAX = 12  # words of a query that are searched for
SNIPPET_CHARS = 120
WORD = re.compile(r"\w", re.UNICODE)
SEPARATORS = re.compile(r"[\s\W_]+", re.UNICODE)


def tokenizer():
    from portal.inquiries.knowledge_search import tokenizer as shared

    return shared()


def is_loaded() -> bool:
    from portal.inquiries import knowledge_search

    return knowledge_search._tokenizer is not None


def without_numbers(text: str) -> str:
    """The text with a citizen's numbers taken out (they are never searchable)."""
    return PHONE_IN_TEXT.sub(" ", ID_IN_TEXT.sub(" ", text or ""))


def shown(text: str) -> str:
    """The text as results show it: numbers masked for everybody."""
    return mask_numbers(text or "")


def words(text: str) -> str:
    """The text as indexed: its words (search mode), lower case, separated by spaces."""
    cut = tokenizer().cut_for_search(without_numbers(text).lower())
    return " ".join(word for word in (piece.strip() for piece in cut) if word and WORD.search(word))


def normalize(query: str) -> str:
    return " ".join((query or "").split())[:QUERY_MAX]


def query_terms(query: str) -> list[str]:
    """The words a query asks for (all of them must be found), in order, without repeats.
    Each space- or punctuation-separated chunk is cut as the indexed text is; single
    characters left over beside real words (了, 的, 吗) are dropped, since the index holds
    them only where jieba left them alone."""
    found: list[str] = []
    for chunk in SEPARATORS.split(without_numbers(normalize(query)).lower()):
        if not chunk:
            continue
        for word in tokenizer().cut_for_search(chunk):
            word = word.strip()
            if word and WORD.search(word) and word not in found:
                found.append(word)
    longer = [word for word in found if len(word) > 1 or word.isascii()]
    return (longer or found)[:TERMS_MAX]


# Highlighting --------------------------------------------------------------------------


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so that 地铁站 is marked whole rather than as 地铁 + 站.
    unique = sorted({term for term in terms if term}, key=len, reverse=True)
    if not unique:
        return None
    return re.compile("|".join(re.escape(term) for term in unique), re.IGNORECASE)


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """The whole (short) text, escaped, with the terms marked."""
    pattern = _pattern(terms)
    text = text or ""
    if pattern is None:
        return escape(text)
    parts: list[Markup] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup("<mark>{}</mark>").format(match.group()))  # format() escapes the word
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def window(text: str, terms: Iterable[str], size: int = SNIPPET_CHARS) -> str:
    """About ``size`` characters of the text around its best stretch of matches (plain
    text, with … where it was cut): the window holding most matches, first found first."""
    text = " ".join((text or "").split())
    if len(text) <= size:
        return text
    pattern = _pattern(terms)
    starts = [match.start() for match in pattern.finditer(text)] if pattern else []
    if not starts:
        return text[:size].rstrip() + "…"
    best, best_count = starts[0], 0
    for start in starts:
        count = sum(1 for other in starts if start <= other < start + size)
        if count > best_count:
            best, best_count = start, count
    begin = max(0, min(best - size // 4, len(text) - size))
    end = begin + size
    return ("…" if begin > 0 else "") + text[begin:end].strip() + ("…" if end < len(text) else "")


def snippet(text: str, terms: Iterable[str], size: int = SNIPPET_CHARS) -> tuple[str, Markup]:
    """(plain snippet, the same escaped with the terms marked)."""
    terms = list(terms)
    plain = window(text, terms, size)
    return plain, highlight(plain, terms)
