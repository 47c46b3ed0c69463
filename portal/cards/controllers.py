"""Card endpoints: thin — parse the form, call one service, render the partial.

Every write answers with the card's live fragment (so the actor sees the result even
without a websocket). Publishing the same fragment to the board's channel, arming
reminders and delivering notifications are the write's own effects (its outbox rows),
run after the commit: nothing here can turn a saved change into an error page.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import MultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.boards.access import BoardAccess, access_for
from portal.cards import services
from portal.cards.forms import CardForm, MoveForm, NoteForm, QuickAddForm, parse_datetime
from portal.cards.services import StaleCard
from portal.core.errors import Conflict
from portal.core.forms import FormError, optional_int, text
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

STALE_MESSAGES = {
    "card.moved": _l("%(name)s moved this card a moment ago."),
    "card.updated": _l("%(name)s edited this card a moment ago."),
    "card.assigned": _l("%(name)s reassigned this card a moment ago."),
    "card.archived": _l("%(name)s archived this card a moment ago."),
    "card.noted": _l("%(name)s changed this card a moment ago."),
}


def stale_message(error: StaleCard) -> str:
    template = STALE_MESSAGES.get(error.verb, STALE_MESSAGES["card.noted"])
    return (
        str(template) % {"name": error.actor_name}
        + " "
        + _("Your changes were not saved; the card now shows the latest version.")
    )


async def _live_card(access: BoardAccess, card_id: int, *, flash: str = "", level: str = "ok") -> dict[str, Any]:
    tiles = await services.tiles([card_id], access.board_kind)
    return {"cards": tiles, "seq": None, "flash": flash, "level": level}


async def _access_for_card(request: Request, card_id: int) -> BoardAccess:
    return await access_for(request.user, await services.find_board_of(card_id))


async def _drawer(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    detail = await services.card_detail(access, card_id)
    return {
        **detail,
        "access": access,
        "departments": await _departments(),
        "errors": {},
        "values": None,
        "flash": "",
        "level": "ok",
        **extra,
    }


class CardController(Controller):
    @post("/boards/{board_id:int}/columns/{column_id:int}/cards")
    async def quick_add(self, request: Request, board_id: FromPath[int], column_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        try:
            form = QuickAddForm.parse(await request.form())
            change = await services.create_card(access, column_id, {"title": form.title})
        except FormError as error:
            return Template(
                "partials/live/_response.html",
                context={"cards": [], "seq": None, "level": "error", "flash": " ".join(error.errors.values())},
                status_code=422,
            )
        return Template("partials/live/_response.html", context=await _live_card(access, change.card_id))

    @get("/cards/{card_id:int}")
    async def card_page(self, request: Request, card_id: FromPath[int]) -> Response:
        archived_on = await services.board_of_archived(card_id)
        if archived_on is not None:
            # Found by search or a link from before: the archived card, read only, restorable.
            access = await access_for(request.user, archived_on)
            context = {**await services.archived_card_detail(access, card_id), "access": access}
            if request.htmx and not request.htmx.boosted:
                # The board's drawer asked (an old ?card= link): the page replaces the board.
                return Response(content="", status_code=200, headers={"HX-Redirect": f"/cards/{card_id}"})
            return Template("pages/cards/archived.html", context=context)
        access = await _access_for_card(request, card_id)
        context = await _drawer(access, card_id)
        if request.htmx and not request.htmx.boosted:
            return Template("partials/cards/_drawer.html", context=context)
        return Template("pages/cards/card.html", context=context)

    @post("/cards/{card_id:int}")
    async def update(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _access_for_card(request, card_id)
        data = await request.form()
        try:
            form = CardForm.parse(
                data,
                access.board_kind,
                creating=False,
                people=await services.assignable_people(access),
                departments=await services.department_ids(),
            )
            await services.update_card(access, card_id, form)
        except FormError as error:
            return Template(
                "partials/cards/_drawer.html",
                status_code=422,
                context=await _drawer(access, card_id, errors=error.errors, values=data),
            )
        except StaleCard as error:
            # Nothing is lost and nothing is overwritten blindly: fields the other person
            # changed show their new value; everything else keeps what this user typed.
            changed = await services.fields_changed_since(card_id, form.version)
            kept = MultiDict([(key, value) for key, value in data.multi_items() if key not in changed])
            context = await _drawer(access, card_id, values=kept, flash=stale_message(error), level="error")
            context["values_version"] = context["card"]["version"]
            return Template(
                "partials/cards/_drawer.html",
                context={**context, **await _live_card(access, card_id), "flash": context["flash"], "level": "error"},
                status_code=409,
            )
        context = await _drawer(access, card_id, flash=_("Saved."))
        return Template(
            "partials/cards/_drawer.html",
            context={**context, "live_cards": await services.tiles([card_id], access.board_kind)},
        )

    @post("/cards/{card_id:int}/move")
    async def move(self, request: Request, card_id: FromPath[int]) -> Template:
        """Drag and drop answers with the live card; the drawer's "move to…" menu with the drawer."""
        access = await _access_for_card(request, card_id)
        await services.require_visible(access, card_id)  # before anything about the card is shown
        data = await request.form()
        from_drawer = data.get("from_drawer") == "1"
        try:
            form = MoveForm.parse(data)
            await services.move_card(access, card_id, form)
        except (StaleCard, FormError, Conflict) as error:
            if isinstance(error, StaleCard):
                message, status = stale_message(error), 409
            elif isinstance(error, Conflict):
                message, status = error.message, 409  # the kind refuses this move (an inquiry's loop)
            else:
                message, status = " ".join(error.errors.values()), 422
            if from_drawer:
                context = await _drawer(access, card_id, flash=message, level="error")
                return Template(
                    "partials/cards/_drawer.html",
                    status_code=status,
                    context={**context, "live_cards": await services.tiles([card_id], access.board_kind)},
                )
            return Template(
                "partials/live/_response.html",
                status_code=status,
                context=await _live_card(access, card_id, flash=message, level="error"),
            )
        if from_drawer:
            context = await _drawer(access, card_id, flash=_("Moved."))
            return Template(
                "partials/cards/_drawer.html",
                context={**context, "live_cards": await services.tiles([card_id], access.board_kind)},
            )
        return Template("partials/live/_response.html", context=await _live_card(access, card_id))

    @post("/cards/{card_id:int}/archive")
    async def archive(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _access_for_card(request, card_id)
        await services.require_visible(access, card_id)
        version = optional_int((await request.form()).get("version"))
        if version is None:
            return Template(
                "partials/live/_response.html",
                status_code=422,
                context=await _live_card(
                    access, card_id, flash=_("The form is missing the card's version. Reload the page."), level="error"
                ),
            )
        try:
            await services.archive_card(access, card_id, version)
        except StaleCard as error:
            return Template(
                "partials/live/_response.html",
                status_code=409,
                context=await _live_card(access, card_id, flash=stale_message(error), level="error"),
            )
        except Conflict as error:  # the kind's rule (an incident closes only once reviewed)
            return Template(
                "partials/live/_response.html",
                status_code=409,
                context=await _live_card(access, card_id, flash=error.message, level="error"),
            )
        return Template(
            "partials/live/_response.html",
            context={**await _live_card(access, card_id, flash=_("The card was archived.")), "close_drawer": True},
        )

    @post("/cards/{card_id:int}/restore")
    async def restore(self, request: Request, card_id: FromPath[int]) -> Response:
        board_id = await services.board_of_archived(card_id)
        if board_id is None:
            # Not archived (restored a moment ago by someone else, or never was): its board,
            # if this person may see it; otherwise, like anything unseen, not found.
            access = await _access_for_card(request, card_id)
            await services.require_visible(access, card_id)
            return Redirect(f"/boards/{access.board_id}?card={card_id}", status_code=303)
        access = await access_for(request.user, board_id)
        await services.restore_card(access, card_id)
        return Redirect(f"/boards/{board_id}?card={card_id}", status_code=303)

    @post("/cards/{card_id:int}/notes")
    async def add_note(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _access_for_card(request, card_id)
        try:
            form = NoteForm.parse(await request.form())
            await services.add_note(access, card_id, form)
        except FormError as error:
            return Template(
                "partials/cards/_drawer.html",
                status_code=422,
                context=await _drawer(access, card_id, errors={"note": " ".join(error.errors.values())}),
            )
        return Template("partials/cards/_drawer.html", context=await _drawer(access, card_id))

    @post("/cards/{card_id:int}/deadline")
    async def deadline(self, request: Request, card_id: FromPath[int]) -> Template:
        """挂起 / 恢复 / 申请延期 / 批准或驳回延期, from the drawer's deadline section."""
        access = await _access_for_card(request, card_id)
        await services.require_visible(access, card_id)
        data = await request.form()
        action, version = text(data, "action"), optional_int(data.get("version"))
        try:
            if version is None:
                raise FormError({"__all__": _("The form is missing the card's version. Reload the page.")})
            if action == "pause":
                await services.pause_card(access, card_id, version, text(data, "pause_reason"))
                done = _("Paused: %(reason)s", reason=text(data, "pause_reason"))
            elif action == "resume":
                await services.resume_card(access, card_id, version)
                done = _("The clock runs again.")
            elif action == "request_extension":
                errors: dict[str, str] = {}
                until = parse_datetime(text(data, "extension_until"), "extension_until", errors)
                if errors:
                    raise FormError(errors)
                await services.request_extension(access, card_id, version, until, text(data, "extension_reason"))
                done = _("Extension requested: the board's managers decide.")
            elif action in ("approve_extension", "reject_extension"):
                await services.decide_extension(access, card_id, version, action == "approve_extension")
                done = _("Extension approved.") if action == "approve_extension" else _("Extension refused.")
            else:
                raise FormError({"__all__": _("Choose what to do with the deadline.")})
        except FormError as error:
            return Template(
                "partials/cards/_drawer.html",
                status_code=422,
                context=await _drawer(access, card_id, errors=error.errors),
            )
        except StaleCard as error:
            context = await _drawer(access, card_id, flash=stale_message(error), level="error")
            return Template(
                "partials/cards/_drawer.html",
                status_code=409,
                context={**context, "live_cards": await services.tiles([card_id], access.board_kind)},
            )
        context = await _drawer(access, card_id, flash=done)
        return Template(
            "partials/cards/_drawer.html",
            context={**context, "live_cards": await services.tiles([card_id], access.board_kind)},
        )

    @get("/boards/{board_id:int}/cards/new")
    async def new_card_form(
        self, request: Request, board_id: FromPath[int], column: FromQuery[int | None] = None
    ) -> Template:
        access = await access_for(request.user, board_id)
        access.require_edit()
        return Template("partials/cards/_new.html", context=await _new_context(access, column))

    @post("/boards/{board_id:int}/cards")
    async def create(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        data = await request.form()
        column_id = optional_int(data.get("column_id"))
        try:
            form = CardForm.parse(
                data,
                access.board_kind,
                creating=True,
                people=await services.assignable_people(access),
                departments=await services.department_ids(),
            )
            if column_id is None:
                raise FormError({"column_id": _("Choose a column.")})
            change = await services.create_card(access, column_id, form.fields)
        except FormError as error:
            return Template(
                "partials/cards/_new.html",
                status_code=422,
                context={**await _new_context(access, column_id), "errors": error.errors, "values": data},
            )
        context = await _drawer(access, change.card_id, flash=_("The card was created."))
        return Template(
            "partials/cards/_drawer.html",
            context={**context, "live_cards": await services.tiles([change.card_id], access.board_kind)},
        )


async def _new_context(access: BoardAccess, column_id: int | None) -> dict[str, Any]:
    from portal.boards import services as boards

    columns = await boards.list_columns(access.board_id)
    people = await boards.board_people(access.board_id)
    if access.department_only is not None:
        # A liaison's new card is her department's: offer only who may see it.
        people = services.people_for(people, {"department": access.department_only})
    return {
        "access": access,
        "columns": columns,
        "column_id": column_id or (columns[0]["id"] if columns else None),
        "people": people,
        "errors": {},
        "values": None,
        "departments": await _departments(),
    }


async def _departments() -> list[dict[str, Any]]:
    from portal.accounts.services import department_choices

    return await department_choices()
