"""A campaign's review page (复盘): the page, the team's words posted from it, reply templates
made from its top questions, and its XLSX export. Thin: portal.campaigns.review and
portal.campaigns.questions decide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.boards.access import BoardAccess
from portal.campaigns import questions, review, workflow
from portal.campaigns.controllers import campaign_access
from portal.core.errors import Conflict, FormError
from portal.i18n import gettext as _

PAGE = "pages/campaigns/review.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def review_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    return {
        **await review.review(access, card_id),
        "access": access,
        "states": workflow.STATES,
        "now": datetime.now(UTC),
        "review_max": review.REVIEW_MAX,
        "errors": {},
        "values": {},
        "flash": "",
        "level": "ok",
        "show_saved": False,
        # Reply templates from the top questions (the same form as the drawer's 网友提问)
        "may_template": await questions.may_make_templates(access),
        "answer_max": questions.ANSWER_MAX,
        "template_for": None,  # the question whose form the errors below belong to
        "template_errors": {},
        "template_values": {},
        "question_flash": "",
        "question_level": "ok",
        **extra,
    }


class CampaignReviewController(Controller):
    path = "/campaigns"

    @get("/{card_id:int}/review")
    async def page(self, request: Request, card_id: FromPath[int]) -> Template:
        """Every state has a review page (a part with nothing yet says so); 404 for whoever
        may not see the campaign."""
        access = await campaign_access(request, card_id)
        flash = _("The review is saved.") if request.query_params.get("saved") else ""
        question_flash = (
            _("A draft reply template was made: a manager approves it in the reply templates.")
            if request.query_params.get("templated")
            else ""
        )
        return Template(PAGE, context=await review_context(access, card_id, flash=flash, question_flash=question_flash))

    @post("/{card_id:int}/review/questions/{question_id:int}/template")
    async def template(
        self, request: Request, card_id: FromPath[int], question_id: FromPath[int]
    ) -> Template | Redirect:
        """A draft reply template from one of the top questions (as from the drawer): back to
        the page, or the page again with the form open and its error."""
        access = await campaign_access(request, card_id)
        data = await request.form()
        try:
            await questions.make_template(access, card_id, question_id, data)
        except FormError as error:
            context = await review_context(
                access, card_id, template_for=question_id, template_errors=error.errors, template_values=dict(data)
            )
            return Template(PAGE, context=context, status_code=422)
        except Conflict as error:
            context = await review_context(access, card_id, question_flash=error.message, question_level="error")
            return Template(PAGE, context=context, status_code=409)
        return Redirect(f"/campaigns/{card_id}/review?templated=1#review-questions", status_code=303)

    @post("/{card_id:int}/review")
    async def save(self, request: Request, card_id: FromPath[int]) -> Template | Redirect:
        access = await campaign_access(request, card_id)
        data = await request.form()
        try:
            await review.save_review(access, card_id, data)
        except FormError as error:
            context = await review_context(access, card_id, errors=error.errors, values=dict(data))
            return Template(PAGE, context=context, status_code=422)
        except Conflict as error:
            # Their words stay in the form; the words saved meanwhile show beside it.
            context = await review_context(
                access, card_id, flash=error.message, level="error", values=dict(data), show_saved=True
            )
            return Template(PAGE, context=context, status_code=409)
        return Redirect(f"/campaigns/{card_id}/review?saved=1", status_code=303)

    @get("/{card_id:int}/review.xlsx")
    async def export(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await campaign_access(request, card_id)
        data = await review.review(access, card_id)
        name = review.download_name(data["card"])
        return Response(
            review.workbook(data),
            media_type=XLSX,
            headers={
                "Content-Disposition": review.content_disposition(name, f"campaign-{card_id}-review.xlsx"),
                "Cache-Control": "no-store",
            },
        )
