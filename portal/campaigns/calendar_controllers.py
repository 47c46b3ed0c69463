"""The campaigns' calendar: the month page ``/campaigns/calendar?month=YYYY-MM`` (optionally
``&board=`` and ``&platform=``), its JSON twin ``/api/v1/campaigns/calendar`` and the drawer's
clash section ``/campaigns/{card_id}/clashes``. Thin: portal.campaigns.calendar reads.

A month, board or platform the page cannot read is not an error page: the page shows this
month (or every board, every platform) with a notice saying what was not understood, so that
a mistyped or stale link still lands somewhere useful (and a boosted link, which does not swap
in an error answer, still shows it). The API answers 400 with the message: a script should
learn of its mistake rather than get another month's data."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.campaigns import calendar
from portal.campaigns.controllers import campaign_access
from portal.core.choices import CAMPAIGN_PLATFORMS
from portal.core.errors import FormError
from portal.i18n import gettext as _


async def _filters(request: Request, month: str, board: str, platform: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The month and the filters as asked, and a message per parameter not understood."""
    problems: dict[str, str] = {}
    try:
        chosen = calendar.parse_month(month)
    except FormError as error:
        problems.update(error.errors)
        chosen = calendar.this_month()
    board_id = None
    if board.strip():
        visible = {access.board_id for access in await calendar.campaign_accesses(request.user)}
        text = board.strip()
        if text.isascii() and text.isdigit() and int(text) in visible:
            board_id = int(text)
        else:
            problems["board"] = _("There is no campaigns board %(board)s that you may see.", board=text[:20])
    chosen_platform = None
    if platform.strip():
        if platform.strip() in CAMPAIGN_PLATFORMS:
            chosen_platform = platform.strip()
        else:
            problems["platform"] = _("“%(platform)s” is not a platform campaigns run on.", platform=platform[:20])
    return {"month": chosen, "board": board_id, "platform": chosen_platform}, problems


class CampaignCalendarController(Controller):
    path = "/campaigns"

    @get("/calendar")
    async def calendar_page(
        self,
        request: Request,
        month: FromQuery[str] = "",
        board: FromQuery[str] = "",
        platform: FromQuery[str] = "",
    ) -> Template:
        chosen, problems = await _filters(request, month, board, platform)
        view = await calendar.month_view(request.user, chosen["month"], chosen["board"], chosen["platform"])
        return Template(
            "pages/campaigns/calendar.html",
            context={**view, "problems": problems, "platforms": CAMPAIGN_PLATFORMS},
        )

    @get("/{card_id:int}/clashes")
    async def clashes(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        return Template("partials/campaigns/_clashes.html", context=await calendar.clashes_section(access, card_id))


class CampaignCalendarApi(Controller):
    """The month's campaigns, days and clashes as JSON."""

    path = "/api/v1/campaigns"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get(
        "/calendar",
        summary=(
            "A month of campaigns across the campaigns boards you may see: ?month=YYYY-MM (default this month), "
            "optional &board= and &platform=. Its days (holiday, makeup_workday, weekend, workday) with the "
            "campaigns running on each, the campaigns and the clashes (same platform, same days); 400 for a "
            "month, board or platform not understood."
        ),
    )
    async def month(
        self,
        request: Request,
        month: FromQuery[str] = "",
        board: FromQuery[str] = "",
        platform: FromQuery[str] = "",
    ) -> Response:
        chosen, problems = await _filters(request, month, board, platform)
        if problems:
            return Response(
                {"status": 400, "message": " ".join(problems.values()), "errors": problems}, status_code=400
            )
        view = await calendar.month_view(request.user, chosen["month"], chosen["board"], chosen["platform"])
        return Response(calendar.month_json(view))
