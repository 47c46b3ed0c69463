"""Duplicate inquiries' routes: the drawer's 重复件 section and its merge / unmerge buttons
(htmx), and the JSON API's ``POST /api/v1/inquiries/{card_id}/merge`` and ``…/unmerge``.
Thin: parse, call one service in ``portal.inquiries.merging``, render.

These are static path segments: the workflow's catch-all ``POST …/{card_id}/{action}``
(portal.inquiries.controllers) answers 404 for them, and the router prefers a static
segment to a parameter, so these are the routes reached (the tests check it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.forms import optional_int
from portal.core.schemas import parse
from portal.core.web import json_object
from portal.i18n import gettext as _
from portal.inquiries import merging, workflow
from portal.inquiries.controllers import section_context

TEMPLATE = "partials/inquiries/_duplicates.html"


async def _case_access(request: Request, card_id: int) -> BoardAccess:
    access = await access_for(request.user, await cards.find_board_of(card_id))
    await workflow.case_access(access, card_id)
    return access


async def _render(
    access: BoardAccess, card_id: int, *, status_code: int = 200, refresh: bool = False, **extra: Any
) -> Template:
    """The section of case ``card_id``; after a write (``refresh``) also its 办理 section,
    swapped out of band (the buttons of a merged case are gone, the timeline has the step)."""
    context = await merging.section(access, card_id)
    if refresh:
        context = {**await section_context(access, card_id), **context, "refresh_workflow": True}
    return Template(TEMPLATE, context={**context, "errors": {}, **extra}, status_code=status_code)


async def _view(access: BoardAccess, card_id: int, data: Any, *others: int | None) -> int:
    """The drawer that asked: the case itself, or the other case of the merge when the form
    came from that one's drawer (and this viewer may see it)."""
    try:
        view = parse(merging.ViewInput, data).view
    except FormError:
        return card_id
    if view is None or view == card_id or view not in others:
        return card_id
    try:
        await cards.require_visible(access, view)
    except NotFound:
        return card_id
    return view


async def _after(access: BoardAccess, view: int, write: Callable[[], Awaitable[Any]], flash: str) -> Template:
    try:
        await write()
    except FormError as error:
        return await _render(access, view, status_code=422, errors=error.errors)
    except Conflict as error:
        return await _render(access, view, status_code=409, dup_flash=error.message, dup_level="error")
    return await _render(access, view, refresh=True, dup_flash=flash)


class MergeController(Controller):
    path = "/inquiries"

    @get("/{card_id:int}/duplicates")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        return await _render(await _case_access(request, card_id), card_id)

    @post("/{card_id:int}/merge")
    async def merge(self, request: Request, card_id: FromPath[int]) -> Template:
        """并案: this case is merged under the form's ``master``."""
        access = await _case_access(request, card_id)
        data = await request.form()
        master = data.get("master")
        view = await _view(access, card_id, data, optional_int(master))

        async def write() -> None:
            form = parse(merging.MergeInput, data)
            await merging.merge(access, card_id, form.master)

        return await _after(access, view, write, _("Merged: the master case's answer will answer this one."))

    @post("/{card_id:int}/unmerge")
    async def unmerge(self, request: Request, card_id: FromPath[int]) -> Template:
        """撤销并案: this case is on its own again (its own clock runs)."""
        access = await _case_access(request, card_id)
        data = await request.form()
        view = await _view(access, card_id, data, await merging.master_of(card_id))

        async def write() -> None:
            await merging.unmerge(access, card_id)

        return await _after(access, view, write, _("Unmerged: the case is handled on its own again."))


class MergeApi(Controller):
    """Merging through the JSON API: the same rules."""

    path = "/api/v1/inquiries"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @post(
        "/{card_id:int}/merge",
        summary=(
            "Merge an inquiry under a master case {master}: the master's answer will answer it. "
            "Centre staff only; 409 when the cases may not be merged."
        ),
        status_code=200,
    )
    async def merge(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await _case_access(request, card_id)
        form = parse(merging.MergeInput, await json_object(request))
        await merging.merge(access, card_id, form.master)
        return Response(await _case(access, card_id))

    @post("/{card_id:int}/unmerge", summary="Unmerge an inquiry from its master case", status_code=200)
    async def unmerge(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await _case_access(request, card_id)
        await merging.unmerge(access, card_id)
        return Response(await _case(access, card_id))


async def _case(access: BoardAccess, card_id: int) -> dict[str, Any]:
    case = await workflow.case(access, card_id)
    card = await cards.get_card(access, card_id)
    return {**case, "master_card": card.get("master_card")}
