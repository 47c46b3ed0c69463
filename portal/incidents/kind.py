"""The incidents kind (舆情事件): its columns (the states of its course), its first-response
clock by level, its fields and partials."""

from __future__ import annotations

from portal.cards.kinds import CardKind, ClockSpec, ColumnSpec
from portal.core.choices import RISK_LEVELS
from portal.i18n import lazy_gettext as _l
from portal.incidents import services, workflow
from portal.incidents.demo import seed_course
from portal.incidents.schemas import IncidentInput
from portal.incidents.tables import IncidentComment, IncidentDetail, IncidentStatement

KIND = CardKind(
    name="incidents",
    auto_archive=False,  # see CardKind.auto_archive
    label=_l("Incidents"),
    columns=(
        ColumnSpec("monitoring", "监测", "new"),
        ColumnSpec("assessing", "研判", "working"),
        ColumnSpec("handling", "处置", "working"),
        ColumnSpec("responding", "回应", "waiting"),
        ColumnSpec("calmed", "平息", "done"),
    ),
    input_model=IncidentInput,
    detail=IncidentDetail,
    tables=(IncidentStatement, IncidentComment),
    # The first public response (首次回应: an approved statement published), from the moment
    # the incident was opened — 1 natural hour for 橙 and 红, 4 for 黄, 24 for 蓝; publishing
    # (回应) or calming down completes it; it is the card's clock throughout (pauses,
    # extensions and a new level apply to it). A statement awaiting approval is due on its own
    # time (statement_review: 1 hour for 橙 and 红, 2 for 黄, 4 for 蓝, from its submission:
    # portal.incidents.workflow.review_due), shown with the statement. The level is the
    # clocks' category: an administrator may set other times per level.
    stages=("first_response", "statement_review"),
    stage_by_column_key={"monitoring": "first_response", "assessing": "first_response", "handling": "first_response"},
    stage_by_meaning={"new": "first_response", "working": "first_response"},
    completed_by_column_key={
        "first_response": frozenset({"responding", "calmed"}),
        "statement_review": frozenset({"responding", "calmed"}),
    },
    clocks=(
        ClockSpec("first_response", 24, "natural_hours"),
        ClockSpec("first_response", 24, "natural_hours", category="blue"),
        ClockSpec("first_response", 4, "natural_hours", category="yellow"),
        ClockSpec("first_response", 1, "natural_hours", category="orange"),
        ClockSpec("first_response", 1, "natural_hours", category="red"),
        ClockSpec("statement_review", 4, "natural_hours"),
        ClockSpec("statement_review", 4, "natural_hours", category="blue"),
        ClockSpec("statement_review", 2, "natural_hours", category="yellow"),
        ClockSpec("statement_review", 1, "natural_hours", category="orange"),
        ClockSpec("statement_review", 1, "natural_hours", category="red"),
    ),
    categories=RISK_LEVELS,
    counted_in_figures=False,  # not a citizen's case: the dashboard's 三率 leave incidents out
    category_field="level",
    clock_fields=("level",),
    fields_partial="partials/incidents/_fields.html",
    tile_partial="partials/incidents/_tile.html",
    drawer_partial="partials/incidents/_drawer.html",
    sections_partial="partials/incidents/_sections.html",
    tile_fields=("level", "pending_version", "published_version"),
    filterable=("level",),
    search_fields=("assessment", "plan", "statement", "review"),
    on_move=workflow.on_move,
    on_create=workflow.on_create,
    on_update=workflow.on_update,
    on_updated=workflow.on_updated,
    on_created=services.on_created,
    on_archive=workflow.on_archive,
    demo_file="demo.json",
    demo_card=seed_course,
)
