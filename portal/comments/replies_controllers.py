"""Reply templates (口径库), the drawer's replies section and the approval queue: thin —
parse the input, call one service, render the page or the partial."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.comments import replies, reply_templates
from portal.comments.replies import ReplyInput, ReturnInput
from portal.comments.reply_templates import TemplateInput
from portal.core.errors import Conflict
from portal.core.forms import FormError, optional_int
from portal.core.schemas import parse


class ReplyTemplateController(Controller):
    path = "/reply-templates"

    @get("/")
    async def index(
        self,
        request: Request,
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
        status: FromQuery[str] = "",
        department: FromQuery[str] = "",
    ) -> Template:
        department_id = optional_int(department)
        rows = await reply_templates.list_templates(
            request.user, q=q.strip(), category=category.strip(), status=status, department=department_id
        )
        return Template(
            "pages/comments/reply_templates.html",
            context={
                "templates": rows,
                "filters": {"q": q, "category": category, "status": status, "department": department_id},
                "categories": await reply_templates.categories(),
                "departments": await reply_templates.departments(),
            },
        )

    @get("/new")
    async def new(self, request: Request) -> Template:
        role = await reply_templates.template_role(request.user)
        return await _form(role, None, {"department": request.user.department_id})

    @post("/")
    async def create(self, request: Request) -> Response:
        role = await reply_templates.template_role(request.user)
        data = await request.form()
        try:
            template_id = await reply_templates.create_template(request.user, parse(TemplateInput, data))
        except FormError as error:
            return await _form(role, None, data, error.errors)
        return Redirect(f"/reply-templates/{template_id}?saved=1", status_code=303)

    @get("/{template_id:int}")
    async def edit(self, request: Request, template_id: FromPath[int], saved: FromQuery[str] = "") -> Template:
        role = await reply_templates.template_role(request.user)
        template = await reply_templates.get_template(request.user, template_id)
        return await _form(role, template, template, saved=bool(saved))

    @post("/{template_id:int}")
    async def update(self, request: Request, template_id: FromPath[int]) -> Response:
        role = await reply_templates.template_role(request.user)
        template = await reply_templates.get_template(request.user, template_id)
        data = await request.form()
        try:
            await reply_templates.update_template(request.user, template_id, parse(TemplateInput, data))
        except FormError as error:
            return await _form(role, template, data, error.errors)
        return Redirect(f"/reply-templates/{template_id}?saved=1", status_code=303)

    @post("/{template_id:int}/approve")
    async def approve(self, request: Request, template_id: FromPath[int]) -> Response:
        await reply_templates.approve_template(request.user, template_id)
        return Redirect(f"/reply-templates/{template_id}?saved=1", status_code=303)

    @get("/{template_id:int}/history")
    async def history(self, request: Request, template_id: FromPath[int]) -> Template:
        template = await reply_templates.get_template(request.user, template_id)
        return Template(
            "pages/comments/reply_template_history.html",
            context={"template": template, "versions": await reply_templates.history(request.user, template_id)},
        )


async def _form(
    role: str, template: dict[str, Any] | None, values: Any, errors: dict[str, str] | None = None, saved: bool = False
) -> Template:
    return Template(
        "pages/comments/reply_template_form.html",
        context={
            "template": template,
            "values": values or {},
            "errors": errors or {},
            "saved": saved,
            "may_approve": role == "manager",
            "departments": await reply_templates.departments(),
        },
        status_code=422 if errors else 200,
    )


class ReplyController(Controller):
    @get("/comments/{card_id:int}/replies")
    async def section(self, request: Request, card_id: FromPath[int], template_id: FromQuery[str] = "") -> Template:
        """The drawer's replies section; ``template_id``: the editor starts from that template."""
        access = await replies.comment_access(request.user, card_id)
        context = await replies.section(access, card_id, optional_int(template_id))
        return Template("partials/comments/_replies.html", context=context)

    @get("/comments/{card_id:int}/reply-templates")
    async def template_search(self, request: Request, card_id: FromPath[int], q: FromQuery[str] = "") -> Template:
        access = await replies.comment_access(request.user, card_id)
        choices = await replies.template_choices(access, card_id, q)
        return Template(
            "partials/comments/_reply_template_choices.html",
            context={"choices": choices, "card_id": card_id, "q": q},
        )

    @post("/comments/{card_id:int}/replies")
    async def submit(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await replies.comment_access(request.user, card_id)
        access.require_edit()
        data = await request.form()
        try:
            result = await replies.submit(access, card_id, parse(ReplyInput, data))
        except FormError as error:
            context = await replies.section(access, card_id)
            return Template(
                "partials/comments/_replies.html",
                context={
                    **context,
                    "errors": error.errors,
                    "draft": data.get("body", ""),
                    "template_id": optional_int(data.get("template_id")),
                },
                status_code=422,
            )
        context = await replies.section(access, card_id)
        return Template("partials/comments/_replies.html", context={**context, "flash": result["status"]})

    @get("/replies/pending")
    async def pending(self, request: Request) -> Template:
        rows = await replies.pending_for(request.user)
        return Template("pages/comments/pending_replies.html", context={"rows": rows})

    @post("/replies/{reply_id:int}/approve")
    async def approve(self, request: Request, reply_id: FromPath[int]) -> Response:
        try:
            card_id = await replies.approve(request.user, reply_id)
        except Conflict as error:
            return await _already_decided(request, reply_id, error.message)
        return await _decided(request, reply_id, card_id)

    @post("/replies/{reply_id:int}/return")
    async def return_reply(self, request: Request, reply_id: FromPath[int]) -> Response:
        data = await request.form()
        try:
            form = parse(ReturnInput, data)
        except FormError as error:
            row = await replies.pending_one(request.user, reply_id)  # 404 / 403 before what was wrong
            if data.get("from") == "drawer":
                access = await replies.comment_access(request.user, row["card"])
                context = await replies.section(access, row["card"])
                errors = {f"reason-{reply_id}": error.errors["reason"]}
                context["errors"] = errors
                return Template("partials/comments/_replies.html", context=context, status_code=422)
            return Template(
                "partials/comments/_pending_reply.html", context={"row": row, "errors": error.errors}, status_code=422
            )
        try:
            card_id = await replies.return_reply(request.user, reply_id, form)
        except Conflict as error:
            return await _already_decided(request, reply_id, error.message)
        return await _decided(request, reply_id, card_id)


async def _decided(request: Request, reply_id: int, card_id: int) -> Response:
    """The drawer re-renders its section; the queue shows the decision in the reply's place."""
    data = await request.form()
    if data.get("from") == "drawer":
        access = await replies.comment_access(request.user, card_id)
        return Template("partials/comments/_replies.html", context=await replies.section(access, card_id))
    if not request.htmx:
        return Redirect("/replies/pending", status_code=303)
    return Template(
        "partials/comments/_pending_reply.html",
        context={"row": await replies.pending_one(request.user, reply_id), "errors": {}},
    )


async def _already_decided(request: Request, reply_id: int, message: str) -> Response:
    """Someone reviewed it first (409): show what was decided, nothing is sent twice."""
    row = await replies.pending_one(request.user, reply_id)
    data = await request.form()
    if data.get("from") == "drawer":
        access = await replies.comment_access(request.user, row["card"])
        context = {**await replies.section(access, row["card"]), "flash": message}
        return Template("partials/comments/_replies.html", context=context, status_code=409)
    return Template(
        "partials/comments/_pending_reply.html", context={"row": row, "errors": {"__all__": message}}, status_code=409
    )
