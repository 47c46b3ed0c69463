"""The demo city's cases carry the steps that brought them to their state (受理, 派单, 签收,
答复, 审核, 回访), so a new user opening any case sees a timeline like a real one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from portal.inquiries.tables import InquiryDetail, InquiryStep
from portal.inquiries.workflow import PRIORITY_BY_URGENCY, STATE_BY_COLUMN_KEY

# The path to each state, in order: (action, from state, to state).
PATH = (
    ("accept", "new", "new"),
    ("dispatch", "new", "dispatched"),
    ("sign", "dispatched", "handling"),
    ("submit_answer", "handling", "review"),
    ("approve", "review", "answered"),
    ("follow_up", "answered", "closed"),
)
STEPS_TO = {"new": 0, "dispatched": 2, "handling": 3, "review": 4, "answered": 5, "closed": 6}
URGENCY_BY_PRIORITY = {priority: urgency for urgency, priority in PRIORITY_BY_URGENCY.items()}


async def seed_steps(
    card_id: int,
    board_id: int,
    column: dict[str, Any],
    fields: dict[str, Any],
    users: dict[str, dict[str, Any]],
    departments: dict[str, int],
    arrived: datetime,
    now: datetime,
) -> None:
    state = STATE_BY_COLUMN_KEY.get(column["key"], "new")
    count = STEPS_TO.get(state, 0)
    if not count:
        return
    department = fields.get("department")
    centre = next((u["id"] for u in users.values() if u["role"] == "manager"), None)
    liaison = next(
        (
            u["id"]
            for u in users.values()
            if u["role"] == "liaison" and departments.get(u.get("department") or "") == department
        ),
        None,
    )
    urgency = URGENCY_BY_PRIORITY.get(fields.get("priority") or "normal", "normal")
    span = (now - arrived) / (count + 1)
    rows = []
    for index, (action, from_state, to_state) in enumerate(PATH[:count]):
        by_department = action in ("sign", "submit_answer")
        text = {
            "dispatch": "请按职责办理并于时限内答复市民。",
            "submit_answer": fields.get("answer") or "",
            "follow_up": "市民对答复表示满意。",
        }.get(action, "")
        data = {
            "accept": {"category": fields.get("category"), "urgency": urgency},
            "follow_up": {"verdict": "satisfied"},
        }
        rows.append(
            InquiryStep(
                card=card_id,
                board=board_id,
                action=action,
                from_state=from_state,
                to_state=to_state,
                actor=liaison if by_department else centre,
                department=department if action != "accept" else None,
                text=text,
                data=data.get(action, {}),
                created_at=arrived + span * (index + 1) - timedelta(minutes=5 * (count - index)),
            )
        )
    await InquiryStep.insert(*rows)
    await InquiryDetail.update(
        {
            InquiryDetail.accepted_at: arrived + span,
            InquiryDetail.urgency: urgency,
            InquiryDetail.verdict: "satisfied" if state == "closed" else "",
        }
    ).where(InquiryDetail.card == card_id)
