"""Keeping the search index in step with the cards.

A card's searchable text is its title and body, its kind's text fields (an author's handle, a
citizen's name, an answer: ``CardKind.search_fields``), its internal notes and its kind's
other text (a comment's replies: ``CardKind.search_texts``). ``reindex(card_ids)`` reads it
all and writes one ``search_doc`` row per card (the engine's full-text index follows: a
trigger on SQLite, a generated column on PostgreSQL). It is idempotent and skips a card whose
text has not changed, so the write path may ask for it after every card write (the
``search_index`` effect, ``portal.search.effects``) and a backfill may run any time
(``backfill(everything=True)``, ``portal search-index --all``, forces every card to be cut
again: after the segmentation changed, unchanged text has new words).

Two runs for one card a moment apart (two writes, their effects in two processes) must not
let the slower, older reading overwrite the newer: each row carries the card's board's
sequence number read *before* the text (``board_seq``: every unit of the write path claims
the next one under the board's lock, a note or a reply too, which do not raise the card's
version; a card never changes board), and a row is only replaced by a reading of a sequence
number (then a card version) at least as high. The text read after the number holds at least
every write up to it, so the last write's run always leaves its words.

Archived cards stay in the index: archiving changes no text, and what a result says about the
card (its board, state, department) is read from the card itself when searching.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from piccolo.query import WhereRaw

from portal.cards.kinds import kind_of
from portal.cards.tables import Card, Note
from portal.search import text as search_text
from portal.search.tables import SearchDoc

log = logging.getLogger("portal.search")

BATCH = 500  # cards read and written per statement by the backfill
# A batch this large is cut into words in a thread, so that the event loop stays free.
THREAD_FROM = 20


async def _read(card_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every card's text, by id: {"title", "texts": [...], "platform", "category", "version",
    "seq"}. The board's sequence number is read in the first statement, with the card: the
    details, notes and replies read after it are at least as new (module note)."""
    rows = await Card.select(
        Card.id,
        Card.title,
        Card.body,
        Card.version,
        Card.board.kind.as_alias("kind"),
        Card.board.seq.as_alias("seq"),
    ).where(Card.id.is_in(card_ids))
    cards: dict[int, dict[str, Any]] = {}
    for row in rows:
        cards[row["id"]] = {
            "title": row["title"] or "",
            "texts": [row["body"] or ""],
            "platform": None,
            "category": None,
            "version": row["version"],
            "seq": row["seq"] or 0,
            "kind": row["kind"],
        }
    by_kind: dict[str, list[int]] = {}
    for card_id, card in cards.items():
        by_kind.setdefault(card["kind"], []).append(card_id)
    for name, ids in by_kind.items():
        try:
            kind = kind_of(name)
        except LookupError:
            continue
        facets = dict(kind.search_facets)
        fields = tuple(dict.fromkeys((*kind.search_fields, *facets.values())))
        if fields and kind.detail is not None:
            details = await Card.select(Card.id, *kind.joined(fields)).where(Card.id.is_in(ids))
            for detail in details:
                card = cards[detail["id"]]
                card["texts"].extend(str(detail.get(field) or "") for field in kind.search_fields)
                for facet, field in facets.items():
                    card[facet] = detail.get(field) or None
        if kind.search_texts is not None:
            for card_id, texts in (await kind.search_texts(ids)).items():
                if card_id in cards:
                    cards[card_id]["texts"].extend(texts)
    notes = await Note.select(Note.card, Note.body).where(Note.card.is_in(list(cards))).order_by(Note.id)
    for note in notes:
        cards[note["card"]]["texts"].append(note["body"] or "")
    return cards


def _document(card_id: int, card: dict[str, Any]) -> dict[str, Any]:
    """The row as shown (numbers masked): terms are added by ``_cut``."""
    raw = "\n".join(part.strip() for part in card["texts"] if part and part.strip())
    return {
        "card": card_id,
        "raw_title": card["title"],
        "raw_text": raw,
        "title": search_text.shown(card["title"])[:200],
        "text": search_text.shown(raw),
        "platform": (card["platform"] or None) and str(card["platform"])[:16],
        "category": (card["category"] or None) and str(card["category"])[:20],
        "card_version": card["version"],
        "board_seq": card["seq"],
    }


def _cut(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        document["title_terms"] = search_text.words(document.pop("raw_title"))
        document["terms"] = search_text.words(document.pop("raw_text"))


async def reindex(card_ids: Iterable[int], *, force: bool = False) -> int:
    """(Re)index these cards; returns how many rows were written (unchanged ones are not;
    ``force``: every one is cut into words again and written, as the backfill of every card
    does after the segmentation changed). A card that no longer exists leaves the index."""
    ids = sorted({int(card_id) for card_id in card_ids})
    if not ids:
        return 0
    cards = await _read(ids)
    gone = [card_id for card_id in ids if card_id not in cards]
    if gone:
        await SearchDoc.delete().where(SearchDoc.card.is_in(gone))
    stored = {}
    if not force:
        stored = {
            row["card"]: row
            for row in await SearchDoc.select(
                SearchDoc.card, SearchDoc.title, SearchDoc.text, SearchDoc.platform, SearchDoc.category
            ).where(SearchDoc.card.is_in(list(cards)))
        }
    documents = []
    for card_id, card in cards.items():
        document = _document(card_id, card)
        old = stored.get(card_id)
        if old is not None and all(old[name] == document[name] for name in ("title", "text", "platform", "category")):
            continue
        documents.append(document)
    if not documents:
        return 0
    if len(documents) >= THREAD_FROM or not search_text.is_loaded():
        # jieba's first load takes a second, a big batch a while: not on the event loop.
        await asyncio.to_thread(_cut, documents)
    else:
        _cut(documents)
    await _write(documents)
    return len(documents)


async def _write(documents: list[dict[str, Any]]) -> None:
    columns = [
        SearchDoc.title,
        SearchDoc.text,
        SearchDoc.title_terms,
        SearchDoc.terms,
        SearchDoc.platform,
        SearchDoc.category,
        SearchDoc.card_version,
        SearchDoc.board_seq,
        SearchDoc.indexed_at,
    ]
    now = datetime.now(UTC)
    # A slower run that read the card before a later write (two writes a moment apart, their
    # effects in two processes) does not overwrite what the later one's run wrote: the board's
    # sequence number decides, then the card's version (module note).
    await SearchDoc.insert(*[SearchDoc(**document, indexed_at=now) for document in documents]).on_conflict(
        target=SearchDoc.card,
        action="DO UPDATE",
        values=columns,
        where=WhereRaw(
            "search_doc.board_seq < EXCLUDED.board_seq OR (search_doc.board_seq = EXCLUDED.board_seq"
            " AND search_doc.card_version <= EXCLUDED.card_version)"
        ),
    )


async def missing(limit: int = BATCH) -> list[int]:
    """Cards not in the index yet (a demo, an upgraded install, a failed effect), oldest first."""
    rows = (
        await Card.select(Card.id)
        .where(Card.id.not_in(SearchDoc.select(SearchDoc.card)))
        .order_by(Card.id)
        .limit(limit)
    )
    return [row["id"] for row in rows]


async def backfill(batch: int = BATCH, *, everything: bool = False, limit: int | None = None, progress=None) -> int:
    """Index the cards missing from the index (``everything``: re-read every card and cut it
    into words again, changed or not, e.g. after the segmentation changed), ``batch`` at a
    time, at most ``limit`` cards (the worker's periodic run: a big upgrade is indexed over a
    few runs); returns how many rows were written."""
    written = 0
    read = 0
    after = 0
    while limit is None or read < limit:
        if everything:
            rows = await Card.select(Card.id).where(Card.id > after).order_by(Card.id).limit(batch)
            ids = [row["id"] for row in rows]
        else:
            ids = await missing(batch)
        if not ids:
            return written
        after = ids[-1]
        read += len(ids)
        done = await reindex(ids, force=everything)
        if not everything and done == 0:
            return written  # nothing of them could be indexed: do not loop on them
        written += done
        if progress is not None:
            progress(written)
    return written
