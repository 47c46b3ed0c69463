"""The evaluation's HTTP routes (pages and API), collected for the app. The stats-ui pages and
the stats-core API each add their controllers here."""

from __future__ import annotations

from typing import Any

from portal.stats.accounts_controllers import ROUTES as ACCOUNT_ROUTES
from portal.stats.api import StatsApi
from portal.stats.controllers import StatsController

ROUTES: list[Any] = [
    StatsApi,
    StatsController,  # /stats, /stats/cards, /stats/report, /stats/export.* (portal.stats.controllers)
    *ACCOUNT_ROUTES,  # /stats/accounts and /api/v1/accounts (portal.stats.accounts_controllers)
]
