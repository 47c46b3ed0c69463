"""The printable work order (工单): the case's facts and its whole timeline on a page of its
own, for whoever may see the case, never with a number this viewer may not see."""

from __future__ import annotations

import re

import pytest

from portal.inquiries import workflow
from tests.factories import board
from tests.integration.test_inquiry_privacy import (
    ID_MASKED,
    ID_NUMBER,
    PEOPLE,
    PHONE,
    PHONE_MASKED,
    TEXT_PHONE,
    TEXT_PHONE_MASKED,
    signed_in,
)


async def act(world, username, card_id, action, **payload):
    return await workflow.act(await world.access(username), card_id, action, payload)


@pytest.fixture
async def world(clean_db):
    world = await board("inquiries", PEOPLE)
    card_id = await world.card(
        "centre",
        "pending_accept",
        title="异地就医报销比例是多少？",
        body=f"我在外地住院，医保怎么报销？回电{TEXT_PHONE}",
        citizen_name="李女士",
        citizen_phone=PHONE,
        citizen_id_number=ID_NUMBER,
    )
    await act(world, "centre", card_id, "accept", category="policy", urgency="紧急")
    await act(
        world,
        "centre",
        card_id,
        "dispatch",
        lead_department=world.departments["medins"],
        assisting_departments=[world.departments["hrss"]],
        instructions="请医保局牵头答复",
    )
    await act(world, "yb", card_id, "sign")
    await act(world, "rs", card_id, "opinion", text="人社局无异议")
    await act(world, "yb", card_id, "contact", note=f"已致电市民{TEXT_PHONE}，说明备案流程")
    await act(world, "yb", card_id, "submit_answer", answer="备案后按本地比例报销。")
    await act(world, "centre", card_id, "approve")
    await act(world, "centre", card_id, "follow_up", verdict="满意")
    world.values = {"case": card_id}
    return world


@pytest.mark.parametrize(("person", "has_right"), [("centre", False), ("rs", False), ("yb", True)])
async def test_the_work_order_shows_the_timeline_and_masks_numbers(world, person, has_right):
    card_id = world.values["case"]
    async with signed_in(person) as client:
        response = await client.get(f"/inquiries/{card_id}/workorder")
    assert response.status_code == 200
    page = response.text
    # Its own page: no navigation, the print stylesheet, a print button (hidden on paper).
    assert "<nav" not in page and 'class="mainnav"' not in page
    assert "print.css" in page and "data-print" in page and 'class="workorder-tools no-print"' in page
    assert f"#{card_id}" in page and "李女士" in page and "备案后按本地比例报销。" in page
    # Every step, in order, with who did it.
    steps = re.findall(r'class="workorder-step" data-action="(\w+)"', page)
    assert steps == ["accept", "dispatch", "sign", "opinion", "contact", "submit_answer", "approve", "follow_up"]
    assert "人社局无异议" in page and "请医保局牵头答复" in page
    # The numbers: masked for everybody; those in the question and the steps for those without the right.
    assert PHONE not in page and ID_NUMBER not in page
    assert PHONE_MASKED in page and ID_MASKED in page
    assert (TEXT_PHONE in page) is has_right
    assert (TEXT_PHONE_MASKED in page) is not has_right


async def test_the_work_order_of_a_case_one_cannot_see_is_not_found(world):
    async with signed_in("zj") as client:
        response = await client.get(f"/inquiries/{world.values['case']}/workorder")
    assert response.status_code == 404
    assert "李女士" not in response.text and PHONE_MASKED not in response.text


async def test_the_drawer_links_to_the_work_order_and_print_css_hides_the_buttons(world):
    card_id = world.values["case"]
    async with signed_in("centre") as client:
        drawer = (await client.get(f"/cards/{card_id}", headers={"HX-Request": "true"})).text
        css = (await client.get("/static/print.css")).text
    assert f'href="/inquiries/{card_id}/workorder"' in drawer
    assert "@page { size: A4" in css
    printed = css[css.index("@media print") :]
    assert ".no-print" in printed and "display: none" in printed and "break-inside: avoid" in printed
