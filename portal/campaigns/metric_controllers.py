"""A campaign's figures over HTTP: the drawer's 数据与目标 section (the figures against the goals,
the chart, hand entry, the spreadsheet upload, the latest snapshots) and the JSON API
``/api/v1/campaigns/{card_id}/metrics``. Thin: portal.campaigns.metrics decides."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess
from portal.campaigns import chart, metrics, metrics_import, workflow
from portal.campaigns.choices import METRICS
from portal.campaigns.controllers import campaign_access
from portal.cards import services as cards
from portal.core.choices import CAMPAIGN_PLATFORMS
from portal.core.errors import Conflict, FormError
from portal.i18n import gettext as _
from portal.settings import get_settings

SECTION = "partials/campaigns/_metrics.html"


def _plan_times(plan: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    def read(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None

    return read(plan.get("starts_at")), read(plan.get("ends_at"))


def goal_table(rows: list[dict[str, Any]], platforms: list[str]) -> dict[str, Any]:
    """``metrics.against_goals`` as the section's table: a row per figure, a column per
    platform (the plan's, then any other with figures) and the total."""
    columns = list(dict.fromkeys([*platforms, *(row["platform"] for row in rows if row["platform"])]))
    cells = {(row["platform"], row["metric"]): row for row in rows}
    figures = [metric for metric in METRICS.values if (None, metric) in cells]
    return {
        "platforms": [(code, CAMPAIGN_PLATFORMS.label(code)) for code in columns],
        "rows": [
            {
                "metric": metric,
                "label": METRICS.label(metric),
                "cells": [cells.get((platform, metric)) for platform in columns],
                "total": cells[(None, metric)],
            }
            for metric in figures
        ],
    }


async def figures_context(card: dict[str, Any]) -> dict[str, Any]:
    """What the chart partial needs (the review page builds the same): the goals against the
    results, the snapshots and the charts drawn from them."""
    plan = await workflow.effective_plan(card)
    rows = await metrics.against_goals(card)
    series = await metrics.series(card["id"])
    starts_at, ends_at = _plan_times(plan)
    return {
        "plan": plan,
        "goals": rows,
        "goal_table": goal_table(rows, list(plan.get("platforms") or [])),
        "series": series,
        "chart_set": chart.charts(series, rows, get_settings().tz, start=starts_at, end=ends_at),
    }


async def section_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    figures = await figures_context(card)
    recording = state in metrics.RECORDING_STATES
    tz = get_settings().tz
    return {
        "card": card,
        "state": state,
        "states": workflow.STATES,
        "access": access,
        **figures,
        "recording": recording,
        "can_record": recording and access.can_edit,
        "platforms": [(code, CAMPAIGN_PLATFORMS.label(code)) for code in figures["plan"].get("platforms") or []],
        "metrics": METRICS,
        "sources": metrics.SOURCES,
        "recent": await metrics.recent(card_id),
        "total": await metrics.count(card_id),
        "now_local": datetime.now(UTC).astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "max_rows": metrics_import.MAX_ROWS,
        "errors": {},
        "values": {},
        "import_errors": [],
        "flash": "",
        "level": "ok",
        **extra,
    }


class CampaignMetricsController(Controller):
    path = "/campaigns"

    @get("/{card_id:int}/metrics")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        return Template(SECTION, context=await section_context(access, card_id))

    @post("/{card_id:int}/metrics")
    async def record(self, request: Request, card_id: FromPath[int]) -> Template:
        """Hand entry: one snapshot from the section's form."""
        access = await campaign_access(request, card_id)
        data = await request.form()
        try:
            await metrics.record_one(access, card_id, data, source="hand")
        except FormError as error:
            context = await section_context(access, card_id, errors=error.errors, values=dict(data))
            return Template(SECTION, context=context, status_code=422)
        except Conflict as error:
            context = await section_context(access, card_id, flash=error.message, level="error")
            return Template(SECTION, context=context, status_code=409)
        return Template(SECTION, context=await section_context(access, card_id, flash=_("Snapshot recorded.")))

    @post("/{card_id:int}/metrics/import")
    async def import_file(self, request: Request, card_id: FromPath[int]) -> Template:
        """A CSV or Excel file of snapshots (multipart), all or nothing."""
        access = await campaign_access(request, card_id)
        access.require_edit()  # the right to write before anything about the upload
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormError({"file": _("Choose a CSV or Excel file.")})
            result = await metrics_import.import_file(access, card_id, upload.filename, await upload.read())
        except metrics_import.MetricsImportError as error:
            context = await section_context(
                access, card_id, import_errors=metrics_import.errors_of(error), errors={"file": error.errors["file"]}
            )
            return Template(SECTION, context=context, status_code=422)
        except FormError as error:
            context = await section_context(access, card_id, errors=error.errors)
            return Template(SECTION, context=context, status_code=422)
        except Conflict as error:
            context = await section_context(access, card_id, flash=error.message, level="error")
            return Template(SECTION, context=context, status_code=409)
        flash = _("%(count)s snapshots imported.", count=result.count)
        return Template(SECTION, context=await section_context(access, card_id, flash=flash))


def _snapshot_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "at": row["at"].astimezone(UTC).isoformat()}


async def _summary(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "card_id": card["id"],
        "snapshots": [_snapshot_json(row) for row in await metrics.series(card["id"])],
        "latest": await metrics.latest(card["id"]),
        "against_goals": await metrics.against_goals(card),
    }


async def _body(request: Request) -> Any:
    """An object or a list of objects; anything else is a 422 with a message."""
    try:
        body = await request.json() if (await request.body()).strip() else None
    except Exception:
        body = None
    if isinstance(body, dict) or (isinstance(body, list) and all(isinstance(item, dict) for item in body)):
        return body
    raise FormError({"__all__": _("The request body must be a JSON object or a list of objects.")})


class CampaignMetricsApi(Controller):
    """A campaign's metric snapshots through the JSON API: the same rules as the drawer."""

    path = "/api/v1/campaigns"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get(
        "/{card_id:int}/metrics",
        summary=(
            "A campaign's metric snapshots (oldest first; null: a figure not given), the latest known value of "
            "each figure per platform, and goals against results"
        ),
    )
    async def snapshots(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        return await _summary(await cards.get_card(access, card_id))

    @post(
        "/{card_id:int}/metrics",
        summary=(
            "Record metric snapshots: {platform, at, participants, comments, shares, new_followers, reads} "
            "or a list of them, all or nothing. Running totals per platform; a figure left out (or null) is "
            "not given and keeps its last known value; a snapshot for a platform and time already recorded "
            "takes the figures sent and keeps the others. 409 unless the campaign is running (执行中) or in "
            'review (复盘); 422 with a message per field ("<index>.<field>" for a list).'
        ),
        status_code=201,
    )
    async def record(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await campaign_access(request, card_id)
        body = await _body(request)
        if isinstance(body, list):
            recorded = await metrics.record(access, card_id, body, source="api")
        else:
            recorded = await metrics.record_one(access, card_id, body, source="api")
        summary = await _summary(await cards.get_card(access, card_id))
        return Response(
            {"recorded": recorded.count, "participants_pct": recorded.participants_pct, **summary}, status_code=201
        )
