"""A campaign's review (复盘): the page generated from its data — the plan in force, its goals
against the results with percentages per platform and in total, the chart, the timeline (plan
versions, state changes, key moments, tasks done, figures recorded), the questions people
asked most — and the team's own words, what went well and what to change. The same as an
XLSX workbook.

Available in every state (an empty part says so); 404 for whoever may not see the card. The
figures come from portal.campaigns.metrics; nothing here counts them again.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field, field_validator

from portal.accounts.tables import User
from portal.boards.access import BoardAccess
from portal.campaigns import chart, metrics, questions, workflow
from portal.campaigns.choices import METRICS
from portal.campaigns.tables import CampaignTask
from portal.cards import services as cards
from portal.cards.tables import Card, CardStage
from portal.core.choices import CAMPAIGN_PLATFORMS
from portal.core.errors import Conflict
from portal.core.schemas import Input, parse
from portal.events.kinds import EventKind
from portal.events.tables import Event
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.settings import get_settings

REVIEW_MAX = 5000
TOP_QUESTIONS = 10
# The header's facts: the plan's fields, as the plan in force says them.
FACTS = (
    "theme",
    "policy_basis",
    "campaign_format",
    "platforms",
    "starts_at",
    "ends_at",
    "assignee",
    "team",
    "budget",
    "goals",
)


class ReviewInput(Input):
    went_well: Annotated[str, Field(max_length=REVIEW_MAX)] = ""
    to_change: Annotated[str, Field(max_length=REVIEW_MAX)] = ""
    seen: Annotated[str, Field(max_length=64)] = ""  # the texts' fingerprint when the form was loaded

    messages = {
        "went_well": _l("Use at most 5000 characters."),
        "to_change": _l("Use at most 5000 characters."),
    }

    @field_validator("went_well", "to_change")
    @classmethod
    def _printable(cls, value: str) -> str:
        return questions.printable(value)


def fingerprint(went_well: str, to_change: str) -> str:
    """What the review said when a form was loaded: a save over someone else's newer words is
    refused instead of silently overwriting them."""
    return hashlib.sha256(f"{went_well}\0{to_change}".encode()).hexdigest()[:16]


# The page's data ---------------------------------------------------------------------------


async def _names(ids: set[int]) -> dict[int, str]:
    ids = {person for person in ids if isinstance(person, int)}
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(list(ids)))
    return {row["id"]: row["display_name"] for row in rows}


def _when(value: Any) -> datetime | None:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else None


def platform_label(code: str | None) -> str:
    return str(CAMPAIGN_PLATFORMS.label(code)) if code else _("Total")


def goal_rows(against: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Goals against results as ``metrics.against_goals`` orders them (per platform in the
    plan's order, then the totals), each row with its platform's and figure's names, its
    completion as a fraction (None without a goal) and whether it is met. The fraction is the
    per cent the page shows (``pct``, rounded down) over 100: the export never says 100% where
    the page says 99%."""
    rows = []
    for row in against:
        goal = row.get("goal") or 0
        result = row.get("result")  # None: the figure was never given
        pct = row.get("pct")
        rows.append(
            {
                **row,
                "goal": goal,
                "result": result,
                "platform_label": platform_label(row["platform"]),
                "metric_label": str(METRICS.label(row["metric"])),
                "ratio": pct / 100 if pct is not None else None,
                "met": bool(goal) and result is not None and result >= goal,
            }
        )
    return rows


def _figures_text(snapshot: dict[str, Any]) -> str:
    return "，".join(
        f"{METRICS.label(metric)} {int(snapshot.get(metric) or 0):,}"
        for metric in METRICS.values
        if snapshot.get(metric)
    )


async def timeline(card_id: int, plan: dict[str, Any], series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What happened, oldest first: plan versions submitted and decided (with the reasons),
    changes dropped, the campaign's state changes (its stage history), its key moments, the
    tasks done and the figures recorded. Each entry: at, kind, title, who, text."""
    entries: list[dict[str, Any]] = []

    def add(at: Any, kind: str, title: str, who: str | None = None, text: str = "") -> None:
        when = _when(at)
        if when is not None:
            entries.append({"at": when, "kind": kind, "title": title, "who": who or "", "text": text or ""})

    for version in await workflow.versions(card_id):
        n = version["version"]
        status = version["status"]
        # Until a decision the version's reason is the submitter's note; the decision replaces it.
        add(
            version["submitted_at"],
            "submitted",
            _("Plan version %(n)s submitted for approval", n=n),
            version["submitted_by_name"],
            version["reason"] if status == "submitted" else "",
        )
        if version["decided_at"] is not None:
            title = {
                "approved": _("Plan version %(n)s approved", n=n),
                "returned": _("Plan version %(n)s returned", n=n),
                "withdrawn": _("Plan version %(n)s withdrawn", n=n),
            }.get(status, status)
            add(version["decided_at"], status, title, version["decided_by_name"], version["reason"])

    # Changes dropped (放弃修改): the approved plan put back on the card.
    reverts = (
        await Event.select(Event.created_at, Event.payload, Event.actor.display_name.as_alias("who"))
        .where((Event.object_type == "card") & (Event.object_id == card_id) & (Event.verb == EventKind.campaign_action))
        .order_by(Event.id)
        .output(load_json=True)
    )
    for event in reverts:
        if (event["payload"] or {}).get("action") == "revert":
            n = event["payload"].get("version")
            add(
                event["created_at"],
                "reverted",
                _("Change discarded: plan version %(n)s back in force", n=n),
                event["who"],
            )

    stages = (
        await CardStage.select(
            CardStage.stage,
            CardStage.column.name.as_alias("column_name"),
            CardStage.entered_at,
            CardStage.entered_by.display_name.as_alias("who"),
        )
        .where(CardStage.card == card_id)
        .order_by(CardStage.entered_at)
        .order_by(CardStage.id)
    )
    for stage in stages:
        name = workflow.STATES.label(stage["stage"]) if stage["stage"] in workflow.STATES else stage["column_name"]
        add(stage["entered_at"], "state", _("Now %(state)s", state=name or stage["stage"]), stage["who"])

    for moment in plan.get("moments") or []:
        add(moment.get("at"), "moment", _("Key moment: %(label)s", label=moment.get("label") or ""))

    tasks = (
        await CampaignTask.select(
            CampaignTask.title,
            CampaignTask.due_at,
            CampaignTask.done_at,
            CampaignTask.done_by.display_name.as_alias("done_by_name"),
            CampaignTask.owner.display_name.as_alias("owner_name"),
        )
        .where((CampaignTask.card == card_id) & CampaignTask.done_at.is_not_null())
        .order_by(CampaignTask.done_at)
    )
    for task in tasks:
        late = task["due_at"] is not None and task["done_at"] > task["due_at"]
        note = ""
        if task["due_at"] is not None:
            due = task["due_at"].astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M")
            note = _("Due %(time)s, done late", time=due) if late else _("Due %(time)s, done on time", time=due)
        add(
            task["done_at"],
            "task",
            _("Task done: %(title)s", title=task["title"]),
            task["done_by_name"] or task["owner_name"],
            note,
        )

    for snapshot in series:
        add(
            snapshot["at"],
            "metrics",
            _("Figures recorded on %(platform)s", platform=platform_label(snapshot["platform"])),
            None,
            _figures_text(snapshot),
        )
    entries.sort(key=lambda entry: entry["at"])
    return entries


async def review(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """Everything the review page and its export show; NotFound unless this viewer may see
    the campaign."""
    await workflow.campaign_access(access, card_id)
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    plan = await workflow.effective_plan(card)
    people = await _names({plan.get("assignee"), *(plan.get("team") or [])})
    facts = [{"field": "title", "label": _("Campaign name"), "value": card["title"]}]
    facts += [
        {"field": name, "label": str(workflow.FIELD_LABELS[name]), "value": workflow.show(name, plan.get(name), people)}
        for name in FACTS
    ]
    approved = card.get("approved_version")
    facts.append(
        {
            "field": "approved_version",
            "label": _("Version in force"),
            "value": _("Version %(n)s, approved", n=approved) if approved else _("Not approved yet"),
        }
    )
    facts.append({"field": "state", "label": _("State"), "value": str(workflow.STATES.label(state))})
    # The goals are the plan's in force: results are measured against what was approved.
    against = await metrics.against_goals(card)
    series = await metrics.series(card_id)
    tz = get_settings().tz
    return {
        "card": card,
        "state": state,
        "plan": plan,
        "facts": facts,
        "goals": goal_rows(against),
        "series": series,
        "chart_set": chart.charts(
            series, against, tz, start=_when(plan.get("starts_at")), end=_when(plan.get("ends_at"))
        ),
        "timeline": await timeline(card_id, plan, series),
        "questions": await questions.list_questions(card_id, limit=TOP_QUESTIONS),
        "all_questions": await questions.list_questions(card_id),
        "went_well": card.get("went_well") or "",
        "to_change": card.get("to_change") or "",
        "seen": fingerprint(card.get("went_well") or "", card.get("to_change") or ""),
        "can_edit": access.can_edit,
    }


# The team's words --------------------------------------------------------------------------


async def save_review(access: BoardAccess, card_id: int, payload: Any) -> None:
    """Write what went well and what to change (PermissionDenied for viewers, FormError for
    more than 5000 characters, Conflict when someone saved other words since the form was
    loaded)."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    form = parse(ReviewInput, payload)
    from portal.campaigns.kind import KIND

    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        before = (card.get("went_well") or "", card.get("to_change") or "")
        if form.seen and form.seen != fingerprint(*before):
            raise Conflict(_("Someone saved the review a moment ago: read their words, then save yours again."))
        changes = {
            name: value
            for name, value, old in (("went_well", form.went_well, before[0]), ("to_change", form.to_change, before[1]))
            if value != old
        }
        if not changes:
            return
        await KIND.update_detail(card_id, changes)
        await Card.update({Card.version: Card.version + 1, Card.updated_at: datetime.now(UTC)}).where(
            Card.id == card_id
        )
        unit.record(EventKind.card_updated, "card", card_id, {"fields": sorted(changes)})
        cards.after_card_write(unit, access, {**card, **changes})


# The workbook ------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def download_name(card: dict[str, Any]) -> str:
    name = _UNSAFE_NAME.sub(" ", card["title"]).strip() or f"campaign-{card['id']}"
    return f"{name[:80]} {_('review')}.xlsx"


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment's name in any script (RFC 6266 / RFC 5987): an ASCII fallback for old
    clients, the UTF-8 name for the rest."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _local(value: datetime | None) -> datetime | None:
    """Spreadsheets keep no time zone: the portal's local time, as people read it."""
    if value is None:
        return None
    return value.astimezone(get_settings().tz).replace(tzinfo=None)


# Characters no worksheet may hold: openpyxl's (control characters) and XML's own
# (surrogates, U+FFFE, U+FFFF), which would make a file spreadsheet programs refuse to open.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What a spreadsheet program takes for the start of a formula when a cell is edited or its
# text pasted elsewhere (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CELL_MAX = 32767  # characters in a cell


def text_cell(cell: Any, value: Any) -> None:
    """Write ``value`` into ``cell`` as plain text, whatever it says: never a formula (openpyxl
    takes any text starting with "=" for one), never an error value ("#N/A"), never a crash on
    a control character (stripped). A text that a spreadsheet program would evaluate once
    edited gets Excel's quote prefix (the leading apostrophe), which shows it as typed."""
    text = _UNWRITABLE.sub("", str(value))[:_CELL_MAX]
    cell.value = text
    cell.data_type = "s"
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True


def add_row(ws: Any, values: list[Any]) -> None:
    """A row at the sheet's end: numbers, times and empty cells as they are, everything else
    through ``text_cell``."""
    ws.append([value if value is None or isinstance(value, int | float | datetime) else None for value in values])
    row = ws.max_row
    for column, value in enumerate(values, start=1):
        if not (value is None or isinstance(value, int | float | datetime)):
            text_cell(ws.cell(row, column), value)


def workbook(data: dict[str, Any]) -> bytes:
    """The review as an XLSX workbook: overview, goals and results (numbers as numbers,
    completion as percentage cells), figure snapshots, timeline, questions, the team's
    review."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    time_format = "yyyy-mm-dd hh:mm"
    book = Workbook()
    book.remove(book.active)

    def sheet(title: str, header: list[str] | None, widths: list[int]):
        ws = book.create_sheet(title[:31])
        if header:
            add_row(ws, header)
            for cell in ws[1]:
                cell.font = bold
            ws.freeze_panes = "A2"
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        return ws

    overview = sheet(_("Overview"), None, [18, 80])
    for fact in data["facts"]:
        add_row(overview, [fact["label"], fact["value"]])
        overview.cell(overview.max_row, 1).font = bold
        overview.cell(overview.max_row, 2).alignment = wrap
    add_row(overview, [_("Exported at"), _local(datetime.now(UTC))])
    overview.cell(overview.max_row, 1).font = bold
    overview.cell(overview.max_row, 2).number_format = time_format
    overview.cell(overview.max_row, 2).alignment = Alignment(horizontal="left")

    goals = sheet(
        _("Goals and results"),
        [_("Platform"), _("Figure"), _("Goal"), _("Result"), _("Completion")],
        [14, 14, 12, 12, 12],
    )
    for row in data["goals"]:
        add_row(goals, [row["platform_label"], row["metric_label"], row["goal"] or None, row["result"], row["ratio"]])
        goals.cell(goals.max_row, 3).number_format = "#,##0"
        goals.cell(goals.max_row, 4).number_format = "#,##0"
        goals.cell(goals.max_row, 5).number_format = "0%"
        if row["platform"] is None:
            for cell in goals[goals.max_row]:
                cell.font = bold

    snapshots = sheet(
        _("Figure snapshots"),
        [_("Time"), _("Platform"), *[str(METRICS.label(metric)) for metric in METRICS.values]],
        [18, 12, *[12] * len(METRICS.values)],
    )
    for snapshot in data["series"]:
        add_row(
            snapshots,
            [
                _local(snapshot["at"]),
                platform_label(snapshot["platform"]),
                # A figure not given stays an empty cell.
                *[None if snapshot.get(metric) is None else int(snapshot[metric]) for metric in METRICS.values],
            ],
        )
        snapshots.cell(snapshots.max_row, 1).number_format = time_format
        for column in range(3, 3 + len(METRICS.values)):
            snapshots.cell(snapshots.max_row, column).number_format = "#,##0"

    events = sheet(_("Course of the campaign"), [_("Time"), _("What happened"), _("Who"), _("Notes")], [18, 40, 12, 60])
    for entry in data["timeline"]:
        add_row(events, [_local(entry["at"]), entry["title"], entry["who"], entry["text"]])
        events.cell(events.max_row, 1).number_format = time_format
        events.cell(events.max_row, 4).alignment = wrap

    asked = sheet(
        _("Questions from the public"),
        [_("Question"), _("Platform"), _("Times asked"), _("First asked"), _("Sent to comments"), _("Reply template")],
        [60, 12, 10, 18, 14, 14],
    )
    for q in data["all_questions"]:
        add_row(
            asked,
            [
                q["text"],
                str(CAMPAIGN_PLATFORMS.label(q["platform"])) if q["platform"] else "",
                q["times"],
                _local(q["asked_at"]),
                _("Yes") if q["comment_card"] else "",
                _("Yes") if q["made_template"] else "",
            ],
        )
        asked.cell(asked.max_row, 1).alignment = wrap
        asked.cell(asked.max_row, 4).number_format = time_format

    words = sheet(_("Review summary"), None, [16, 100])
    for label, text in ((_("What went well"), data["went_well"]), (_("What to change"), data["to_change"])):
        add_row(words, [label, text])
        words.cell(words.max_row, 1).font = bold
        words.cell(words.max_row, 1).alignment = Alignment(vertical="top")
        words.cell(words.max_row, 2).alignment = wrap

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
