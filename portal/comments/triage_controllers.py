"""Triage's HTTP side: the drawer's triage section and the sentiment correction, the admin
pages and API for sensitive words and category rules, and the board's duty rota and cap.

Thin: parse the input, call one service in ``portal.comments.triage``, render its partial or
page. What a change shows others (tiles, bells) is the write's own effect, run after commit.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.api.auth import api_csrf
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.comments import triage
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.core.schemas import parse
from portal.core.web import admin_only
from portal.i18n import gettext as _

KIND = triage.KIND


async def _access_for_comment(request: Request, card_id: int) -> BoardAccess:
    return await access_for(request.user, await cards.find_board_of(card_id))


def _section(context: dict[str, Any], status_code: int = 200, **extra: Any) -> Template:
    return Template(
        "partials/comments/_triage.html",
        context={"errors": {}, "flash": "", "level": "ok", **context, **extra},
        status_code=status_code,
    )


class TriageController(Controller):
    @get("/comments/{card_id:int}/triage")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _access_for_comment(request, card_id)
        return _section(await triage.triage_section(access, card_id))

    @post("/comments/{card_id:int}/sentiment")
    async def correct(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await _access_for_comment(request, card_id)
        await cards.require_visible(access, card_id)  # before anything about the card is shown
        try:
            form = parse(triage.SentimentInput, await request.form())
            await triage.correct_sentiment(access, card_id, form)
        except FormError as error:
            return _section(await triage.triage_section(access, card_id), 422, errors=error.errors)
        except Conflict as error:
            return _section(await triage.triage_section(access, card_id), 409, flash=error.message, level="error")
        return _section(await triage.triage_section(access, card_id), flash=_("Saved."))


class TriageAdminController(Controller):
    path = "/admin"
    guards = [admin_only]

    @get("/sensitive-words")
    async def words_page(
        self, tier: FromQuery[str] = "", q: FromQuery[str] = "", saved: FromQuery[str] = ""
    ) -> Template:
        return await _words_page(tier=tier, q=q, saved=saved)

    @post("/sensitive-words")
    async def add_word(self, request: Request) -> Response:
        data = await request.form()
        try:
            await triage.add_word(request.user, parse(triage.SensitiveWordInput, data))
        except FormError as error:
            return await _words_page(errors=error.errors, values=dict(data), status_code=422)
        except Conflict as error:
            return await _words_page(errors={"word": error.message}, values=dict(data), status_code=409)
        return Redirect("/admin/sensitive-words?saved=added", status_code=303)

    @post("/sensitive-words/import")
    async def import_words(self, request: Request) -> Response:
        data = await request.form()
        upload = data.get("file")
        try:
            if upload is not None and hasattr(upload, "read"):
                text = triage.decode_upload(await upload.read())
                if not text.strip() and data.get("text"):
                    text = str(data.get("text"))
            else:
                text = str(data.get("text") or "")
            result = await triage.import_words(request.user, text)
        except triage.ImportLinesError as error:
            values = {"text": data.get("text") or ""}
            return await _words_page(import_errors=error.errors, values=values, status_code=422)
        return Redirect(f"/admin/sensitive-words?saved=imported-{result.added}-{result.replaced}", status_code=303)

    @post("/sensitive-words/{word_id:int}/delete")
    async def delete_word(self, request: Request, word_id: FromPath[int]) -> Redirect:
        await triage.delete_word(request.user, word_id)
        return Redirect("/admin/sensitive-words?saved=deleted", status_code=303)

    @get("/category-rules")
    async def rules_page(self, saved: FromQuery[str] = "") -> Template:
        return await _rules_page(saved=saved)

    @post("/category-rules")
    async def add_rule(self, request: Request) -> Response:
        data = await request.form()
        try:
            await triage.add_rule(request.user, parse(triage.CategoryRuleInput, data))
        except FormError as error:
            return await _rules_page(errors=error.errors, values=dict(data), status_code=422)
        return Redirect("/admin/category-rules?saved=added", status_code=303)

    @post("/category-rules/{rule_id:int}/delete")
    async def delete_rule(self, request: Request, rule_id: FromPath[int]) -> Redirect:
        await triage.delete_rule(request.user, rule_id)
        return Redirect("/admin/category-rules?saved=deleted", status_code=303)


async def _words_page(
    *,
    tier: str = "",
    q: str = "",
    saved: str = "",
    errors: dict | None = None,
    import_errors: list[str] | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    imported = saved.split("-")[1:] if saved.startswith("imported-") else None
    return Template(
        "pages/comments/sensitive_words.html",
        context={
            **await triage.words_page(tier, q),
            "saved": saved,
            "imported": imported if imported and len(imported) == 2 else None,
            "errors": errors or {},
            "import_errors": import_errors or [],
            "values": values or {},
        },
        status_code=status_code,
    )


async def _rules_page(
    *, saved: str = "", errors: dict | None = None, values: dict | None = None, status_code: int = 200
) -> Template:
    return Template(
        "pages/comments/category_rules.html",
        context={**await triage.rules_page(), "saved": saved, "errors": errors or {}, "values": values or {}},
        status_code=status_code,
    )


def _word_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "word": row["word"], "tier": row["tier"]}


class SensitiveWordsApi(Controller):
    path = "/api/v1/sensitive-words"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/", summary="The sensitive-word list (administrators)")
    async def list_words(self, request: Request, tier: FromQuery[str] = "") -> list[dict[str, Any]]:
        if not request.user.is_admin:
            raise PermissionDenied
        return [_word_out(row) for row in await triage.list_words(tier)]

    @post("/", summary="Add a sensitive word {word, tier: general | serious | major} (administrators)")
    async def add_word(self, request: Request) -> Response:
        if not request.user.is_admin:
            raise PermissionDenied
        try:
            body = await request.json()
        except Exception:  # not JSON at all
            raise FormError({"__all__": _("The request body must be a JSON object.")}) from None
        form = parse(triage.SensitiveWordInput, body, form=False)
        try:
            row = await triage.add_word(request.user, form)
        except Conflict as error:
            body = {"status": 409, "message": error.message, "errors": {"word": error.message}}
            return Response(body, status_code=409)
        return Response(_word_out(row), status_code=201)


class DutyController(Controller):
    """The board's duty rota (值班) and assignment cap, a section of its settings page."""

    path = "/boards/{board_id:int}"

    @get("/duty")
    async def duty(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        return await _duty_section(access)

    @post("/duty/{user_id:int}")
    async def set_duty(self, request: Request, board_id: FromPath[int], user_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        on_duty = (await request.form()).get("on_duty") == "1"
        await triage.set_duty(access, user_id, on_duty)
        return await _duty_section(access, request=request, flash=_("Saved."))

    @post("/assign-cap")
    async def set_cap(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        access.require_manage()
        try:
            form = parse(triage.AssignCapInput, await request.form())
            await triage.set_assign_cap(access, form.assign_cap)
        except FormError as error:
            return await _duty_section(access, request=request, errors=error.errors, status_code=422)
        return await _duty_section(access, request=request, flash=_("Saved."))


async def _duty_section(
    access: BoardAccess,
    *,
    request: Request | None = None,
    flash: str = "",
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    context = await triage.duty_context(access)
    if request is not None and not request.htmx and status_code == 200:
        return Redirect(f"/boards/{access.board_id}/settings?saved=duty#duty", status_code=303)
    return Template(
        "partials/comments/_duty.html",
        context={**context, "comments_board": access.board_kind == KIND, "flash": flash, "errors": errors or {}},
        status_code=status_code,
    )
