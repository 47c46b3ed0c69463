"""Search's HTTP routes (the page and the API), collected for the app."""

from __future__ import annotations

from typing import Any

from portal.search.api import SearchApi
from portal.search.controllers import SearchController

ROUTES: list[Any] = [SearchController, SearchApi]
