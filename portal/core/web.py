"""Cross-cutting HTTP concerns: who is asking, in which language, and what they may see.

- ``SessionMiddleware`` loads the session and user (or None) into the scope and sets the
  request's locale;
- ``login_required`` is an app-wide guard; handlers opt out with ``opt={"public": True}``;
- ``admin_only`` guards the admin pages;
- ``add_security_headers`` runs before every response is sent;
- exception handlers turn domain exceptions into pages that say what happened.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.accounts.services import CurrentUser, NotFound, PermissionDenied, get_active_user
from portal.accounts.sessions import SESSION_COOKIE
from portal.i18n import gettext as _
from portal.i18n import normalize_locale, set_locale
from portal.notifications.services import unread_count

LANGUAGE_COOKIE = "portal_lang"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SessionMiddleware(ASGIMiddleware):
    scopes = ("http", "websocket")  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        store = scope["litestar_app"].state.sessions
        cookies = _cookies(scope)
        session = None
        user: CurrentUser | None = None
        if not scope["path"].startswith(("/static/", "/healthz")):
            session = await store.get(cookies.get(SESSION_COOKIE))
            if session:
                user = await get_active_user(session.user_id)
                if user is None:  # disabled or deleted since the session began
                    session = None
        scope["user"] = user
        scope["auth"] = session
        if user and scope["type"] == "http":
            # The bell's count, shown on every page (one indexed COUNT).
            scope["unread"] = await unread_count(user)
        set_locale(user.language if user else normalize_locale(cookies.get(LANGUAGE_COOKIE)))
        await next_app(scope, receive, send)


def _cookies(scope: Scope) -> dict[str, str]:
    return ASGIConnection(scope).cookies


def login_required(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    if route_handler.opt.get("public"):
        return
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()


def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    if not user.is_admin:
        raise PermissionDenied


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if scope["litestar_app"].state.settings.secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not scope["path"].startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")


# Exception handlers ----------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if not _wants_html(request):
        return Response({"status": status, "detail": detail}, status_code=status)
    return Template(
        "pages/error.html",
        context={"status": status, "title": title, "detail": detail},
        status_code=status,
    )


def on_not_authorized(request: Request, _exc: Exception) -> Response:
    if not _wants_html(request):
        return Response({"status": 401, "detail": "login required"}, status_code=401)
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        from urllib.parse import quote

        target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request"):
        return Response("", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def on_forbidden(request: Request, exc: Exception) -> Response:
    detail = _("You do not have permission to do this.")
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        detail = _("The form has expired or was not sent by this site. Reload the page and try again.")
    return _error_page(request, 403, _("Not allowed"), detail)


def on_not_found(request: Request, _exc: Exception) -> Response:
    return _error_page(request, 404, _("Not found"), _("This page does not exist, or you may not see it."))


def on_http_exception(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        return on_not_found(request, exc)
    if exc.status_code >= 500:
        return _error_page(request, exc.status_code, _("Something went wrong"), _("Please try again in a moment."))
    return _error_page(request, exc.status_code, _("Request not accepted"), str(exc.detail))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotAuthorizedException: on_not_authorized,
    PermissionDeniedException: on_forbidden,
    PermissionDenied: on_forbidden,
    NotFound: on_not_found,
    HTTPException: on_http_exception,
}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
