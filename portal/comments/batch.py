"""Many at once: assign, label or move a selection of comment cards in one request.

Each card goes through the card service (``update_card`` / ``move_card``) with its current
version, so every card is its own unit of the write path: its own event, stage history,
reminders and live update (the card service publishes; viewers see the tiles change).
A card the user may not see (another department's, archived, another board's, an id that
does not exist) is skipped and counted, never named; a card changed by someone between
our read and our write is retried once with the fresh version. One card's problem does not
stop the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field, field_validator

from portal.accounts.services import NotFound
from portal.boards import services as boards
from portal.boards.access import BoardAccess
from portal.boards.tables import BoardColumn
from portal.cards import services as cards
from portal.cards.forms import CardForm, MoveForm
from portal.cards.services import StaleCard
from portal.cards.tables import Card
from portal.comments import replies, reply_templates
from portal.core.errors import Conflict
from portal.core.forms import FormError
from portal.core.schemas import Input
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

MAX_CARDS = 200  # one request's worth: a selection larger than this is split by the user
MAX_LABELS = 8


class BatchInput(Input):
    action: Literal["assign", "label", "move", "reply"]
    card_ids: Annotated[list[int], Field(min_length=1, max_length=MAX_CARDS)]
    assignee: int | None = None  # assign: the person (empty: nobody)
    label: Annotated[str, Field(max_length=20)] = ""
    column_id: int | None = None
    template_id: int | None = None  # reply: one approved template answers every selected comment

    messages = {
        "action": _l("Choose what to do with the selected cards."),
        "card_ids": _l("Select between 1 and 200 cards."),
        "label": _l("A label has at most 20 characters."),
        "assignee": _l("Choose someone who is on this board."),
        "column_id": _l("Choose a column."),
        "template_id": _l("Choose a template."),
    }

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        if re.search(r"[,，\x00-\x1f]", value):
            raise ValueError(_("A label cannot contain a comma."))
        return value


@dataclass
class BatchResult:
    done: int = 0  # changed (or already so: the label was there, the card in that column)
    skipped: int = 0  # not visible to this user, or refused for this card (e.g. its assignee may not see it)
    card_ids: list[int] = field(default_factory=list)  # the ones changed


async def run(access: BoardAccess, form: BatchInput) -> BatchResult:
    access.require_edit()
    if form.action == "assign" and form.assignee is not None:
        if form.assignee not in await cards.assignable_people(access):
            raise FormError({"assignee": _("Choose someone who is on this board.")})
    if form.action == "label" and not form.label:
        raise FormError({"label": _("Enter a label.")})
    if form.action == "move":
        if form.column_id is None or not await BoardColumn.exists().where(
            (BoardColumn.id == form.column_id)
            & (BoardColumn.board == access.board_id)
            & (BoardColumn.archived == False)  # noqa: E712
        ):
            raise FormError({"column_id": _("Choose a column.")})
    template = None
    if form.action == "reply":
        template = await reply_templates.offered_one(form.template_id)
        if template is None:
            raise FormError({"template_id": _("This template is not approved or no longer valid.")})
    result = BatchResult()
    for card_id in dict.fromkeys(form.card_ids):
        if await _one(access, form, card_id, template):
            result.done += 1
            result.card_ids.append(card_id)
        else:
            result.skipped += 1
    return result


async def _one(access: BoardAccess, form: BatchInput, card_id: int, template: dict | None) -> bool:
    """One card, with one retry when someone changed it meanwhile; False when skipped."""
    for attempt in (1, 2):
        card = await _visible(access, card_id)
        if card is None:
            return False
        try:
            await _apply(access, form, card, template)
            return True
        except StaleCard:
            if attempt == 2:
                return False
        except (NotFound, Conflict):
            return False  # gone or re-routed away from this user meanwhile, or refused for this one
        except FormError as error:
            # "Nothing was changed": it already was as asked. Anything else refuses this card only.
            return "__all__" in error.errors and set(error.errors) == {"__all__"}
    return False


async def _visible(access: BoardAccess, card_id: int) -> dict | None:
    row = (
        await Card.select(
            Card.id,
            Card.board,
            Card.column,
            Card.version,
            Card.labels,
            Card.assignee,
            Card.department,
            Card.assisting_departments,
        )
        .where((Card.id == card_id) & (Card.archived == False))  # noqa: E712
        .output(load_json=True)
        .first()
    )
    if row is None or row["board"] != access.board_id or not access.can_see_card(row):
        return None
    return row


async def _apply(access: BoardAccess, form: BatchInput, card: dict, template: dict | None) -> None:
    if form.action == "reply":
        # Through the replies service: approval where the comment needs it (the reply then
        # waits, counted as done), the platform's length limit, the move to 已回复 on sending.
        comment = await cards.get_card(access, card["id"])
        body = reply_templates.fill(
            template["body"], await reply_templates.placeholder_values(comment, access.board_id)
        )
        if reply_templates.PLACEHOLDER.search(body):
            # A placeholder this comment cannot fill ({电话} …) must not reach the public.
            raise FormError({"body": _("The template has a placeholder to fill by hand.")})
        await replies.submit(access, card["id"], replies.ReplyInput(body=body, template_id=template["id"]))
        return
    if form.action == "move":
        if card["column"] == form.column_id:
            return  # already there: leave its place in the column alone
        # At the bottom of the column: the selection keeps its order there.
        move = MoveForm(column_id=form.column_id, after_id=-1, version=card["version"])
        await cards.move_card(access, card["id"], move)
        return
    if form.action == "assign":
        fields = {"assignee": form.assignee}
    else:
        labels = list(card["labels"] or [])
        if form.label in labels:
            return
        if len(labels) >= MAX_LABELS:
            raise FormError({"labels": _("Up to 8 labels of at most 20 characters, separated by commas.")})
        fields = {"labels": [*labels, form.label]}
    await cards.update_card(access, card["id"], CardForm(version=card["version"], fields=fields))


async def bar_context(access: BoardAccess) -> dict:
    """What the bulk bar offers: the board's people, its labels and columns."""
    return {
        "access": access,
        "people": await boards.board_people(access.board_id),
        "labels": await boards.board_labels(access),
        "columns": await boards.list_columns(access.board_id),
        "templates": await reply_templates.offered(limit=100),
        "errors": {},
        "result": None,
    }
