"""The inquiries workflow's HTTP routes (pages, partials and API), collected for the app."""

from __future__ import annotations

from typing import Any

from portal.inquiries.controllers import InquiryApi, InquiryController
from portal.inquiries.knowledge_controllers import (
    InquiryKnowledgeController,
    KnowledgeController,
    PublicFaqController,
)
from portal.inquiries.merging_controllers import MergeApi, MergeController
from portal.inquiries.privacy_controllers import InquiryPrivacyController
from portal.inquiries.queue_controllers import InquiryQueueController, SupervisionApi

ROUTES: list[Any] = [
    InquiryQueueController,
    SupervisionApi,
    InquiryPrivacyController,
    InquiryController,
    InquiryApi,
    KnowledgeController,
    InquiryKnowledgeController,
    PublicFaqController,
    MergeController,
    MergeApi,
]
