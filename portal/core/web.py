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
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.accounts.services import CurrentUser, NotFound, PermissionDenied, get_active_user
from portal.accounts.sessions import SESSION_COOKIE
from portal.api.auth import bearer_token
from portal.core.errors import Conflict
from portal.core.forms import MAX_ID, FormError
from portal.i18n import gettext as _
from portal.i18n import normalize_locale, set_locale
from portal.notifications.services import active_user_and_unread

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
        auth_method = None
        # Signed intake posts authenticate by their signature alone: no session, no token.
        if not scope["path"].startswith(("/static/", "/healthz", "/api/intake/")):
            session = await store.get(cookies.get(SESSION_COOKIE))
            if session and scope["type"] == "http":
                # The user and the bell's count (shown on every page) in one statement.
                found = await active_user_and_unread(session.user_id)
                if found:
                    user, scope["unread"] = found
            elif session:
                user = await get_active_user(session.user_id)
            if session:
                if user is None:  # disabled or deleted since the session began
                    session = None
                else:
                    auth_method = "session"
            elif scope["path"].startswith("/api/") and (token := bearer_token(ASGIConnection(scope).headers)):
                from portal.accounts.tokens import user_for_token

                user = await user_for_token(token)
                auth_method = "token" if user else None
        scope["user"] = user
        scope["auth"] = session
        scope["auth_method"] = auth_method
        set_locale(user.language if user else normalize_locale(cookies.get(LANGUAGE_COOKIE)))
        await next_app(scope, receive, send)


def _cookies(scope: Scope) -> dict[str, str]:
    return ASGIConnection(scope).cookies


def login_required(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    if route_handler.opt.get("public") or connection.scope["path"].startswith("/schema"):
        return  # the API's description is public; the API itself is not
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()


def sane_path(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """An app-wide guard: a number in the address that no table can hold (ids stop at
    2**31-1) or a NUL byte can only be a typo or a probe, so the answer is 404 rather than
    an error from the database or the file system. (Websockets close with their own code.)"""
    if connection.scope["type"] != "http":
        return
    if "\x00" in connection.scope["path"]:
        raise NotFoundException()
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID:
            raise NotFoundException()


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


def _error_page(request: Request, status: int, title: str, detail: str, errors: dict | None = None) -> Response:
    if not _wants_html(request):
        return Response({"status": status, "message": detail, "errors": errors or {}}, status_code=status)
    return Template(
        "pages/error.html",
        context={"status": status, "title": title, "detail": detail},
        status_code=status,
    )


def on_not_authorized(request: Request, _exc: Exception) -> Response:
    if not _wants_html(request):
        message = _("Log in, or send a personal access token: Authorization: Bearer <token>.")
        return Response({"status": 401, "message": message, "errors": {}}, status_code=401)
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


def on_form_error(request: Request, exc: FormError) -> Response:
    """Bad input that no form on the page could show: say what was wrong rather than 500."""
    return _error_page(request, 422, _("Request not accepted"), " ".join(exc.errors.values()), exc.errors)


def on_conflict(request: Request, exc: Conflict) -> Response:
    """An action the object's state does not allow (an inquiry's step out of turn): 409 with
    the message, as JSON for the API, as a page elsewhere."""
    return _error_page(request, 409, _("Not possible now"), exc.message)


def on_validation_error(request: Request, exc: ValidationException) -> Response:
    """A request body that does not fit its model: 422 with a message per field for the API
    (400 when the body is not JSON at all)."""
    errors: dict[str, str] = {}
    for problem in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(problem, dict) and problem.get("key"):
            errors.setdefault(str(problem["key"]), str(problem.get("message", "")).removeprefix("Value error, "))
    if not errors:
        return _error_page(request, 400, _("Request not accepted"), str(exc.detail))
    return _error_page(request, 422, _("Request not accepted"), " ".join(errors.values()), errors)


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
    FormError: on_form_error,
    Conflict: on_conflict,
    ValidationException: on_validation_error,
    HTTPException: on_http_exception,
}


async def json_object(request: Request) -> dict[str, Any]:
    """An API request's JSON body as an object (an empty body is {}): anything else is a 422
    with a message, never a 500."""
    try:
        body = await request.json() if (await request.body()).strip() else {}
    except Exception:  # not JSON at all
        raise FormError({"__all__": _("The request body must be a JSON object.")}) from None
    if not isinstance(body, dict):
        raise FormError({"__all__": _("The request body must be a JSON object.")})
    return body


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
