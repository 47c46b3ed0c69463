"""The questions collected during a campaign: the drawer's 网友提问 section and its forms
(htmx), and the JSON API ``/api/v1/campaigns/{card_id}/questions``. Thin:
portal.campaigns.questions decides."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess
from portal.campaigns import questions
from portal.campaigns.controllers import campaign_access
from portal.core.errors import Conflict, FormError
from portal.core.web import json_object
from portal.i18n import gettext as _

QUESTIONS = "partials/campaigns/_questions.html"


async def questions_context(access: BoardAccess, card_id: int, **extra: Any) -> dict[str, Any]:
    return {
        **await questions.overview(access, card_id),
        "access": access,
        "boards": await questions.comment_boards(access) if access.can_edit else [],
        "may_template": await questions.may_make_templates(access),
        "text_max": questions.TEXT_MAX,
        "answer_max": questions.ANSWER_MAX,
        "errors": {},
        "values": {},
        "form": "",  # the form the errors belong to: add, paste, send-{id}, template-{id}
        "flash": "",
        "level": "ok",
        **extra,
    }


class CampaignQuestionController(Controller):
    path = "/campaigns"

    @get("/{card_id:int}/questions")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await campaign_access(request, card_id)
        return Template(QUESTIONS, context=await questions_context(access, card_id))

    async def _write(self, request: Request, card_id: int, form_name: str, write) -> Template:
        access = await campaign_access(request, card_id)
        data = await request.form()
        try:
            flash = await write(access, data)
        except FormError as error:
            context = await questions_context(access, card_id, errors=error.errors, values=dict(data), form=form_name)
            return Template(QUESTIONS, context=context, status_code=422)
        except Conflict as error:
            context = await questions_context(access, card_id, flash=error.message, level="error")
            return Template(QUESTIONS, context=context, status_code=409)
        return Template(QUESTIONS, context=await questions_context(access, card_id, flash=flash))

    @post("/{card_id:int}/questions")
    async def add(self, request: Request, card_id: FromPath[int]) -> Template:
        async def write(access: BoardAccess, data: Any) -> str:
            question = await questions.add_question(access, card_id, data)
            if question["counted"]:
                return _("Asked before: now counted %(times)s times.", times=question["times"])
            return _("Question added.")

        return await self._write(request, card_id, "add", write)

    @post("/{card_id:int}/questions/paste")
    async def paste(self, request: Request, card_id: FromPath[int]) -> Template:
        async def write(access: BoardAccess, data: Any) -> str:
            result = await questions.paste_questions(access, card_id, data)
            return _(
                "%(added)s new questions, %(counted)s asked again.", added=result["added"], counted=result["counted"]
            )

        return await self._write(request, card_id, "paste", write)

    @post("/{card_id:int}/questions/{question_id:int}/send")
    async def send(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> Template:
        async def write(access: BoardAccess, data: Any) -> str:
            await questions.send_to_comments(access, card_id, question_id, data)
            return _("Sent to the comments board as a card.")

        return await self._write(request, card_id, f"send-{question_id}", write)

    @post("/{card_id:int}/questions/{question_id:int}/template")
    async def template(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> Template:
        async def write(access: BoardAccess, data: Any) -> str:
            await questions.make_template(access, card_id, question_id, data)
            return _("A draft reply template was made: a manager approves it in the reply templates.")

        return await self._write(request, card_id, f"template-{question_id}", write)

    @post("/{card_id:int}/questions/{question_id:int}/remove")
    async def remove(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> Template:
        async def write(access: BoardAccess, data: Any) -> str:
            await questions.remove_question(access, card_id, question_id)
            return _("Question removed.")

        return await self._write(request, card_id, "remove", write)


class CampaignQuestionApi(Controller):
    """The questions through the JSON API: the same rules as the drawer."""

    path = "/api/v1/campaigns"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/{card_id:int}/questions", summary="The questions collected during a campaign, the most often asked first")
    async def collected(self, request: Request, card_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        shown = await questions.overview(access, card_id)
        return {
            "card_id": card_id,
            "state": shown["state"],
            "collecting": shown["collecting"],
            "questions": [questions.question_json(row) for row in shown["questions"]],
        }

    @post(
        "/{card_id:int}/questions",
        summary=(
            "Collect a question asked during a campaign: {text, platform, asked_at}, or many at once: "
            "{lines, platform, asked_at} (one a line). A question asked before is counted up. Only while "
            "the campaign runs or is reviewed (409 otherwise)."
        ),
        status_code=200,
    )
    async def add(self, request: Request, card_id: FromPath[int]) -> Response:
        access = await campaign_access(request, card_id)
        payload = await json_object(request)
        if "lines" in payload and "text" not in payload:
            return Response(await questions.paste_questions(access, card_id, payload))
        question = await questions.add_question(access, card_id, payload)
        return Response(
            {**questions.question_json(question), "counted": question["counted"]},
            status_code=200 if question["counted"] else 201,
        )

    @post(
        "/{card_id:int}/questions/{question_id:int}/send",
        summary="Send a question to a comments board you may work on as a card: {board}. 409 if sent already.",
        status_code=201,
    )
    async def send(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        card = await questions.send_to_comments(access, card_id, question_id, await json_object(request))
        return {"question": question_id, "comment_card": card}

    @post(
        "/{card_id:int}/questions/{question_id:int}/template",
        summary="Make a draft reply template from a question: {answer}. 409 if made already.",
        status_code=201,
    )
    async def template(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> dict[str, Any]:
        access = await campaign_access(request, card_id)
        template = await questions.make_template(access, card_id, question_id, await json_object(request))
        return {"question": question_id, "template": template}

    @delete("/{card_id:int}/questions/{question_id:int}", summary="Remove a question collected by mistake")
    async def remove(self, request: Request, card_id: FromPath[int], question_id: FromPath[int]) -> None:
        access = await campaign_access(request, card_id)
        await questions.remove_question(access, card_id, question_id)
