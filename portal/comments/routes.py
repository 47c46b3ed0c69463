"""The comments workflow's HTTP routes (pages, partials and API), collected for the app."""

from __future__ import annotations

from typing import Any

from portal.comments.escalations_controllers import EscalationController
from portal.comments.groups_controllers import GroupController
from portal.comments.intake_controllers import ImportController, IntakeAdminController, intake_api
from portal.comments.replies_controllers import ReplyController, ReplyTemplateController
from portal.comments.triage_controllers import (
    DutyController,
    SensitiveWordsApi,
    TriageAdminController,
    TriageController,
)

ROUTES: list[Any] = [
    ReplyTemplateController,
    ReplyController,
    EscalationController,
    GroupController,
    TriageController,
    TriageAdminController,
    SensitiveWordsApi,
    DutyController,
    ImportController,
    IntakeAdminController,
    intake_api,
]
