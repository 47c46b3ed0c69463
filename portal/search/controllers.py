"""The search page, /search: the query box, the filters, one page of results. Thin: parse,
call the one search service, render. A plain GET form (links keep the filters); htmx swaps
only the results when a filter changes or a page is turned. The person's boards and access
are read once per request and handed to each step."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.response import Template

from portal.accounts.services import department_choices
from portal.cards.kinds import kind_options
from portal.core.errors import FormError
from portal.search import services as search
from portal.search.services import SearchFilters
from portal.stats import scope as scopes


class SearchController(Controller):
    path = "/search"

    @get("/")
    async def page(self, request: Request) -> Template:
        params = dict(request.query_params)
        scope = await scopes.scope_for(request.user)
        errors: dict[str, str] = {}
        try:
            query, filters, page = await search.parse(request.user, params, scope)
        except FormError as error:
            errors = error.errors
            query, filters, page = search.text_of(params), SearchFilters(), 1
            # A value with control characters is not shown back (the form shows the others as typed).
            params = {name: value for name, value in params.items() if not search.has_control(str(value))}
        results = None
        if query and not errors:
            results = await search.search(request.user, query, filters, page, scope)
        context: dict[str, Any] = {
            "q": query,
            "params": params,
            "filters": filters,
            "errors": errors,
            "results": results,
            "page_url": lambda number: "/search?" + urlencode({**params, "page": number}),
        }
        # Only the results when htmx asks for them (a filter changed, a page turned): the
        # filters' choices are the full page's.
        if request.headers.get("hx-target") == "search-results":
            name = "partials/search/_results.html"
        else:
            name = "pages/search/index.html"
            context.update(
                boards=list(scope.boards.values()),
                kinds=kind_options(),
                departments=await department_choices(),
                categories=search.category_options(await search.known_categories(scope)),
                states=[(key, str(label)) for key, label in search.STATES.items()],
                sorts=[(key, str(label)) for key, label in search.SORTS.items()],
            )
        return Template(name, context=context, status_code=422 if errors else 200)
