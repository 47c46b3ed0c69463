"""Intake over HTTP: the signed intake API, the intake sources' admin page and the spreadsheet
import on a comments board. Thin: each handler checks who asks, calls one service, renders."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.attachments import services as attachments
from portal.attachments.services import Incoming
from portal.boards import services as boards
from portal.boards.access import access_for, system_access
from portal.comments import import_services, intake_services
from portal.comments.imports import MAX_ROWS
from portal.comments.intake import IntakeMessage
from portal.comments.intake_services import Refused
from portal.core.choices import PLATFORMS
from portal.core.forms import FormError, optional_int
from portal.core.schemas import parse
from portal.core.web import admin_only, client_ip
from portal.i18n import gettext as _

INTAKE_DESCRIPTION = """One comment or private message from a collector, signed with its source's secret.

Body (JSON): `{"platform": "weibo", "external_id": "…", "author": "…", "text": "…",
"received_at": "2026-11-20T14:05:00+08:00", "link": "https://…"}`, optionally with
`"attachments": [{"name": "原帖截图.png", "content_base64": "…"}]` (at most 5, checked by
content like any attachment; a bad one refuses the post).
Headers: `X-Portal-Timestamp: <unix seconds>` and
`X-Portal-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`; the
timestamp must be within five minutes of the server's clock.

Answers: 201 `{"card_id": …}` for a new card; 200 `{"card_id": …, "duplicate": true}` when the
same platform and external_id was received before (a replay changes nothing); 401 for a bad
signature, a stale timestamp or an unknown or inactive source; 422 with a message per field for
a bad body; 429 when the source sends more than its rate allows."""


def _json_error(status: int, message: str, errors: dict[str, str] | None = None, **headers: str) -> Response:
    return Response({"status": status, "message": message, "errors": errors or {}}, status_code=status, headers=headers)


@post(
    "/api/intake/{source:str}",
    summary="Receive a signed comment from an intake source",
    description=INTAKE_DESCRIPTION,
    tags=["intake"],
    # Signed, not logged in: no session to act with, so no cross-site forgery to fear.
    opt={"public": True, "exclude_from_csrf": True},
    status_code=201,
)
async def intake_api(request: Request, source: FromPath[str]) -> Response:
    body = await request.body()
    try:
        found = await intake_services.authenticate(
            source,
            request.headers.get("x-portal-timestamp"),
            request.headers.get("x-portal-signature"),
            body,
        )
    except Refused as refused:
        return _json_error(401, refused.message)
    if wait := await intake_services.rate_limited(request.app.state.redis, found["id"]):
        return _json_error(
            429, _("Too many posts from this source. Try again in %(s)s seconds.", s=wait), **{"Retry-After": str(wait)}
        )
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    message = parse(IntakeMessage, data, form=False)  # FormError: 422 with a message per field
    files = [Incoming.from_bytes(item.name, item.content) for item in message.attachments]
    if files:
        # Checked by content before the card exists: a bad file refuses the whole post.
        await asyncio.to_thread(attachments.check_files, files)
    await intake_services.mark_used(found)
    access = await system_access(found["board"])
    received = await intake_services.receive(access, message, source_id=found["id"])
    if received.created and files:
        await attachments.add_attachments(access, received.card_id, files)
    if received.created:
        return Response({"card_id": received.card_id}, status_code=201)
    return Response({"card_id": received.card_id, "duplicate": True}, status_code=200)


class IntakeAdminController(Controller):
    """The intake sources: who may post comments to which board. A secret is shown once, in
    the answer to the create or rotate that made it."""

    path = "/admin/intake"
    guards = [admin_only]

    @get("")
    async def sources_page(self) -> Template:
        return await _sources_page()

    @post("")
    async def create_source(self, request: Request) -> Template:
        data = dict(await request.form())
        try:
            issued = await intake_services.create_source(
                request.user, str(data.get("name", "")), optional_int(data.get("board")), ip=client_ip(request)
            )
        except FormError as error:
            return await _sources_page(errors=error.errors, values=data, status_code=422)
        return await _sources_page(issued=issued, status_code=201)

    @post("/{source_id:int}/rotate")
    async def rotate_source(self, request: Request, source_id: FromPath[int]) -> Template:
        issued = await intake_services.rotate_source(request.user, source_id, ip=client_ip(request))
        return await _sources_page(issued=issued, rotated=True)

    @post("/{source_id:int}/deactivate")
    async def deactivate_source(self, request: Request, source_id: FromPath[int]) -> Redirect:
        await intake_services.deactivate_source(request.user, source_id, ip=client_ip(request))
        return Redirect("/admin/intake", status_code=303)


async def _sources_page(
    *,
    issued: intake_services.IssuedSecret | None = None,
    rotated: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "pages/admin/intake.html",
        context={
            "sources": await intake_services.list_sources(),
            "boards": await intake_services.comment_boards(),
            "issued": issued,
            "rotated": rotated,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


class ImportController(Controller):
    """Upload → preview (GET, so a reload shows it again) → confirm → batches."""

    path = "/boards/{board_id:int}/import"

    @get("")
    async def import_page(self, request: Request, board_id: FromPath[int]) -> Template:
        access = await access_for(request.user, board_id)
        import_services.require_importer(access)
        return await _upload_page(access)

    @post("")
    async def upload(self, request: Request, board_id: FromPath[int]) -> Response:
        access = await access_for(request.user, board_id)
        import_services.require_importer(access)
        form = await request.form()
        upload = form.get("file")
        platform = str(form.get("platform") or "")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormError({"file": _("Choose a CSV or Excel file.")})
            data = await upload.read()
            token = await import_services.prepare(
                request.app.state.redis, access, upload.filename, data, platform=platform
            )
        except FormError as error:
            return await _upload_page(access, errors=error.errors, platform=platform, status_code=422)
        return Redirect(f"/boards/{board_id}/import/{token}", status_code=303)

    @get("/{token:str}")
    async def preview(self, request: Request, board_id: FromPath[int], token: FromPath[str]) -> Template:
        access = await access_for(request.user, board_id)
        redis = request.app.state.redis
        stored = await import_services.load(redis, access, token)
        return Template(
            "pages/comments/import_preview.html",
            context={
                "board": await boards.board_header(access),
                "token": token,
                "stored": stored,
                "progress": await import_services.progress(redis, token, stored),
            },
        )

    @post("/{token:str}/confirm")
    async def confirm(self, request: Request, board_id: FromPath[int], token: FromPath[str]) -> Redirect:
        access = await access_for(request.user, board_id)
        await import_services.confirm(request.app.state.redis, access, token)
        return Redirect(f"/boards/{board_id}/import/{token}", status_code=303)

    @post("/{token:str}/batch")
    async def batch(self, request: Request, board_id: FromPath[int], token: FromPath[str]) -> Template:
        access = await access_for(request.user, board_id)
        progress = await import_services.run_batch(request.app.state.redis, access, token)
        return Template(
            "partials/comments/_import_progress.html",
            context={"board_id": board_id, "token": token, "progress": progress},
            status_code=200 if progress is not None else 409,
        )


async def _upload_page(
    access, *, errors: dict[str, str] | None = None, platform: str = "", status_code: int = 200
) -> Template:
    return Template(
        "pages/comments/import.html",
        context={
            "board": await boards.board_header(access),
            "errors": errors or {},
            "platform": platform,
            "platforms": PLATFORMS.options(),
            "max_rows": MAX_ROWS,
        },
        status_code=status_code,
    )
