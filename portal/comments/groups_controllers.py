"""The drawer's 相似留言 section: similar comments grouped under a lead, a member taken out,
a group dissolved. Thin: parse the input, call one service in ``portal.comments.groups``,
re-render the section. What others see (tiles, the lead's reply reaching the members) is the
write's own effect."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.boards.access import BoardAccess
from portal.comments import groups
from portal.comments.replies import comment_access
from portal.core.errors import Conflict, FormError
from portal.core.schemas import parse
from portal.i18n import gettext as _


async def _render(access: BoardAccess, card_id: int, status_code: int = 200, **extra: Any) -> Template:
    context = await groups.section(access, card_id)
    return Template("partials/comments/_similar.html", context={**context, **extra}, status_code=status_code)


async def _after(access: BoardAccess, card_id: int, write, flash: str) -> Template:
    """Run one write; the section as it is now, with what happened (or why nothing did)."""
    try:
        await write()
    except FormError as error:
        return await _render(access, card_id, 422, errors=error.errors)
    except Conflict as error:
        return await _render(access, card_id, 409, flash=error.message, level="error")
    return await _render(access, card_id, flash=flash)


class GroupController(Controller):
    @get("/comments/{card_id:int}/similar")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        return await _render(await comment_access(request.user, card_id), card_id)

    @post("/comments/{card_id:int}/group")
    async def group(self, request: Request, card_id: FromPath[int]) -> Template:
        """合并为一组: this card leads the chosen similar comments."""
        access = await comment_access(request.user, card_id)
        access.require_edit()
        data = await request.form()

        async def write() -> None:
            await groups.group(access, card_id, parse(groups.GroupInput, data))

        return await _after(access, card_id, write, _("Grouped: a reply to this comment answers the group."))

    @post("/comments/{card_id:int}/group/remove")
    async def remove(self, request: Request, card_id: FromPath[int]) -> Template:
        """From the lead's drawer: one member leaves the group."""
        access = await comment_access(request.user, card_id)
        access.require_edit()
        data = await request.form()

        async def write() -> None:
            form = parse(groups.MemberInput, data)
            await groups.remove_member(access, form.member_id, lead_id=card_id)

        return await _after(access, card_id, write, _("The comment left the group."))

    @post("/comments/{card_id:int}/group/leave")
    async def leave(self, request: Request, card_id: FromPath[int]) -> Template:
        """From a member's drawer: this card leaves its group."""
        access = await comment_access(request.user, card_id)
        access.require_edit()

        async def write() -> None:
            await groups.remove_member(access, card_id)

        return await _after(access, card_id, write, _("The comment left the group."))

    @post("/comments/{card_id:int}/group/dissolve")
    async def dissolve(self, request: Request, card_id: FromPath[int]) -> Template:
        """解散: every member leaves this card's group."""
        access = await comment_access(request.user, card_id)
        access.require_edit()

        async def write() -> None:
            await groups.dissolve(access, card_id)

        return await _after(access, card_id, write, _("The group was dissolved."))
