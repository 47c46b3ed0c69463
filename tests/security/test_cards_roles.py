"""Roles do not leak across boards or departments: whoever is told about a card (its title)
may see it, only someone who may see a card can be assigned it, managing one board does not
make anyone an editor of everyone's deadline policies, and a liaison's new inquiry is her own
department's alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.boards.access import access_for
from portal.boards.tables import BoardMember
from portal.cards import services as cards
from portal.cards.forms import CardForm
from portal.cards.tables import Card
from portal.notifications.tables import Notification
from portal.reminders import services as reminders
from portal.sla.tables import SlaPolicy
from tests.security.test_cards_world import build_world, card_row, client_for


@pytest.fixture
async def world(clean_db):
    return await build_world()


async def _make_manager(world: dict, who: str) -> None:
    await BoardMember.update({BoardMember.role: "manager"}).where(
        (BoardMember.board == world["boards"]["inquiries"]) & (BoardMember.user == world["users"][who])
    )


async def _titles_told(user_id: int) -> list[str]:
    return [row["title"] for row in await Notification.select(Notification.title).where(Notification.user == user_id)]


async def test_managing_one_board_does_not_open_the_deadline_policies(world):
    await _make_manager(world, "member")
    await _make_manager(world, "health")
    before = await SlaPolicy.select(SlaPolicy.amount).where(SlaPolicy.id == 1).first()
    for username in ("member", "health"):
        client = await client_for(username)
        try:
            settings = await client.get(f"/boards/{world['boards']['inquiries']}/settings")
            page = await client.get("/sla/policies")
            saved = await client.post(
                "/sla/policies",
                data={"board_kind": "comments", "stage": "first_response", "amount": "999", "mode": "natural_hours"},
            )
        finally:
            await client.__aexit__(None, None, None)
        assert "/sla/policies" not in settings.text, username
        assert (page.status_code, saved.status_code) == (403, 403), username
    after = await SlaPolicy.select(SlaPolicy.amount).where(SlaPolicy.id == 1).first()
    assert after == before and not await SlaPolicy.exists().where(SlaPolicy.amount == 999)
    client = await client_for("manager")
    try:
        assert (await client.get("/sla/policies")).status_code == 200
        assert "/sla/policies" in (await client.get(f"/boards/{world['boards']['inquiries']}/settings")).text
    finally:
        await client.__aexit__(None, None, None)


async def test_an_extension_request_reaches_only_managers_who_may_see_the_card(world):
    # The health liaison asks for more time on the housing card (health assists) and on a
    # health-only card. The housing liaison given manager membership does not manage the
    # board: she hears about neither (the second one she may not even see).
    await _make_manager(world, "housing")
    manager = await get_active_user(world["users"]["manager"])
    access = await access_for(manager, world["boards"]["inquiries"])
    other = await cards.create_card(
        access,
        world["columns"][(world["boards"]["inquiries"], "pending_accept")],
        {"title": "卫健委独办的咨询", "department": world["departments"]["health"]},
    )
    client = await client_for("health")
    try:
        for card_id in (world["card"], other.card_id):
            row = await card_row(card_id)
            until = (row["due_at"] + timedelta(days=3)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
            response = await client.post(
                f"/cards/{card_id}/deadline",
                data={
                    "action": "request_extension",
                    "extension_until": until + "+00:00",
                    "extension_reason": "等材料",
                    "version": row["version"],
                },
            )
            assert response.status_code == 200
    finally:
        await client.__aexit__(None, None, None)
    assert await _titles_told(world["users"]["housing"]) == []
    assert len(await _titles_told(world["users"]["manager"])) == 2
    # The decision goes back to the requester only while she may still see the card.
    await Card.update({Card.assisting_departments: []}).where(Card.id == world["card"])
    row = await card_row(world["card"])
    await cards.decide_extension(access, world["card"], row["version"], approve=True)
    assert await _titles_told(world["users"]["health"]) == []


async def test_a_reminder_goes_only_to_an_assignee_who_may_still_see_the_card(world):
    manager = await get_active_user(world["users"]["manager"])
    access = await access_for(manager, world["boards"]["inquiries"])
    row = await card_row(world["card"])
    await cards.update_card(access, world["card"], CardForm(row["version"], {"assignee": world["users"]["health"]}))
    # Re-routed after the assignment: health no longer assists.
    row = await card_row(world["card"])
    await cards.update_card(access, world["card"], CardForm(row["version"], {"assisting_departments": []}))
    due = datetime.now(UTC) + timedelta(hours=1)
    await Card.update({Card.due_at: due, Card.due_stage: "accept"}).where(Card.id == world["card"])
    await _make_manager(world, "health")  # a liaison's manager membership does not make her a manager
    told = await reminders.send(world["card"], "accept", "nudge", 0, due.astimezone(UTC).isoformat())
    assert told == [world["users"]["manager"]]
    assert await _titles_told(world["users"]["health"]) == []
    escalated = await reminders.send(world["card"], "accept", "escalation", 0, due.astimezone(UTC).isoformat())
    assert escalated == [world["users"]["manager"]]


async def test_only_people_who_may_see_the_card_can_be_assigned(world):
    other = await cards.create_card(
        await access_for(await get_active_user(world["users"]["manager"]), world["boards"]["inquiries"]),
        world["columns"][(world["boards"]["inquiries"], "pending_accept")],
        {"title": "宣传部的咨询", "department": world["departments"]["publicity"]},
    )
    client = await client_for("member")
    try:
        drawer = await client.get(f"/cards/{other.card_id}")
        row = await card_row(other.card_id)
        response = await client.post(
            f"/cards/{other.card_id}",
            data={"title": row["title"], "assignee": world["users"]["health"], "version": row["version"]},
        )
        allowed = await client.post(
            f"/cards/{other.card_id}",
            data={"title": row["title"], "assignee": world["users"]["member"], "version": row["version"]},
        )
    finally:
        await client.__aexit__(None, None, None)
    assert drawer.status_code == 200 and "张伟" in drawer.text
    assert "王芳" not in drawer.text and "郑强" not in drawer.text  # the liaisons are not offered
    assert response.status_code == 422 and 'id="e-assignee"' in response.text
    assert allowed.status_code == 200
    assert (await card_row(other.card_id))["assignee"] == world["users"]["member"]


async def test_a_liaison_creates_inquiries_for_her_own_department_alone(world):
    client = await client_for("health")
    try:
        response = await client.post(
            f"/boards/{world['boards']['inquiries']}/cards",
            data={
                "column_id": world["columns"][(world["boards"]["inquiries"], "pending_accept")],
                "title": "卫健委新建的咨询",
                "department": world["departments"]["housing"],
                "assisting_departments": [world["departments"]["housing"], world["departments"]["publicity"]],
            },
        )
    finally:
        await client.__aexit__(None, None, None)
    assert response.status_code == 200
    row = (
        await Card.select(Card.department, Card.assisting_departments)
        .where(Card.title == "卫健委新建的咨询")
        .output(load_json=True)
        .first()
    )
    assert row == {"department": world["departments"]["health"], "assisting_departments": []}
