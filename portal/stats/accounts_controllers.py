"""Account figures over HTTP: the page ``/stats/accounts`` (the period's table per account and
platform, a chart of followers per account and the same as a table, hand entry, the spreadsheet
upload and the accounts themselves for managers), its CSV/XLSX export, and the JSON API
``/api/v1/accounts``. Thin: portal.stats.accounts decides.

A period, platform or department the page cannot read is not an error page: the page shows the
30 days up to yesterday (or every platform, every department) with a notice saying what was not
understood. The API answers 400 with the message."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from portal.api.auth import api_csrf
from portal.campaigns.review import content_disposition
from portal.core.errors import FormError
from portal.core.templating import department_name
from portal.core.web import client_ip, json_object
from portal.i18n import gettext as _
from portal.stats import accounts, accounts_import, export

PAGE = "pages/stats/accounts.html"
# ?from= and ?to= (a Python keyword cannot name the argument itself)
FirstDay = Annotated[str, QueryParameter(name="from", required=False, description="First day, YYYY-MM-DD")]
LastDay = Annotated[str, QueryParameter(name="to", required=False, description="Last day (included), YYYY-MM-DD")]


async def read_filters(start: str, end: str, platform: str, department: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The period and filters as asked, and a message per parameter not understood."""
    problems: dict[str, str] = {}
    try:
        period = accounts.parse_period(start, end)
    except FormError as error:
        problems.update(error.errors)
        period = accounts.default_period()
    chosen_platform = None
    if platform.strip():
        if platform.strip() in accounts.PLATFORMS:
            chosen_platform = platform.strip()
        else:
            problems["platform"] = _("“%(platform)s” is not a platform accounts are on.", platform=platform[:20])
    department_id = None
    if department.strip():
        text = department.strip()
        known = {row["id"] for row in await accounts.department_choices()}
        if text.isascii() and text.isdigit() and int(text) in known:
            department_id = int(text)
        else:
            problems["department"] = _("There is no department %(department)s.", department=text[:20])
    return {"period": period, "platform": chosen_platform, "department": department_id}, problems


def filter_query(filters: dict[str, Any], **extra: Any) -> str:
    """The filters as a query string (for links, the export and the redirect after a form)."""
    period = filters["period"]
    params: dict[str, Any] = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if filters.get("platform"):
        params["platform"] = filters["platform"]
    if filters.get("department"):
        params["department"] = filters["department"]
    params.update({key: value for key, value in extra.items() if value not in (None, "")})
    return urlencode(params)


async def page_context(
    request: Request, filters: dict[str, Any], problems: dict[str, str], **extra: Any
) -> dict[str, Any]:
    result = await accounts.summary(filters["period"], platform=filters["platform"], department=filters["department"])
    every_account = await accounts.list_accounts()
    saved = request.query_params.get("saved", "")
    count = request.query_params.get("count", "")
    flash = {
        "figures": _("Figures recorded."),
        "imported": _("%(count)s days of figures imported.", count=count if count.isdigit() else "?"),
        "account": _("Account saved."),
        "created": _("Account added."),
    }.get(saved, "")
    user = request.user
    return {
        "filters": filters,
        "period": filters["period"],
        "problems": problems,
        "summary": result,
        "charts": accounts.charts(result),
        "daily": accounts.daily_table(result),
        "accounts": every_account,
        "departments": await accounts.department_choices(),
        "platforms": accounts.PLATFORMS,
        "figure_labels": accounts.FIGURE_LABELS,
        "sources": accounts.SOURCES,
        "recent": await accounts.recent(10),
        "can_write": user is not None and user.is_manager,
        "query": filter_query(filters),
        "presets": [(days, filter_query({**filters, "period": accounts.default_period(days)})) for days in (7, 30, 90)],
        "today": accounts.today().isoformat(),
        "yesterday": (accounts.today() - timedelta(days=1)).isoformat(),
        "max_rows": accounts_import.MAX_ROWS,
        "flash": flash,
        "form": "",
        "errors": {},
        "values": {},
        "import_errors": [],
        **extra,
    }


def _hidden_filters(data: Any) -> tuple[str, str, str, str]:
    """The filters a form carries back (hidden fields), to return to the same view."""
    return (
        str(data.get("from") or ""),
        str(data.get("to") or ""),
        str(data.get("platform_filter") or ""),
        str(data.get("department_filter") or ""),
    )


def _account_id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


class AccountFiguresController(Controller):
    path = "/stats/accounts"

    @get("/")
    async def page(
        self,
        request: Request,
        start: FirstDay = "",
        end: LastDay = "",
        platform: FromQuery[str] = "",
        department: FromQuery[str] = "",
    ) -> Template:
        filters, problems = await read_filters(start, end, platform, department)
        return Template(PAGE, context=await page_context(request, filters, problems))

    async def _after(self, request: Request, data: Any, saved: str, **extra: Any) -> Redirect:
        filters, _problems = await read_filters(*_hidden_filters(data))
        return Redirect(f"/stats/accounts?{filter_query(filters, saved=saved, **extra)}", status_code=303)

    async def _again(self, request: Request, data: Any, form: str, status: int, **extra: Any) -> Template:
        """The page again with the form's messages (nothing was written)."""
        filters, problems = await read_filters(*_hidden_filters(data))
        context = await page_context(request, filters, problems, form=form, **extra)
        return Template(PAGE, context=context, status_code=status)

    @post("/figures")
    async def record(self, request: Request) -> Response:
        """Hand entry: one account's figures on one day."""
        accounts.require_manager(request.user)
        data = await request.form()
        values = {key: data.get(key) for key in ("account", "date", "followers", "reads", "interactions")}
        account_id = _account_id(data.get("account"))
        try:
            if account_id is None:
                raise FormError({"account": _("Choose an account.")})
            await accounts.record_one(request.user, account_id, data, source="hand", ip=client_ip(request))
        except FormError as error:
            return await self._again(request, data, "figures", 422, errors=error.errors, values=values)
        return await self._after(request, data, "figures")

    @post("/import")
    async def import_file(self, request: Request) -> Response:
        """A CSV or Excel file of figures (multipart), all or nothing."""
        accounts.require_manager(request.user)
        data = await request.form()
        upload = data.get("file")
        account_id = _account_id(data.get("account"))
        values = {"account": data.get("account") or ""}
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormError({"file": _("Choose a CSV or Excel file.")})
            if data.get("account") and account_id is None:
                raise FormError({"account": _("Choose an account.")})
            result = await accounts_import.import_file(
                request.user, upload.filename, await upload.read(), account_id=account_id, ip=client_ip(request)
            )
        except accounts_import.AccountImportError as error:
            return await self._again(
                request,
                data,
                "import",
                422,
                errors={"file": error.errors["file"]},
                import_errors=accounts_import.errors_of(error),
                values=values,
            )
        except FormError as error:
            return await self._again(request, data, "import", 422, errors=error.errors, values=values)
        return await self._after(request, data, "imported", count=result.count)

    @post("/new")
    async def create_account(self, request: Request) -> Response:
        accounts.require_manager(request.user)
        data = await request.form()
        values = {key: data.get(key) or "" for key in ("name", "platform", "department_id")}
        try:
            await accounts.create_account(request.user, values, ip=client_ip(request))
        except FormError as error:
            return await self._again(request, data, "new", 422, errors=error.errors, values=values)
        return await self._after(request, data, "created")

    @post("/{account_id:int}")
    async def update_account(self, request: Request, account_id: FromPath[int]) -> Response:
        accounts.require_manager(request.user)
        data = await request.form()
        values = {key: data.get(key) or "" for key in ("name", "platform", "department_id")}
        values["active"] = data.get("active") == "1"
        try:
            await accounts.update_account(request.user, account_id, values, ip=client_ip(request))
        except FormError as error:
            return await self._again(request, data, f"account-{account_id}", 422, errors=error.errors, values=values)
        return await self._after(request, data, "account")

    @get("/export.csv")
    async def export_csv(
        self,
        request: Request,
        start: FirstDay = "",
        end: LastDay = "",
        platform: FromQuery[str] = "",
        department: FromQuery[str] = "",
        table: FromQuery[str] = "accounts",
    ) -> Response:
        chosen, tables = await _export(start, end, platform, department, table)
        return Response(
            export.to_csv(tables[0]),
            media_type="text/csv",  # Litestar adds the charset (UTF-8, with a BOM for Excel)
            headers={"Content-Disposition": _disposition(chosen, tables[0], "csv")},
        )

    @get("/export.xlsx")
    async def export_xlsx(
        self,
        request: Request,
        start: FirstDay = "",
        end: LastDay = "",
        platform: FromQuery[str] = "",
        department: FromQuery[str] = "",
        table: FromQuery[str] = "",
    ) -> Response:
        chosen, tables = await _export(start, end, platform, department, table or "all")
        return Response(
            export.to_xlsx(tables),
            media_type=export.XLSX_TYPE,
            headers={"Content-Disposition": _disposition(chosen, tables[0] if len(tables) == 1 else None, "xlsx")},
        )


# Export ----------------------------------------------------------------------------------------

EXPORT_TABLES = ("accounts", "platforms", "daily")


def export_tables(result: accounts.Summary) -> dict[str, export.Table]:
    """The page's tables as files: per account, per platform (with the total), and the days."""
    period_columns = [
        export.Column("followers", _("Followers"), export.INT),
        export.Column("growth", _("Growth"), export.INT),
        export.Column("growth_rate", _("Growth rate"), export.FRACTION),
        export.Column("reads", _("Reads"), export.INT),
        export.Column("interactions", _("Interactions"), export.INT),
        export.Column("interaction_rate", _("Interaction rate"), export.FRACTION),
    ]

    def figures(line: accounts.Line) -> dict[str, Any]:
        return {
            "followers": line.followers,
            "growth": line.growth,
            "growth_rate": line.growth_rate,
            "reads": line.reads,
            "interactions": line.interactions,
            "interaction_rate": line.interaction_rate,
        }

    by_account = export.Table(
        "accounts",
        _("Accounts"),
        [
            export.Column("name", _("Account"), export.TEXT, 16),
            export.Column("platform", _("Platform"), export.LABEL, 10),
            export.Column("department", _("Department"), export.TEXT, 14),
            *period_columns,
        ],
        [
            {
                "name": line.label,
                "platform": accounts.PLATFORMS.label(line.account["platform"]),
                "department": department_name(line.account["department_zh"], line.account["department_en"])
                if line.account["department_id"]
                else "",
                **figures(line),
            }
            for line in result.lines
            if line.account
        ],
    )
    by_platform = export.Table(
        "platforms",
        _("Platforms"),
        [
            export.Column("platform", _("Platform"), export.LABEL, 14),
            export.Column("accounts", _("Accounts")),
            *period_columns,
        ],
        [
            {"platform": line.label, "accounts": line.accounts, **figures(line)}
            for line in [*result.platforms, *([result.total] if result.total else [])]
        ],
    )
    daily = export.Table(
        "daily",
        _("Days"),
        [
            export.Column("day", _("Date"), export.DAY),
            export.Column("name", _("Account"), export.TEXT, 16),
            export.Column("platform", _("Platform"), export.LABEL, 10),
            export.Column("followers", _("Followers"), export.INT),
            export.Column("reads", _("Reads"), export.INT),
            export.Column("interactions", _("Interactions"), export.INT),
        ],
    )
    return {"accounts": by_account, "platforms": by_platform, "daily": daily}


async def _export(
    start: str, end: str, platform: str, department: str, table: str
) -> tuple[dict[str, Any], list[export.Table]]:
    filters, problems = await read_filters(start, end, platform, department)
    if table not in (*EXPORT_TABLES, "all"):
        problems["table"] = _("Choose one of these tables: %(tables)s.", tables=", ".join(EXPORT_TABLES))
    if problems:
        raise FormError(problems)
    result = await accounts.summary(filters["period"], platform=filters["platform"], department=filters["department"])
    tables = export_tables(result)
    names = EXPORT_TABLES if table == "all" else (table,)
    if "daily" in names:
        tables["daily"].rows = [
            {
                "day": row["day"].isoformat(),
                "name": line.label,
                "platform": accounts.PLATFORMS.label(line.account["platform"]),
                **{figure: row[figure] for figure in accounts.FIGURES},
            }
            for line in result.lines
            if line.account
            for row in await accounts.figures(line.account["id"], filters["period"])
        ]
    return filters, [tables[name] for name in names]


def _disposition(filters: dict[str, Any], table: export.Table | None, extension: str) -> str:
    period = filters["period"]
    title = _("Account figures") + (f" {table.title}" if table else "")
    name = f"{title} {period.start.isoformat()}–{period.end.isoformat()}.{extension}"
    fallback = (
        f"accounts-{table.name if table else 'all'}-{period.start.isoformat()}-{period.end.isoformat()}.{extension}"
    )
    return content_disposition(name, fallback)


# The JSON API ---------------------------------------------------------------------------------


def account_json(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": account["id"],
        "name": account["name"],
        "platform": account["platform"],
        "platform_label": accounts.PLATFORMS.label(account["platform"]),
        "department": account["department_id"],
        "department_name": department_name(account["department_zh"], account["department_en"])
        if account["department_id"]
        else None,
        "active": account["active"],
    }


def _figure_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": row["day"].isoformat(),
        **{figure: row[figure] for figure in accounts.FIGURES},
        "source": row["source"],
    }


def _bad_request(problems: dict[str, str]) -> Response:
    return Response({"status": 400, "message": " ".join(problems.values()), "errors": problems}, status_code=400)


async def _body(request: Request) -> Any:
    """An object or a list of objects; anything else is a 422 with a message."""
    try:
        body = await request.json() if (await request.body()).strip() else None
    except Exception:
        body = None
    if isinstance(body, dict) or (isinstance(body, list) and all(isinstance(item, dict) for item in body)):
        return body
    raise FormError({"__all__": _("The request body must be a JSON object or a list of objects.")})


async def _account_figures(account_id: int, period: accounts.Period) -> dict[str, Any]:
    account = await accounts.get_account(account_id)
    result = await accounts.summary(period, account=account_id)
    line = next((line for line in result.lines if line.account and line.account["id"] == account_id), None)
    if line is None:  # an account no longer in use, without figures in the period
        line = accounts.Line(key=str(account_id), label=account["name"], account=account)
    summary = line.as_json()
    for key in ("account", "name", "platform", "department", "active"):
        summary.pop(key, None)
    return {
        "account": account_json(account),
        "period": period.as_json(),
        "summary": summary,
        "figures": [_figure_json(row) for row in await accounts.figures(account_id, period)],
    }


class AccountsApi(Controller):
    """The accounts and their daily figures through the JSON API: the same rules as the page."""

    path = "/api/v1/accounts"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/", summary="The media accounts (政务新媒体账号): name, platform, department, in use or not")
    async def list_accounts(self) -> list[dict[str, Any]]:
        return [account_json(account) for account in await accounts.list_accounts()]

    @post(
        "/",
        summary="Add an account: {name, platform, department_id, active}; managers and administrators",
        status_code=201,
    )
    async def create_account(self, request: Request) -> dict[str, Any]:
        account_id = await accounts.create_account(request.user, await json_object(request), ip=client_ip(request))
        return account_json(await accounts.get_account(account_id))

    @get(
        "/summary",
        summary=(
            "The period's figures per account, per platform and in total: ?from=&to= (YYYY-MM-DD, default the "
            "30 days up to yesterday), optional &platform= and &department=. Followers at the end of the period, "
            "growth and growth rate (a fraction), reads, interactions and interaction rate (interactions / reads, "
            "a fraction)"
        ),
    )
    async def summary(
        self,
        start: FirstDay = "",
        end: LastDay = "",
        platform: FromQuery[str] = "",
        department: FromQuery[str] = "",
    ) -> Response:
        filters, problems = await read_filters(start, end, platform, department)
        if problems:
            return _bad_request(problems)
        result = await accounts.summary(
            filters["period"], platform=filters["platform"], department=filters["department"]
        )
        return Response(result.as_json())

    @get("/{account_id:int}", summary="An account")
    async def account(self, account_id: FromPath[int]) -> dict[str, Any]:
        return account_json(await accounts.get_account(account_id))

    @patch(
        "/{account_id:int}",
        summary="Change an account: any of {name, platform, department_id, active}; managers and administrators",
    )
    async def update_account(self, request: Request, account_id: FromPath[int]) -> dict[str, Any]:
        await accounts.update_account(request.user, account_id, await json_object(request), ip=client_ip(request))
        return account_json(await accounts.get_account(account_id))

    @get(
        "/{account_id:int}/figures",
        summary=(
            "An account's daily figures for ?from=&to= (YYYY-MM-DD, default the 30 days up to yesterday; null: "
            "not given) and the period's summary (followers, growth, growth_rate, reads, interactions, "
            "interaction_rate)"
        ),
    )
    async def figures(
        self,
        account_id: FromPath[int],
        start: FirstDay = "",
        end: LastDay = "",
    ) -> Response:
        try:
            period = accounts.parse_period(start, end)
        except FormError as error:
            await accounts.get_account(account_id)  # 404 before 400
            return _bad_request(error.errors)
        return Response(await _account_figures(account_id, period))

    @post(
        "/{account_id:int}/figures",
        summary=(
            "Record an account's daily figures: {date, followers, reads, interactions} or a list of them, all or "
            "nothing. followers is the total at the end of the day, reads and interactions the day's. A figure "
            "left out (or null) is not given: recording a day again takes the figures sent and keeps the others. "
            'Managers and administrators; 422 with a message per field ("<index>.<field>" for a list).'
        ),
        status_code=201,
    )
    async def record(self, request: Request, account_id: FromPath[int]) -> Response:
        accounts.require_manager(request.user)
        body = await _body(request)
        ip = client_ip(request)
        if isinstance(body, list):
            recorded = await accounts.record(request.user, account_id, body, source="api", ip=ip)
        else:
            recorded = await accounts.record_one(request.user, account_id, body, source="api", ip=ip)
        assert recorded.first is not None and recorded.last is not None
        data = await _account_figures(account_id, accounts.Period(recorded.first, recorded.last))
        return Response({"recorded": recorded.count, **data}, status_code=201)


ROUTES: list[Any] = [AccountFiguresController, AccountsApi]
