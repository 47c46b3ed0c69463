"""Similar comments grouped under a lead (合并为一组), and one reply that answers the group: who
may group, what the tiles and drawers show, the reply reaching every open member (or, for a
reply that waits for a manager, only once approved), members left alone, and ungrouping."""

from __future__ import annotations

import json

import pytest

from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.comments import similar
from portal.comments.publishing import RECORDED
from portal.comments.tables import CommentDetail, Reply
from portal.events.tables import Event, Outbox
from portal.sla.tables import CardClock
from tests import factories
from tests.conftest import csrf_from, login

LEAD = "请问异地就医备案在哪里办理"
ALIKE = ("小编你好，异地就医备案在哪里办理啊", "异地就医备案在哪里办理呢？", "请问一下异地就医备案在哪里办理")
OTHER = "地铁末班车能不能延长"


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


async def comment(world, text: str, platform: str = "weibo", sentiment: str = "neutral", **fields) -> int:
    """A comment as triage leaves it: its MinHash signature stored, counted as similar."""
    card_id = await world.card(
        "manager", column="new", title=text, body=text, platform=platform, sentiment=sentiment, **fields
    )
    await CommentDetail.update(
        {CommentDetail.signature: similar.signature(text).hex(), CommentDetail.similar_count: 1}
    ).where(CommentDetail.card == card_id)
    return card_id


async def as_user(client, username: str) -> dict[str, str]:
    await login(client, username, factories.PASSWORD)
    page = await client.get("/boards")
    return {"x-csrftoken": csrf_from(page.text), "HX-Request": "true"}


async def merge(client, headers, lead: int, card_ids: list[int]):
    return await client.post(f"/comments/{lead}/group", data={"card_ids": card_ids}, headers=headers)


async def group_of(card_id: int) -> int | None:
    row = await CommentDetail.select(CommentDetail.group_card).where(CommentDetail.card == card_id).first()
    return row["group_card"]


async def column_key(card_id: int) -> str:
    return (await Card.select(Card.column.key.as_alias("key")).where(Card.id == card_id).first())["key"]


async def clock_done(card_id: int) -> bool:
    row = await (
        CardClock.select(CardClock.completed_at)
        .where((CardClock.card_id == card_id) & (CardClock.stage == "first_response"))
        .first()
    )
    return row["completed_at"] is not None


async def replies_of(card_id: int) -> list[dict]:
    return await Reply.select().where(Reply.card == card_id).order_by(Reply.id)


# Grouping -------------------------------------------------------------------------------------


async def test_an_editor_merges_similar_comments_and_tiles_and_drawers_show_the_group(world, client):
    lead = await comment(world, LEAD)
    first, second = [await comment(world, text) for text in ALIKE[:2]]
    metro = await comment(world, OTHER)
    headers = await as_user(client, "member")

    section = await client.get(f"/comments/{lead}/similar")
    assert section.status_code == 200
    assert f'name="card_ids" value="{first}"' in section.text and f'value="{second}"' in section.text
    assert f'value="{metro}"' not in section.text  # not similar: not offered
    assert "合并为一组" in section.text

    # A card that is not similar is refused, and the whole request changes nothing.
    refused = await merge(client, headers, lead, [first, metro])
    assert refused.status_code == 422 and f"#{metro}" in refused.text
    assert await group_of(first) is None and await group_of(lead) is None

    grouped = await merge(client, headers, lead, [first, second])
    assert grouped.status_code == 200, grouped.text
    assert await group_of(first) == lead and await group_of(second) == lead
    assert await group_of(lead) == -2  # the lead holds minus its members' count
    assert f'id="group-member-{first}"' in grouped.text and "解散" in grouped.text

    board = await client.get(f"/boards/{world.board_id}")
    assert '<span class="tag group-lead"' in board.text and ">组 2<" in board.text
    assert board.text.count(">已并入<") == 2

    member = await client.get(f"/comments/{first}/similar")
    assert f"已并入 #{lead}" in member.text and f'href="/boards/{world.board_id}?card={lead}"' in member.text

    verbs = {row["object_id"] for row in await Event.select(Event.object_id).where(Event.verb == "comment.grouped")}
    assert verbs == {lead, first, second}
    published = await Outbox.select(Outbox.payload).where(Outbox.effect == "publish_cards")
    live = {card for row in published for card in json.loads(row["payload"])["card_ids"]}
    assert {lead, first, second} <= live  # everyone watching sees the badges

    # A member cannot lead a group, and a card in a group cannot join another one.
    third = await comment(world, ALIKE[2])
    assert (await merge(client, headers, first, [third])).status_code == 409
    other_lead = await comment(world, LEAD + "？")
    taken = await merge(client, headers, other_lead, [first])
    assert taken.status_code == 422 and f"#{lead}" in taken.text
    assert await group_of(first) == lead and await group_of(other_lead) is None
    # The lead takes one more.
    more = await merge(client, headers, lead, [third])
    assert more.status_code == 200 and await group_of(lead) == -3 and await group_of(third) == lead


async def test_a_viewer_may_not_group_and_a_liaison_cannot_reach_cards_she_does_not_see(world, client):
    health, publicity = world.departments["health"], world.departments["publicity"]
    lead = await comment(world, LEAD, department=health)
    hers = await comment(world, ALIKE[0], department=health)
    not_hers = await comment(world, ALIKE[1], department=publicity)

    headers = await as_user(client, "viewer")
    section = await client.get(f"/comments/{lead}/similar")
    assert section.status_code == 200 and "合并为一组" not in section.text and 'name="card_ids"' not in section.text
    refused = await merge(client, headers, lead, [hers])
    assert refused.status_code == 403

    headers = await as_user(client, "liaison")
    section = await client.get(f"/comments/{lead}/similar")
    assert f'value="{hers}"' in section.text and f'value="{not_hers}"' not in section.text
    assert ALIKE[1] not in section.text  # another department's comment is not even named
    hidden = await merge(client, headers, lead, [hers, not_hers])
    assert hidden.status_code == 404
    assert (await merge(client, headers, not_hers, [hers])).status_code == 404
    assert await group_of(hers) is None and await group_of(lead) is None and await group_of(not_hers) is None
    # Her own cards she may group.
    assert (await merge(client, headers, lead, [hers])).status_code == 200
    assert await group_of(hers) == lead


# One reply answers the group ----------------------------------------------------------------


async def test_a_reply_to_the_lead_answers_every_open_member_and_leaves_the_others(world, client):
    lead = await comment(world, LEAD)
    answered_too = await comment(world, ALIKE[0])
    on_douyin = await comment(world, ALIKE[1], platform="douyin")  # 100 characters
    replied = await comment(world, ALIKE[2])
    closing = await comment(world, LEAD + "？")
    headers = await as_user(client, "member")
    first = await client.post(f"/comments/{replied}/replies", data={"body": "已答复。"}, headers=headers)
    assert first.status_code == 200 and await column_key(replied) == "replied"
    members = [answered_too, on_douyin, replied, closing]
    response = await client.post(f"/comments/{lead}/group", data={"card_ids": members}, headers=headers)
    assert response.status_code == 200, response.text
    access = await world.access("manager")
    version = (await Card.select(Card.version).where(Card.id == closing).first())["version"]
    await cards.move_card(access, closing, MoveForm(column_id=world.columns["closed"], after_id=None, version=version))

    body = "您好，异地就医备案可在国家医保服务平台App或当地医保经办机构办理。" * 3  # 105 characters
    assert 100 < len(body) <= 140
    sent = await client.post(f"/comments/{lead}/replies", data={"body": body}, headers=headers)
    assert sent.status_code == 200, sent.text

    lead_reply = (await replies_of(lead))[0]
    assert lead_reply["status"] == "sent" and await column_key(lead) == "replied"
    # The open member got the same reply, sent, published, its clock stopped, moved to 已回复.
    [member_reply] = await replies_of(answered_too)
    assert member_reply["body"] == body and member_reply["status"] == "sent"
    assert member_reply["batch"] == f"group:{lead_reply['id']}" and member_reply["publish_response"] == RECORDED
    assert await column_key(answered_too) == "replied" and await clock_done(answered_too)
    detail = await CommentDetail.select(CommentDetail.replied_at).where(CommentDetail.card == answered_too).first()
    assert detail["replied_at"] is not None
    # Too long for 抖音: skipped, and the lead's drawer says so.
    assert await replies_of(on_douyin) == [] and await column_key(on_douyin) == "new"
    assert not await clock_done(on_douyin)
    section = await client.get(f"/comments/{lead}/similar")
    assert "100" in section.text and "单独回复" in section.text
    # Already answered, closed: left alone.
    assert [row["body"] for row in await replies_of(replied)] == ["已答复。"]
    assert await replies_of(closing) == [] and await column_key(closing) == "closed"

    answered = await Event.select(Event.payload).where(Event.verb == "comment.group_answered").output(load_json=True)
    assert [row["payload"] for row in answered] == [
        {"reply": lead_reply["id"], "members": [answered_too], "skipped": [on_douyin]}
    ]


async def test_a_group_reply_that_needs_approval_answers_nobody_until_a_manager_approves(world, client):
    lead = await comment(world, LEAD)
    angry = await comment(world, ALIKE[0], sentiment="negative")  # a negative member: the group waits
    headers = await as_user(client, "member")
    assert (await merge(client, headers, lead, [angry])).status_code == 200

    drawer = await client.get(f"/comments/{lead}/replies")
    assert "提交审核" in drawer.text  # the editor is told before she writes
    response = await client.post(f"/comments/{lead}/replies", data={"body": "您好，请拨打12345咨询。"}, headers=headers)
    assert response.status_code == 200 and "status-pending" in response.text
    [pending] = await replies_of(lead)
    assert pending["status"] == "pending"
    assert await replies_of(angry) == [] and await column_key(angry) == "new" and await column_key(lead) == "new"

    headers = await as_user(client, "manager")
    approved = await client.post(f"/replies/{pending['id']}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    [member_reply] = await replies_of(angry)
    assert member_reply["status"] == "sent" and member_reply["reviewer"] == world.users["manager"]
    assert member_reply["batch"] == f"group:{pending['id']}"
    assert await column_key(angry) == "replied" and await clock_done(angry)
    assert await column_key(lead) == "replied"


# Ungrouping -------------------------------------------------------------------------------------


async def test_members_leave_the_group_and_a_group_is_dissolved(world, client):
    lead = await comment(world, LEAD)
    first, second, third = [await comment(world, text) for text in ALIKE]
    headers = await as_user(client, "member")
    await merge(client, headers, lead, [first, second])

    removed = await client.post(f"/comments/{lead}/group/remove", data={"member_id": first}, headers=headers)
    assert removed.status_code == 200
    assert await group_of(first) is None and await group_of(lead) == -1
    again = await client.post(f"/comments/{lead}/group/remove", data={"member_id": first}, headers=headers)
    assert again.status_code == 409 and await group_of(lead) == -1  # nothing changed twice

    left = await client.post(f"/comments/{second}/group/leave", headers=headers)
    assert left.status_code == 200
    assert await group_of(second) is None and await group_of(lead) is None  # its last member gone: no group
    board = await client.get(f"/boards/{world.board_id}")
    assert "group-lead" not in board.text and ">已并入<" not in board.text

    await merge(client, headers, lead, [first, second, third])
    assert await group_of(lead) == -3
    viewer = await as_user(client, "viewer")
    assert (await client.post(f"/comments/{lead}/group/dissolve", headers=viewer)).status_code == 403
    headers = await as_user(client, "member")
    dissolved = await client.post(f"/comments/{lead}/group/dissolve", headers=headers)
    assert dissolved.status_code == 200
    assert [await group_of(card) for card in (lead, first, second, third)] == [None] * 4
    ungrouped = await Event.count().where(Event.verb == "comment.ungrouped")
    assert ungrouped == 4 + 4  # two leavings (member and lead each), then the lead and its three
