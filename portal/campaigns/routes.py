"""The campaigns' HTTP routes (pages, partials and API), collected for the app. Each part of
the campaign (plan, tasks, metrics, questions and review, calendar) has its own controllers."""

from __future__ import annotations

from typing import Any

from portal.campaigns.controllers import CampaignPlanApi, CampaignPlanController

ROUTES: list[Any] = [
    CampaignPlanController,
    CampaignPlanApi,
]
