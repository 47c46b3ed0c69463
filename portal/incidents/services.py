"""What other domains call on incidents: opening one (an alert's 转为事件, portal.warning),
its linked comments and its timeline. The course itself is portal.incidents.workflow."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from portal.accounts.services import CurrentUser
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.core.errors import Conflict, FormError, NotFound
from portal.core.schemas import parse
from portal.events.kinds import EventKind
from portal.events.tables import Event
from portal.events.unit import BoardWrite
from portal.i18n import gettext as _
from portal.incidents import workflow
from portal.incidents.schemas import IncidentInput, OpenInput
from portal.incidents.tables import IncidentComment
from portal.settings import get_settings

# The comments ``open_incident`` links, handed to the kind's ``on_created`` hook so that the
# card and its links are written in the create's one unit (the card service's fields carry
# only the card's own columns).
_LINKING: ContextVar[list[int] | None] = ContextVar("incident_linking", default=None)


async def incidents_board_for(actor: CurrentUser) -> BoardAccess:
    """The board new incidents go to: the configured one, else the first incidents board the
    actor may work on. Conflict when there is none (the alert's page says so)."""
    configured = get_settings().incidents_board
    if configured is not None:
        try:
            access = await access_for(actor, configured)
        except NotFound:
            access = None
        if access is not None and access.board_kind == workflow.KIND and access.can_edit:
            return access
        raise Conflict(_("You may not open incidents on the configured incidents board."))
    for board in await boards.list_boards(actor):
        if board["kind"] != workflow.KIND:
            continue
        access = await access_for(actor, board["id"])
        if access.can_edit and access.department_only is None:
            return access
    raise Conflict(_("There is no incidents board you may work on; ask an administrator to create one."))


async def check_comments(actor: CurrentUser, card_ids: list[int], *, strict: bool = True) -> list[int]:
    """The comment cards among ``card_ids`` the actor may see (archived ones included: a
    closed comment is still what the incident is about), in order, once each. FormError
    naming the field for an id that is no comment card; for one the actor may not see too
    when ``strict`` (a person linking by hand), while an alert's conversion (not strict)
    links what its manager may see and leaves the rest, rather than failing on a comment
    of a board she is not on."""
    wanted = list(dict.fromkeys(card_ids))
    tiles = {tile["id"]: tile for tile in await cards.tiles(wanted)} if wanted else {}
    accesses: dict[int, BoardAccess | None] = {}
    visible = []
    for card_id in wanted:
        tile = tiles.get(card_id)
        if tile is not None and tile["board"] not in accesses:
            try:
                accesses[tile["board"]] = await access_for(actor, tile["board"])
            except NotFound:
                accesses[tile["board"]] = None
        access = accesses.get(tile["board"]) if tile is not None else None
        if tile is None or tile["kind"] != "comments" or (strict and access is None):
            raise FormError(
                {"comment_card_ids": _("Comment #%(id)s does not exist or you may not see it.", id=card_id)}
            )
        if access is not None and access.can_see_card(tile):
            visible.append(card_id)
        elif strict:
            raise FormError(
                {"comment_card_ids": _("Comment #%(id)s does not exist or you may not see it.", id=card_id)}
            )
    return visible


async def open_incident(
    actor: CurrentUser,
    *,
    title: str,
    level: str,
    topic_id: int | None,
    comment_card_ids: list[int],
    alert_id: int | None,
) -> int:
    """A new incident (at 监测) on the incidents board (``incidents_board_for``), linked to
    these comment cards, its topic and its alert; returns its card id. One unit of the write
    path: the card, its first clock (by level: 1 hour for 橙 and 红), the links and its
    ``open`` timeline entry. FormError (422) for bad input, Conflict (409) when the actor
    has no incidents board, PermissionDenied never (a viewer has no board to work on)."""
    form = parse(
        OpenInput,
        {
            "title": title,
            "level": level,
            "topic_id": topic_id,
            "alert_id": alert_id,
            "comment_card_ids": comment_card_ids,
        },
    )
    access = await incidents_board_for(actor)
    comments = await check_comments(actor, form.comment_card_ids, strict=False)
    column = await cards.column_by_key(access, "monitoring")
    if column is None:
        raise Conflict(_("This board has no column for “%(state)s”.", state=workflow.STATES.label("monitoring")))
    fields = IncidentInput(
        title=form.title, level=form.level, priority=workflow.PRIORITY_BY_LEVEL[form.level]
    ).to_fields(creating=True)
    # Its origin: set here alone (IncidentInput.to_fields refuses them from the form and the API).
    fields.update(topic_id=form.topic_id, alert_id=form.alert_id)
    token = _LINKING.set(comments)
    try:
        change = await cards.create_card(access, column["id"], fields)
    finally:
        _LINKING.reset(token)
    return change.card_id


async def on_created(unit: BoardWrite, access: BoardAccess, card_id: int, fields: dict[str, Any]) -> None:
    """Inside the create's unit: the comments ``open_incident`` links, and the timeline's
    first entry (opened, at which level, from which alert)."""
    linked = await link(card_id, _LINKING.get() or [], access.user.id)
    unit.record(
        EventKind.incident_action,
        "card",
        card_id,
        {
            "action": "open",
            "to_state": "monitoring",
            "level": fields.get("level"),
            "comments": linked,
            "text": _("From alert #%(id)s", id=fields["alert_id"]) if fields.get("alert_id") else "",
        },
    )


async def link(card_id: int, comment_ids: list[int], actor_id: int | None) -> list[int]:
    """Link comment cards (checked by the caller) to the incident; the newly linked ids."""
    if not comment_ids:
        return []
    have = {
        row["comment"]
        for row in await IncidentComment.select(IncidentComment.comment).where(IncidentComment.incident == card_id)
    }
    new = [comment for comment in dict.fromkeys(comment_ids) if comment not in have]
    if new:
        await IncidentComment.insert(
            *[IncidentComment(incident=card_id, comment=comment, linked_by=actor_id) for comment in new]
        )
    return new


async def linked_comments(access: BoardAccess, card_id: int) -> list[dict[str, Any]]:
    """The incident's comments this viewer may see (as tiles: title, platform, sentiment),
    each with the board it is on; the others are counted, not shown."""
    ids = await workflow.comments_of(card_id)
    visible = []
    for tile in await cards.tiles(ids, "comments"):
        try:
            comment_access = await access_for(access.user, tile["board"])
            await cards.require_visible(comment_access, tile["id"])
        except NotFound:
            continue
        visible.append(tile)
    return visible


async def topic_name(viewer: CurrentUser, topic_id: int | None) -> str:
    """The name of the early-warning topic an incident came from, as the warning pages show it
    (masked; 「未归类话题 #N」 for one without words or cleaned away), to a viewer who sees
    the topic's comments board on those pages (``warning_boards``); to anyone else only its
    number, "#N": an incidents board's people need not be on the comments board. "" for none."""
    if not topic_id:
        return ""
    from portal.warning.services import topic_board, warning_boards
    from portal.warning.services import topic_name as warning_topic_name

    board = await topic_board(topic_id)
    if board is None or board not in await warning_boards(viewer):
        return f"#{topic_id}"
    return await warning_topic_name(topic_id)


async def incidents_for_alert(alert_id: int) -> list[int]:
    """The incident cards opened from an alert (the alert's page links them)."""
    from portal.incidents.tables import IncidentDetail

    rows = await IncidentDetail.select(IncidentDetail.card).where(IncidentDetail.alert_id == alert_id)
    return [row["card"] for row in rows]


async def timeline(card_id: int, board_id: int) -> list[dict[str, Any]]:
    """Everything done on the incident, oldest first: its steps, moves, edits and notes (the
    card's events); the latest TIMELINE_LIMIT of them when there are more."""
    rows = (
        await Event.select(
            Event.seq, Event.verb, Event.payload, Event.created_at, Event.actor.display_name.as_alias("actor")
        )
        .where((Event.board_id == board_id) & (Event.object_type == "card") & (Event.object_id == card_id))
        .order_by(Event.seq, ascending=False)
        .limit(TIMELINE_LIMIT)
        .output(load_json=True)
    )
    return rows[::-1]


TIMELINE_LIMIT = 500
