"""Board pages: list, board (page or fragment, with filters), settings (columns, members).

What a settings change shows others (viewers re-fetch the board, a member's sockets
re-check access) is the write's own effect, run after its commit (see boards.services)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.boards import services
from portal.boards.access import access_for
from portal.boards.forms import BoardForm, ColumnForm, MemberForm
from portal.boards.services import BoardFilters
from portal.core.forms import FormError, text
from portal.core.schemas import parse


class BoardController(Controller):
    @get("/")
    async def home(self, request: Request) -> Redirect:
        # Managers, administrators and leaders start from the figures (/stats); members and
        # liaisons from their own work (due soon, overdue, finished this week).
        return Redirect("/stats" if request.user.role in ("admin", "manager", "viewer") else "/my-work")

    @get("/boards")
    async def boards_page(self, request: Request) -> Template:
        return Template(
            "pages/boards/index.html",
            context={"boards": await services.list_boards(request.user), "errors": {}, "values": {}},
        )

    @post("/boards")
    async def create_board(self, request: Request) -> Response:
        data = dict(await request.form())
        try:
            board_id = await services.create_board(request.user, BoardForm.parse(data))
        except FormError as error:
            return Template(
                "pages/boards/index.html",
                status_code=422,
                context={"boards": await services.list_boards(request.user), "errors": error.errors, "values": data},
            )
        return Redirect(f"/boards/{board_id}/settings", status_code=303)

    @get("/boards/{board_id:int}")
    async def board_page(
        self,
        request: Request,
        board_id: FromPath[int],
        assignee: FromQuery[str] = "",
        label: FromQuery[str] = "",
        priority: FromQuery[str] = "",
        q: FromQuery[str] = "",
        due: FromQuery[str] = "",
        card: FromQuery[str] = "",
        view: FromQuery[str] = "",
        sort: FromQuery[str] = "",
        order: FromQuery[str] = "",
    ) -> Template:
        # The card kind's own filters (a comment's platform …) come from the query string too.
        filters = BoardFilters.from_query(
            assignee=assignee,
            label=label,
            priority=priority,
            q=q,
            due=due,
            query=request.query_params,
        )
        board = await services.board_view(request.user, board_id, filters)
        board["people"] = await services.board_people(board_id)
        if "labels" not in board:  # a filtered board: the labels of all its cards, not just these
            board["labels"] = await services.board_labels(board["access"])
        context = {"board": board, "open_card": card}
        if view == "list":
            # The same cards as a table, sorted by any column (not live: a link reloads it).
            sort = sort if sort in services.LIST_SORTS else "column"
            context.update(sort=sort, order="desc" if order == "desc" else "asc")
            context["cards"] = services.board_as_list(board, sort, descending=order == "desc")
            return Template("pages/boards/list.html", context=context)
        if request.htmx and not request.htmx.boosted:
            return Template("partials/boards/_board.html", context=context)
        return Template("pages/boards/board.html", context=context)

    @get("/boards/{board_id:int}/columns/{column_id:int}/earlier")
    async def done_column_page(
        self,
        request: Request,
        board_id: FromPath[int],
        column_id: FromPath[int],
        after: FromQuery[str] = "",
        assignee: FromQuery[str] = "",
        label: FromQuery[str] = "",
        priority: FromQuery[str] = "",
        q: FromQuery[str] = "",
        due: FromQuery[str] = "",
    ) -> Template:
        """The next page of a done column ("more"), with the board's filters: its tiles, and
        the "more" link that follows them."""
        filters = BoardFilters.from_query(
            assignee=assignee, label=label, priority=priority, q=q, due=due, query=request.query_params
        )
        board, column = await services.done_column_more(request.user, board_id, column_id, after, filters)
        return Template("partials/boards/_column_page.html", context={"board": board, "column": column})

    @get("/my-work")
    async def my_work_page(self, request: Request) -> Template:
        from portal.stats.figures import cards_behind
        from portal.stats.period import filters_for, period_days

        # What the person finished this week: the evaluation's own "done" figure, for her.
        week = filters_for(*period_days("week"), period="week")
        finished = await cards_behind(request.user, week, "done", f"member:{request.user.id}")
        return Template(
            "pages/boards/my_work.html",
            context={"cards": await services.my_cards(request.user), "now": datetime.now(UTC), "finished": finished},
        )


class BoardSettingsController(Controller):
    path = "/boards/{board_id:int}/settings"

    @get("/")
    async def settings_page(self, request: Request, board_id: FromPath[int], saved: FromQuery[str] = "") -> Template:
        access = await access_for(request.user, board_id)
        access.require_manage()
        return Template("pages/boards/settings.html", context=await _settings_context(access, saved=saved))

    @post("/columns")
    async def add_column(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        return await _column_write(request, access, lambda form: services.add_column(access, form))

    @post("/columns/{column_id:int}")
    async def update_column(self, request: Request, board_id: FromPath[int], column_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        return await _column_write(request, access, lambda form: services.update_column(access, column_id, form))

    @post("/columns/{column_id:int}/move")
    async def move_column(self, request: Request, board_id: FromPath[int], column_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        direction = -1 if (await request.form()).get("direction") == "left" else 1
        await services.move_column(access, column_id, direction)
        return Redirect(f"/boards/{board_id}/settings?saved=columns", status_code=303)

    @post("/columns/{column_id:int}/archive")
    async def archive_column(self, request: Request, board_id: FromPath[int], column_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        try:
            await services.archive_column(access, column_id)
        except FormError as error:
            return Template(
                "pages/boards/settings.html",
                status_code=422,
                context=await _settings_context(access, errors=error.errors),
            )
        return Redirect(f"/boards/{board_id}/settings?saved=columns", status_code=303)

    @post("/members")
    async def set_member(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        try:
            form = MemberForm.parse(await request.form())
            await services.set_member(access, form)
        except FormError as error:
            return Template(
                "pages/boards/settings.html",
                status_code=422,
                context=await _settings_context(access, errors=error.errors),
            )
        return Redirect(f"/boards/{board_id}/settings?saved=members", status_code=303)

    @post("/archiving")
    async def set_archiving(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        access.require_manage()
        try:
            await services.set_archiving(access, parse(services.ArchivingInput, await request.form()))
        except FormError as error:
            return Template(
                "pages/boards/settings.html",
                status_code=422,
                context=await _settings_context(access, errors=error.errors),
            )
        return Redirect(f"/boards/{board_id}/settings?saved=archiving", status_code=303)

    @post("/webhooks")
    async def add_webhook(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        data = await request.form()
        try:
            await services.add_webhook(access, text(data, "kind"), text(data, "url"))
        except FormError as error:
            return Template(
                "pages/boards/settings.html",
                status_code=422,
                context=await _settings_context(access, errors=error.errors),
            )
        return Redirect(f"/boards/{board_id}/settings?saved=webhooks", status_code=303)

    @post("/webhooks/{index:int}/remove")
    async def remove_webhook(self, request: Request, board_id: FromPath[int], index: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        await services.remove_webhook(access, index)
        return Redirect(f"/boards/{board_id}/settings?saved=webhooks", status_code=303)

    @post("/members/{user_id:int}/remove")
    async def remove_member(self, request: Request, board_id: FromPath[int], user_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        try:
            await services.remove_member(access, user_id)
        except FormError as error:
            return Template(
                "pages/boards/settings.html",
                status_code=422,
                context=await _settings_context(access, errors=error.errors),
            )
        return Redirect(f"/boards/{board_id}/settings?saved=members", status_code=303)


async def _column_write(request: Request, access, write) -> Response:
    data = dict(await request.form())
    try:
        await write(ColumnForm.parse(data))
    except FormError as error:
        return Template(
            "pages/boards/settings.html",
            status_code=422,
            context=await _settings_context(access, errors=error.errors, values=data),
        )
    return Redirect(f"/boards/{access.board_id}/settings?saved=columns", status_code=303)


async def _settings_context(
    access, *, errors: dict | None = None, values: dict | None = None, saved: str = ""
) -> dict[str, Any]:
    return {
        "board": await services.board_header(access),
        "access": access,
        "columns": await services.list_columns(access.board_id),
        "members": await services.list_members(access),
        "candidates": await services.candidate_members(access),
        "webhooks": await services.list_webhooks(access),
        "archive_after_days": await services.archiving_days(access.board_id),
        "errors": errors or {},
        "values": values or {},
        "saved": saved,
    }
