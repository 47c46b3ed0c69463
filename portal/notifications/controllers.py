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
        """Mark it read; with ``open=1`` (its title was clicked) go on to what it is about."""
        await services.mark_read(request.user, notification_id)
        if (await request.form()).get("open") == "1":
            link = await services.link_of(request.user, notification_id)
            # Only a link within the portal (stored by the portal itself, checked anyway).
            if link.startswith("/") and not link.startswith("//"):
                return Redirect(link, status_code=303)
        return Redirect("/notifications", status_code=303)
