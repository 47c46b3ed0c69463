"""Card kinds as packages: each kind's fields live in its own table, behind one card service,
one set of board pages and one API; board-generic code names no kind."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.campaigns.tables import CampaignDetail
from portal.cards.kinds import all_kinds, kind_of
from portal.cards.tables import Card
from portal.comments.tables import CommentDetail
from portal.inquiries.tables import InquiryDetail
from tests import factories
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
GENERIC = ("boards", "cards", "live", "sla", "reminders", "events", "notifications", "api", "core")


@pytest.fixture
async def api():
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        yield client


async def bearer(world, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(await get_active_user(world.users[username]), 'kinds')}"}


def test_board_generic_code_names_no_kind():
    """A new kind is a package and a line in portal/kinds.py: no board-generic module may
    branch on (or otherwise spell out) a kind's name."""
    names = [kind.name for kind in all_kinds()]
    pattern = re.compile("[\"'](" + "|".join(names) + ")[\"']")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in GENERIC
        for path in sorted((ROOT / "portal" / package).glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    templates = [
        f"{path.relative_to(ROOT)}: {match}"
        for folder in ("partials/boards", "partials/cards", "partials/live", "pages/boards", "pages/cards")
        for path in sorted((ROOT / "templates" / folder).glob("*.html"))
        for match in pattern.findall(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [] and templates == []


async def test_each_kind_keeps_its_fields_in_its_own_table(clean_db, api):
    comments = await factories.board("comments")
    card_id = await comments.card(
        column="pending", title="地铁站电梯停运", platform="weibo", author_handle="临江小王", sentiment="negative"
    )
    assert await CommentDetail.select(CommentDetail.platform, CommentDetail.sentiment).where(
        CommentDetail.card == card_id
    ).first() == {"platform": "weibo", "sentiment": "negative"}

    headers = await bearer(comments, "member")
    card = (await api.get(f"/api/v1/cards/{card_id}", headers=headers)).json()
    changed = await api.patch(
        f"/api/v1/cards/{card_id}", headers=headers, json={"version": card["version"], "sentiment": "neutral"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["sentiment"] == "neutral" and changed.json()["platform"] == "weibo"
    assert (await CommentDetail.select(CommentDetail.sentiment).where(CommentDetail.card == card_id).first())[
        "sentiment"
    ] == "neutral"
    # A field of another kind is not a field of this card.
    wrong = await api.patch(
        f"/api/v1/cards/{card_id}", headers=headers, json={"version": card["version"] + 1, "citizen_phone": "1"}
    )
    assert wrong.status_code == 422 and "citizen_phone" in wrong.json()["errors"]


async def test_a_campaigns_end_is_its_due_time_and_moves_with_it(clean_db):
    campaigns = await factories.board("campaigns")
    starts = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    card_id = await campaigns.card(
        column="planning",
        title="医保政策问答专区",
        campaign_format="qa",
        starts_at=starts,
        ends_at=starts + timedelta(days=7),
    )
    row = await Card.select(Card.due_at, Card.due_stage).where(Card.id == card_id).first()
    assert row == {"due_at": starts + timedelta(days=7), "due_stage": "campaign"}

    from portal.cards import services as cards
    from portal.cards.forms import CardForm

    access = await campaigns.access("member")
    await cards.update_card(access, card_id, CardForm(version=1, fields={"ends_at": starts + timedelta(days=10)}))
    assert (await Card.select(Card.due_at).where(Card.id == card_id).first())["due_at"] == starts + timedelta(days=10)
    assert (await CampaignDetail.select(CampaignDetail.ends_at).where(CampaignDetail.card == card_id).first())[
        "ends_at"
    ] == starts + timedelta(days=10)


async def test_an_inquirys_category_picks_its_clock_and_its_number_is_masked_in_lists(clean_db, api):
    inquiries = await factories.board("inquiries")
    health = inquiries.departments["health"]
    plain = await inquiries.card("manager", column="handling", title="咨询", category="policy", department=health)
    complex_ = await inquiries.card(
        "manager",
        column="handling",
        title="疑难",
        category="complex",
        department=health,
        citizen_phone="13812345678",
    )
    due = {row["id"]: row["due_at"] for row in await Card.select(Card.id, Card.due_at)}
    assert due[complex_] - due[plain] >= timedelta(days=7)  # 10 working days against 5
    assert (await InquiryDetail.select(InquiryDetail.citizen_phone).where(InquiryDetail.card == complex_).first())[
        "citizen_phone"
    ] == "13812345678"

    member = await api.get(f"/api/v1/boards/{inquiries.board_id}/cards", headers=await bearer(inquiries, "member"))
    phones = {card["id"]: card["citizen_phone"] for card in member.json()}
    assert phones[complex_] == "138****5678"
    manager = await api.get(f"/api/v1/boards/{inquiries.board_id}/cards", headers=await bearer(inquiries, "manager"))
    # Managers too: numbers are shown only on demand (revealed in the drawer, audited).
    assert {card["id"]: card["citizen_phone"] for card in manager.json()}[complex_] == "138****5678"
    # The board filters by the kind's own fields.
    only = await api.get(
        f"/api/v1/boards/{inquiries.board_id}/cards?category=complex", headers=await bearer(inquiries, "manager")
    )
    assert [card["id"] for card in only.json()] == [complex_]


async def test_a_new_board_gets_its_kinds_columns_and_the_page_its_kinds_partials(clean_db, api):
    world = await factories.board("comments")
    await world.card(column="new", title="公交改线", platform="douyin", sentiment="negative")
    await login(api, "admin", factories.PASSWORD)  # admins see every board
    page = (await api.get(f"/boards/{world.board_id}")).text
    assert "抖音" in page and 'name="sentiment"' in page and 'name="category"' not in page
    inquiries = await factories.board("inquiries", people={"boss": ("manager", "publicity", "manager")})
    page = (await api.get(f"/boards/{inquiries.board_id}")).text
    assert 'name="category"' in page and 'name="sentiment"' not in page
    keys = [column.key for column in kind_of("inquiries").columns]
    assert keys[0] == "pending_accept" and keys[-1] == "closed"


async def test_the_live_page_asks_the_server_which_sent_cards_match_its_filters(clean_db, api):
    """The browser filters nothing itself: it asks the API which of the cards just sent match."""
    world = await factories.board("comments")
    weibo = await world.card(column="new", title="A", platform="weibo")
    wechat = await world.card(column="new", title="B", platform="wechat")
    headers = await bearer(world, "member")
    answer = await api.get(
        f"/api/v1/boards/{world.board_id}/cards?ids={weibo},{wechat}&platform=weibo", headers=headers
    )
    assert [card["id"] for card in answer.json()] == [weibo]
    bad = await api.get(f"/api/v1/boards/{world.board_id}/cards?ids=1,x", headers=headers)
    assert bad.status_code == 422 and "ids" in bad.json()["errors"]
    app_js = (ROOT / "static" / "app.js").read_text(encoding="utf-8")
    assert "matchesFilters" not in app_js and "/cards?ids=" in app_js
