"""Board pages."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.boards import services


class BoardController(Controller):
    @get("/")
    async def home(self) -> Redirect:
        return Redirect("/boards")

    @get("/boards")
    async def boards_page(self, request: Request) -> Template:
        return Template("pages/boards/index.html", context={"boards": await services.list_boards(request.user)})

    @get("/boards/{board_id:int}")
    async def board_page(self, request: Request, board_id: FromPath[int]) -> Template:
        board = await services.board_view(request.user, board_id)
        return Template("pages/boards/board.html", context={"board": board})

    @get("/my-work")
    async def my_work_page(self, request: Request) -> Template:
        return Template("pages/boards/my_work.html", context={"cards": await services.my_cards(request.user)})
