"""Attachment endpoints: the drawer's section (list, upload, delete), the files themselves
(download, an image shown large, its thumbnail) and the JSON API.

Files are served as ``Content-Disposition: attachment`` with ``nosniff`` and a CSP that
allows nothing (``default-src 'none'; sandbox``): whatever a file holds, a browser saves it
rather than runs it. Only an image's preview and thumbnail are shown inline, with the image
type the content was detected as (HTML and SVG are refused at upload anyway).

The HTML upload route is left out of the CSRF middleware, which would read the whole body
(up to a card's worth of MB) looking for a form field before anything is checked: the
``csrf_header`` guard (``api_csrf``) checks the ``x-csrftoken`` header instead, after ``login_required`` and
before the body is read (htmx sends the header with every request; no form posts files
without it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import File, Template

from portal.api.auth import api_csrf
from portal.attachments import services, storage, targets
from portal.attachments.services import Incoming
from portal.boards.access import access_for
from portal.cards import services as cards
from portal.core.forms import FormError
from portal.i18n import gettext as _
from portal.settings import get_settings

SECTION = "partials/attachments/_section.html"
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
# The request may carry a card's worth of files, plus the form's own fields.
MAX_BODY = get_settings().attachment_card_max_mb * services.MB + services.MB


def csrf_header(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The page's CSRF token in the ``x-csrftoken`` header, checked before the body is read
    (this route's pages are reached only with a session: ``login_required`` ran first)."""
    if connection.scope.get("auth_method") != "session":
        raise PermissionDeniedException("CSRF token verification failed")
    api_csrf(connection, handler)


def _incoming(form: Any) -> list[Incoming]:
    files = []
    for key in ("files", "file"):
        for value in form.getall(key, []):
            if isinstance(value, UploadFile) and value.filename:
                files.append(Incoming(value.filename, value.file))
    return files


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """Both forms (RFC 6266 / 5987): an ASCII fallback name and the real one, UTF-8 encoded."""
    stem, dot, ext = name.rpartition(".")
    fallback = "".join(char if char.isascii() and char.isalnum() or char in "-_ " else "_" for char in (stem or name))
    fallback = (fallback.strip("_ ") or "attachment") + (
        "." + "".join(c for c in ext if c.isascii() and c.isalnum()) if dot else ""
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file(row: dict[str, Any], *, inline: bool, thumbnail: bool = False) -> File:
    """The file as it is served; citizen materials (``row["private"]``) are never cached."""
    sha256 = row["thumbnail_sha256"] if thumbnail else row["sha256"]
    path = storage.path_of(sha256)
    if not path.is_file():
        from portal.accounts.services import NotFound

        raise NotFound
    if thumbnail:
        media_type = "image/webp"
    elif row["kind"] == "image":
        media_type = row["content_type"]
    else:
        media_type = "application/octet-stream"  # never rendered by the browser
    name = row["name"] if not thumbnail else row["name"].rsplit(".", 1)[0] + ".webp"
    headers = {
        "content-disposition": content_disposition(name, "inline" if inline else "attachment"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        # Content-addressed and checked on every request; a thumbnail may stay in this
        # person's browser a while, a document not (citizen materials are audited).
        "Cache-Control": "private, max-age=3600" if thumbnail and not row.get("private") else "no-store",
    }
    return File(path=path, filename=name, media_type=media_type, headers=headers)


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def _section(request: Request, card_id: int, *, status: int = 200, **extra: Any) -> Template:
    access = await access_for(request.user, await services.board_of_card(card_id))
    context = await services.section(access, card_id)
    return Template(
        SECTION,
        context={"access": access, "errors": {}, "flash": "", **context, **extra},
        status_code=status,
    )


class AttachmentController(Controller):
    @get("/cards/{card_id:int}/attachments")
    async def section(self, request: Request, card_id: FromPath[int]) -> Template:
        """The drawer's attachments section (loaded on its own, reloaded live); an archived
        card's, read only, on its page."""
        return await _section(request, card_id)

    @post(
        "/cards/{card_id:int}/attachments",
        request_max_body_size=MAX_BODY,
        opt={"exclude_from_csrf": True},  # the header is checked by csrf_header, before the body is read
        guards=[csrf_header],
    )
    async def upload(self, request: Request, card_id: FromPath[int]) -> Template:
        access = await access_for(request.user, await cards.find_board_of(card_id))
        await cards.require_visible(access, card_id)
        access.require_edit()
        form = await request.form()
        try:
            target_type, target_id = targets.parse_target(form.get("target"))
            change = await services.add_attachments(
                access, card_id, _incoming(form), target_type=target_type, target_id=target_id
            )
        except FormError as error:
            return await _section(request, card_id, status=422, errors=error.errors)
        count = len(change.attachment_ids)
        return await _section(
            request, card_id, flash=_("Attached %(n)s file(s).", n=count), version_before=change.version_before
        )

    @post("/attachments/{attachment_id:int}/delete")
    async def delete(self, request: Request, attachment_id: FromPath[int]) -> Template:
        access = await access_for(request.user, await services.find_board_of_attachment(attachment_id))
        change = await services.delete_attachment(access, attachment_id)
        return await _section(
            request, change.card_id, flash=_("The attachment was removed."), version_before=change.version_before
        )

    @get("/attachments/{attachment_id:int}")
    async def download(self, request: Request, attachment_id: FromPath[int]) -> File:
        row = await services.open_attachment(request.user, attachment_id, "download", _ip(request))
        return _file(row, inline=False)

    @get("/attachments/{attachment_id:int}/preview")
    async def preview(self, request: Request, attachment_id: FromPath[int]) -> File:
        """An image shown large, in its own detected image type (never HTML or SVG)."""
        row = await services.open_attachment(request.user, attachment_id, "preview", _ip(request))
        return _file(row, inline=True)

    @get("/attachments/{attachment_id:int}/thumbnail")
    async def thumbnail(self, request: Request, attachment_id: FromPath[int]) -> File:
        row = await services.open_attachment(request.user, attachment_id, "thumbnail", _ip(request))
        return _file(row, inline=True, thumbnail=True)


def attachment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "card_id": row["card"],
        "name": row["name"],
        "type": row["content_type"] if row["kind"] != "text" else "text/plain",
        "kind": row["kind"],
        "size": row["size"],
        "sha256": row["sha256"],
        "width": row["width"],
        "height": row["height"],
        "thumbnail": row["thumbnail"],
        "uploaded_by": {"id": row["uploader_id"], "name": row["uploader"] or ""} if row["uploader_id"] else None,
        "uploaded_at": row["uploaded_at"],
        # What on the card it is attached to (a note, a reply, a step), or None: the card.
        "target": {"type": row["target_type"], "id": row["target_id"], "label": row.get("target_label", "")}
        if row["target_type"]
        else None,
        "urls": {
            "download": f"/attachments/{row['id']}",
            "api_download": f"/api/v1/attachments/{row['id']}",  # with a token (the others: a session)
            "preview": f"/attachments/{row['id']}/preview" if row["kind"] == "image" else None,
            "thumbnail": f"/attachments/{row['id']}/thumbnail" if row["thumbnail"] == "ready" else None,
        },
    }


class AttachmentApi(Controller):
    path = "/api/v1"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as portal.api.controllers.ApiV1: api_csrf checks sessions
    guards = [api_csrf]

    @get("/cards/{card_id:int}/attachments", summary="A card's attachments")
    async def list_attachments(self, request: Request, card_id: FromPath[int]) -> list[dict[str, Any]]:
        access = await access_for(request.user, await cards.find_board_of(card_id))
        return [attachment_out(row) for row in await services.list_for_api(access, card_id)]

    @post(
        "/cards/{card_id:int}/attachments",
        summary=(
            "Attach files to a card (multipart/form-data, field 'files', several allowed; "
            "'target' = note:ID, reply:ID or step:ID attaches them to that note, reply or step)"
        ),
        status_code=201,
        request_max_body_size=MAX_BODY,
    )
    async def upload_attachments(self, request: Request, card_id: FromPath[int]) -> Response[list[dict[str, Any]]]:
        access = await access_for(request.user, await cards.find_board_of(card_id))
        await cards.require_visible(access, card_id)
        access.require_edit()
        form = await request.form()
        target_type, target_id = targets.parse_target(form.get("target"))
        change = await services.add_attachments(
            access, card_id, _incoming(form), target_type=target_type, target_id=target_id
        )
        rows = [row for row in await services.list_for_api(access, card_id) if row["id"] in change.attachment_ids]
        return Response([attachment_out(row) for row in rows], status_code=201)

    @get("/attachments/{attachment_id:int}", summary="Download an attachment (as a file, never shown inline)")
    async def download_attachment(self, request: Request, attachment_id: FromPath[int]) -> File:
        row = await services.open_attachment(request.user, attachment_id, "download", _ip(request))
        return _file(row, inline=False)


ROUTES = [AttachmentController, AttachmentApi]
