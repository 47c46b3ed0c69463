"""A citizen's numbers and the printable work order: thin routes over
portal.inquiries.privacy and portal.inquiries.workorder.

``POST /inquiries/{id}/reveal`` is a static segment: Litestar's router prefers it to the
workflow's ``POST /inquiries/{id}/{action}`` (tests/integration/test_inquiry_privacy.py checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts.services import PermissionDenied
from portal.boards.access import access_for
from portal.cards import services as cards
from portal.core.web import client_ip
from portal.i18n import gettext as _
from portal.inquiries import privacy, workflow
from portal.inquiries.workorder import work_order


class InquiryPrivacyController(Controller):
    path = "/inquiries"

    @post("/{card_id:int}/reveal")
    async def reveal(self, request: Request, card_id: FromPath[int]) -> Template:
        """The full number in place of the masked one (htmx), audited; 403 without the right,
        429 past the limit (both audited as refused, neither shows a number)."""
        access = await access_for(request.user, await cards.find_board_of(card_id))
        which = str((await request.form()).get("which", ""))
        context: dict[str, Any] = {"card_id": card_id, "which": which, "value": None, "message": ""}
        headers: dict[str, str] = {}
        try:
            revealed = await privacy.reveal(
                access, card_id, which, redis=request.app.state.redis, ip=client_ip(request)
            )
        except PermissionDenied:
            context["message"] = _("You may not see this citizen's full numbers.")
            status = 403
        except privacy.TooManyReveals as error:
            context["message"] = privacy.retry_message(error.retry_after)
            headers["Retry-After"] = str(error.retry_after)
            status = 429
        else:
            context["value"] = revealed.value
            status = 200
        # Never cached: a full number must not outlive the page it was asked for.
        headers["Cache-Control"] = "no-store"
        return Template("partials/inquiries/_revealed.html", context=context, status_code=status, headers=headers)

    @get("/{card_id:int}/workorder")
    async def workorder(self, request: Request, card_id: FromPath[int]) -> Template:
        """The printable work order (its own page, no navigation); 404 for whoever may not
        see the case."""
        access = await access_for(request.user, await cards.find_board_of(card_id))
        context = await work_order(access, card_id)
        return Template(
            "pages/inquiries/workorder.html",
            context={
                **context,
                "access": access,
                "now": datetime.now(UTC),
                "states": workflow.STATES,
                "urgencies": workflow.URGENCIES,
                "verdicts": workflow.VERDICTS,
                "action_labels": {name: action.label for name, action in workflow.ACTIONS.items()},
            },
        )
