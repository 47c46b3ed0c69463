"""A citizen's numbers on an inquiry (portal.inquiries.privacy): masked for everybody in the
drawer and the API, the numbers in the case's text masked for those without the right, a
reveal for those with it (audited, rate-limited), refused (and audited as refused) for anyone
else; what is stored never changes."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.cards.tables import Card
from portal.events.tables import Event
from portal.inquiries import privacy
from portal.inquiries.tables import InquiryDetail
from tests.conftest import csrf_from, login
from tests.factories import board

PEOPLE = {
    "admin": ("admin", None, ""),
    "boss": ("manager", "centre", "manager"),  # the board's manager
    "centre": ("member", "centre", "member"),  # the centre's staff: a member, no right
    "yb": ("liaison", "medins", "member"),  # the responsible department's liaison
    "rs": ("liaison", "hrss", "member"),  # an assisting department's liaison: no right
    "zj": ("liaison", "housing", "member"),  # a department the case never reaches
}

PHONE = "13812345678"
PHONE_MASKED = "138****5678"
ID_NUMBER = "11010519491231002X"  # a valid check character
ID_MASKED = "1101**********002X"
TEXT_PHONE = "13998765432"
TEXT_PHONE_MASKED = "139****5432"
TITLE = f"市民{TEXT_PHONE}咨询异地就医"
TEXT_ID = "440308199901011234"
TEXT_ID_MASKED = "4403**********1234"
BODY = f"我的电话{TEXT_PHONE}，身份证{TEXT_ID}，订单号20240101123456789不变。"


@pytest.fixture
async def world(clean_db):
    world = await board("inquiries", PEOPLE)
    world.values = {
        "case": await world.card(
            "boss",
            "pending_accept",
            title=TITLE,
            body=BODY,
            citizen_name="李女士",
            citizen_phone=PHONE,
            citizen_id_number=ID_NUMBER,
            department=world.departments["medins"],
            assisting_departments=[world.departments["hrss"]],
        )
    }
    return world


@asynccontextmanager
async def signed_in(username: str):
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        await login(client, username)
        client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
        yield client


async def stored(card_id: int) -> dict:
    card = await Card.select(Card.title, Card.body).where(Card.id == card_id).first()
    detail = await InquiryDetail.select(InquiryDetail.citizen_phone, InquiryDetail.citizen_id_number).where(
        InquiryDetail.card == card_id
    )
    return {**card, **detail[0]}


async def reveal_events() -> list[dict]:
    return await Event.select().where(Event.verb.like("inquiry.reveal%")).order_by(Event.id).output(load_json=True)


@pytest.mark.parametrize(
    ("person", "has_right"),
    [("centre", False), ("rs", False), ("yb", True), ("boss", True), ("admin", True)],
)
async def test_numbers_are_masked_in_the_drawer_and_the_api(world, person, has_right):
    card_id = world.values["case"]
    async with signed_in(person) as client:
        drawer = (await client.get(f"/cards/{card_id}", headers={"HX-Request": "true"})).text
        api = (await client.get(f"/api/v1/cards/{card_id}")).json()
        board_page = (await client.get(f"/boards/{world.board_id}")).text
    # The structured numbers: masked for everybody, whatever their right.
    assert PHONE not in drawer and ID_NUMBER not in drawer
    assert PHONE_MASKED in drawer and ID_MASKED in drawer
    assert (api["citizen_phone"], api["citizen_id_number"]) == (PHONE_MASKED, ID_MASKED)
    # The button to reveal one: only for those with the right.
    assert ('data-reveal="phone"' in drawer) is has_right
    assert ('data-reveal="id_number"' in drawer) is has_right
    # The numbers in the title and the question: masked for those without the right only, in
    # the drawer and the API; the tile (one rendering for every viewer) masks them for all.
    assert f'id="card-{card_id}"' in board_page
    assert TEXT_PHONE not in board_page and TEXT_PHONE_MASKED in board_page and PHONE not in board_page
    for text in (drawer, api["title"] + api["body"]):
        assert (TEXT_PHONE in text) is has_right
        assert (TEXT_PHONE_MASKED in text) is not has_right
    assert (TEXT_ID in api["body"]) is has_right
    assert "20240101123456789" in api["body"]  # other digit runs stay as they are


async def test_saving_the_form_as_shown_keeps_the_stored_numbers(world):
    card_id = world.values["case"]
    before = await stored(card_id)
    async with signed_in("centre") as client:
        drawer = (await client.get(f"/cards/{card_id}", headers={"HX-Request": "true"})).text
        version = re.search(r'name="version" value="(\d+)"', drawer).group(1)
        # The member edits the question (appends a line) and sends back everything else as shown.
        masked_body = BODY.replace(TEXT_PHONE, TEXT_PHONE_MASKED).replace(TEXT_ID, TEXT_ID_MASKED)
        response = await client.post(
            f"/cards/{card_id}",
            headers={"HX-Request": "true"},
            data={
                "version": version,
                "title": TITLE.replace(TEXT_PHONE, TEXT_PHONE_MASKED),
                "body": masked_body + "\n已电话回访。",
                "citizen_phone": PHONE_MASKED,
                "citizen_id_number": ID_MASKED,
                "priority": "normal",
            },
        )
    assert response.status_code == 200, response.text
    assert TEXT_PHONE not in response.text and TEXT_ID not in response.text
    after = await stored(card_id)
    assert after["title"] == before["title"]
    assert after["body"] == BODY + "\n已电话回访。"
    assert (after["citizen_phone"], after["citizen_id_number"]) == (PHONE, ID_NUMBER)


async def test_an_id_number_is_checked_and_a_masked_one_keeps_the_stored_one(world):
    card_id = world.values["case"]
    async with signed_in("boss") as client:
        current = (await client.get(f"/api/v1/cards/{card_id}")).json()
        wrong = await client.patch(
            f"/api/v1/cards/{card_id}", json={"version": current["version"], "citizen_id_number": "110105194912310021"}
        )
        assert wrong.status_code == 422 and "citizen_id_number" in wrong.json()["errors"]
        kept = await client.patch(
            f"/api/v1/cards/{card_id}",
            json={"version": current["version"], "citizen_id_number": ID_MASKED, "citizen_name": "李红"},
        )
        assert kept.status_code == 200 and kept.json()["citizen_id_number"] == ID_MASKED
        assert (await stored(card_id))["citizen_id_number"] == ID_NUMBER
        refused = await client.patch(
            f"/api/v1/cards/{card_id}",
            json={"version": kept.json()["version"], "citizen_id_number": "44030819990101123X"},
        )
        assert refused.status_code == 422  # its check character is 4
        changed = await client.patch(
            f"/api/v1/cards/{card_id}",
            json={"version": kept.json()["version"], "citizen_id_number": "440308199901011234"},
        )
    assert changed.status_code == 200 and changed.json()["citizen_id_number"] == "4403**********1234"
    assert (await stored(card_id))["citizen_id_number"] == "440308199901011234"


async def test_reveal_shows_the_number_and_writes_the_audit_entry(world):
    card_id = world.values["case"]
    async with signed_in("yb") as client:
        response = await client.post(
            f"/inquiries/{card_id}/reveal", data={"which": "phone"}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        assert PHONE in response.text and f'id="number-phone-{card_id}"' in response.text
        response = await client.post(f"/inquiries/{card_id}/reveal", data={"which": "id_number"})
        assert response.status_code == 200 and ID_NUMBER in response.text
        assert response.headers["cache-control"] == "no-store"
    entries = await reveal_events()
    assert [(e["verb"], e["actor"], e["object_type"], e["object_id"]) for e in entries] == [
        ("inquiry.revealed", world.users["yb"], "inquiry", card_id),
        ("inquiry.revealed", world.users["yb"], "inquiry", card_id),
    ]
    assert [e["payload"]["field"] for e in entries] == ["phone", "id_number"]
    assert all(e["created_at"] is not None for e in entries)
    # The workflow's catch-all POST /inquiries/{id}/{action} was not reached (it would have
    # answered 404 for an unknown action and written no audit entry).
    # The administrator sees the reveals in the audit log.
    async with signed_in("admin") as client:
        audit = (await client.get("/admin/audit")).text
    assert audit.count("inquiry.revealed") == 2 and "yb" in audit


@pytest.mark.parametrize("person", ["centre", "rs"])
async def test_reveal_is_refused_without_the_right(world, person):
    card_id = world.values["case"]
    async with signed_in(person) as client:
        response = await client.post(f"/inquiries/{card_id}/reveal", data={"which": "phone"})
    assert response.status_code == 403
    assert PHONE not in response.text and 'role="alert"' in response.text
    entries = await reveal_events()
    assert [(e["verb"], e["actor"], e["payload"]["reason"]) for e in entries] == [
        ("inquiry.reveal_refused", world.users[person], "no right")
    ]


async def test_reveal_of_a_case_one_cannot_see_is_not_found(world):
    async with signed_in("zj") as client:
        response = await client.post(f"/inquiries/{world.values['case']}/reveal", data={"which": "phone"})
    assert response.status_code == 404 and PHONE not in response.text
    assert await reveal_events() == []


async def test_reveal_of_an_unknown_field_reveals_nothing(world):
    async with signed_in("boss") as client:
        response = await client.post(f"/inquiries/{world.values['case']}/reveal", data={"which": "citizen_phone"})
    assert response.status_code == 422 and PHONE not in response.text
    assert await reveal_events() == []


async def test_reveals_are_rate_limited_per_person(world, monkeypatch):
    monkeypatch.setattr(privacy, "REVEAL_LIMIT", 2)
    card_id = world.values["case"]
    async with signed_in("boss") as client:
        statuses = [
            (await client.post(f"/inquiries/{card_id}/reveal", data={"which": "phone"})).status_code for _ in range(2)
        ]
        refused = await client.post(f"/inquiries/{card_id}/reveal", data={"which": "phone"})
    assert statuses == [200, 200]
    assert refused.status_code == 429 and PHONE not in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert "分钟" in refused.text or "minutes" in refused.text
    entries = await reveal_events()
    assert [e["verb"] for e in entries] == ["inquiry.revealed", "inquiry.revealed", "inquiry.reveal_refused"]
    assert entries[-1]["payload"]["reason"] == "rate limit"
    # The limit is per person: the responsible liaison may still reveal.
    async with signed_in("yb") as client:
        response = await client.post(f"/inquiries/{card_id}/reveal", data={"which": "phone"})
    assert response.status_code == 200 and PHONE in response.text
