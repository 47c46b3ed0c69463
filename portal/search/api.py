"""Search through the JSON API: ``GET /api/v1/search?q=…`` answers what the search page shows
(the same service, the same permissions), 20 results a page. Bad input answers 422 with a
message per field; an empty ``q`` is bad input here."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from portal.api.auth import api_csrf
from portal.core.errors import FormError
from portal.i18n import gettext as _
from portal.search import services as search
from portal.stats import scope as scopes

PARAMETERS = (
    "Query: q (required: words, Chinese without spaces is fine), board=<id>, kind=comments|inquiries|campaigns|"
    "incidents, from=YYYY-MM-DD, to=YYYY-MM-DD (the day the message was received, both included), "
    "platform=<code>, category=<code>, department=<id> (responsible), state=open|closed|archived, "
    "sort=relevance|newest, page=<n> (20 a page). 422 with a message per field for bad input."
)


class SearchApi(Controller):
    path = "/api/v1/search"
    tags = ["api v1"]
    opt = {"exclude_from_csrf": True}  # as ApiV1: api_csrf checks the header for session users
    guards = [api_csrf]

    @get("/", summary="Full-text search over every card you may see, archived ones included", description=PARAMETERS)
    async def search(self, request: Request) -> dict[str, Any]:
        errors: dict[str, str] = {}
        scope = await scopes.scope_for(request.user)
        try:
            query, filters, page = await search.parse(request.user, request.query_params, scope)
        except FormError as error:
            errors = dict(error.errors)
            query = search.text_of(request.query_params)
        if not query:
            errors["q"] = _("Type what to search for.")
        if errors:
            raise FormError(errors)
        return (await search.search(request.user, query, filters, page, scope)).as_json()
