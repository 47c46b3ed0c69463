"""The demo city's incidents carry the course that brought them to their state (立案, 研判,
处置方案, 口径的提交、审核与发布, 批示, 平息, 复盘): their statement versions, linked comments
and timeline, so a new user opening one sees a record like a real one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.cards.tables import Card
from portal.events.kinds import EventKind, payload_for
from portal.events.tables import Event
from portal.events.unit import claim_seq
from portal.incidents.tables import IncidentComment, IncidentDetail, IncidentStatement
from portal.incidents.workflow import state_of

ORDER = ("monitoring", "assessing", "handling", "responding", "calmed")


def _course(title: str) -> dict[str, Any]:
    from portal.demo.services import kind_content
    from portal.incidents.kind import KIND

    return ((kind_content(KIND) or {}).get("courses") or {}).get(title) or {}


async def seed_course(
    card_id: int,
    board_id: int,
    column: dict[str, Any],
    fields: dict[str, Any],
    users: dict[str, dict[str, Any]],
    departments: dict[str, int],
    arrived: datetime,
    now: datetime,
) -> None:
    course = _course(fields["title"])
    state = state_of(column)
    reached = ORDER.index(state)
    member = next((u["id"] for u in users.values() if u["role"] == "member"), None)
    manager = users.get("liuyang", {}).get("id") or next(
        (u["id"] for u in users.values() if u["role"] == "manager"), None
    )
    steps: list[tuple[int | None, dict[str, Any]]] = []  # (actor, payload), in order
    # Its origin (the demo's early-warning topic and alert), as 转为事件 alone sets it: the
    # card's input refuses them (IncidentInput.to_fields).
    detail: dict[str, Any] = {name: course[name] for name in ("topic_id", "alert_id") if course.get(name)}
    comments = []
    if course.get("comments"):
        rows = await Card.select(Card.id).where(Card.title.is_in(course["comments"]) & (Card.board.kind == "comments"))
        comments = [row["id"] for row in rows]
        if comments:
            await IncidentComment.insert(*[IncidentComment(incident=card_id, comment=c) for c in comments])
    steps.append((None, {"action": "open", "to_state": "monitoring", "level": fields["level"], "comments": comments}))
    if reached >= 1:
        people = [users[name]["id"] for name in course.get("responsible", []) if name in users]
        detail.update(assessment=course.get("assessment", ""), responsible=people)
        steps.append(
            (
                member,
                {"action": "assess", "from_state": "monitoring", "to_state": "assessing", "level": fields["level"]},
            )
        )
    if reached >= 2:
        detail["plan"] = course.get("plan", "")
        steps.append((member, {"action": "respond-plan", "from_state": "assessing", "to_state": "handling"}))
    version = 0
    for spec in course.get("statements", []):
        version += 1
        text = spec.get("text") or fields.get("statement") or ""
        status = "approved" if spec["status"] == "published" else spec["status"]
        published = spec["status"] == "published"
        await IncidentStatement.insert(
            IncidentStatement(
                card=card_id,
                version=version,
                text=text,
                status=status,
                submitted_by=member,
                decided_by=manager if status != "submitted" else None,
                decided_at=now if status != "submitted" else None,
                reason=spec.get("reason", ""),
                published_at=now if published else None,
            )
        )
        steps.append((member, {"action": "submit-statement", "version": version}))
        detail["approved_version"] = None  # as in the workflow: a newer version withdraws an approval
        if status == "submitted":
            detail["pending_version"] = version
        elif status == "returned":
            steps.append((manager, {"action": "return-statement", "version": version, "text": spec.get("reason", "")}))
        else:
            detail["approved_version"] = version
            steps.append((manager, {"action": "approve-statement", "version": version}))
        if published:
            detail.update(published_version=version, published_at=now)
            steps.append(
                (
                    member,
                    {
                        "action": "publish-statement",
                        "from_state": "handling",
                        "to_state": "responding",
                        "version": version,
                    },
                )
            )
    detail["statement_version"] = version
    if course.get("instruction"):
        detail.update(instruction=course["instruction"], instructed_by=manager, instructed_at=now)
        steps.append((manager, {"action": "instruct", "text": course["instruction"]}))
    if state == "calmed":
        detail["calmed_at"] = now
        steps.append((member, {"action": "calm", "from_state": "responding", "to_state": "calmed"}))
        if course.get("review"):
            detail.update(review=course["review"], reviewed_at=now)
            steps.append((member, {"action": "review", "text": course["review"]}))
    await IncidentDetail.update({getattr(IncidentDetail, name): value for name, value in detail.items()}).where(
        IncidentDetail.card == card_id
    )
    span = (now - arrived) / (len(steps) + 1)
    for index, (actor, payload) in enumerate(steps):
        await Event.insert(
            Event(
                board_id=board_id,
                seq=await claim_seq(board_id),
                actor=actor,
                verb=str(EventKind.incident_action),
                object_type="card",
                object_id=card_id,
                payload=payload_for(EventKind.incident_action, payload),
                created_at=arrived + span * index,
            )
        )
