"""Files attached to what is on a card: an internal note (every kind), a comment's reply, an
inquiry's step. The upload names its target (``note:12``); a target that is not on the card
is refused and nothing is written; the drawer's attachments section and the API say what
each file is attached to, numbers masked in the excerpt."""

from __future__ import annotations

import io

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.app import create_app
from portal.attachments import storage
from portal.attachments.tables import Attachment
from portal.cards.tables import Note
from portal.comments.tables import Reply
from portal.events.tables import Event
from portal.inquiries.tables import InquiryStep
from portal.settings import get_settings
from tests import factories
from tests.conftest import csrf_from, login

PEOPLE = {
    "zhangwei": ("member", "publicity", "member", "张伟"),
    "chenjing": ("manager", "publicity", "manager", "陈静"),
}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "media_dir_setting", tmp_path / "media")


@pytest.fixture
async def comments(clean_db):
    return await factories.board("comments", people=PEOPLE)


async def client_for(username: str) -> AsyncTestClient:
    client = AsyncTestClient(create_app(), base_url="http://testserver.local")
    await client.__aenter__()
    await login(client, username, factories.PASSWORD)
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    client.headers["HX-Request"] = "true"
    return client


async def note(card_id: int, author: int, body: str) -> int:
    rows = await Note.insert(Note(card=card_id, author=author, body=body)).returning(Note.id)
    return rows[0]["id"]


async def test_a_screenshot_attached_to_a_note_says_so_in_the_drawer(comments):
    card_id = await comments.card("zhangwei", column="new", title="网友反映地铁4号线拥挤")
    note_id = await note(card_id, comments.users["zhangwei"], "原帖已被删除，截图留存备查")
    client = await client_for("zhangwei")
    try:
        section = await client.get(f"/cards/{card_id}/attachments")
        # The upload form offers the note as a target, beside the card itself.
        assert f'<option value="note:{note_id}">备注：原帖已被删除，截图留存备查</option>' in section.text
        drawer = await client.get(f"/cards/{card_id}")
        assert f'data-attach-to="note:{note_id}"' in drawer.text

        response = await client.post(
            f"/cards/{card_id}/attachments",
            data={"target": f"note:{note_id}"},
            files=[("files", ("原帖截图.png", png(), "image/png"))],
        )
        assert response.status_code == 200, response.text
        assert "附于备注：原帖已被删除，截图留存备查" in response.text
        row = await Attachment.select(Attachment.target_type, Attachment.target_id).first()
        assert row == {"target_type": "note", "target_id": note_id}
        event = (
            await Event.select(Event.payload)
            .where(Event.verb == "card.attachment_added")
            .output(load_json=True)
            .first()
        )
        assert event["payload"]["target"] == f"note:{note_id}"
    finally:
        await client.__aexit__(None, None, None)


async def test_a_target_not_on_the_card_is_refused_and_nothing_is_written(comments):
    card_id = await comments.card("zhangwei", column="new", title="公交站牌信息有误")
    other = await comments.card("zhangwei", column="new", title="另一条留言")
    elsewhere = await note(other, comments.users["zhangwei"], "另一张卡片的备注")
    client = await client_for("zhangwei")
    try:
        for target in (f"note:{elsewhere}", "note:999999", "note:abc", "card:1:2"):
            response = await client.post(
                f"/cards/{card_id}/attachments",
                data={"target": target},
                files=[("files", ("截图.png", png(), "image/png"))],
            )
            assert response.status_code == 422, (target, response.text)
            assert "alert-error" in response.text
        # The target sent as a file part instead of a field: a message, not a server error.
        odd = await client.post(
            f"/cards/{card_id}/attachments",
            files=[("target", ("note.txt", b"note:1", "text/plain")), ("files", ("截图.png", png(), "image/png"))],
        )
        assert odd.status_code == 422 and "alert-error" in odd.text
        assert await Attachment.count() == 0
        assert list(storage.stored_files()) == []
    finally:
        await client.__aexit__(None, None, None)


async def test_the_api_attaches_to_a_reply_and_says_so(comments):
    card_id = await comments.card("zhangwei", column="new", title="地铁站电梯停运")
    reply = await Reply.insert(Reply(card=card_id, body="您好，电梯已于今日修复，感谢反映。")).returning(Reply.id)
    reply_id = reply[0]["id"]
    token = await create_token(await get_active_user(comments.users["zhangwei"]), "回复截图")
    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(
            f"/api/v1/cards/{card_id}/attachments",
            headers=headers,
            data={"target": f"reply:{reply_id}"},
            files=[("files", ("回复截图.png", png(), "image/png"))],
        )
        assert created.status_code == 201, created.text
        target = created.json()[0]["target"]
        assert target["type"] == "reply" and target["id"] == reply_id
        assert target["label"].startswith("回复：您好，电梯已于今日修复")
        listed = await client.get(f"/api/v1/cards/{card_id}/attachments", headers=headers)
        assert listed.json()[0]["target"]["id"] == reply_id
        # A step is not something a comment has: refused with a message.
        refused = await client.post(
            f"/api/v1/cards/{card_id}/attachments",
            headers=headers,
            data={"target": "step:1"},
            files=[("files", ("x.png", png(), "image/png"))],
        )
        assert refused.status_code == 422 and "不在这张卡片上" in refused.json()["errors"]["files"]


async def test_an_inquiry_step_is_a_target_with_the_citizens_number_masked(comments):
    inquiries = await comments.board("inquiries", name="12345 工单")
    card_id = await inquiries.card("chenjing", column="pending_accept", title="医保报销比例咨询")
    step = await InquiryStep.insert(
        InquiryStep(
            card=card_id, board=inquiries.board_id, action="contact", text="已电话联系13812345678，市民将补交发票"
        )
    ).returning(InquiryStep.id)
    step_id = step[0]["id"]
    client = await client_for("chenjing")
    try:
        section = await client.get(f"/cards/{card_id}/attachments")
        assert f'value="step:{step_id}"' in section.text
        assert "13812345678" not in section.text and "138****5678" in section.text
        response = await client.post(
            f"/cards/{card_id}/attachments",
            data={"target": f"step:{step_id}"},
            files=[("files", ("发票.png", png(), "image/png"))],
        )
        assert response.status_code == 200, response.text
        assert "附于办理步骤" in response.text
    finally:
        await client.__aexit__(None, None, None)
