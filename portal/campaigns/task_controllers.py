"""The campaign's task checklist over HTTP: the drawer's 任务清单 section and its forms (htmx,
each answering the section again; 422 with the messages for bad input), and the JSON API
``/api/v1/campaigns/{card_id}/tasks[/{task_id}]``. Thin: portal.campaigns.tasks decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess
from portal.campaigns import tasks
from portal.campaigns.controllers import campaign_access
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.web import json_object
from portal.i18n import gettext as _

TASKS = "partials/campaigns/_tasks.html"


async def tasks_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    return {
        **await tasks.section(access, card_id),
        "access": access,
        "errors": {},
        "values": {},
        "form": "",  # the form the errors belong to: "add" or a task's id
        "flash": "",
        "level": "ok",
        **extra,
    }


async def _answer(access: BoardAccess, card_id: int, write, flash, form: str, data: Any = None) -> Template:
    """Run one write; the section again, with the flash, or with the form's messages (422)
    or the refusal (409)."""
    try:
        result = await write()
    except FormError as error:
        values = {key: data.get(key) for key in data} if data is not None else {}
        context = await tasks_context(access, card_id, errors=error.errors, values=values, form=form)
        return Template(TASKS, context=context, status_code=422)
    except Conflict as error:
        context = await tasks_context(access, card_id, flash=error.message, level="error")
        return Template(TASKS, context=context, status_code=409)
    return Template(TASKS, context=await tasks_context(access, card_id, flash=flash(result)))


class CampaignTasksController(Controller):
    path = "/campaigns"

    @get("/{card_id:int}/tasks")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        return Template(TASKS, context=await tasks_context(access, card_id))

    @post("/{card_id:int}/tasks")
    async def add(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        data = await request.form()
        return await _answer(
            access, card_id, lambda: tasks.add_task(access, card_id, data), lambda _id: _("Task added."), "add", data
        )

    @post("/{card_id:int}/tasks/template")
    async def template(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)

        def flash(result: tasks.TemplateApplied) -> str:
            if not (result.added or result.dated):
                return _("The checklist already has every task of the template.")
            said = [_("%(count)s tasks added from the template.", count=result.added)] if result.added else []
            if result.dated:
                said.append(_("%(count)s tasks now have a due time from the campaign's dates.", count=result.dated))
            return " ".join(said)

        return await _answer(access, card_id, lambda: tasks.apply_template(access, card_id), flash, "template")

    @post("/{card_id:int}/tasks/{task_id:int}/{action:str}")
    async def act(
        self, request: Request, card_id: FromPath[int], task_id: FromPath[int], action: FromPath[str]
    ) -> Template:
        access = await campaign_access(request, card_id)
        if action not in tasks.ACTIONS:
            raise NotFound
        data = await request.form()
        writes = {
            "done": (lambda: tasks.set_done(access, card_id, task_id, True), _("Task done.")),
            "undone": (lambda: tasks.set_done(access, card_id, task_id, False), _("Task reopened.")),
            "edit": (lambda: tasks.edit_task(access, card_id, task_id, data), _("Task saved.")),
            "remove": (lambda: tasks.remove_task(access, card_id, task_id), _("Task removed.")),
            "up": (lambda: tasks.move_task(access, card_id, task_id, {"direction": "up"}), _("Task moved.")),
            "down": (lambda: tasks.move_task(access, card_id, task_id, {"direction": "down"}), _("Task moved.")),
        }
        write, message = writes[action]
        return await _answer(access, card_id, write, lambda _result: message, str(task_id), data)


class CampaignTasksApi(Controller):
    """The checklist through the JSON API: the same rules as the drawer's section."""

    path = "/api/v1/campaigns"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/{card_id:int}/tasks", summary="A campaign's task checklist: progress and tasks in order")
    async def checklist(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        return await tasks.summary(access, card_id)

    @post(
        "/{card_id:int}/tasks",
        summary="Add a task {title, owner (user id), due_at}; answers the task (201)",
        status_code=201,
    )
    async def add(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await campaign_access(request, card_id)
        task_id = await tasks.add_task(access, card_id, await json_object(request))
        return Response(await tasks.get_task(access, card_id, task_id), status_code=201)

    @post(
        "/{card_id:int}/tasks/template",
        summary=(
            "Add the format's template tasks the checklist lacks and date its undated template tasks from the "
            "campaign's dates; answers how many of each (added, dated) and the checklist"
        ),
        status_code=200,
    )
    async def template(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        result = await tasks.apply_template(access, card_id)
        return {"added": result.added, "dated": result.dated, **await tasks.summary(access, card_id)}

    @patch(
        "/{card_id:int}/tasks/{task_id:int}",
        summary="Change a task: any of {title, owner (null: nobody), due_at (null: none), done}",
    )
    async def change(self, request: Request, card_id: FromPath[int], task_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        await tasks.edit_task(access, card_id, task_id, await json_object(request), partial=True)
        return await tasks.get_task(access, card_id, task_id)

    @delete("/{card_id:int}/tasks/{task_id:int}", summary="Remove a task", status_code=204)
    async def remove(self, request: Request, card_id: FromPath[int], task_id: FromPath[int]) -> None:
        access = await campaign_access(request, card_id)
        await tasks.remove_task(access, card_id, task_id)
