"""The evaluation's figures through the JSON API: ``GET /api/v1/stats`` answers every dashboard
figure (rates as fractions, times in working minutes) for the cards the caller may see, and
``GET /api/v1/stats/cards`` the cards behind one figure. Query parameters as the dashboard's:
``period`` (week, month, last_week, last_month, custom), ``from``/``to`` (YYYY-MM-DD, both
days included), ``board``, ``department``, ``kind``; bad ones answer 422 with a message per
field."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from portal.api.auth import api_csrf
from portal.stats.period import parse_filters

PARAMETERS = (
    "Query: period=week|month|last_week|last_month|custom (default month), from=YYYY-MM-DD, to=YYYY-MM-DD "
    "(local days, both included), board=<id>, department=<id>, kind=comments|inquiries|campaigns. "
    "422 with a message per field for bad input."
)


class StatsApi(Controller):
    path = "/api/v1/stats"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get(
        "/",
        summary="Every dashboard figure: rates (fractions), times (working minutes), deadlines, volume, "
        "categories, sentiment, members, departments, campaigns",
        description=PARAMETERS,
    )
    async def stats(self, request: Request) -> dict[str, Any]:
        filters = await parse_filters(request.user, request.query_params)
        from portal.stats import figures  # at the first call: see controllers._figures

        return await figures.dashboard(request.user, filters)

    @get(
        "/cards",
        summary="The cards behind one figure (at most 500): figure=received|accepted|resolved|replied|satisfied|"
        "overdue_now|supervised|reopened|on_time|late|done|… and key=member:<id>|department:<id>|stage:<clock>|"
        "day:YYYY-MM-DD|platform:<code>|category:<code>|sentiment:<code>",
        description=PARAMETERS,
    )
    async def cards(self, request: Request) -> dict[str, Any]:
        filters = await parse_filters(request.user, request.query_params)
        figure, key = request.query_params.get("figure"), request.query_params.get("key")
        from portal.stats import figures

        found = await figures.cards_behind(request.user, filters, figure or "", key)
        for card in found:
            for name in ("due_at", "received_at"):
                card[name] = card[name].isoformat() if card.get(name) else None
        return {**filters.as_json(), "figure": figure, "key": key or None, "cards": found}
