"""The departments' view of the loop and 督办: the 部门待办 page, the managers' overdue list
with its 督办 buttons, the drawer's 督办 section, and ``POST /api/v1/inquiries/{id}/supervise``.
Thin: portal.inquiries.queue reads, portal.inquiries.supervision decides and writes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess
from portal.cards import services as cards
from portal.core.errors import Conflict, FormError
from portal.core.forms import valid_id
from portal.core.web import json_object
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.inquiries import queue, supervision, workflow
from portal.inquiries.controllers import _case_access


def _told(result: supervision.Supervision | supervision.Batch) -> str:
    """The flash after a 督办: how many people were told, and who could not be."""
    if isinstance(result, supervision.Batch):
        told = len({user for item in result.done for user in item.told})
        message = ngettext(
            "Supervision notice (督办) issued on %(cases)s case; %(told)s people told.",
            "Supervision notices (督办) issued on %(cases)s cases; %(told)s people told.",
            len(result.done),
            cases=len(result.done),
            told=told,
        )
    else:
        message = _("Supervision notice (督办) issued; %(told)s people told.", told=len(result.told))
    if result.not_told:
        message += " " + _(
            "%(n)s of the department's leaders could not be told: they may not see this case.", n=result.not_told
        )
    return message


async def section_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    return {
        "card": card,
        "state": state,
        "notices": await supervision.notices(card_id, card),
        "departments": await workflow.department_names(),
        "may_supervise": access.can_manage
        and state != "closed"
        and card.get("department") is not None
        and not card.get("master_card"),
        "errors": {},
        "values": {},
        "flash": "",
        "level": "ok",
        **extra,
    }


async def _overdue_page(request: Request, status_code: int = 200, **extra: Any) -> Template:
    context = await supervision.overdue(request.user)
    return Template(
        "pages/inquiries/overdue.html",
        context={**context, "errors": {}, "values": {}, "flash": "", "level": "ok", **extra},
        status_code=status_code,
    )


class InquiryQueueController(Controller):
    # 部门待办 ---------------------------------------------------------------------------------

    @get("/inquiries/queue")
    async def queue_page(self, request: Request) -> Template:
        chosen = request.query_params.get("department") or ""
        department = int(chosen) if chosen.isascii() and chosen.isdigit() and valid_id(int(chosen)) else None
        context = await queue.department_queue(request.user, department)
        context["may_see_overdue"] = any(access.can_manage for access in await queue.inquiry_accesses(request.user))
        return Template("pages/inquiries/queue.html", context=context)

    # 督办: the overdue list -------------------------------------------------------------------

    @get("/inquiries/overdue")
    async def overdue_page(self, request: Request) -> Template:
        return await _overdue_page(request)

    @post("/inquiries/overdue/{card_id:int}/supervise")
    async def supervise_from_list(self, request: Request, card_id: FromPath[int]) -> Template:
        await supervision.managed_accesses(request.user)  # 403 before reading anything else
        data = await request.form()
        try:
            result = await supervision.supervise_case(request.user, card_id, data.get("note"))
        except FormError as error:
            return await _overdue_page(
                request, 422, errors={f"case-{card_id}": error.errors.get("note", "")}, values={"card": card_id}
            )
        except Conflict as error:
            return await _overdue_page(request, 409, flash=error.message, level="error")
        return await _overdue_page(request, flash=_told(result))

    @post("/inquiries/overdue/departments/{department_id:int}/supervise")
    async def supervise_department(self, request: Request, department_id: FromPath[int]) -> Template:
        await supervision.managed_accesses(request.user)
        data = await request.form()
        try:
            result = await supervision.supervise_department(request.user, department_id, data.get("note"))
        except FormError as error:
            return await _overdue_page(
                request, 422, errors={f"department-{department_id}": error.errors.get("note", "")}
            )
        except Conflict as error:
            return await _overdue_page(request, 409, flash=error.message, level="error")
        return await _overdue_page(request, flash=_told(result))

    # The drawer's 督办 section ---------------------------------------------------------------

    @get("/inquiries/{card_id:int}/supervision")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _case_access(request, card_id)
        return Template("partials/inquiries/_supervision.html", context=await section_context(access, card_id))

    @post("/inquiries/{card_id:int}/supervise")
    async def supervise(self, request: Request, card_id: FromPath[int]) -> Template:
        """Beats the loop's ``/inquiries/{card_id}/{action}``: a static segment wins."""
        access = await _case_access(request, card_id)
        data = await request.form()
        try:
            result = await supervision.supervise(access, card_id, data.get("note"))
        except FormError as error:
            context = await section_context(access, card_id, errors=error.errors, values=dict(data))
            return Template("partials/inquiries/_supervision.html", context=context, status_code=422)
        except Conflict as error:
            context = await section_context(access, card_id, flash=error.message, level="error")
            return Template("partials/inquiries/_supervision.html", context=context, status_code=409)
        context = await section_context(access, card_id, flash=_told(result))
        return Template("partials/inquiries/_supervision.html", context=context)


class SupervisionApi(Controller):
    """督办 through the JSON API (its own route: the loop's ``/{card_id}/{action}`` answers 404
    for any action it does not know, and a static segment is preferred to it)."""

    path = "/api/v1/inquiries"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @post(
        "/{card_id:int}/supervise",
        summary=(
            "Issue a 督办 notice on an inquiry {note} (board managers): recorded on the case, told to "
            "its department's liaisons and leaders. 403 for anyone else, 409 on a closed case."
        ),
        status_code=200,
    )
    async def supervise(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await _case_access(request, card_id)
        body = await json_object(request)
        result = await supervision.supervise(access, card_id, body.get("note"))
        return Response(
            {
                "card_id": card_id,
                "step": result.step_id,
                "supervise_count": result.supervise_count,
                "told": len(result.told),
                "not_told": result.not_told,
            }
        )
