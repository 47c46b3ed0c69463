"""A citizen's numbers on an inquiry: masked everywhere, revealed one at a time, on purpose.

The design (issue #10, point 5):

- The phone number and the ID number (身份证号) are masked for *everybody* wherever a card is
  shown: the board's lists, the API, the drawer, refused saves, the work order. Even those
  with the right see ``138****5678`` and ``3301**********1234`` by default, so that a number
  is never shown in passing (over a shoulder, on a projected board, in a script's export).
- The right to see them (board managers and administrators, and the liaison of the case's
  responsible department) is the right to *reveal* one on demand in the drawer
  (``POST /inquiries/{id}/reveal``): each reveal is written to the audit log (who, when,
  which case, which field), and reveals are limited per person (``REVEAL_LIMIT`` an hour).
  Anyone else gets 403, and the attempt is logged as refused.
- Numbers inside the case's own text (its title and the citizen's question) are masked for
  those without the right; those with it read the text as it was typed (they edit it). The
  board's tiles are rendered once for every viewer (live broadcasts), so a tile's title masks
  them for everybody (partials/inquiries/_tile.html). What is stored never changes:
  ``unconceal`` puts a stored number back where a form sends its masked form back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from portal.accounts.ratelimit import Verdict
from portal.accounts.services import PermissionDenied
from portal.boards.access import BoardAccess
from portal.cards import services as cards
from portal.core.errors import FormError, NotFound
from portal.core.labels import ID_IN_TEXT, PHONE_IN_TEXT, mask_id_number, mask_numbers, mask_phone
from portal.events import services as events
from portal.i18n import gettext as _
from portal.inquiries.tables import InquiryDetail

# What may be revealed: the form's ``which`` -> the card field.
FIELDS = {"phone": "citizen_phone", "id_number": "citizen_id_number"}
# The card's free text in which a citizen's numbers are masked for those without the right.
TEXT_FIELDS = ("title", "body")

# Reveals per person and window. The tests lower REVEAL_LIMIT (a module constant) instead of
# waiting for a window to pass.
REVEAL_LIMIT = 20
REVEAL_WINDOW_SECONDS = 60 * 60

# Audit verbs (portal.events.services.record: account-style events, no board sequence, so a
# reveal never reaches the board's live timeline or a card's "last changed by"). The object is
# "inquiry", not "card", for the same reason.
REVEALED = "inquiry.revealed"
REVEAL_REFUSED = "inquiry.reveal_refused"

# What the masks of portal.core.labels look like, to find them in text a form sends back.
# Each with its number's own boundaries (a phone masked beside letters, "Tel138****5678", must
# come back as the number it stands for, or a save would store the mask).
MASKED_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z*])\d{4}\*{10}[\dXx]{4}(?![0-9A-Za-z*])|(?:(?<=\+86)|(?<![\d*]))1[3-9]\d\*{4}\d{4}(?![\d*])"
)
mask_text = mask_numbers


def restore_text(stored: str, sent: str) -> str:
    """``sent`` with each masked number that stands for a number of ``stored`` put back (in
    order, when two numbers share a mask); a mask typed for no stored number stays a mask."""
    if "*" not in sent or not stored:
        return sent
    originals: dict[str, list[str]] = {}
    for match in ID_IN_TEXT.finditer(stored):
        originals.setdefault(mask_id_number(match.group()), []).append(match.group())
    for match in PHONE_IN_TEXT.finditer(stored):
        originals.setdefault(mask_phone(match.group()), []).append(match.group())
    used: dict[str, int] = {}

    def original(match: re.Match[str]) -> str:
        candidates = originals.get(match.group())
        if not candidates:
            return match.group()
        index = used.get(match.group(), 0)
        used[match.group()] = index + 1
        return candidates[min(index, len(candidates) - 1)]

    return MASKED_IN_TEXT.sub(original, sent)


def may_reveal(access: BoardAccess, card: dict[str, Any]) -> bool:
    """The right to a citizen's numbers: board managers (administrators count as managers)
    and the liaison of the responsible department (not an assisting one's)."""
    return access.can_manage or (
        access.department_only is not None and card.get("department") == access.department_only
    )


def conceal(access: BoardAccess, card: dict[str, Any]) -> None:
    """The kind's ``conceal``: run on every read of a card (drawer, tile data, API, errors).
    The numbers are masked for everybody; ``may_reveal`` says whether this viewer may ask
    for one (the drawer shows the button); the text's numbers are masked for those who may
    not. Writes read the card themselves, so nothing masked is ever saved (see ``unconceal``)."""
    card["may_reveal"] = may_reveal(access, card)
    if card.get("citizen_phone"):
        card["citizen_phone"] = mask_phone(card["citizen_phone"])
    if card.get("citizen_id_number"):
        card["citizen_id_number"] = mask_id_number(card["citizen_id_number"])
    if not card["may_reveal"]:
        for name in TEXT_FIELDS:
            if isinstance(card.get(name), str):
                card[name] = mask_text(card[name])


def unconceal(stored: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The kind's ``unconceal``, on a save: a title or question sent back with the masked
    numbers it was shown with keeps the stored numbers (the rest of the edit applies)."""
    restored = dict(fields)
    for name in TEXT_FIELDS:
        if isinstance(restored.get(name), str) and isinstance(stored.get(name), str):
            restored[name] = restore_text(stored[name], restored[name])
    return restored


# Revealing --------------------------------------------------------------------------------


class TooManyReveals(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Revealed:
    which: str
    value: str


def _limit_key(user_id: int) -> str:
    return f"portal:inquiry-reveals:{user_id}"


async def _count_reveal(redis: Any, user_id: int) -> Verdict:
    """Count one reveal before the number is read, atomically, the way the login limits do
    (portal.accounts.ratelimit): the window starts at the first reveal, later ones do not
    extend it, and it holds across every web process."""
    key = _limit_key(user_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=REVEAL_WINDOW_SECONDS, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _set, count, ttl = await pipe.execute()
    if int(count) > REVEAL_LIMIT:
        return Verdict(allowed=False, retry_after=max(int(ttl), 1) if int(ttl) > 0 else REVEAL_WINDOW_SECONDS)
    return Verdict(allowed=True)


def retry_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return _(
        "You have revealed too many numbers in a short time. Try again in %(m)s minutes.",
        m=minutes,
    )


async def reveal(access: BoardAccess, card_id: int, which: str, *, redis: Any, ip: str = "") -> Revealed:
    """The full number ``which`` (phone or id_number) of the case, for a viewer with the
    right, audited. NotFound for a case this viewer may not see (as for any card);
    PermissionDenied for a viewer without the right and TooManyReveals past the limit, both
    audited as refused. The audit entry is written before the number is returned."""
    if which not in FIELDS:
        raise FormError({"which": _("Choose the phone number or the ID number.")})
    if access.board_kind != "inquiries":
        raise NotFound
    card = await cards.get_card(access, card_id)  # NotFound: not a case this viewer sees

    async def audit(verb: str, **extra: Any) -> None:
        await events.record(
            verb,
            actor_id=access.user.id,
            object_type="inquiry",
            object_id=card_id,
            payload={"field": which, "board": access.board_id, **extra},
            ip=ip,
        )

    if not card["may_reveal"]:
        await audit(REVEAL_REFUSED, reason="no right")
        raise PermissionDenied
    verdict = await _count_reveal(redis, access.user.id)
    if not verdict.allowed:
        await audit(REVEAL_REFUSED, reason="rate limit")
        raise TooManyReveals(verdict.retry_after)
    column = getattr(InquiryDetail, FIELDS[which])
    row = await InquiryDetail.select(column).where(InquiryDetail.card == card_id).first()
    await audit(REVEALED)
    return Revealed(which, (row or {}).get(FIELDS[which]) or "")
