"""The notification centre."""

from __future__ import annotations

import re

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.notifications import services

SAFE_BACK = re.compile(r"/notifications\?[A-Za-z0-9=&_%.-]*")


class NotificationController(Controller):
    path = "/notifications"

    @get("/")
    async def notifications_page(
        self, request: Request, kind: FromQuery[str] = "", unread: FromQuery[str] = "", page: FromQuery[str] = "1"
    ) -> Template:
        # Filters from the URL, bounded; an unknown page is the first.
        number = int(page) if page.isascii() and page.isdigit() and len(page) < 6 else 1
        context = await services.grouped(request.user, kind[:20], unread == "1", number)
        return Template("pages/notifications/index.html", context=context)

    @post("/read")
    async def mark_all_read(self, request: Request) -> Redirect:
        await services.mark_read(request.user)
        return Redirect(_back((await request.form()).get("back")), status_code=303)

    @post("/{notification_id:int}/read")
    async def mark_one_read(self, request: Request, notification_id: FromPath[int]) -> Redirect:
        """Mark it read (``group=1``: with the others shown in its line); with ``open=1`` (its
        title was clicked) go on to what it is about."""
        form = await request.form()
        if form.get("group") == "1":
            await services.mark_group_read(request.user, notification_id)
        else:
            await services.mark_read(request.user, notification_id)
        if form.get("open") == "1":
            link = await services.link_of(request.user, notification_id)
            # Only a link within the portal (stored by the portal itself, checked anyway).
            if link.startswith("/") and not link.startswith("//"):
                return Redirect(link, status_code=303)
        return Redirect(_back(form.get("back")), status_code=303)


def _back(back: object) -> str:
    """Back to the centre as it was filtered (only ever a page of the centre itself)."""
    if isinstance(back, str) and len(back) < 200 and SAFE_BACK.fullmatch(back):
        return back
    return "/notifications"
