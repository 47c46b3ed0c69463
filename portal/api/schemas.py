"""What the JSON API answers and accepts (listed on /schema). Request bodies are validated
again by the same input models the HTML forms use (portal/cards/schemas.py)."""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portal.cards.kinds import all_kinds


class ColumnRef(BaseModel):
    id: int
    key: str
    name: str


class ColumnOut(ColumnRef):
    meaning: str
    wip_limit: int | None = None


class BoardOut(BaseModel):
    id: int
    name: str
    kind: str


class BoardDetailOut(BoardOut):
    description: str = ""
    columns: list[ColumnOut]


class DepartmentOut(BaseModel):
    id: int
    name: str
    name_zh: str
    name_en: str


class PersonRef(BaseModel):
    id: int
    name: str


class CardOut(BaseModel):
    """A card: what every card has, then its kind's fields (e.g. platform, sentiment for
    comments; citizen_name, category for inquiries; starts_at, ends_at for campaigns)."""

    model_config = ConfigDict(extra="allow")

    id: int
    kind: str
    board_id: int
    title: str
    body: str
    priority: str
    labels: list[str]
    column: ColumnRef
    version: int
    stage: str | None = Field(description="the deadline clock running now, if any")
    due_at: datetime | None
    paused: bool
    assignee: PersonRef | None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# Every registered kind's fields, for the documentation; each board accepts its own kind's.
_AllKindFields = types.new_class("CardFields", tuple(kind.input_model for kind in all_kinds()))


class CardCreateBody(_AllKindFields):
    model_config = ConfigDict(extra="ignore", title="CardCreate")

    column_id: int | None = Field(default=None, description="the column (or give column_key)")
    column_key: str | None = Field(default=None, description="e.g. new, pending, pending_accept")


class CardPatchBody(BaseModel):
    """Send the version you saw and only the fields to change; a stale version gets 409
    with the card as it is now."""

    model_config = ConfigDict(extra="allow", title="CardPatch")

    version: int = Field(ge=1)


class MoveBody(BaseModel):
    model_config = ConfigDict(title="CardMove")

    column_id: int | None = None
    column_key: str | None = None
    after_id: int | None = Field(default=None, description="land under this card; none: on top; -1: at the bottom")
    version: int = Field(ge=1)


class StageOut(BaseModel):
    stage: str
    column_id: int | None
    column_name: str | None
    clock: str | None
    round: int
    entered_at: datetime
    entered_by: str | None
    left_at: datetime | None
    left_by: str | None
    due_at: datetime | None
    working_minutes: int | None
    on_time: bool | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class ErrorOut(BaseModel):
    status: int
    message: str
    errors: dict[str, str] = {}
    card: dict[str, Any] | None = None
