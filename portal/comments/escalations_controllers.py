"""上报, many-at-once and FAQ candidates: thin controllers over
``portal.comments.escalations``, ``portal.comments.batch`` and ``portal.comments.faq``.

Each answers the partial it swaps: the drawer's escalations section, one item of the 上报
list, the bulk bar's result line, one FAQ entry. Nothing is published or notified here:
the services' writes stage their own effects.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.boards.access import access_for
from portal.cards import services as cards
from portal.comments import batch, escalations, faq
from portal.core.forms import FormError
from portal.core.schemas import parse
from portal.i18n import gettext as _


def _item(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"e": row, "risks": escalations.RISKS, "targets": escalations.TARGETS, "errors": {}, "flash": "", **extra}


class EscalationController(Controller):
    # The drawer section -------------------------------------------------------------------

    @get("/comments/{card_id:int}/escalations")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await escalations.comment_access(request.user, card_id)
        return Template("partials/comments/_escalations.html", context=await escalations.section(access, card_id))

    @post("/comments/{card_id:int}/escalations")
    async def escalate(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await escalations.comment_access(request.user, card_id)
        access.require_edit()
        data = await request.form()
        try:
            form = parse(escalations.EscalationInput, data)
            await escalations.escalate(access, card_id, form)
        except FormError as error:
            context = await escalations.section(access, card_id)
            return Template(
                "partials/comments/_escalations.html",
                status_code=422,
                context={**context, "errors": error.errors, "values": data},
            )
        context = await escalations.section(access, card_id)
        return Template(
            "partials/comments/_escalations.html",
            context={
                **context,
                "flash": _("Reported. The card is now in 已上报."),
                "live_cards": await cards.tiles([card_id], access.board_kind),
            },
        )

    # The 上报 list ---------------------------------------------------------------------------

    @get("/escalations")
    async def list_page(self, request: Request) -> Template:
        return Template(
            "pages/comments/escalations.html",
            context={
                "escalations": await escalations.list_for(request.user),
                "risks": escalations.RISKS,
                "targets": escalations.TARGETS,
                "statuses": escalations.STATUSES,
            },
        )

    @post("/escalations/{escalation_id:int}/instruct")
    async def instruct(self, request: Request, escalation_id: FromPath[int]) -> Template | Redirect:
        data = await request.form()
        try:
            form = parse(escalations.InstructionInput, data)
            await escalations.instruct(request.user, escalation_id, form)
        except FormError as error:
            return await self._item(request, escalation_id, status_code=422, errors=error.errors)
        return await self._item(request, escalation_id, flash=_("The instruction was sent back to the card."))

    @post("/escalations/{escalation_id:int}/close")
    async def close(self, request: Request, escalation_id: FromPath[int]) -> Template | Redirect:
        await escalations.close(request.user, escalation_id)
        return await self._item(request, escalation_id, flash=_("The report was closed."))

    async def _item(self, request: Request, escalation_id: int, status_code: int = 200, **extra: Any):
        if not request.htmx:
            return Redirect("/escalations", status_code=303)
        row = next((row for row in await escalations.list_for(request.user) if row["id"] == escalation_id), None)
        if row is None:  # acted on, but no longer listed for her: the list without it
            return Template("partials/comments/_escalation_gone.html", status_code=status_code, context=extra)
        return Template("partials/comments/_escalation_item.html", status_code=status_code, context=_item(row, **extra))

    # Many at once ----------------------------------------------------------------------------

    @get("/boards/{board_id:int}/batch")
    async def batch_bar(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        access.require_edit()
        return Template("partials/comments/_bulk_bar.html", context=await batch.bar_context(access))

    @post("/boards/{board_id:int}/batch")
    async def batch_run(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        access.require_edit()
        data = await request.form() if "json" not in request.headers.get("content-type", "") else await request.json()
        try:
            form = parse(batch.BatchInput, data)
            result = await batch.run(access, form)
        except FormError as error:
            return Template(
                "partials/comments/_bulk_result.html", status_code=422, context={"errors": error.errors, "result": None}
            )
        return Template(
            "partials/comments/_bulk_result.html",
            context={
                "errors": {},
                "result": result,
                "live_cards": await cards.tiles(result.card_ids, access.board_kind),
            },
        )

    # FAQ candidates --------------------------------------------------------------------------

    @get("/boards/{board_id:int}/faq")
    async def faq_page(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        from portal.boards import services as boards

        return Template(
            "pages/comments/faq.html",
            context={
                "access": access,
                "board": await boards.board_header(access),
                "windows": await faq.candidates(access),
            },
        )

    @post("/boards/{board_id:int}/faq/template")
    async def faq_template(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        access.require_edit()
        try:
            form = parse(faq.DraftInput, await request.form())
            template_id = await faq.draft_template(access, form)
        except FormError as error:
            return Template("partials/comments/_faq_drafted.html", status_code=422, context={"errors": error.errors})
        return Template("partials/comments/_faq_drafted.html", context={"errors": {}, "template_id": template_id})
