"""How API requests prove who they are, and the /schema page.

- A personal access token (``Authorization: Bearer pt_…``) identifies a script; it carries
  no cookie, so cross-site request forgery does not apply to it.
- A browser's session cookie works too, and then a write must carry the CSRF header exactly
  as htmx requests do (``api_csrf``), because a cookie is sent by any site's form.
"""

from __future__ import annotations

from html import escape
from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.openapi.plugins import OpenAPIRenderPlugin

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_token(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _decode(token: str, secret: str) -> str | None:
    if len(token) < CSRF_SECRET_LENGTH + 1:
        return None
    token_secret, digest = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return token_secret if compare_digest(digest, generate_csrf_hash(token=token_secret, secret=secret)) else None


def api_csrf(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Writes made with the session cookie must carry the page's CSRF token in the header."""
    if connection.scope.get("method", "GET") in SAFE_METHODS or connection.scope.get("auth_method") != "session":
        return
    config = connection.app.csrf_config
    header = connection.headers.get(config.header_name) or ""
    cookie = connection.cookies.get(config.cookie_name) or ""
    sent, expected = _decode(header, config.secret), _decode(cookie, config.secret)
    if sent is None or expected is None or not compare_digest(sent, expected):
        raise PermissionDeniedException("CSRF token verification failed")


class EndpointList(OpenAPIRenderPlugin):
    """/schema: the API's endpoints as a plain page (no scripts from elsewhere: the CSP forbids
    them and the portal may run without internet); the full spec is /schema/openapi.json."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        rows = []
        for path, operations in openapi_schema.get("paths", {}).items():
            for method, operation in operations.items():
                if method.upper() not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
                    continue
                rows.append(
                    f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}</code></td>"
                    f"<td>{escape(operation.get('summary') or '')}</td></tr>"
                )
        info = openapi_schema.get("info", {})
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(info.get('title', 'API'))}</title>"
            "<link rel='stylesheet' href='/static/app.css'></head><body><main class='page'>"
            f"<h1>{escape(info.get('title', 'API'))} {escape(info.get('version', ''))}</h1>"
            "<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> (make one on your account page "
            "or with <code>portal create-token --username NAME</code>), or with the session and the "
            "<code>x-csrftoken</code> header. Full specification: "
            "<a href='/schema/openapi.json'>/schema/openapi.json</a>.</p>"
            "<table class='table'><thead><tr><th>method</th><th>path</th><th>what</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></main></body></html>"
        ).encode()
