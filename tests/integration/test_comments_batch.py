"""Many at once (assign, label, move a selection; what may not be seen is skipped and
counted) and FAQ candidates (recurring questions with their best reply, turned into a draft
template)."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.cards.tables import Card
from portal.comments import faq
from portal.comments.tables import Reply, ReplyTemplate, ReplyTemplateVersion
from portal.events.tables import Event
from tests import factories
from tests.conftest import csrf_from, login


async def _as(client, username: str) -> str:
    client.cookies.clear()
    await login(client, username)
    return csrf_from((await client.get("/boards")).text)


async def _batch(client, token: str, board_id: int, data: dict):
    return await client.post(
        f"/boards/{board_id}/batch", data=data, headers={"HX-Request": "true", "x-csrftoken": token}
    )


async def _five(world) -> list[int]:
    """Four comments routed to health (the liaison's) and one to publicity (not hers)."""
    health, publicity = world.departments["health"], world.departments["publicity"]
    ids = [await world.card("manager", column="new", title=f"留言 {n}", department=health) for n in range(4)]
    return [*ids, await world.card("manager", column="new", title="宣传部的留言", department=publicity)]


async def test_a_liaison_assigns_labels_and_moves_five_cards_one_of_them_not_hers(clean_db, client):
    world = await factories.board("comments")
    ids = await _five(world)
    token = await _as(client, "liaison")

    response = await _batch(
        client, token, world.board_id, {"action": "assign", "assignee": world.users["member"], "card_ids": ids}
    )
    assert response.status_code == 200, response.text
    assert "4" in response.text and "1" in response.text  # 已处理 4 条，跳过 1 条
    assert "宣传部的留言" not in response.text  # the skipped card is counted, never named
    response = await _batch(client, token, world.board_id, {"action": "label", "label": "同题", "card_ids": ids})
    assert response.status_code == 200
    response = await _batch(
        client, token, world.board_id, {"action": "move", "column_id": world.columns["pending"], "card_ids": ids}
    )
    assert response.status_code == 200

    rows = {
        row["id"]: row
        for row in await Card.select(Card.id, Card.assignee, Card.labels, Card.column)
        .where(Card.id.is_in(ids))
        .output(load_json=True)
    }
    for card_id in ids[:4]:
        assert rows[card_id]["assignee"] == world.users["member"]
        assert rows[card_id]["labels"] == ["同题"]
        assert rows[card_id]["column"] == world.columns["pending"]
    assert rows[ids[4]] == {"id": ids[4], "assignee": None, "labels": [], "column": world.columns["new"]}
    # Each card went through the card service: its own events (viewers get each tile live).
    moved = await Event.count().where((Event.verb == "card.moved") & Event.object_id.is_in(ids))
    assert moved == 4


async def test_adding_a_label_twice_adds_it_once(clean_db, client):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new", title="一条")
    token = await _as(client, "member")
    data = {"action": "label", "label": "重复", "card_ids": [card_id]}
    assert (await _batch(client, token, world.board_id, data)).status_code == 200
    assert (await _batch(client, token, world.board_id, data)).status_code == 200
    row = await Card.select(Card.labels).where(Card.id == card_id).output(load_json=True).first()
    assert row["labels"] == ["重复"]


async def test_a_viewer_may_not_and_bad_input_changes_nothing(clean_db, client):
    world = await factories.board("comments")
    card_id = await world.card("member", column="new", title="一条")
    token = await _as(client, "viewer")
    data = {"action": "label", "label": "看", "card_ids": [card_id]}
    assert (await _batch(client, token, world.board_id, data)).status_code == 403
    token = await _as(client, "member")
    bad = {"action": "move", "column_id": 987654, "card_ids": [card_id]}
    assert (await _batch(client, token, world.board_id, bad)).status_code == 422
    assert (await _batch(client, token, world.board_id, {"action": "label", "card_ids": [card_id]})).status_code == 422
    row = await Card.select(Card.labels, Card.column).where(Card.id == card_id).output(load_json=True).first()
    assert row == {"labels": [], "column": world.columns["new"]}
    bar = await client.get(f"/boards/{world.board_id}/batch", headers={"HX-Request": "true"})
    assert bar.status_code == 200 and 'name="action"' in bar.text


QUESTIONS = [
    "请问医保异地备案怎么办理？",
    "医保异地备案怎么办理啊",
    "小编你好，医保异地备案怎么办理",
    "医保异地备案在哪里怎么办理？谢谢",
]


async def test_faq_lists_a_recurring_question_and_turns_its_reply_into_a_draft(clean_db, client):
    world = await factories.board("comments")
    ids = [await world.card("member", column="new", title=text[:20], body=text) for text in QUESTIONS]
    await world.card("member", column="new", title="地铁", body="地铁三号线什么时候通车")
    now = datetime.now(UTC)
    rows = await Reply.insert(
        Reply(card=ids[1], body="您好，可通过国家医保服务平台App办理异地备案。", status="sent", sent_at=now)
    ).returning(Reply.id)
    reply_id = rows[0]["id"]

    token = await _as(client, "member")
    page = await client.get(f"/boards/{world.board_id}/faq")
    assert page.status_code == 200
    assert "可通过国家医保服务平台App办理异地备案" in page.text
    windows = await faq.candidates(await world.access("member"))
    assert [(group["size"], sorted(group["card_ids"])) for group in windows[7]] == [(4, ids)]
    assert windows[7][0]["reply"]["id"] == reply_id and windows[30] == windows[7]
    assert "地铁三号线" not in page.text  # asked once: not a frequent question

    response = await client.post(
        f"/boards/{world.board_id}/faq/template",
        data={"reply_id": reply_id, "title": QUESTIONS[0][:20], "category": "医保"},
        headers={"HX-Request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 200, response.text
    template = await ReplyTemplate.select().where(ReplyTemplate.title == QUESTIONS[0][:20]).first()
    assert (
        template["status"] == "draft" and template["body"].startswith("您好，可通过") and template["category"] == "医保"
    )
    version = await ReplyTemplateVersion.select().where(ReplyTemplateVersion.template == template["id"]).first()
    assert version["version"] == 1 and version["body"] == template["body"]

    # A viewer reads the page but makes no templates.
    token = await _as(client, "viewer")
    assert (await client.get(f"/boards/{world.board_id}/faq")).status_code == 200
    response = await client.post(
        f"/boards/{world.board_id}/faq/template",
        data={"reply_id": reply_id, "title": "再来", "category": ""},
        headers={"HX-Request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 403


async def test_one_template_replies_to_every_selected_comment(clean_db, client):
    world = await factories.board("comments")
    rows = await ReplyTemplate.insert(
        ReplyTemplate(
            title="异地备案", category="医保", body="您好，异地备案可在国家医保服务平台App办理。", status="approved"
        )
    ).returning(ReplyTemplate.id)
    template_id = rows[0]["id"]
    calm = [await world.card("member", column="new", title=f"备案 {n}", platform="weibo") for n in range(2)]
    angry = await world.card("member", column="new", title="备案太难", platform="weibo", sentiment="negative")
    token = await _as(client, "member")
    response = await _batch(
        client, token, world.board_id, {"action": "reply", "template_id": template_id, "card_ids": [*calm, angry]}
    )
    assert response.status_code == 200, response.text
    replies = {row["card"]: row for row in await Reply.select(Reply.card, Reply.status, Reply.body)}
    assert {card_id: replies[card_id]["status"] for card_id in [*calm, angry]} == {
        calm[0]: "sent",
        calm[1]: "sent",
        angry: "pending",  # a negative comment's reply waits for a manager's approval
    }
    columns = {row["id"]: row["column"] for row in await Card.select(Card.id, Card.column)}
    assert columns[calm[0]] == columns[calm[1]] == world.columns["replied"]
    assert columns[angry] == world.columns["new"]
