"""The incident's routes: the drawer's 处置 section and its buttons (htmx), and the JSON API
``GET /api/v1/incidents/{card_id}`` and ``POST /api/v1/incidents/{card_id}/{action}``.
Thin: portal.incidents.workflow decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.core.errors import Conflict, FormError
from portal.core.web import json_object
from portal.i18n import lazy_gettext as _l
from portal.incidents import services, workflow

STATUSES = {
    "submitted": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "returned": _l("Returned"),
}


async def _incident_access(request: Request, card_id: int) -> BoardAccess:
    access = await access_for(request.user, await cards.find_board_of(card_id))
    await workflow.incident_access(access, card_id)
    return access


async def section_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await cards.column_any(card["column"]))
    people = await boards.board_people(access.board_id)
    names = {person["id"]: person["display_name"] for person in people}
    return {
        "card": card,
        "access": access,
        "state": state,
        "states": workflow.STATES,
        "actions": workflow.allowed(
            access, card, state, own_draft=await workflow.approval_by_drafter_refused(access, card)
        ),
        "topic_name": await services.topic_name(access.user, card.get("topic_id")),
        "statements": await workflow.versions(card_id),
        "review_due": await workflow.review_due(card),
        "statuses": STATUSES,
        "people": people,
        "responsible": [names[person] for person in card.get("responsible") or [] if person in names],
        "comments": await services.linked_comments(access, card_id),
        "timeline": await services.timeline(card_id, access.board_id),
        "action_labels": {
            **{name: action.label for name, action in workflow.ACTIONS.items()},
            "open": _l("Opened (立案)"),
        },
        "errors": {},
        "values": {},
        "flash": "",
        "level": "ok",
        **extra,
    }


class IncidentController(Controller):
    """The drawer's 处置 section: each button posts here and gets the section back (the board
    follows live)."""

    path = "/incidents"

    @get("/{card_id:int}/workflow")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _incident_access(request, card_id)
        return Template("partials/incidents/_workflow.html", context=await section_context(access, card_id))

    @post("/{card_id:int}/{action:str}")
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Template:
        access = await _incident_access(request, card_id)
        data = await request.form()
        try:
            result = await workflow.act(access, card_id, action, data)
        except FormError as error:
            context = await section_context(
                access, card_id, errors={f"{action}.{k}": v for k, v in error.errors.items()}, values=dict(data)
            )
            context["open_action"] = action
            return Template("partials/incidents/_workflow.html", context=context, status_code=422)
        except Conflict as error:
            context = await section_context(access, card_id, flash=error.message, level="error")
            return Template("partials/incidents/_workflow.html", context=context, status_code=409)
        label = workflow.ACTIONS[action].label
        if result.get("archived"):
            return Template("partials/incidents/_closed.html", context={"card_id": card_id, "flash": str(label)})
        context = await section_context(access, card_id, flash=str(label))
        return Template("partials/incidents/_workflow.html", context=context)


class IncidentApi(Controller):
    """The incident's course through the JSON API: the same actions, the same rules."""

    path = "/api/v1/incidents"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/{card_id:int}", summary="An incident: its state, level, statement, the actions you may take, its timeline")
    async def incident(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await _incident_access(request, card_id)
        result = await workflow.incident(access, card_id)
        result["statements"] = [
            {
                "version": row["version"],
                "text": row["text"],
                "status": row["status"],
                "reason": row["reason"],
                "submitted_at": row["submitted_at"].isoformat(),
                "published_at": row["published_at"].isoformat() if row["published_at"] else None,
            }
            for row in await workflow.versions(card_id)
        ]
        result["comment_card_ids"] = [row["id"] for row in await services.linked_comments(access, card_id)]
        result["timeline"] = [
            {
                "verb": event["verb"],
                "payload": event["payload"],
                "actor": event["actor"],
                "at": event["created_at"].isoformat(),
            }
            for event in await services.timeline(card_id, access.board_id)
        ]
        return result

    @post(
        "/{card_id:int}/{action:str}",
        summary=(
            "Take an action on an incident: assess {level, assessment, responsible}, respond-plan {plan}, "
            "submit-statement {text}, approve-statement {version}, return-statement {version, reason}, "
            "publish-statement {version} (the approved one), instruct {text}, link-comments {comment_card_ids}, "
            "calm {}, review {text}, close {}. assess, respond-plan, instruct and review take an optional "
            "card_version: a stale one gets 409. Answers the incident with its state; 409 when the action is "
            "not allowed now or for you."
        ),
        status_code=200,
    )
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Response:
        access = await _incident_access(request, card_id)
        body = await json_object(request)
        return Response(await workflow.act(access, card_id, action, body))
