"""The campaign plan's routes: the drawer's 方案审批 section and its buttons (htmx), and the
JSON API ``/api/v1/campaigns/{card_id}/plan[/{action}]``. Thin: portal.campaigns.workflow
decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess, access_for
from portal.campaigns import workflow
from portal.cards import services as cards
from portal.core.choices import Choices
from portal.core.errors import Conflict, FormError
from portal.core.web import json_object
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

VERSION_STATUSES = Choices(
    ("submitted", _l("awaiting approval")),
    ("approved", _l("approved")),
    ("returned", _l("returned")),
    ("withdrawn", _l("withdrawn")),
)


async def campaign_access(request: Request, card_id: int) -> BoardAccess:
    """The viewer's access to the campaign's board; 404 for a card that is not a campaign or
    that this viewer may not see. Every campaign route starts here."""
    access = await access_for(request.user, await cards.find_board_of(card_id))
    await workflow.campaign_access(access, card_id)
    return access


async def plan_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    return {
        **await workflow.plan_state(access, card_id),
        "access": access,
        "states": workflow.STATES,
        "field_labels": workflow.FIELD_LABELS,
        "version_statuses": VERSION_STATUSES,
        "errors": {},
        "values": {},
        "flash": "",
        "level": "ok",
        **extra,
    }


PLAN = "partials/campaigns/_plan.html"


async def reverted_drawer(access: BoardAccess, card_id: int, result: dict[str, Any]) -> Template:
    """放弃修改 puts the approved plan back in the card's own fields: the whole drawer comes back
    (retargeted from the plan section), so its form shows the approved values and carries the
    new version (a save from the old form would be refused as stale), with the tile."""
    from portal.cards.controllers import _drawer

    flash = _(
        "The change was discarded (放弃修改): the approved plan, version %(n)s, is back on the card.",
        n=result["approved_version"],
    )
    if result["owner_kept"]:
        flash += " " + _("The approved owner may no longer be assigned to this campaign: the current owner stays.")
    context = await _drawer(access, card_id, flash=flash)
    return Template(
        "partials/cards/_drawer.html",
        context={**context, "live_cards": await cards.tiles([card_id], access.board_kind)},
        headers={"HX-Retarget": "#drawer", "HX-Reswap": "outerHTML"},
    )


class CampaignPlanController(Controller):
    path = "/campaigns"

    @get("/{card_id:int}/plan")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        return Template(PLAN, context=await plan_context(access, card_id))

    @post("/{card_id:int}/plan/{action:str}")
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Template:
        access = await campaign_access(request, card_id)
        data = await request.form()
        try:
            result = await workflow.act(access, card_id, action, data)
        except FormError as error:
            context = await plan_context(
                access, card_id, errors={f"{action}.{k}": v for k, v in error.errors.items()}, values=dict(data)
            )
            context["open_action"] = action
            return Template(PLAN, context=context, status_code=422)
        except Conflict as error:
            return Template(
                PLAN, context=await plan_context(access, card_id, flash=error.message, level="error"), status_code=409
            )
        if action == "revert":
            return await reverted_drawer(access, card_id, result)
        label = workflow.ACTIONS[action].label
        return Template(PLAN, context=await plan_context(access, card_id, flash=str(label)))


class CampaignPlanApi(Controller):
    """The plan's approval through the JSON API: the same actions, the same rules."""

    path = "/api/v1/campaigns"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/{card_id:int}/plan", summary="A campaign's plan: state, version in force, changes, versions, actions")
    async def plan(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        return await workflow.summary(access, card_id)

    @post(
        "/{card_id:int}/plan/{action:str}",
        summary=(
            "Take an action on a campaign's plan: submit {note}, withdraw {}, approve {version, note} "
            "(managers; not the version's submitter while another manager could decide), return "
            "{version, reason} (managers), revert {version} (drop a change to the approved plan that awaits "
            "no decision: the approved plan back on the card; version: the card's version you read, 409 "
            "when it changed since), finish {}, archive {}. Answers the plan's state; 409 when the "
            "action is not allowed now or for you."
        ),
        status_code=200,
    )
    async def act(self, request: Request, card_id: FromPath[int], action: FromPath[str]) -> Response:
        access = await campaign_access(request, card_id)
        return Response(await workflow.act(access, card_id, action, await json_object(request)))
