"""A citizen's phone number stays masked on every response that shows the card: the drawer, a
refused edit, a conflict, a refused move or deadline action. It is masked for everybody
(portal.inquiries.privacy); those with the right may only reveal it, on purpose and audited."""

from __future__ import annotations

import pytest

from portal.accounts.services import get_active_user
from portal.boards.access import access_for
from portal.cards import services as cards
from portal.cards.forms import CardForm
from tests.security.test_cards_world import MASKED, PHONE, build_world, card_row, client_for


@pytest.fixture
async def world(clean_db):
    return await build_world()


async def _responses(world: dict, username: str) -> dict[str, tuple[int, str]]:
    """Everything this user gets back while working the inquiry, by what they did."""
    card_id = world["card"]
    client = await client_for(username)
    try:
        answers = {}
        response = await client.get(f"/cards/{card_id}")
        answers["open the drawer"] = (response.status_code, response.text)
        version = (await card_row(card_id))["version"]
        # A save without a title (the browser would send the phone field too; a script need not).
        response = await client.post(f"/cards/{card_id}", data={"title": "", "version": version})
        answers["save without a title"] = (response.status_code, response.text)
        response = await client.post(f"/cards/{card_id}/deadline", data={"action": "pause", "version": version})
        answers["pause without a reason"] = (response.status_code, response.text)
        # Someone else changes the card: this user's next writes are based on an old version.
        manager = await get_active_user(world["users"]["manager"])
        access = await access_for(manager, world["boards"]["inquiries"])
        priority = "low" if (await card_row(card_id))["priority"] == "high" else "high"
        form = CardForm(version=version, fields={"priority": priority})
        await cards.update_card(access, card_id, form)
        response = await client.post(f"/cards/{card_id}", data={"title": "新标题", "version": version})
        answers["stale save"] = (response.status_code, response.text)
        column = world["columns"][(world["boards"]["inquiries"], "dispatched")]
        response = await client.post(
            f"/cards/{card_id}/move", data={"column_id": column, "version": version, "from_drawer": "1"}
        )
        answers["stale move from the drawer"] = (response.status_code, response.text)
        response = await client.post(
            f"/cards/{card_id}/deadline", data={"action": "pause", "pause_reason": "等材料", "version": version}
        )
        answers["stale pause"] = (response.status_code, response.text)
    finally:
        await client.__aexit__(None, None, None)
    return answers


EXPECTED_STATUS = {
    "open the drawer": 200,
    "save without a title": 422,
    "pause without a reason": 422,
    "stale save": 409,
    "stale move from the drawer": 409,
    "stale pause": 409,
}


@pytest.mark.parametrize(
    ("hidden_from", "shown_to"),
    [
        ("member", "manager"),  # a member may not see it; a manager may
        ("health", "housing"),  # nor may the assisting department's liaison; the responsible one may
    ],
)
async def test_the_full_number_is_never_shown_and_only_those_with_the_right_may_reveal_it(world, hidden_from, shown_to):
    answers = await _responses(world, hidden_from)
    assert {what: status for what, (status, _html) in answers.items()} == EXPECTED_STATUS
    assert [what for what, (_status, html) in answers.items() if PHONE in html] == []
    assert [what for what, (_status, html) in answers.items() if MASKED not in html] == []
    # Saving the form as shown (with the masked number) keeps the stored number.
    client = await client_for(hidden_from)
    try:
        version = (await card_row(world["card"]))["version"]
        response = await client.post(
            f"/cards/{world['card']}", data={"title": "已转办", "citizen_phone": MASKED, "version": version}
        )
    finally:
        await client.__aexit__(None, None, None)
    assert response.status_code == 200 and PHONE not in response.text
    assert (await card_row(world["card"]))["citizen_phone"] == PHONE
    assert 'data-reveal="phone"' not in answers["open the drawer"][1]
    # Those with the right see it masked too, with the button that reveals it (audited).
    answers = await _responses(world, shown_to)
    assert {what: status for what, (status, _html) in answers.items()} == EXPECTED_STATUS
    assert [what for what, (_status, html) in answers.items() if PHONE in html] == []
    assert 'data-reveal="phone"' in answers["open the drawer"][1]
    assert 'data-reveal="phone"' in answers["save without a title"][1]
