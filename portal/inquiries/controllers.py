"""The inquiry loop's routes: the drawer's 办理 section and its buttons (htmx), and the JSON
API ``POST /api/v1/inquiries/{card_id}/{action}``. Thin: portal.inquiries.workflow decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.core.errors import Conflict, FormError
from portal.core.web import json_object
from portal.i18n import lazy_gettext as _l
from portal.inquiries import merging, workflow


async def _case_access(request: Request, card_id: int) -> BoardAccess:
    access = await access_for(request.user, await cards.find_board_of(card_id))
    await workflow.case_access(access, card_id)
    return access


async def section_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    column = await workflow.column_of(card["column"])
    state = workflow.state_of(column)
    return {
        "card": card,
        "access": access,
        "state": state,
        "states": workflow.STATES,
        "actions": workflow.allowed(access, card, state),
        "steps": await workflow.steps(card_id, card),
        "departments": await workflow.department_names(),
        "urgencies": workflow.URGENCIES,
        "verdicts": workflow.VERDICTS,
        "action_labels": step_labels(),
        "errors": {},
        "values": {},
        "flash": "",
        "level": "ok",
        **extra,
    }


def step_labels() -> dict[str, Any]:
    """What each step of a case's timeline is called (the loop's actions, merging, 督办)."""
    return {
        **{name: action.label for name, action in workflow.ACTIONS.items()},
        **merging.STEP_LABELS,
        "supervise": _l("Supervision (督办)"),
    }


class InquiryController(Controller):
    """The drawer's 办理 section: the case's state, its timeline and the buttons this viewer
    may use; each button posts here and gets the section back (the board follows live)."""

    path = "/inquiries"

    @get("/{card_id:int}/workflow")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _case_access(request, card_id)
        return Template("partials/inquiries/_workflow.html", context=await section_context(access, card_id))

    @post("/{card_id:int}/{action:str}")
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Template:
        access = await _case_access(request, card_id)
        data = await request.form()
        try:
            await workflow.act(access, card_id, action, data)
        except FormError as error:
            context = await section_context(
                access, card_id, errors={f"{action}.{k}": v for k, v in error.errors.items()}, values=dict(data)
            )
            context["open_action"] = action
            return Template("partials/inquiries/_workflow.html", context=context, status_code=422)
        except Conflict as error:
            context = await section_context(access, card_id, flash=error.message, level="error")
            return Template("partials/inquiries/_workflow.html", context=context, status_code=409)
        label = workflow.ACTIONS[action].label
        context = await section_context(access, card_id, flash=str(label))
        return Template("partials/inquiries/_workflow.html", context=context)


class InquiryApi(Controller):
    """The loop through the JSON API: the same actions, the same rules."""

    path = "/api/v1/inquiries"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/{card_id:int}", summary="An inquiry's state, the actions you may take, and its steps")
    async def case(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await _case_access(request, card_id)
        case = await workflow.case(access, card_id)
        case["steps"] = [
            {
                "action": step["action"],
                "from_state": step["from_state"],
                "to_state": step["to_state"],
                "actor": step["actor_name"],
                "department": step["department"],
                "text": step["text"],
                "data": step["data"],
                "due_at": step["due_at"].isoformat() if step["due_at"] else None,
                "at": step["created_at"].isoformat(),
            }
            for step in await workflow.steps(card_id, await cards.get_card(access, card_id))
        ]
        return case

    @post(
        "/{card_id:int}/{action:str}",
        summary=(
            "Take an action on an inquiry: accept {category, urgency}, answer_directly {answer}, "
            "dispatch {lead_department, assisting_departments, instructions}, sign {}, return {reason}, "
            "opinion {text}, contact {note}, submit_answer {answer}, approve {}, send_back {reason}, "
            "follow_up {verdict: satisfied | basically_satisfied | dissatisfied, remarks}. "
            "Answers the case with its state; 409 when the action is not allowed now or for you."
        ),
        status_code=200,
    )
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Response:
        access = await _case_access(request, card_id)
        body = await json_object(request)
        return Response(await workflow.act(access, card_id, action, body))
