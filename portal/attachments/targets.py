"""What on a card a file may be attached to besides the card itself: its internal notes
(every kind) and what its kind adds through ``CardKind.attachment_targets`` (a comment's
replies, an inquiry's steps). A target is named ``"note:12"`` in forms and the API; the
attachment keeps its type and id (``Attachment.target_type``, ``target_id``), and the card's
attachments section says what each file is attached to.

The labels are short excerpts with any phone or ID number masked: they are shown to every
viewer of the card, whatever that viewer may reveal."""

from __future__ import annotations

from dataclasses import dataclass

from portal.cards.kinds import kind_of
from portal.cards.tables import Note
from portal.core.errors import FormError
from portal.core.labels import mask_numbers
from portal.i18n import gettext as _

EXCERPT = 24  # characters of a note's, reply's or step's text shown in its label
MAX_TARGET_ID = 2**31


@dataclass(frozen=True)
class Target:
    type: str
    id: int
    label: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"


def excerpt(text: str | None) -> str:
    """The first words of a text, on one line, numbers masked."""
    flat = mask_numbers(" ".join((text or "").split()))
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "…"


def parse_target(value: object) -> tuple[str, int | None]:
    """``"note:12"`` as ("note", 12); nothing (the card itself) as ("", None). FormError
    for anything else (a file sent as the target, say)."""
    if value is not None and not isinstance(value, str):
        raise FormError({"files": _("Choose what on this card the files belong to.")})
    value = (value or "").strip()
    if not value:
        return "", None
    kind, _colon, number = value.partition(":")
    if kind.isascii() and kind.isalpha() and len(kind) <= 10 and number.isdigit() and 0 < int(number) < MAX_TARGET_ID:
        return kind, int(number)
    raise FormError({"files": _("Choose what on this card the files belong to.")})


async def targets_of(card_id: int, board_kind: str) -> list[Target]:
    """The card's notes, then its kind's own targets, oldest first."""
    notes = await Note.select(Note.id, Note.body).where(Note.card == card_id).order_by(Note.id)
    found = [Target("note", row["id"], _("Note: %(text)s", text=excerpt(row["body"]))) for row in notes]
    hook = kind_of(board_kind).attachment_targets
    if hook is not None:
        found += [Target(type_, id_, label) for type_, id_, label in await hook(card_id)]
    return found


async def require_target(card_id: int, board_kind: str, target_type: str, target_id: int | None) -> None:
    """FormError unless the target is on this card (a note of another card is refused as a
    note that is not there: nothing says what other cards hold)."""
    if not target_type:
        return
    keys = {target.key for target in await targets_of(card_id, board_kind)}
    if f"{target_type}:{target_id}" not in keys:
        raise FormError({"files": _("What the files were to be attached to is not on this card (any more).")})
