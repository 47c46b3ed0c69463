"""Duplicate inquiries (重复件): suggested, merged under a master case (并案), answered by the
master's answer, and unmerged again.

Suggestions. The drawer's 重复件 section of an open case lists the open cases of the same
board and the same category (or, for a case without one, the others without one) whose text
(title and body) is similar enough, best first, each with its similarity as a percentage;
the viewer sees only the cases she may see. Similarity is the Jaccard similarity of the
texts' character shingles, as ``portal.comments.similar`` makes them (the same cleaning,
courtesy phrases removed, bigrams and trigrams). It is computed on request, by brute force
over at most ``MAX_COMPARED`` open cases (the most recent), and exactly: with at most a few
hundred comparisons no sketch is needed, and the threshold an inquiry needs (``THRESHOLD``,
lower than a short comment's: a title and a body of a few sentences, rephrased, share about
a third to a half of their shingles; unrelated cases of one category share under a tenth)
is where a 64-permutation MinHash estimate errs by ±0.06. Exact set overlap is also about
five times faster here than hashing every candidate.

Merging (centre staff only). The duplicate gets ``InquiryDetail.master_card`` = the master
case and stays in its column, showing "已并案"; its clock stops (completed, like a stage's
work that is done) and ``portal.inquiries.workflow`` offers and takes no action on it. A
case already merged, or the master of others, is not merged (unmerge first: nothing is
re-pointed behind anyone's back); neither is a closed case, nor a case into one that is
itself merged. Merging into a master that is already answered answers the duplicate at once.

The master's answer answers them all: ``follow_master``, called by the workflow when the
master reaches 已答复 (answered) or 办结 (closed), gives every open case merged under it the
master's answer and moves it to the same state (through ``cards.move_within``: its stage
history, its event), with its own clock completed there: the master's clocks are the ones
that run. A master sent back for rework (重办) leaves its merged cases where they are; its
next answer reaches them again.

Unmerging (centre staff only) clears ``master_card`` and restarts the case's own clock in
the state it is in (``portal.sla.clocks.on_enter``: a stage whose clock was completed runs
again from now), except in 待受理 once accepted, where no clock runs until dispatch. A
closed case stays as it was closed.

Every write is one unit of the write path: a ``merge`` / ``unmerge`` / ``answered_by_master``
step on the cases' timelines, its event, and the tiles sent live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from portal.boards.access import BoardAccess
from portal.cards import services as cards
from portal.cards.kinds import kind_of
from portal.cards.tables import Card
from portal.comments import similar
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.labels import mask_numbers
from portal.core.schemas import Input
from portal.events.kinds import EventKind
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.inquiries import workflow  # workflow calls follow_master: use it only inside functions
from portal.inquiries.tables import InquiryDetail, InquiryStep
from portal.sla import clocks
from portal.sla import services as sla

if TYPE_CHECKING:
    from portal.events.unit import BoardWrite

THRESHOLD = 0.3  # see the module's note: rephrasings ≈ 0.35–0.6, unrelated cases < 0.1
MAX_COMPARED = 500  # the most recent open cases of the board and category, compared on request
MAX_SUGGESTIONS = 10
FOLLOWED_STATES = frozenset({"answered", "closed"})

# The timeline's labels of this module's steps (the workflow's own come from its ACTIONS).
STEP_LABELS = {
    "merge": _l("Merged (并案)"),
    "unmerge": _l("Unmerged (撤销并案)"),
    "answered_by_master": _l("Answered with the master case (随主件答复)"),
}


class MergeInput(Input):
    master: Annotated[int, Field(gt=0, lt=2**31)]

    messages = {"master": _l("Choose the case to merge into.")}


class ViewInput(Input):
    """Which drawer asked (the duplicate's or its master's): the section to show afterwards."""

    view: Annotated[int, Field(gt=0, lt=2**31)] | None = None


# Similarity ----------------------------------------------------------------------------------


def text_of(card: dict[str, Any]) -> str:
    return f"{card.get('title') or ''}\n{card.get('body') or ''}"


def similarity(mine: set[str], theirs: set[str]) -> float:
    """The Jaccard similarity of two shingle sets (``similar.shingles``)."""
    if not mine or not theirs:
        return 0.0
    return len(mine & theirs) / len(mine | theirs)


def _same_category(category: str | None):
    join = Card.id.join_on(InquiryDetail.card)
    return join.category.is_null() if not category else join.category == category


def _open_cases(board_id: int):
    """A board's cases that are neither closed nor archived (办结 is the done column)."""
    return (Card.board == board_id) & (Card.archived == False) & (Card.column.meaning != "done")  # noqa: E712


_ROW = (
    Card.id,
    Card.title,
    Card.board,
    Card.column,
    Card.department,
    Card.assisting_departments,
    Card.column.key.as_alias("column_key"),
    Card.column.meaning.as_alias("column_meaning"),
)


def _state(row: dict[str, Any]) -> str:
    return workflow.state_of({"key": row.get("column_key"), "meaning": row.get("column_meaning")})


async def suggestions(access: BoardAccess, card: dict[str, Any]) -> list[dict[str, Any]]:
    """The open, unmerged cases like this one that this viewer may see, best first: each row
    with ``score`` (0–1), ``percent``, ``state`` and ``children`` (how many it is master of)."""
    mine = similar.shingles(text_of(card))
    join = Card.id.join_on(InquiryDetail.card)
    rows = (
        await Card.select(*_ROW, Card.body)
        .where(
            _open_cases(access.board_id)
            & (Card.id != card["id"])
            & _same_category(card.get("category"))
            & join.master_card.is_null()
        )
        .order_by(Card.id, ascending=False)
        .limit(MAX_COMPARED)
        .output(load_json=True)
    )
    found = []
    for row in rows:
        if not access.can_see_card(row):
            continue
        score = similarity(mine, similar.shingles(text_of(row)))
        if score >= THRESHOLD:
            row.pop("body")
            state = _state(row)
            found.append(
                {**row, "score": score, "percent": round(score * 100), "state": state, "state_label": _label(state)}
            )
    found.sort(key=lambda item: (-item["score"], -item["id"]))
    found = found[:MAX_SUGGESTIONS]
    counts = await _child_counts([row["id"] for row in found])
    for row in found:
        row["children"] = counts.get(row["id"], 0)
    return found


def _label(state: str) -> str:
    return str(workflow.STATES.label(state))


async def _child_counts(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    counts: dict[int, int] = {}
    for row in await InquiryDetail.select(InquiryDetail.master_card).where(InquiryDetail.master_card.is_in(ids)):
        counts[row["master_card"]] = counts.get(row["master_card"], 0) + 1
    return counts


async def master_of(card_id: int) -> int | None:
    """The case this one is merged under (None: it is not merged)."""
    row = await InquiryDetail.select(InquiryDetail.master_card).where(InquiryDetail.card == card_id).first()
    return row["master_card"] if row else None


def _children_query(master_id: int):
    return InquiryDetail.select(InquiryDetail.card).where(InquiryDetail.master_card == master_id)


async def children(master_id: int) -> list[dict[str, Any]]:
    """The cases merged under this one (whoever may see them; callers filter), oldest first."""
    rows = (
        await Card.select(*_ROW)
        .where((Card.archived == False) & Card.id.is_in(_children_query(master_id)))  # noqa: E712
        .order_by(Card.id)
        .output(load_json=True)
    )
    for row in rows:
        row["state"] = _state(row)
        row["state_label"] = _label(row["state"])
    return rows


async def section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """What the drawer's 重复件 section shows: on a merged case, its master (and the way
    back); on any other, the cases merged under it and, while it is open, the similar ones."""
    card = await cards.get_card(access, card_id)
    state = workflow.state_of(await workflow.column_of(card["column"]))
    master = None
    if card.get("master_card"):
        row = await Card.select(*_ROW).where(Card.id == card["master_card"]).output(load_json=True).first()
        master = {"id": card["master_card"], "title": row["title"] if row and access.can_see_card(row) else None}
    merged = [] if master else [row for row in await children(card_id) if access.can_see_card(row)]
    return {
        "card": card,
        "access": access,
        "state": state,
        "master": master,
        "children": merged,
        "suggestions": await suggestions(access, card) if master is None and state != "closed" else [],
        "may_merge": workflow.is_centre(access),
        "dup_flash": "",
        "dup_level": "ok",
    }


# Writing -------------------------------------------------------------------------------------


def _require_centre(access: BoardAccess) -> None:
    access.require_edit()  # a viewer never writes: 403, as for every write
    if not workflow.is_centre(access):
        raise Conflict(_("Only %(who)s may do this.", who=workflow.WHO[workflow.CENTRE]))


async def _load(access: BoardAccess, card_id: int) -> tuple[dict[str, Any], str]:
    card = await cards.load_for_write(access, card_id)
    return card, workflow.state_of(await workflow.column_of(card["column"]))


async def _step(
    access: BoardAccess, card_id: int, action: str, state: str, to_state: str, text: str, data: dict[str, Any]
) -> int:
    rows = await InquiryStep.insert(
        InquiryStep(
            card=card_id,
            board=access.board_id,
            action=action,
            from_state=state,
            to_state=to_state,
            actor=access.user.id,
            department=access.department_only if access.department_only not in (None, -1) else None,
            text=text,
            data=data,
        )
    ).returning(InquiryStep.id)
    return rows[0]["id"]


def _touch(ids: list[int], now: datetime):
    """A merged case is a changed case: its version moves (an open form re-reads it)."""
    return Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id.is_in(ids))


# A merged case keeps no deadline of its own.
stop_clock = clocks.stop


async def merge(access: BoardAccess, card_id: int, master_id: int) -> None:
    """Merge case ``card_id`` under case ``master_id`` (see the module's note for what is
    refused: Conflict, nothing written). NotFound for a case this viewer may not see;
    FormError when the master is not a case of this board she may see."""
    await workflow.case_access(access, card_id)
    _require_centre(access)
    if master_id == card_id:
        raise Conflict(_("A case cannot be merged into itself."))
    async with board_write(access.board_id, access.user.id) as unit:
        card, state = await _load(access, card_id)  # re-read under the board's lock
        try:
            master, master_state = await _load(access, master_id)
        except NotFound:
            raise FormError({"master": _("Choose an open case of this board.")}) from None
        if card.get("master_card"):
            raise Conflict(_("This case is merged into #%(id)s already: unmerge it first.", id=card["master_card"]))
        if "closed" in (state, master_state):
            raise Conflict(_("Closed cases are not merged."))
        if master.get("master_card"):
            raise Conflict(
                _(
                    "#%(id)s is itself merged into #%(master)s: merge into #%(master)s instead.",
                    id=master_id,
                    master=master["master_card"],
                )
            )
        if await InquiryDetail.exists().where(InquiryDetail.master_card == card_id):
            raise Conflict(_("This case is the master of merged cases: unmerge them first."))
        now = datetime.now(UTC)
        await kind_of(access.board_kind).update_detail(card_id, {"master_card": master_id})
        await stop_clock(card_id, now)
        await _touch([card_id, master_id], now)
        data = {"master": master_id, "cards": [card_id]}
        step_id = await _step(access, card_id, "merge", state, state, "", data)
        await _step(access, master_id, "merge", master_state, master_state, "", data)
        await _tell_departments(unit, access, card, step_id, master_id)
        unit.record(EventKind.inquiry_merged, "card", card_id, data)
        unit.record(EventKind.inquiry_merged, "card", master_id, data)
        cards.after_card_write(unit, access, card)
        cards.after_card_write(unit, access, master)
        if master_state == "answered":
            # Merged into a case already answered: its answer answers this one now.
            await _follow(unit, access, master_id, "answered", only=card_id)


async def _tell_departments(
    unit: BoardWrite, access: BoardAccess, card: dict[str, Any], step_id: int, master_id: int
) -> None:
    """The departments the duplicate was routed to stop working on it: their liaisons are
    told (bell and e-mail) that the master's answer will answer it."""
    departments = [card.get("department"), *(card.get("assisting_departments") or [])]
    recipients = [user for user in await workflow.liaisons(access.board_id, departments) if user != access.user.id]
    if not recipients:
        return
    title = _("Case merged into #%(id)s: “%(title)s”", id=master_id, title=mask_numbers(card["title"]))
    body = _("The answer of #%(id)s will answer it: nothing more to do on it.", id=master_id)
    await cards.notify_within(
        unit,
        [
            (
                user_id,
                {
                    "kind": "case",
                    "title": title[:200],
                    "dedupe_key": f"case:{step_id}:{user_id}",
                    "body": body,
                    "link": f"/boards/{access.board_id}?card={card['id']}",
                    "card_id": card["id"],
                },
            )
            for user_id in recipients
        ],
    )


async def unmerge(access: BoardAccess, card_id: int) -> int:
    """Take case ``card_id`` out from under its master; its own clock runs again. Returns
    the former master's id."""
    await workflow.case_access(access, card_id)
    _require_centre(access)
    async with board_write(access.board_id, access.user.id) as unit:
        card, state = await _load(access, card_id)
        master_id = card.get("master_card")
        if not master_id:
            raise Conflict(_("This case is not merged (any more)."))
        if state == "closed":
            raise Conflict(_("A closed case stays as it was closed."))
        now = datetime.now(UTC)
        await kind_of(access.board_kind).update_detail(card_id, {"master_card": None})
        await _restart_clock(access, {**card, "master_card": None}, state, now)
        await _touch([card_id, master_id], now)
        master = await Card.select(*_ROW).where(Card.id == master_id).output(load_json=True).first()
        master_state = _state(master) if master else ""
        data = {"master": master_id, "cards": [card_id]}
        await _step(access, card_id, "unmerge", state, state, "", data)
        unit.record(EventKind.inquiry_unmerged, "card", card_id, data)
        if master is not None:
            await _step(access, master_id, "unmerge", master_state, master_state, "", data)
            unit.record(EventKind.inquiry_unmerged, "card", master_id, data)
            cards.after_card_write(unit, access, master)
        cards.after_card_write(unit, access, card)
    return master_id


async def _restart_clock(access: BoardAccess, card: dict[str, Any], state: str, now: datetime) -> None:
    """The clock of the case's state, as if it had just entered it (a completed stage clock
    runs again from now: the kind restarts clocks on return). An accepted case waiting in
    待受理 runs none: 受理 was done in time, dispatch starts the next."""
    if state == "new" and card.get("accepted_at") is not None:
        return
    column = await workflow.column_of(card["column"])
    due = await clocks.on_enter(
        access.board_kind,
        column,
        {**card, "due_stage": None},
        now,
        calendar=await sla.get_calendar(),
        policy_rows=await sla.list_policies(),
        round_number=card.get("clock_round") or 1,
    )
    if due:
        await Card.update({getattr(Card, name): value for name, value in due.items()}).where(Card.id == card["id"])


# The master's answer answers them all ------------------------------------------------------


async def follow_master(unit: BoardWrite, access: BoardAccess, master_card: int, new_state: str) -> list[int]:
    """Inside the unit of the workflow's action that took the master to ``new_state``: when
    that is 已答复 or 办结, every open case merged under it gets the master's answer and the
    same state, its own clock completed, with an ``answered_by_master`` step. Returns the
    cases it moved or answered (nothing for any other state)."""
    if new_state not in FOLLOWED_STATES:
        return []
    return await _follow(unit, access, master_card, new_state)


async def _follow(
    unit: BoardWrite, access: BoardAccess, master_id: int, new_state: str, *, only: int | None = None
) -> list[int]:
    kind = kind_of(access.board_kind)
    condition = (Card.archived == False) & Card.id.is_in(_children_query(master_id))  # noqa: E712
    if only is not None:
        condition &= Card.id == only
    # Every merged case, whoever acts (the master's answer answers them all).
    rows = await Card.select(*Card.all_columns(), *kind.joined()).where(condition).output(load_json=True)
    if not rows:
        return []
    answer = (
        await InquiryDetail.select(InquiryDetail.answer).where(InquiryDetail.card == master_id).first() or {}
    ).get("answer") or ""
    target = await cards.column_by_key(access, workflow.COLUMN_KEY_BY_STATE[new_state])
    now = datetime.now(UTC)
    followed = []
    for row in rows:
        card = kind.defaults(row)
        state = workflow.state_of(await workflow.column_of(card["column"]))
        if state == "closed":
            continue  # done already: a closed case is not reopened by its master
        await kind.update_detail(card["id"], {"answer": answer})
        if state != new_state and target is not None:
            await cards.move_within(unit, access, card, target, now=now)
        else:
            await _touch([card["id"]], now)
        await stop_clock(card["id"], now)  # the master's clocks are the ones that run
        to_state = new_state if target is not None else state
        step_id = await _step(access, card["id"], "answered_by_master", state, to_state, answer, {"master": master_id})
        unit.record(
            EventKind.inquiry_action,
            "card",
            card["id"],
            {"action": "answered_by_master", "step": step_id, "from_state": state, "to_state": to_state},
        )
        cards.after_card_write(unit, access, card)
        followed.append(card["id"])
    return followed
