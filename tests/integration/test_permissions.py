"""Who may do what: a role × route matrix over HTTP, with guessed ids (the websocket
handshake has its own matrix in test_live.py)."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import create_user_unchecked
from portal.accounts.tables import Department
from portal.app import create_app
from portal.boards.tables import Board, BoardColumn
from portal.cards.tables import Card
from portal.demo.services import seed_demo
from tests.conftest import csrf_from, login

PEOPLE = ["admin", "chenjing", "zhangwei", "hejianguo", "wangfang", "outsider"]


@pytest.fixture
async def world(clean_db):
    await seed_demo()
    health = (await Department.select(Department.id).where(Department.code == "health").first())["id"]
    await create_user_unchecked("outsider", "局外人", "portal-demo", "member", health)
    boards = {row["kind"]: row["id"] for row in await Board.select(Board.kind, Board.id)}
    pick = lambda *where: Card.select(Card.id, Card.version, Card.column, Card.citizen_phone).where(*where).first()  # noqa: E731
    return {
        "boards": boards,
        "health": health,
        "comment": await pick(Card.board == boards["comments"]),
        "inquiry_health": await pick((Card.board == boards["inquiries"]) & (Card.department == health)),
        "inquiry_other": await pick((Card.board == boards["inquiries"]) & (Card.department != health)),
        "column": (await BoardColumn.select(BoardColumn.id).where(BoardColumn.board == boards["comments"]).first())[
            "id"
        ],
    }


async def as_user(username: str) -> AsyncTestClient:
    client = AsyncTestClient(create_app(), base_url="http://testserver.local")
    await client.__aenter__()
    await login(client, username, "portal-demo")
    return client


async def request(client, method: str, url: str, data: dict | None = None) -> int:
    if method == "GET":
        return (await client.get(url, follow_redirects=False)).status_code
    token = csrf_from((await client.get("/boards")).text)
    response = await client.post(
        url, data=data or {}, headers={"HX-Request": "true", "x-csrftoken": token}, follow_redirects=False
    )
    return response.status_code


# expected status per person, in PEOPLE order
MATRIX = [
    ("view comments board", "GET", "/boards/{comments}", None, [200, 200, 200, 200, 404, 404]),
    ("open a comment card", "GET", "/cards/{comment}", None, [200, 200, 200, 200, 404, 404]),
    (
        "quick-add a comment",
        "POST",
        "/boards/{comments}/columns/{column}/cards",
        {"title": "权限测试"},
        [200, 200, 200, 403, 404, 404],
    ),
    (
        "move a comment card",
        "POST",
        "/cards/{comment}/move",
        {"column_id": "{column}", "after_id": "", "version": "{v}"},
        [200, 200, 200, 403, 404, 404],
    ),
    ("note on a comment card", "POST", "/cards/{comment}/notes", {"body": "看一下"}, [200, 200, 200, 403, 404, 404]),
    ("board settings", "GET", "/boards/{comments}/settings", None, [200, 200, 403, 403, 404, 404]),
    (
        "add a column",
        "POST",
        "/boards/{comments}/settings/columns",
        {"name": "新列{person}"},
        [303, 303, 403, 403, 404, 404],
    ),
    ("open own department's inquiry", "GET", "/cards/{inquiry_health}", None, [200, 200, 200, 200, 200, 404]),
    ("open another department's inquiry", "GET", "/cards/{inquiry_other}", None, [200, 200, 200, 200, 404, 404]),
    (
        "archive another department's inquiry",
        "POST",
        "/cards/{inquiry_other}/archive",
        {"version": "{vo}"},
        [200, 200, 200, 403, 404, 404],
    ),
    ("guessed card id", "GET", "/cards/987654", None, [404, 404, 404, 404, 404, 404]),
    ("guessed board id", "GET", "/boards/987654", None, [404, 404, 404, 404, 404, 404]),
]


@pytest.mark.parametrize(("name", "method", "url", "data", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
async def test_role_route_matrix(world, name, method, url, data, expected):
    values = {
        "comments": world["boards"]["comments"],
        "column": world["column"],
        "comment": world["comment"]["id"],
        "inquiry_health": world["inquiry_health"]["id"],
        "inquiry_other": world["inquiry_other"]["id"],
    }
    # Refusals first: a successful write (an archive, say) must not hide a later refusal.
    for person, status in sorted(zip(PEOPLE, expected, strict=True), key=lambda pair: pair[1] < 400):
        # Versions are read fresh: an earlier person's successful write bumps them.
        values["v"] = (await Card.select(Card.version).where(Card.id == world["comment"]["id"]).first())["version"]
        values["vo"] = (await Card.select(Card.version).where(Card.id == world["inquiry_other"]["id"]).first())[
            "version"
        ]
        values["person"] = person
        client = await as_user(person)
        try:
            filled = {k: str(v).format(**values) for k, v in (data or {}).items()}
            got = await request(client, method, url.format(**values), filled)
        finally:
            await client.__aexit__(None, None, None)
        if name.startswith("archive") and status == 200 and got == 404:
            continue  # already archived by an earlier person in this loop
        assert got == status, f"{person}: {method} {url} gave {got}, expected {status}"


async def test_liaison_board_shows_only_her_departments_inquiries(world):
    client = await as_user("wangfang")
    try:
        html = (await client.get(f"/boards/{world['boards']['inquiries']}")).text
    finally:
        await client.__aexit__(None, None, None)
    shown = {int(card_id) for card_id in re.findall(r'<article class="card[^"]*" id="card-(\d+)"', html)}
    health_cards = {
        row["id"]
        for row in await Card.select(Card.id).where(
            (Card.board == world["boards"]["inquiries"]) & (Card.archived == False)
        )  # noqa: E712
        if row["id"] in shown
    }
    assert shown and shown == health_cards
    assert world["inquiry_other"]["id"] not in shown
    own = await Card.select(Card.id).where(
        (Card.board == world["boards"]["inquiries"]) & (Card.department == world["health"])
    )
    assert {row["id"] for row in own} <= shown


@pytest.mark.parametrize(
    ("person", "masked"), [("zhangwei", True), ("hejianguo", True), ("chenjing", False), ("wangfang", False)]
)
async def test_citizen_phone_is_masked_for_roles_without_the_right(world, person, masked):
    phone = world["inquiry_health"]["citizen_phone"]
    client = await as_user(person)
    try:
        html = (await client.get(f"/cards/{world['inquiry_health']['id']}", headers={"HX-Request": "true"})).text
    finally:
        await client.__aexit__(None, None, None)
    assert (phone not in html) is masked
    if masked:
        assert f"{phone[:3]}****{phone[-4:]}" in html


async def test_liaison_probing_another_departments_card_learns_nothing(world):
    client = await as_user("wangfang")
    try:
        token = csrf_from((await client.get("/boards")).text)
        response = await client.post(
            f"/cards/{world['inquiry_other']['id']}/move", data={}, headers={"HX-Request": "true", "x-csrftoken": token}
        )
    finally:
        await client.__aexit__(None, None, None)
    assert response.status_code == 404
    title = (await Card.select(Card.title).where(Card.id == world["inquiry_other"]["id"]).first())["title"]
    assert title not in response.text


async def test_liaison_saving_a_card_cannot_reroute_it(world):
    card_id = world["inquiry_health"]["id"]
    await Card.update({Card.assisting_departments: [world["health"], 99]}).where(Card.id == card_id)
    before = (
        await Card.select(Card.department, Card.assisting_departments, Card.version)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    client = await as_user("wangfang")
    try:
        token = csrf_from((await client.get("/boards")).text)
        response = await client.post(
            f"/cards/{card_id}",
            headers={"HX-Request": "true", "x-csrftoken": token},
            data={
                "title": "卫健委已受理",
                "version": before["version"],
                "department": "1",
                "assisting_departments": "2",
            },
        )
    finally:
        await client.__aexit__(None, None, None)
    assert response.status_code == 200
    after = (
        await Card.select(Card.title, Card.department, Card.assisting_departments)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    assert after == {
        "title": "卫健委已受理",
        "department": before["department"],
        "assisting_departments": before["assisting_departments"],
    }


@pytest.mark.parametrize(
    "url",
    [
        "/cards/99999999999999999999",
        "/boards/99999999999999999999",
        "/boards/{comments}?assignee=²",
        "/boards/{comments}?assignee=99999999999999999999",
    ],
)
async def test_odd_ids_are_not_found_not_errors(world, url):
    client = await as_user("zhangwei")
    try:
        status = (await client.get(url.format(comments=world["boards"]["comments"]))).status_code
    finally:
        await client.__aexit__(None, None, None)
    assert status in (200, 404)
