"""The knowledge base's pages: the staff library (/knowledge), the inquiry drawer's knowledge
section, and the public FAQ (/faq, no login). Thin: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.core.errors import Conflict, PermissionDenied
from portal.core.forms import FormError, optional_int
from portal.core.schemas import parse
from portal.inquiries import knowledge, knowledge_search
from portal.inquiries.knowledge import EntryInput

PUBLIC = {"public": True}


class KnowledgeController(Controller):
    path = "/knowledge"

    @get("/")
    async def index(
        self,
        request: Request,
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        category: FromQuery[str] = "",
        review: FromQuery[str] = "",
    ) -> Template:
        role = await knowledge.knowledge_role(request.user)
        rows = await knowledge.list_entries(
            request.user, q=q, status=status, category=category, review_due=review == "due"
        )
        return Template(
            "pages/knowledge/index.html",
            context={
                "entries": rows,
                "filters": {"q": q, "status": status, "category": category, "review": review},
                "may_write": knowledge.may_edit(request.user, role, None),
            },
        )

    @get("/new")
    async def new(self, request: Request) -> Template:
        role = await knowledge.knowledge_role(request.user)
        if not knowledge.may_edit(request.user, role, None):
            raise PermissionDenied
        return await _form(request, role, None, {"department": request.user.department_id})

    @post("/")
    async def create(self, request: Request) -> Response:
        role = await knowledge.knowledge_role(request.user)
        data = await request.form()
        try:
            entry_id = await knowledge.create_entry(request.user, parse(EntryInput, data))
        except FormError as error:
            return await _form(request, role, None, data, error.errors)
        return Redirect(f"/knowledge/{entry_id}?saved=1", status_code=303)

    @get("/{entry_id:int}")
    async def edit(self, request: Request, entry_id: FromPath[int], saved: FromQuery[str] = "") -> Template:
        role = await knowledge.knowledge_role(request.user)
        entry = await knowledge.get_entry(request.user, entry_id)
        return await _form(request, role, entry, entry, saved=bool(saved))

    @post("/{entry_id:int}")
    async def update(self, request: Request, entry_id: FromPath[int]) -> Response:
        role = await knowledge.knowledge_role(request.user)
        entry = await knowledge.get_entry(request.user, entry_id)
        data = await request.form()
        try:
            form = parse(EntryInput, data, context={"current_review_at": entry["review_at"]})
            await knowledge.update_entry(request.user, entry_id, form)
        except FormError as error:
            return await _form(request, role, entry, data, error.errors)
        except Conflict as error:
            return await _form(request, role, entry, data, {"__all__": error.message}, status_code=409)
        return Redirect(f"/knowledge/{entry_id}?saved=1", status_code=303)

    @post("/{entry_id:int}/approve")
    async def approve(self, request: Request, entry_id: FromPath[int]) -> Response:
        seen = optional_int((await request.form()).get("version"))
        try:
            await knowledge.approve(request.user, entry_id, seen)
        except Conflict as error:
            entry = await knowledge.get_entry(request.user, entry_id)
            role = await knowledge.knowledge_role(request.user)
            return await _form(request, role, entry, None, {"__all__": error.message}, status_code=409)
        return Redirect(f"/knowledge/{entry_id}?saved=1", status_code=303)

    @post("/{entry_id:int}/retire")
    async def retire(self, request: Request, entry_id: FromPath[int]) -> Response:
        seen = optional_int((await request.form()).get("version"))
        try:
            await knowledge.retire(request.user, entry_id, seen)
        except Conflict as error:
            entry = await knowledge.get_entry(request.user, entry_id)
            role = await knowledge.knowledge_role(request.user)
            return await _form(request, role, entry, None, {"__all__": error.message}, status_code=409)
        return Redirect(f"/knowledge/{entry_id}?saved=1", status_code=303)


async def _form(
    request: Request,
    role: str,
    entry: dict[str, Any] | None,
    values: Any,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int | None = None,
) -> Template:
    return Template(
        "pages/knowledge/form.html",
        context={
            "entry": entry,
            "values": values or {},
            "errors": errors or {},
            "saved": saved,
            "may_edit": knowledge.may_edit(request.user, role, entry),
            "may_approve": role == knowledge.APPROVER,
            "versions": await knowledge.history(request.user, entry["id"]) if entry else [],
            "departments": await knowledge.departments(),
        },
        status_code=status_code or (422 if errors else 200),
    )


class InquiryKnowledgeController(Controller):
    """The inquiry drawer's knowledge section: make an entry of an answered inquiry; find
    approved entries while answering and insert one's answer."""

    path = "/inquiries/{card_id:int}/knowledge"

    @get("/")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await knowledge.inquiry_access(request.user, card_id)
        return await _section(access, card_id)

    @post("/")
    async def make_entry(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await knowledge.inquiry_access(request.user, card_id)
        try:
            await knowledge.create_from_inquiry(access, card_id)
        except Conflict as error:
            return await _section(access, card_id, error=error.message, status_code=409)
        return await _section(access, card_id, made=True)

    @get("/search")
    async def search(self, request: Request, card_id: FromPath[int], q: FromQuery[str] = "") -> Template:
        access = await knowledge.inquiry_access(request.user, card_id)
        card = await knowledge.inquiry(access, card_id)
        return Template(
            "partials/inquiries/_knowledge_choices.html",
            context={"choices": await knowledge.offered(q), "card": card, "access": access, "q": q},
        )


async def _section(access, card_id: int, *, error: str = "", made: bool = False, status_code: int = 200) -> Template:
    card = await knowledge.inquiry(access, card_id)
    # Suggestions before anyone types: approved entries matching the inquiry's title.
    suggestions = await knowledge.offered(card["title"], 3, loose=True) if access.can_edit else []
    return Template(
        "partials/inquiries/_knowledge_section.html",
        context={
            "card": card,
            "access": access,
            "choices": suggestions,
            "error": error,
            "made": made,
        },
        status_code=status_code,
    )


class PublicFaqController(Controller):
    """常见问题: approved entries for citizens, without login; nothing internal is shown."""

    path = "/faq"

    @get("/", opt=PUBLIC)
    async def index(self, q: FromQuery[str] = "", category: FromQuery[str] = "") -> Template:
        return Template(
            "pages/faq/index.html",
            context={
                "entries": await knowledge.public_entries(q, category),
                "categories": await knowledge.public_categories(),
                "q": knowledge_search.normalize(q),
                "category": category,
            },
        )

    @get("/{entry_id:int}", opt=PUBLIC)
    async def entry(self, entry_id: FromPath[int]) -> Template:
        return Template("pages/faq/entry.html", context={"entry": await knowledge.public_entry(entry_id)})
