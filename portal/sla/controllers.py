"""The calendar page (view a year, change a day, import a year) and the deadline preview."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal.core.forms import FormError, optional_int, text
from portal.core.web import admin_only
from portal.settings import get_settings
from portal.sla import services
from portal.sla.forms import DayForm, PreviewForm
from portal.sla.policies import stages


def _year(value: str | None) -> int:
    year = optional_int(value)
    return year if year and 2000 <= year <= 2100 else datetime.now(get_settings().tz).year


class CalendarController(Controller):
    path = "/calendar"

    @get("/")
    async def calendar_page(self, request: Request, year: FromQuery[str] = "", saved: FromQuery[str] = "") -> Template:
        return Template(
            "pages/sla/calendar.html",
            context={
                **await services.year_view(_year(year)),
                "errors": {},
                "values": {},
                "saved": saved,
                "preview": None,
            },
        )

    @get("/preview")
    async def preview_fragment(self, request: Request) -> Template:
        """The preview form's answer (a fragment); start times without offset are local."""
        try:
            form = PreviewForm.parse(request.query_params, require_offset=False, default_tz=get_settings().tz)
            result = await services.preview(form.start, form.duration, form.mode)
            errors = {}
        except FormError as error:
            result, errors = None, error.errors
        return Template(
            "partials/sla/_preview.html",
            context={"preview": result, "errors": errors},
            status_code=200 if result else 422,
        )

    @post("/days", guards=[admin_only])
    async def set_day(self, request: Request) -> Response:
        data = await request.form()
        try:
            form = DayForm.parse(data)
            await services.set_day(request.user, form.day, form.kind)
        except FormError as error:
            return Template(
                "pages/sla/calendar.html",
                status_code=422,
                context={
                    **await services.year_view(_year(None)),
                    "errors": error.errors,
                    "values": {},
                    "saved": "",
                    "preview": None,
                },
            )
        return Redirect(f"/calendar?year={form.day.year}&saved=day#d-{form.day.isoformat()}", status_code=303)

    @post("/import", guards=[admin_only])
    async def import_year(self, request: Request) -> Response:
        data = await request.form()
        year = _year(data.get("year"))  # the year to show
        try:
            # The year as typed: one outside 2000–2100 is refused, not replaced by this year.
            await services.import_year(
                request.user,
                optional_int(data.get("year")) or 0,
                data.get("days") if isinstance(data.get("days"), str) else "",
            )
        except FormError as error:
            return Template(
                "pages/sla/calendar.html",
                status_code=422,
                context={
                    **await services.year_view(year),
                    "errors": error.errors,
                    "values": dict(data),
                    "saved": "",
                    "preview": None,
                },
            )
        return Redirect(f"/calendar?year={year}&saved=import", status_code=303)


@get("/api/sla/preview")
async def preview_api(request: Request) -> Response:
    """When would this be due? ?start=<ISO 8601 with offset>&duration=<int>&mode=<mode>"""
    try:
        form = PreviewForm.parse(request.query_params, require_offset=True)
    except FormError as error:
        return Response({"error": " ".join(error.errors.values()), "fields": error.errors}, status_code=400)
    return Response(await services.preview(form.start, form.duration, form.mode))


class PolicyController(Controller):
    path = "/sla/policies"

    @get("/")
    async def policies_page(self, request: Request, saved: FromQuery[str] = "") -> Template:
        await services.require_policy_editor(request.user)
        return Template(
            "pages/sla/policies.html",
            context={"policies": await services.list_policies(), "errors": {}, "saved": saved, "stages": stages()},
        )

    @post("/")
    async def save_policy(self, request: Request) -> Response:
        data = await request.form()
        try:
            await services.save_policy(
                request.user,
                optional_int(data.get("policy_id")),
                text(data, "board_kind"),
                text(data, "stage"),
                text(data, "priority"),
                text(data, "category"),
                optional_int(data.get("amount")),
                text(data, "mode"),
            )
        except FormError as error:
            return Template(
                "pages/sla/policies.html",
                status_code=422,
                context={
                    "policies": await services.list_policies(),
                    "errors": error.errors,
                    "saved": "",
                    "stages": stages(),
                },
            )
        return Redirect("/sla/policies?saved=1", status_code=303)
