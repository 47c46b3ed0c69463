"""Card kinds: what a comment, an inquiry or a campaign adds to the common card.

Every card has the common fields (``portal.cards.tables.Card``: board, column, position,
title, body, priority, labels, assignee, routing to departments, deadline fields, version,
archived, who and when). A kind — one package each: ``portal.comments``,
``portal.inquiries``, ``portal.campaigns`` — adds:

- its own detail table (one row per card) and, later, child tables;
- its typed input (a ``CardInput`` subclass: the drawer's form and the JSON API);
- its default columns and the deadline clocks (stages) that run in them;
- its partials: the form's fields, the tile's line, the drawer's facts, the board filters;
- hooks for what only it knows (a campaign is due at its own end; an inquiry masks the
  citizen's number for those who may not see it);
- its demo content, as a data file.

Kinds are registered in one place, ``portal.kinds``. Board-generic code (boards, cards,
live, sla, reminders) asks ``kind_of(board_kind)`` and never branches on a kind's name.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from piccolo.columns import JSON

if TYPE_CHECKING:
    from piccolo.table import Table

    from portal.boards.access import BoardAccess
    from portal.cards.schemas import CardInput
    from portal.core.choices import Choices


@dataclass(frozen=True)
class ColumnSpec:
    """A default column: its stable key, its Chinese name (people rename columns freely) and
    its meaning (new, working, waiting, done), which generic code reads."""

    key: str
    name: str
    meaning: str


@dataclass(frozen=True)
class ClockSpec:
    """A default deadline policy for one of the kind's stages."""

    stage: str
    amount: int
    mode: str  # a portal.sla.calendar.DurationMode value
    category: str = ""  # for one category only ("" = any)


@dataclass(frozen=True)
class CardKind:
    name: str  # the board kind: stored on boards, used in the API
    label: Any  # what people call it (a lazily translated string)
    columns: tuple[ColumnSpec, ...]
    input_model: type[CardInput]
    detail: type[Table] | None = None  # one row per card, holding the kind's own fields
    tables: tuple[type[Table], ...] = ()  # the kind's other tables (replies, dispatches …)
    # Deadline stages in the order they follow each other (reaching a later one completes the
    # earlier ones); the first starts at the message's receipt time.
    stages: tuple[str, ...] = ()
    stage_by_column_key: Mapping[str, str] = field(default_factory=dict)
    stage_by_meaning: Mapping[str, str] = field(default_factory=dict)  # columns a manager added
    completed_by_column_key: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # A card sent back to a stage whose work was done (an inquiry's 退单 or 审核退回) runs
    # that stage's clock again from the return; otherwise a done stage stays done.
    restart_on_return: bool = False
    # Leaving these columns for an earlier, open one is a reopening (重办: a new round of
    # clocks, counted), as leaving a done column always is.
    reopening_from: frozenset[str] = frozenset()
    clocks: tuple[ClockSpec, ...] = ()
    categories: Choices | None = None  # what deadline policies may be specific to
    # Do its cards count as cases in the dashboard's figures (received, on time, overdue, 三率)?
    # An incident (舆情事件) runs clocks but is not a citizen's case: it sets this False.
    counted_in_figures: bool = True
    # The detail field that holds the card's category for its clocks (an incident's level).
    category_field: str = "category"
    # Partials (paths under templates/): the form's kind fields, the tile's line, the
    # drawer's facts, the board's extra filters. None: nothing of the kind's own.
    fields_partial: str | None = None
    tile_partial: str | None = None
    drawer_partial: str | None = None
    sections_partial: str | None = None  # the kind's sections under the drawer's form (replies …)
    tools_partial: str | None = None  # the kind's buttons in the board's header (import …)
    # A bar of the kind's own between the header and the filters (comments: bulk actions),
    # part of the page as it is served so that the board does not jump once it has loaded.
    bar_partial: str | None = None
    filters_partial: str | None = None
    tile_fields: tuple[str, ...] = ()  # detail fields the tile (and its filters) need
    filterable: tuple[str, ...] = ()  # detail fields the board filters by equality
    searchable: tuple[str, ...] = ()  # detail text fields the board's search box also reads
    clock_fields: tuple[str, ...] = ()  # detail fields the deadline clocks read on a move
    # Full-text search (portal.search): the detail text fields it reads besides title and body
    # (an author, a citizen's name, an answer); which detail fields are the card's platform and
    # category for its filters ({"platform": "channel"}); the text of the kind's other tables
    # (a comment's replies): (card ids) -> {card id: [texts]}.
    search_fields: tuple[str, ...] = ()
    search_facets: Mapping[str, str] = field(default_factory=dict)
    search_texts: Callable[[list[int]], Awaitable[dict[int, list[str]]]] | None = None
    # A clock of the kind's own instead of stage clocks (a campaign is due at its end):
    # (card, column, now) -> the card's clock fields (due_stage, stage_started_at, due_at,
    # due_mode), or None for no clock in that column.
    own_clock: Callable[[Mapping[str, Any], Mapping[str, Any], datetime], dict[str, Any] | None] | None = None
    # Common fields a change of the kind's fields implies: (the stored card, the changes) ->
    # ({"ends_at": …} -> {"due_at": …}).
    implied: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]] | None = None
    # The kind's own writes after an edit, inside the edit's unit (a campaign's template tasks
    # follow its new dates): (unit, access, the card as it was, the changes) -> None.
    on_updated: Callable[..., Awaitable[None]] | None = None
    # Effects to run after a new card of this kind commits (a comment's triage), whoever made
    # it: the drawer, the API, intake or an import. (card_id) -> outbox effects.
    created_effects: Callable[[int], list[Any]] | None = None
    # The kind's rule for a move (a drag, the API's move): inside the move's unit, before
    # the move, (unit, access, card, source column, target column) -> raise Conflict for a
    # move the kind forbids, or do the kind's own writes of the step the move stands for;
    # returns the card's changed fields (the move then reads them), or None.
    on_move: Callable[..., Awaitable[dict[str, Any] | None]] | None = None
    # Which changes of an edit the kind allows now: (access, card, changes) -> raise FormError
    # naming the field for one it does not (an inquiry's answer once approved, its routing
    # once dispatched: those go through the loop's actions).
    on_update: Callable[..., Awaitable[None]] | None = None
    # The kind's own writes for a new card, inside the create's unit (a campaign's task
    # checklist from its format's plan template): (unit, access, card_id, fields) -> None.
    on_created: Callable[..., Awaitable[None]] | None = None
    # The kind's rule for archiving a card, inside the archive's unit: (unit, access, card) ->
    # raise Conflict to refuse (an incident is closed only once its review is written).
    on_archive: Callable[..., Awaitable[None]] | None = None
    # Whether the worker archives this kind's cards once closed for the board's setting
    # (portal.cards.services.archive_closed_cards): the high-volume streams (comments,
    # inquiries) yes; a campaign stays where its review is, an incident closes by its review.
    auto_archive: bool = True
    # Which columns a new card may be created in: (access, column) -> raise Conflict if not.
    on_create: Callable[[BoardAccess, Mapping[str, Any]], None] | None = None
    # Hide what this viewer may not see, in place, before any template sees the card.
    conceal: Callable[[BoardAccess, dict[str, Any]], None] | None = None
    # On a save, (the stored card, the fields sent) -> the fields to write: puts back what
    # ``conceal`` masked where a form sends it back unchanged (a number in an inquiry's text).
    unconceal: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    # Attachments holding citizen materials (an inquiry's 发票, 病历): (access, card) -> may this
    # viewer open them? None: the card's attachments are as visible as the card. With a hook,
    # every download is audited (portal.attachments.services).
    private_materials: Callable[[BoardAccess, dict[str, Any]], bool] | None = None
    # What on a card of this kind a file may be attached to besides the card and its notes
    # (portal.attachments.targets): (card_id) -> [(type, id, label)], e.g. a comment's replies.
    attachment_targets: Callable[[int], Awaitable[list[tuple[str, int, str]]]] | None = None
    demo_file: str | None = None  # a JSON file in the kind's package: its demo cards
    # What a demo card of this kind has besides its fields (an inquiry's steps so far):
    # (card_id, board_id, column, fields, users, departments, arrived, now) -> None.
    demo_card: Callable[..., Awaitable[None]] | None = None

    @property
    def detail_fields(self) -> tuple[str, ...]:
        if self.detail is None:
            return ()
        return tuple(
            column._meta.name for column in self.detail._meta.columns if column._meta.name not in ("id", "card")
        )

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the kind's input carries beyond the common card's."""
        from portal.cards.schemas import CardInput

        return tuple(name for name in self.input_model.model_fields if name not in CardInput.model_fields)

    def stage_for(self, column_key: str, column_meaning: str) -> str | None:
        if column_meaning == "done":
            return None
        if column_key in self.stage_by_column_key:
            return self.stage_by_column_key[column_key]
        return self.stage_by_meaning.get(column_meaning)

    def split(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Input fields as (common card columns, detail columns)."""
        own = set(self.detail_fields)
        common = {name: value for name, value in fields.items() if name not in own}
        detail = {name: value for name, value in fields.items() if name in own}
        return common, detail

    # Reading and writing the detail row ------------------------------------------------

    def joined(self, only: Iterable[str] | None = None, prefix: str = "") -> list[Any]:
        """The detail fields as columns of a ``Card.select`` (a LEFT JOIN on the detail table):
        a card's kind fields come in the same statement as its common ones."""
        if self.detail is None:
            return []
        from portal.cards.tables import Card

        names = tuple(only) if only is not None else self.detail_fields
        join = Card.id.join_on(self.detail.card)
        return [getattr(join, name).as_alias(prefix + name) for name in names]

    def defaults(self, row: dict[str, Any], only: Iterable[str] | None = None) -> dict[str, Any]:
        """A card from before its kind had a detail row reads the columns' defaults, not NULLs."""
        if self.detail is None:
            return row
        names = tuple(only) if only is not None else self.detail_fields
        for name in names:
            if row.get(name) is None:
                default = self.default(name)
                if default is not None:
                    row[name] = default
        return row

    def default(self, name: str) -> Any:
        """A detail field's default as a value (a JSON column's default is its JSON text)."""
        column = getattr(self.detail, name)
        default = column.get_default_value()
        if isinstance(column, JSON) and isinstance(default, str):
            return json.loads(default)
        return default

    async def insert_detail(self, card_id: int, values: Mapping[str, Any]) -> None:
        if self.detail is not None:
            await self.detail.insert(self.detail(card=card_id, **values))

    async def update_detail(self, card_id: int, values: Mapping[str, Any]) -> None:
        if self.detail is None or not values:
            return
        table = self.detail
        updated = (
            await table.update({getattr(table, name): value for name, value in values.items()})
            .where(table.card == card_id)
            .returning(table.id)
        )
        if not updated:  # a card from before its kind had a detail row
            await self.insert_detail(card_id, values)

    def where(self, name: str, value: Any):
        """A filter on a detail field, as a condition on the card (``Card.id IN (…)``)."""
        from portal.cards.tables import Card

        table = self.detail
        return Card.id.is_in(table.select(table.card).where(getattr(table, name) == value))


_KINDS: dict[str, CardKind] = {}


def register(kind: CardKind) -> CardKind:
    _KINDS[kind.name] = kind
    return kind


def _loaded() -> dict[str, CardKind]:
    if not _KINDS:
        # The kinds register themselves when their one registry module is imported.
        importlib.import_module("portal.kinds")
    return _KINDS


def kind_of(name: str) -> CardKind:
    try:
        return _loaded()[name]
    except KeyError:
        raise LookupError(f"no card kind {name!r} is registered") from None


def all_kinds() -> list[CardKind]:
    return list(_loaded().values())


def is_kind(name: Any) -> bool:
    return isinstance(name, str) and name in _loaded()


def kind_label(name: str | None) -> str:
    """The kind's name in the active language (the code itself for an unknown one)."""
    kind = _loaded().get(name or "")
    return str(kind.label) if kind else (name or "")


def kind_options() -> list[tuple[str, str]]:
    """(name, label) of every kind, in registration order, for <select>."""
    return [(kind.name, str(kind.label)) for kind in all_kinds()]


def _install_template_global() -> None:
    """Templates ask ``card_kind(board.kind)`` for the kind's partials (a tile's line, the
    form's fields); registered here, where kinds live, since core knows no domain."""
    from portal.core.templating import environment

    environment().globals.update(card_kind=kind_of, kind_label=kind_label, kind_options=kind_options)


_install_template_global()
