"""The campaigns' HTTP routes (pages, partials and API), collected for the app. Each part of
the campaign (plan, tasks, metrics, questions and review, calendar) has its own controllers."""

from __future__ import annotations

from typing import Any

from portal.campaigns.calendar_controllers import CampaignCalendarApi, CampaignCalendarController
from portal.campaigns.controllers import CampaignPlanApi, CampaignPlanController
from portal.campaigns.metric_controllers import CampaignMetricsApi, CampaignMetricsController
from portal.campaigns.question_controllers import CampaignQuestionApi, CampaignQuestionController
from portal.campaigns.review_controllers import CampaignReviewController
from portal.campaigns.task_controllers import CampaignTasksApi, CampaignTasksController

ROUTES: list[Any] = [
    CampaignQuestionController,
    CampaignQuestionApi,
    CampaignReviewController,
    CampaignPlanController,
    CampaignPlanApi,
    CampaignMetricsController,
    CampaignMetricsApi,
    CampaignTasksController,
    CampaignTasksApi,
    CampaignCalendarController,
    CampaignCalendarApi,
]
