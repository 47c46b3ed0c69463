"""The incidents' HTTP routes (the drawer's section and the API), collected for the app."""

from __future__ import annotations

from typing import Any

from portal.incidents.controllers import IncidentApi, IncidentController

ROUTES: list[Any] = [IncidentController, IncidentApi]
