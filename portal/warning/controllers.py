"""The early warning's HTTP side: the live 舆情监测 page (/warning), its acknowledge and
转为事件 buttons, the admins' watch rules page, and the JSON API under /api/v1/warning.

Thin: one service call in ``portal.warning.services`` per request, then the page, its live
section (the same partial the page, the buttons and the live refresh render) or JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.api.auth import api_csrf
from portal.core.errors import Conflict, FormError
from portal.core.schemas import parse
from portal.core.web import admin_only
from portal.i18n import gettext as _
from portal.warning import services

PAGE = "pages/warning/monitor.html"
LIVE = "partials/warning/_live.html"
RULES = "pages/warning/rules.html"


def _focus(request: Request) -> int | None:
    """The alert the page was opened for (a bell's link: /warning?alert=N#alert-N); the live
    section's refreshes and buttons keep it, from the page's own address (htmx sends it)."""
    value = request.query_params.get("alert")
    if value is None and request.headers.get("hx-current-url"):
        query = parse_qs(urlsplit(request.headers["hx-current-url"]).query)
        value = (query.get("alert") or [None])[0]
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _live_context(request: Request, **extra: Any) -> dict[str, Any]:
    topics = await services.topics_overview(request.user)
    alerts = await services.list_alerts(request.user)
    boards = sorted({alert["board"] for alert in alerts})
    managed = await services.managed_boards(request.user, boards)
    return {
        "topics": topics,
        "alerts": alerts,
        "managed": managed,
        # Who may press 确认: the managers, and the members on duty (their bell rang first).
        "acknowledging": managed | await services.on_duty_boards(request.user, boards),
        "focus": _focus(request),
        "level_label": services.level_label,
        "status_labels": services.STATUS_LABELS,
        "reasons": services.REASONS,
        "flash": "",
        "level": "ok",
        **extra,
    }


def _live(context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(LIVE, context=context, status_code=status_code)


class WarningController(Controller):
    path = "/warning"

    @get("/")
    async def page(self, request: Request) -> Template:
        return Template(PAGE, context=await _live_context(request))

    @get("/live")
    async def live(self, request: Request) -> Template:
        return _live(await _live_context(request))

    @post("/alerts/{alert_id:int}/acknowledge")
    async def acknowledge(self, request: Request, alert_id: FromPath[int]) -> Response:
        await services.acknowledge(request.user, alert_id)
        if not request.htmx:
            return Redirect("/warning", status_code=303)
        return _live(await _live_context(request, flash=_("Acknowledged.")))

    @post("/alerts/{alert_id:int}/incident")
    async def make_incident(self, request: Request, alert_id: FromPath[int]) -> Response:
        try:
            card_id = await services.make_incident(request.user, alert_id)
        except Conflict as error:
            if not request.htmx:
                raise
            return _live(await _live_context(request, flash=error.message, level="error"), 409)
        # On to the incident's card, where its handling starts (研判, the statement …).
        if not request.htmx:
            return Redirect(f"/cards/{card_id}", status_code=303)
        context = await _live_context(request, flash=_("Incident #%(id)s was opened.", id=card_id))
        return Template(LIVE, context=context, headers={"HX-Redirect": f"/cards/{card_id}"})


class WarningAdminController(Controller):
    path = "/admin/warning-rules"
    guards = [admin_only]

    @get("/")
    async def rules_page(self, saved: FromQuery[str] = "") -> Template:
        return await _rules_page(saved=saved)

    @post("/")
    async def add_rule(self, request: Request) -> Response:
        data = await request.form()
        try:
            await services.add_rule(request.user, parse(services.WatchRuleInput, data))
        except FormError as error:
            return await _rules_page(errors=error.errors, values=dict(data), status_code=422)
        return Redirect("/admin/warning-rules?saved=added", status_code=303)

    @post("/{rule_id:int}/delete")
    async def delete_rule(self, request: Request, rule_id: FromPath[int]) -> Redirect:
        await services.delete_rule(request.user, rule_id)
        return Redirect("/admin/warning-rules?saved=deleted", status_code=303)

    @post("/settings")
    async def settings(self, request: Request) -> Response:
        data = await request.form()
        try:
            await services.set_escalate_minutes(request.user, parse(services.WarningSettingInput, data))
        except FormError as error:
            return await _rules_page(errors=error.errors, values=dict(data), status_code=422)
        return Redirect("/admin/warning-rules?saved=settings", status_code=303)


async def _rules_page(status_code: int = 200, **extra: Any) -> Template:
    context = {"errors": {}, "values": {}, "saved": "", **await services.rules_page(), **extra}
    return Template(RULES, context=context, status_code=status_code)


class WarningApi(Controller):
    path = "/api/v1/warning"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/topics", summary="Topics active in the last day: volume in the last hour and day, growth, negative share")
    async def topics(self, request: Request) -> list[dict[str, Any]]:
        return [services.topic_json(topic) for topic in await services.topics_overview(request.user)]

    @get("/alerts", summary="Alerts raised in the last day on the boards you see, those waiting for someone first")
    async def alerts(self, request: Request) -> list[dict[str, Any]]:
        return [services.alert_json(alert) for alert in await services.list_alerts(request.user)]

    @post(
        "/alerts/{alert_id:int}/acknowledge",
        summary="Acknowledge an alert (the board's managers and its members on duty)",
        status_code=200,
    )
    async def acknowledge(self, request: Request, alert_id: FromPath[int]) -> dict[str, Any]:
        await services.acknowledge(request.user, alert_id)
        return services.alert_json(await services.alert_view(request.user, alert_id))

    @post(
        "/alerts/{alert_id:int}/incident",
        summary=(
            "Make an alert an incident (转为事件, the board's managers): 201 with the alert and the incident's "
            "card id; 409 when it is one already or there is no incidents board you may work on"
        ),
        status_code=201,
    )
    async def make_incident(self, request: Request, alert_id: FromPath[int]) -> dict[str, Any]:
        card_id = await services.make_incident(request.user, alert_id)
        alert = await services.alert_view(request.user, alert_id)
        return {"incident_card": card_id, "alert": services.alert_json(alert)}


ROUTES: list[Any] = [WarningController, WarningAdminController, WarningApi]
