"""Triage on arrival: what the worker does with every new comment, and the rules it uses.

``triage_card(card_id)`` is the arq job's body (``workers/settings.py: triage_comment``). In
one unit of the write path, with the portal's own access, it reads the comment and stores:

- sentiment (``sentiment.analyze``) in ``sentiment_auto``, and in ``sentiment`` unless a
  person set one already;
- the topic from the category rules (the ``category_rule`` table, or the shipped defaults
  while it is empty), also added as a label when the card has room for one;
- sensitive words (the ``sensitive_word`` table, or the defaults while it is empty) with
  their spans, for highlighting, and the highest tier as the card's flag;
- the MinHash signature, and how many open comments on the board are similar (those get
  one more similar comment too);
- an assignee, when the board has an assignment cap: round robin among the members on duty;
- ``triaged_at``, the ``comment.triaged`` event, the tiles for the board's viewers, and for a
  较大 / 重大 flag a notification to the board's managers (重大 also to its group robots).

It is idempotent: a card triaged before is left alone, so the job running twice changes and
notifies nothing more (the notifications also carry a dedupe key per card and manager).

Words and rules are compiled once per version into an Aho–Corasick automaton
(``matching.build`` / ``build_rules``); the version is read with one aggregate query, and
changes delete and insert rows rather than update them, so that every change moves it.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from piccolo.query.functions.aggregate import Count, Max
from pydantic import Field, field_validator

from portal.accounts.tables import Role
from portal.boards import services as boards
from portal.boards.access import BoardAccess, system_access
from portal.boards.tables import Board, BoardMember, BoardRole
from portal.cards import services as cards
from portal.cards.kinds import kind_of
from portal.cards.tables import Card
from portal.comments import matching, similar
from portal.comments import sentiment as sentiment_analysis
from portal.comments.matching import Hit, Tier
from portal.comments.tables import CategoryRule, CommentDetail, SensitiveWord, SentimentCorrection
from portal.core.choices import SENTIMENTS
from portal.core.errors import Conflict, FormError, NotFound, PermissionDenied
from portal.core.labels import mask_numbers
from portal.core.schemas import Input
from portal.events.kinds import EventKind
from portal.events.outbox import Effect
from portal.events.tables import Event
from portal.events.unit import BoardWrite, board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.live import effects as live_effects
from portal.notifications import services as notifications

KIND = "comments"
MAX_LABELS = 8  # as the card's own input allows (portal.cards.schemas)
FLAGGING = (Tier.serious, Tier.major)  # tiers that notify the managers at once
RECENT_TRIAGES = 50  # events searched for the last automatic assignee (round robin)
INDEX_RESYNC_SECONDS = 300  # a board's similar-comment index is rebuilt from the table this often
IMPORT_MAX_BYTES = 1_000_000
IMPORT_MAX_LINES = 5000
TIER_LABELS = {
    Tier.general: _l("General"),
    Tier.serious: _l("Serious"),
    Tier.major: _l("Major"),
}


def tier_label(value: str | None) -> str:
    try:
        return str(TIER_LABELS[Tier.parse(value or "")])
    except ValueError:
        return ""


def comment_text(card: dict[str, Any]) -> str:
    """What a comment says: its body, with the title in front unless the body already starts
    with it (intake and imports use the text's beginning as the title)."""
    title, body = (card.get("title") or "").strip(), (card.get("body") or "").strip()
    if not body:
        return title
    if not title or body.startswith(title.rstrip("…. ")):
        return body
    return f"{title}\n{body}"


# The words and the rules ------------------------------------------------------------------


async def _version(table: type) -> tuple[Any, ...]:
    """Moves with every change: rows are only inserted and deleted, never updated."""
    row = await table.select(
        Count(alias="n"), Max(table.id, alias="top"), Max(table.created_at, alias="latest")
    ).first()
    row = row or {}
    return (row.get("n") or 0, row.get("top") or 0, str(row.get("latest") or ""))


async def sensitive_words() -> matching.SensitiveWords:
    """The words in the table, or the shipped defaults while it is empty."""
    version = await _version(SensitiveWord)
    if version[0] == 0:
        return matching.default_sensitive_words()
    found = matching.cached(version)
    if found is not None:
        return found
    rows = await SensitiveWord.select(SensitiveWord.word, SensitiveWord.tier)
    return matching.build([(row["word"], row["tier"]) for row in rows], version=version)


async def category_rules() -> matching.CategoryRules:
    """The active rules in the table (in priority order), or the defaults while it is empty."""
    version = await _version(CategoryRule)
    if version[0] == 0:
        return matching.default_category_rules()
    found = matching.cached_rules(version)
    if found is not None:
        return found
    rows = (
        await CategoryRule.select(CategoryRule.category, CategoryRule.keywords, CategoryRule.priority)
        .where(CategoryRule.active == True)  # noqa: E712
        .order_by(CategoryRule.priority, ascending=False)
        .order_by(CategoryRule.id)
        .output(load_json=True)
    )
    return matching.build_rules(
        [(row["category"], row["keywords"] or [], row["priority"]) for row in rows], version=version
    )


# Similar comments: one index per board, in the worker process ------------------------------


@dataclass
class _BoardIndex:
    index: similar.SimilarIndex = field(default_factory=similar.SimilarIndex)
    loaded_up_to: int = 0  # the highest card id read from the table
    built_at: float = 0.0


_indexes: dict[int, _BoardIndex] = {}


def _open_comments(board_id: int):
    return (
        (Card.board == board_id)
        & (Card.archived == False)  # noqa: E712
        & (Card.column.meaning != "done")
    )


async def _signatures(board_id: int, after_id: int = 0) -> list[dict[str, Any]]:
    join = Card.id.join_on(CommentDetail.card)
    return (
        await Card.select(Card.id, join.signature.as_alias("signature"))
        .where(_open_comments(board_id) & (Card.id > after_id) & (join.signature != ""))
        .order_by(Card.id)
    )


async def _board_index(board_id: int) -> similar.SimilarIndex:
    """The board's index, rebuilt from the stored signatures when this process has none (or
    every few minutes, to forget closed comments), topped up with the cards other workers
    triaged since."""
    entry = _indexes.get(board_id)
    full = entry is None or time.monotonic() - entry.built_at > INDEX_RESYNC_SECONDS
    rows = await _signatures(board_id, 0 if full else entry.loaded_up_to)
    if full:
        entry = _indexes[board_id] = _BoardIndex(built_at=time.monotonic())
    for row in rows:
        try:
            entry.index.add_signature(row["id"], bytes.fromhex(row["signature"]))
        except ValueError:
            continue  # a signature of another version or length: compared with nothing
        entry.loaded_up_to = max(entry.loaded_up_to, row["id"])
    return entry.index


async def _still_open(card_ids: list[int], board_id: int) -> list[int]:
    if not card_ids:
        return []
    rows = await Card.select(Card.id).where(_open_comments(board_id) & Card.id.is_in(card_ids))
    return [row["id"] for row in rows]


# Automatic assignment ---------------------------------------------------------------------


async def _next_assignee(board_id: int, cap: int) -> int | None:
    """Round robin among the board's members on duty (board role member; no liaisons or
    viewers) who hold fewer than ``cap`` open cards on the board; the turn passes on from
    whoever the last automatic assignment went to."""
    members = await (
        BoardMember.select(BoardMember.user)
        .where(
            (BoardMember.board == board_id)
            & (BoardMember.role == BoardRole.member)
            & (BoardMember.on_duty == True)  # noqa: E712
            & (BoardMember.user.active == True)  # noqa: E712
            & BoardMember.user.role.not_in([Role.liaison, Role.viewer])
        )
        .order_by(BoardMember.user)
    )
    people = [row["user"] for row in members]
    if not people:
        return None
    held: dict[int, int] = {person: 0 for person in people}
    for row in await Card.select(Card.assignee).where(_open_comments(board_id) & Card.assignee.is_in(people)):
        held[row["assignee"]] += 1
    events = (
        await Event.select(Event.payload)
        .where((Event.board_id == board_id) & (Event.verb == str(EventKind.comment_triaged)))
        .order_by(Event.id, ascending=False)
        .limit(RECENT_TRIAGES)
        .output(load_json=True)
    )
    last = next((event["payload"].get("assignee") for event in events if event["payload"].get("assignee")), None)
    if last in people:
        start = people.index(last) + 1
    else:  # nobody yet, or the last one left the rota: the next one by id
        start = next((index for index, person in enumerate(people) if last is not None and person > last), 0)
    order = people[start:] + people[:start]
    return next((person for person in order if held[person] < cap), None)


# The job ------------------------------------------------------------------------------------


@dataclass
class Triage:
    card_id: int
    topic: str | None
    sentiment: str
    flag_tier: str | None
    words: list[str]
    assignee: int | None
    similar: list[int]
    notified: list[int]


def _departments(card: dict[str, Any]) -> list[int]:
    return [d for d in [card.get("department"), *(card.get("assisting_departments") or [])] if d is not None]


async def triage_card(card_id: int) -> Triage | None:
    """Triage one new comment (see the module's note); None when there is nothing to do: no
    such open comment, or it was triaged before."""
    row = await Card.select(Card.board, Card.board.kind.as_alias("kind")).where(Card.id == card_id).first()
    if row is None or row["kind"] != KIND:
        return None
    access = await system_access(row["board"])
    words, rules = await sensitive_words(), await category_rules()
    try:
        card = await cards.get_card(access, card_id)
    except NotFound:
        return None
    if card.get("triaged_at") is not None:
        return None
    # The reading (jieba's first load takes a second) happens before the board is locked.
    text = comment_text(card)
    analysis, topic, hits, sketch = _read(text, words, rules)
    async with board_write(access.board_id, None) as unit:
        try:
            card = await cards.get_card(access, card_id)  # re-read under the board's lock
        except NotFound:
            return None  # archived meanwhile
        if card.get("triaged_at") is not None:
            return None
        if comment_text(card) != text:  # edited meanwhile: read what it says now
            text = comment_text(card)
            analysis, topic, hits, sketch = _read(text, words, rules)
        tier = matching.highest_tier(hit.tier for hit in hits)
        index = await _board_index(access.board_id)
        candidates = [key for key, _score in index._similar(sketch, 50, card_id)]  # noqa: SLF001
        resembles = await _still_open(candidates, access.board_id)
        for gone in set(candidates) - set(resembles):
            index.remove(gone)
        now = datetime.now(UTC)
        detail: dict[str, Any] = {
            "sentiment_auto": analysis.label,
            "topic": topic,
            "flag_tier": str(tier) if tier else None,
            "flag_words": [{"start": h.start, "end": h.end, "word": h.word, "tier": str(h.tier)} for h in hits],
            "signature": similar.to_signature(sketch).hex(),
            "similar_count": len(resembles),
            "triaged_at": now,
        }
        if not card.get("sentiment"):
            detail["sentiment"] = analysis.label
        common: dict[Any, Any] = {}
        labels = list(card.get("labels") or [])
        if topic and topic not in labels and len(labels) < MAX_LABELS:
            common[Card.labels] = [*labels, topic]
        assignee = None
        cap = (await Board.select(Board.assign_cap).where(Board.id == access.board_id).first() or {}).get("assign_cap")
        if cap and card.get("assignee") is None:
            assignee = await _next_assignee(access.board_id, cap)
            if assignee is not None:
                common[Card.assignee] = assignee
        await kind_of(KIND).update_detail(card_id, detail)
        if resembles:
            await CommentDetail.update({CommentDetail.similar_count: CommentDetail.similar_count + 1}).where(
                CommentDetail.card.is_in(resembles)
            )
        # The card changed under anyone who has it open: their next save sees a new version.
        await Card.update({**common, Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card_id)
        unit.record(
            EventKind.comment_triaged,
            "card",
            card_id,
            {
                "topic": topic,
                "sentiment": detail.get("sentiment", card.get("sentiment")),
                "flag_tier": detail["flag_tier"],
                "words": list(dict.fromkeys(hit.word for hit in hits)),
                "assignee": assignee,
                "similar": len(resembles),
            },
        )
        notified = await _flag(unit, access, card, text, tier) if tier in FLAGGING else []
        departments = _departments(card)
        unit.after_commit(live_effects.cards_changed(access.board_id, [card_id], departments, departments, KIND))
        if resembles:
            # Their "similar" count changed; their departments are their own (one more read).
            others = (
                await Card.select(Card.id, Card.department, Card.assisting_departments)
                .where(Card.id.is_in(resembles))
                .output(load_json=True)
            )
            for other in others:
                routed = _departments(other)
                unit.after_commit(live_effects.cards_changed(access.board_id, [other["id"]], routed, routed, KIND))
        index.add_signature(card_id, similar.to_signature(sketch))
    return Triage(card_id, topic, detail.get("sentiment", card.get("sentiment")), detail["flag_tier"],
                  [hit.word for hit in hits], assignee, resembles, notified)  # fmt: skip


def _read(text: str, words: matching.SensitiveWords, rules: matching.CategoryRules):
    return sentiment_analysis.analyze(text), rules.classify(text), words.find(text), similar.minhash(text)


async def _flag(unit: BoardWrite, access: BoardAccess, card: dict[str, Any], text: str, tier: Tier) -> list[int]:
    """较大 / 重大: the managers who may see the card are told at once (bell, e-mail per their
    settings), once per card; 重大 also goes to the board's group robots."""
    card_id = card["id"]
    # Bells, e-mail and group robots never carry a citizen's phone or ID number.
    title = _("Sensitive comment (%(tier)s): “%(title)s”", tier=tier.zh, title=mask_numbers(card["title"])[:60])
    text = mask_numbers(text)
    link = f"/boards/{access.board_id}?card={card_id}"
    ids, users = [], []
    for user_id in await boards.card_managers(card_id):
        notification_id = await notifications.notify(
            user_id, "escalation", title, f"triage:{card_id}:{user_id}", body=text[:300], link=link, card_id=card_id
        )
        if notification_id is not None:
            ids.append(notification_id)
            users.append(user_id)
    unit.after_commit(*notifications.delivery_effects(ids, users))
    if tier == Tier.major:
        unit.after_commit(
            Effect(
                "robots", {"board_id": access.board_id, "key": f"triage:{card_id}", "text": f"{title}\n{text[:200]}"}
            )
        )
    return users


# The drawer's triage section ----------------------------------------------------------------


async def triage_section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """What the drawer shows: the text with its sensitive words marked, the tier, the topic,
    the similar open comments this viewer may see, and the sentiment (automatic and current)."""
    card = await cards.get_card(access, card_id)
    if access.board_kind != KIND:
        raise NotFound
    text = comment_text(card)
    hits = []
    for word in card.get("flag_words") or []:
        try:
            hits.append(Hit(int(word["start"]), int(word["end"]), str(word["word"]), Tier.parse(word["tier"])))
        except (KeyError, TypeError, ValueError):
            continue
    return {
        "card": card,
        "access": access,
        "segments": matching.highlight(text, hits),
        "tier_label": tier_label(card.get("flag_tier")),
        "similar_cards": await _similar_cards(access, card),
        "corrections": await SentimentCorrection.count().where(SentimentCorrection.card == card_id),
        "sentiments": SENTIMENTS.options(),
    }


async def _similar_cards(access: BoardAccess, card: dict[str, Any]) -> list[dict[str, Any]]:
    """The open comments similar to this one, from the stored signatures: only cards counted
    as similar to something (similar_count > 0) can be, so few are compared."""
    if not card.get("signature") or not card.get("similar_count"):
        return []
    try:
        mine = similar.from_signature(bytes.fromhex(card["signature"]))
    except ValueError:
        return []
    join = Card.id.join_on(CommentDetail.card)
    rows = (
        await Card.select(
            Card.id,
            Card.title,
            Card.department,
            Card.assisting_departments,
            Card.board,
            join.signature.as_alias("signature"),
        )
        .where(_open_comments(access.board_id) & (Card.id != card["id"]) & (join.similar_count > 0))
        .output(load_json=True)
    )
    found = []
    for row in rows:
        try:
            score = float(similar.from_signature(bytes.fromhex(row["signature"] or "")).jaccard(mine))
        except ValueError:
            continue
        if score >= similar.THRESHOLD and access.can_see_card(row):
            found.append({"id": row["id"], "title": row["title"], "score": score})
    found.sort(key=lambda item: (-item["score"], item["id"]))
    return found[:20]


class SentimentInput(Input):
    sentiment: SENTIMENTS.literal()  # type: ignore[valid-type]
    version: int | None = None

    messages = {"sentiment": _l("Choose a sentiment.")}


async def correct_sentiment(access: BoardAccess, card_id: int, form: SentimentInput) -> None:
    """A person's sentiment replaces the analyser's on the card; the correction is kept
    (text, automatic, corrected, who) to measure the analyser and to teach it."""
    access.require_edit()
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.get_card(access, card_id)
        if access.board_kind != KIND:
            raise NotFound
        if form.version is not None and form.version != card["version"]:
            raise Conflict(_("This comment changed a moment ago; here it is as it is now."))
        if card.get("sentiment") == form.sentiment:
            raise FormError({"sentiment": _("Nothing was changed.")})
        now = datetime.now(UTC)
        await kind_of(KIND).update_detail(card_id, {"sentiment": form.sentiment})
        await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card_id)
        await SentimentCorrection.insert(
            SentimentCorrection(
                card=card_id,
                text=comment_text(card),
                automatic=card.get("sentiment_auto"),
                corrected=form.sentiment,
                corrected_by=access.user.id,
            )
        )
        unit.record(
            EventKind.comment_sentiment_corrected,
            "card",
            card_id,
            {"automatic": card.get("sentiment_auto"), "corrected": form.sentiment},
        )
        departments = _departments(card)
        unit.after_commit(live_effects.cards_changed(access.board_id, [card_id], departments, departments, KIND))


# Sensitive words (admins) -------------------------------------------------------------------


def _tier(value: Any) -> str:
    try:
        return str(Tier.parse(str(value)))
    except ValueError:
        raise ValueError(_("Choose a tier: general, serious or major (一般, 较大, 重大).")) from None


class SensitiveWordInput(Input):
    word: Annotated[str, Field(min_length=1, max_length=40)]
    tier: str

    messages = {"word": _l("Enter a word of at most 40 characters."), "tier": _l("Choose a tier.")}

    @field_validator("tier", mode="before")
    @classmethod
    def _tier(cls, value: Any) -> str:
        return _tier(value)


def _require_admin(user: Any) -> None:
    if user is None or not user.is_admin:
        raise PermissionDenied


async def list_words(tier: str = "", q: str = "") -> list[dict[str, Any]]:
    query = SensitiveWord.select(
        SensitiveWord.id, SensitiveWord.word, SensitiveWord.tier, SensitiveWord.created_at
    ).order_by(SensitiveWord.word)
    if tier in set(Tier):
        query = query.where(SensitiveWord.tier == tier)
    if q:
        query = query.where(SensitiveWord.word.ilike("%" + q.replace("%", "").replace("_", "") + "%"))
    return await query


async def words_page(tier: str = "", q: str = "") -> dict[str, Any]:
    return {
        "words": await list_words(tier, q),
        "total": await SensitiveWord.count(),
        "defaults": len(matching.default_sensitive_words()),
        "corrections": await SentimentCorrection.count(),
        "tiers": [(str(value), str(label)) for value, label in TIER_LABELS.items()],
        "tier": tier,
        "q": q,
    }


async def add_word(user: Any, form: SensitiveWordInput) -> dict[str, Any]:
    """One word; Conflict when it (or a spelling that matches the same) is listed already."""
    _require_admin(user)
    key = matching.normalize(form.word)
    existing = await SensitiveWord.select(SensitiveWord.word)
    if any(matching.normalize(row["word"]) == key for row in existing):
        raise Conflict(_("“%(word)s” is already in the list.", word=form.word))
    rows = await SensitiveWord.insert(SensitiveWord(word=form.word, tier=form.tier, created_by=user.id)).returning(
        SensitiveWord.id, SensitiveWord.word, SensitiveWord.tier
    )
    return rows[0]


async def delete_word(user: Any, word_id: int) -> None:
    _require_admin(user)
    await SensitiveWord.delete().where(SensitiveWord.id == word_id)


@dataclass
class ImportResult:
    added: int = 0
    replaced: int = 0


class ImportLinesError(Exception):
    """Lines that are not ``word,tier``: nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def decode_upload(data: bytes) -> str:
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportLinesError([_("The file is larger than 1 MB.")])
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportLinesError([_("The file is not UTF-8 or GBK text.")])


HEADER_WORDS = {"word", "words", "词", "敏感词", "词语"}


def parse_word_lines(text: str) -> list[tuple[str, str]]:
    """``word,tier`` (or tab-separated) lines; a header line, blank lines and # comments are
    skipped. Every bad line is reported (ImportLinesError) and then nothing is taken."""
    pairs: dict[str, tuple[str, str]] = {}
    errors: list[str] = []
    lines = text.splitlines()
    if len(lines) > IMPORT_MAX_LINES:
        raise ImportLinesError([_("At most %(count)s lines at a time.", count=IMPORT_MAX_LINES)])
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        delimiter = "\t" if "\t" in line else ","
        row = next(csv.reader(io.StringIO(line.replace("，", ",")), delimiter=delimiter))
        fields = [value.strip() for value in row]
        fields = [value for value in fields if value] if len(fields) > 2 else fields
        if len(fields) != 2 or not fields[0]:
            if not pairs and not errors and fields and fields[0].lower() in HEADER_WORDS:
                continue
            errors.append(_("Line %(number)s: write a word, a comma and a tier.", number=number))
            continue
        word, tier = fields
        if not pairs and not errors and word.lower() in HEADER_WORDS:
            continue
        if len(word) > 40:
            errors.append(_("Line %(number)s: the word is longer than 40 characters.", number=number))
            continue
        try:
            pairs[matching.normalize(word)] = (word, _tier(tier))
        except ValueError:
            errors.append(
                _("Line %(number)s: “%(tier)s” is not a tier (general, serious, major).", number=number, tier=tier)
            )
    if errors:
        raise ImportLinesError(errors)
    if not pairs:
        raise ImportLinesError([_("The file has no words.")])
    return list(pairs.values())


async def import_words(user: Any, text: str) -> ImportResult:
    """All lines or none: a word listed already takes the tier from the file."""
    from portal.db import write_transaction

    _require_admin(user)
    pairs = parse_word_lines(text)
    result = ImportResult()
    async with write_transaction():
        existing = {
            matching.normalize(row["word"]): row["id"]
            for row in await SensitiveWord.select(SensitiveWord.id, SensitiveWord.word)
        }
        replaced = [existing[matching.normalize(word)] for word, _tier in pairs if matching.normalize(word) in existing]
        if replaced:
            # Deleted and inserted again rather than updated: the version the cache goes by moves.
            await SensitiveWord.delete().where(SensitiveWord.id.is_in(replaced))
        await SensitiveWord.insert(*[SensitiveWord(word=word, tier=tier, created_by=user.id) for word, tier in pairs])
        result.replaced = len(replaced)
        result.added = len(pairs) - len(replaced)
    return result


# Category rules (admins) ---------------------------------------------------------------------


class CategoryRuleInput(Input):
    category: Annotated[str, Field(min_length=1, max_length=20)]
    keywords: list[str]
    priority: Annotated[int, Field(ge=-100, le=100)] = 0

    messages = {
        "category": _l("Enter a category of at most 20 characters."),
        "keywords": _l("Enter at least one keyword, separated by commas."),
        "priority": _l("Enter a whole number from -100 to 100."),
    }

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        words = [word.strip() for item in items for word in matching._KEYWORD_SEPARATORS.split(str(item))]  # noqa: SLF001
        words = list(dict.fromkeys(word for word in words if word))
        if not words or any(len(word) > 40 for word in words):
            raise ValueError(_("Enter at least one keyword, separated by commas."))
        return words


async def rules_page() -> dict[str, Any]:
    rules = (
        await CategoryRule.select(CategoryRule.id, CategoryRule.category, CategoryRule.keywords, CategoryRule.priority)
        .order_by(CategoryRule.priority, ascending=False)
        .order_by(CategoryRule.id)
        .output(load_json=True)
    )
    return {"rules": rules, "defaults": matching.default_category_rule_list()}


async def add_rule(user: Any, form: CategoryRuleInput) -> None:
    _require_admin(user)
    await CategoryRule.insert(CategoryRule(category=form.category, keywords=form.keywords, priority=form.priority))


async def delete_rule(user: Any, rule_id: int) -> None:
    _require_admin(user)
    await CategoryRule.delete().where(CategoryRule.id == rule_id)


# Duty and the assignment cap (board managers) ------------------------------------------------


class AssignCapInput(Input):
    assign_cap: Annotated[int, Field(ge=1, le=999)] | None = None

    messages = {"assign_cap": _l("Enter a whole number from 1 to 999, or leave it empty for no automatic assignment.")}


async def duty_context(access: BoardAccess) -> dict[str, Any]:
    access.require_manage()
    members = await (
        BoardMember.select(
            BoardMember.role,
            BoardMember.on_duty,
            BoardMember.user.id.as_alias("user_id"),
            BoardMember.user.display_name.as_alias("display_name"),
            BoardMember.user.role.as_alias("user_role"),
        )
        .where(BoardMember.board == access.board_id)
        .order_by(BoardMember.id)
    )
    for member in members:
        member["assignable"] = member["role"] == BoardRole.member and member["user_role"] not in (
            Role.liaison,
            Role.viewer,
        )
    board = await Board.select(Board.assign_cap).where(Board.id == access.board_id).first()
    return {"board_id": access.board_id, "members": members, "assign_cap": board["assign_cap"], "errors": {}}


async def set_duty(access: BoardAccess, user_id: int, on_duty: bool) -> None:
    """值班 on or off for one member: whether automatic assignment gives her work."""
    access.require_manage()
    async with board_write(access.board_id, access.user.id) as unit:
        member = (
            await BoardMember.select(BoardMember.id, BoardMember.role, BoardMember.on_duty)
            .where((BoardMember.board == access.board_id) & (BoardMember.user == user_id))
            .first()
        )
        if member is None:
            raise NotFound
        if member["on_duty"] == on_duty:
            return  # nothing happened: the unit records nothing and gives its number back
        await BoardMember.update({BoardMember.on_duty: on_duty}).where(BoardMember.id == member["id"])
        # The membership changed (its duty switch): recorded as the member's setting.
        unit.record(EventKind.member_set, "user", user_id, {"role": member["role"]})


async def set_assign_cap(access: BoardAccess, cap: int | None) -> None:
    """The most open cards automatic assignment gives one person; None turns it off."""
    access.require_manage()
    async with board_write(access.board_id, access.user.id):
        await Board.update({Board.assign_cap: cap}).where(Board.id == access.board_id)
        # No event kind describes a board's own setting yet (portal/events/kinds.py is not the
        # comments workflow's to extend), so this write records none: the unit gives its
        # sequence number back and nothing is published.
