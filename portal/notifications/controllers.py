"""The notification centre."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.notifications import services


class NotificationController(Controller):
    path = "/notifications"

    @get("/")
    async def notifications_page(self, request: Request) -> Template:
        return Template(
            "pages/notifications/index.html", context={"notifications": await services.list_for(request.user)}
        )

    @post("/read")
    async def mark_all_read(self, request: Request) -> Redirect:
        await services.mark_read(request.user)
        return Redirect("/notifications", status_code=303)

    @post("/{notification_id:int}/read")
    async def mark_one_read(self, request: Request, notification_id: FromPath[int]) -> Redirect:
        await services.mark_read(request.user, notification_id)
        return Redirect("/notifications", status_code=303)
