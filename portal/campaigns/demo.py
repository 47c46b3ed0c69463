"""The demo city's campaigns carry what brought them to their column: a submitted or approved
plan version (and, from the parts that own them, tasks, figures and questions), so a new user
opening any campaign sees it as the team would have left it. An approved version was approved
by another manager than its submitter where the board has one (four eyes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from portal.boards import services as boards
from portal.campaigns import metrics, questions, tasks, workflow
from portal.campaigns.tables import CampaignDetail, CampaignPlanVersion
from portal.settings import get_settings


def _manager(users: dict[str, dict[str, Any]]) -> int | None:
    return next((u["id"] for u in users.values() if u["role"] == "manager"), None)


async def _approver(card_id: int, submitter: int | None, users: dict[str, dict[str, Any]]) -> int | None:
    """Who approved the demo plan: four eyes, as the workflow has it — another manager of the
    board than its submitter while there is one (a board's only manager decides her own)."""
    managers = await boards.card_managers(card_id)
    return next((person for person in managers if person != submitter), None) or (
        managers[0] if managers else _manager(users)
    )


async def seed(
    card_id: int,
    board_id: int,
    column: dict[str, Any],
    fields: dict[str, Any],
    users: dict[str, dict[str, Any]],
    departments: dict[str, int],
    arrived: datetime,
    now: datetime,
) -> None:
    state = workflow.state_of(column)
    card = await _card(card_id)
    if not card.get("moments") and card.get("starts_at") and card.get("ends_at"):
        await CampaignDetail.update({CampaignDetail.moments: _moments(card)}).where(CampaignDetail.card == card_id)
        card["moments"] = _moments(card)
    await tasks.seed_tasks(card_id, state, fields, users, now)
    await metrics.seed_metrics(card_id, state, card, now)
    await questions.seed_questions(card_id, state, card, now)
    if state == "planning":
        return
    plan = workflow.snapshot(card)
    submitted_at = arrived - timedelta(days=2)
    approved = state != "approval"
    await CampaignPlanVersion.insert(
        CampaignPlanVersion(
            card=card_id,
            version=1,
            plan=plan,
            status="approved" if approved else "submitted",
            submitted_by=card.get("assignee"),
            submitted_at=submitted_at,
            decided_by=await _approver(card_id, card.get("assignee"), users) if approved else None,
            decided_at=submitted_at + timedelta(hours=5) if approved else None,
        )
    )
    in_force = workflow.schedule_columns(plan) if approved else {}
    await CampaignDetail.update(
        {
            CampaignDetail.plan_version: 1,
            CampaignDetail.approved_version: 1 if approved else None,
            CampaignDetail.pending_version: None if approved else 1,
            **{getattr(CampaignDetail, name): value for name, value in in_force.items()},
        }
    ).where(CampaignDetail.card == card_id)


def _moments(card: dict[str, Any]) -> list[dict[str, str]]:
    """Key moments as a team would set them, at the hours it works: the announcement the day
    before at 10:00, the launch (a livestream in the evening), a mid-term report, the end."""
    tz = get_settings().tz
    starts, ends = card["starts_at"], card["ends_at"]

    def at(moment: datetime, hour: int, minute: int = 0) -> str:
        local = moment.astimezone(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
        return local.astimezone(UTC).isoformat()

    livestream = card.get("campaign_format") == "livestream"
    moments = [
        {"at": at(starts - timedelta(days=1), 10), "label": "发布活动预告"},
        {"at": at(starts, 19, 30) if livestream else at(starts, 10), "label": "直播开始" if livestream else "活动上线"},
    ]
    if ends > starts + timedelta(days=2):
        moments.append({"at": at(starts + (ends - starts) / 2, 17), "label": "中期数据通报"})
    moments.append({"at": at(ends, 21 if livestream else 18), "label": "活动结束"})
    return moments


async def _card(card_id: int) -> dict[str, Any]:
    from portal.campaigns.kind import KIND
    from portal.cards.tables import Card

    row = (
        await Card.select(Card.id, Card.title, Card.body, Card.assignee, *KIND.joined())
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    return KIND.defaults(row)
