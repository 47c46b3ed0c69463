"""The questions collected during a campaign (counted when asked again, sent to a comments board
as a card, made a reply template) and the campaign's review page (复盘): goals against results
with percentages, the timeline, the team's words, printable and exported as XLSX."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from portal.campaigns import metrics, questions, review, workflow
from portal.campaigns.tables import CampaignDetail, CampaignQuestion, CampaignTask
from portal.cards.tables import Card
from portal.comments.tables import CommentDetail, ReplyTemplate
from portal.core.errors import Conflict, FormError, PermissionDenied
from portal.events.tables import Event
from tests.conftest import csrf_from, login
from tests.factories import board

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=3)


@pytest.fixture
async def world(clean_db):
    return await board("campaigns")


async def running(world, **fields) -> int:
    """A Douyin 知识挑战 with goals of 5,000 participants and 800 new followers, returned once
    with reasons, then approved: running."""
    card_id = await world.card(
        "member",
        "planning",
        **{
            "title": "医保知识我来答·抖音挑战赛",
            "theme": "医保新政知识普及",
            "policy_basis": "职工医保门诊共济保障新政",
            "campaign_format": "quiz",
            "platforms": ["douyin"],
            "starts_at": START,
            "ends_at": NOW + timedelta(days=10),
            "targets": {"douyin": {"participants": 5000, "new_followers": 800}},
            "budget": 4800,
            "assignee": world.users["member"],
            **fields,
        },
    )
    member, manager = await world.access("member"), await world.access("manager")
    await workflow.act(member, card_id, "submit", {})
    await workflow.act(manager, card_id, "return", {"reason": "奖励预算偏高，请压缩", "version": 1})
    await workflow.act(member, card_id, "submit", {"note": "已压缩预算"})
    await workflow.act(manager, card_id, "approve", {"version": 2})
    return card_id


async def version(card_id: int) -> int:
    return (await Card.select(Card.version).where(Card.id == card_id).first())["version"]


async def test_a_question_asked_again_is_counted_not_added_again(world):
    card_id = await running(world)
    member = await world.access("member")
    before = await version(card_id)
    first = await questions.add_question(
        member, card_id, {"text": "医保异地就医备案怎么办理？", "platform": "douyin", "asked_at": "2026-01-02 10:00"}
    )
    assert not first["counted"] and first["times"] == 1
    again = await questions.add_question(member, card_id, {"text": " 医保异地就医备案  怎么办理?"})
    assert again["counted"] and again["id"] == first["id"] and again["times"] == 2
    # One per line, numbering and blank lines ignored, repeats counted (also within the paste).
    result = await questions.paste_questions(
        member, card_id, {"lines": "1. 医保异地就医备案怎么办理\n2、门诊共济怎么用？\n\n- 门诊共济怎么用"}
    )
    assert result == {"added": 1, "counted": 2}
    listed = await questions.list_questions(card_id)
    assert [(q["text"], q["times"]) for q in listed] == [("医保异地就医备案怎么办理？", 3), ("门诊共济怎么用？", 2)]
    # Every write is an event and a new version of the card (the drawer's section reloads).
    assert await version(card_id) == before + 3
    assert await Event.count().where((Event.verb == "campaign.question") & (Event.object_id == card_id)) == 5

    with pytest.raises(FormError) as error:
        await questions.add_question(member, card_id, {"text": "微博上有吗？", "platform": "weibo"})
    assert "platform" in error.value.errors
    with pytest.raises(FormError) as error:
        await questions.add_question(member, card_id, {"text": "问" * 501})
    assert "text" in error.value.errors
    with pytest.raises(PermissionDenied):
        await questions.add_question(await world.access("viewer"), card_id, {"text": "我能提问吗？"})
    assert await CampaignQuestion.count().where(CampaignQuestion.card == card_id) == 2

    await questions.remove_question(member, card_id, listed[1]["id"])
    assert [q["text"] for q in await questions.list_questions(card_id)] == ["医保异地就医备案怎么办理？"]

    # A plan not yet running collects nothing.
    planned = await world.card("member", "planning", title="还在策划")
    with pytest.raises(Conflict):
        await questions.add_question(member, planned, {"text": "什么时候开始？"})


async def test_a_question_sent_to_a_comments_board_becomes_a_card_there_once(world):
    comments = await world.board("comments")
    # A comments board where the member only watches.
    watched = await world.board(
        "comments",
        {"member": ("member", "publicity", "viewer"), "manager": ("manager", "publicity", "manager")},
    )
    card_id = await running(world)
    member = await world.access("member")
    asked_at = NOW - timedelta(days=1)
    question = await questions.add_question(
        member, card_id, {"text": "医保异地就医备案怎么办理？", "platform": "douyin", "asked_at": asked_at.isoformat()}
    )
    await questions.add_question(member, card_id, {"text": "医保异地就医备案怎么办理"})

    offered = {b["id"] for b in await questions.comment_boards(member)}
    assert offered == {comments.board_id}
    for refused in (watched.board_id, world.board_id):
        with pytest.raises(FormError) as error:
            await questions.send_to_comments(member, card_id, question["id"], {"board": refused})
        assert "board" in error.value.errors
    assert not await Card.exists().where(Card.board.is_in([comments.board_id, watched.board_id]))

    comment_id = await questions.send_to_comments(member, card_id, question["id"], {"board": comments.board_id})
    card = await Card.select().where(Card.id == comment_id).output(load_json=True).first()
    assert card["board"] == comments.board_id and card["column"] == comments.columns["new"]
    assert card["title"] == "医保异地就医备案怎么办理？"
    assert "医保异地就医备案怎么办理？" in card["body"] and "2" in card["body"]
    assert card["labels"] == ["活动提问"]
    assert card["received_at"] == asked_at
    assert (await CommentDetail.select().where(CommentDetail.card == comment_id).first())["platform"] == "douyin"
    row = await CampaignQuestion.select().where(CampaignQuestion.id == question["id"]).first()
    assert row["comment_card"] == comment_id

    with pytest.raises(Conflict):
        await questions.send_to_comments(member, card_id, question["id"], {"board": comments.board_id})
    assert await Card.count().where(Card.board == comments.board_id) == 1


async def test_a_recurring_question_becomes_a_draft_reply_template(world):
    await world.board("comments")
    card_id = await running(world)
    member = await world.access("member")
    question = await questions.add_question(member, card_id, {"text": "医保异地就医备案怎么办理？"})
    with pytest.raises(FormError) as error:
        await questions.make_template(member, card_id, question["id"], {"answer": ""})
    assert "answer" in error.value.errors

    answer = "您好，可通过“国家医保服务平台”App 或临江医保公众号在线办理异地就医备案，备案后即可直接结算。"
    template_id = await questions.make_template(member, card_id, question["id"], {"answer": answer})
    template = await ReplyTemplate.select().where(ReplyTemplate.id == template_id).first()
    assert template["title"] == "医保异地就医备案怎么办理？"
    assert template["body"] == answer and template["status"] == "draft"
    assert (await CampaignQuestion.select().where(CampaignQuestion.id == question["id"]).first())["made_template"]
    with pytest.raises(Conflict):
        await questions.make_template(member, card_id, question["id"], {"answer": answer})
    assert await ReplyTemplate.count() == 1


async def test_the_review_page_shows_goals_against_results_and_exports_them(world, client):
    card_id = await running(world)
    member = await world.access("member")
    await metrics.record(
        member,
        card_id,
        [
            {"platform": "douyin", "at": (NOW - timedelta(days=2)).isoformat(), "participants": 2100},
            {
                "platform": "douyin",
                "at": (NOW - timedelta(hours=1)).isoformat(),
                "participants": 5600,
                "new_followers": 640,
            },
        ],
        source="hand",
    )
    await CampaignTask.insert(
        CampaignTask(card=card_id, title="发布活动预告", owner=world.users["member"], due_at=START, done_at=START)
    )
    await questions.add_question(member, card_id, {"text": "医保异地就医备案怎么办理？"})
    await questions.add_question(member, card_id, {"text": "医保异地就医备案怎么办理"})

    await login(client, "member")
    page = await client.get(f"/campaigns/{card_id}/review")
    assert page.status_code == 200
    html = page.text
    assert "医保知识我来答·抖音挑战赛" in html and "4,800" in html
    participants = html.split('data-platform="douyin" data-metric="participants"')[1].split("</tr>")[0]
    assert 'data-pct="112"' in participants and "5,600" in participants and "5,000" in participants
    row_start = html.rfind("<tr", 0, html.index('data-platform="douyin" data-metric="participants"'))
    assert "goal-met" in html[row_start : html.index('data-metric="participants"', row_start)]
    followers = html.split('data-platform="douyin" data-metric="new_followers"')[1].split("</tr>")[0]
    assert 'data-pct="80"' in followers
    assert 'data-platform="total" data-metric="participants"' in html
    # The timeline: the return with its reasons, the approval, the task done, the figures.
    timeline = html.split('id="review-timeline"')[1].split("</section>")[0]
    assert "奖励预算偏高，请压缩" in timeline and 'data-kind="approved"' in timeline
    assert "发布活动预告" in timeline and 'data-kind="metrics"' in timeline and 'data-kind="state"' in timeline
    questions_part = html.split('id="review-questions"')[1].split("</section>")[0]
    assert "×2" in questions_part and "医保异地就医备案怎么办理？" in questions_part
    assert f'href="/campaigns/{card_id}/review.xlsx"' in html and "data-print" in html

    export = await client.get(f"/campaigns/{card_id}/review.xlsx")
    assert export.status_code == 200
    assert "filename*=UTF-8''" in export.headers["content-disposition"]
    assert "%E5%8C%BB%E4%BF%9D" in export.headers["content-disposition"]  # 医保, in the name
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["概况", "目标与结果", "指标快照", "时间线", "网友提问", "复盘总结"]
    goals = [[cell for cell in row] for row in book["目标与结果"].iter_rows(min_row=2)]
    douyin = next(row for row in goals if row[0].value == "抖音" and row[1].value == "参与人数")
    assert [douyin[2].value, douyin[3].value] == [5000, 5600]
    assert douyin[4].value == pytest.approx(1.12) and "%" in douyin[4].number_format
    snapshots = list(book["指标快照"].iter_rows(min_row=2, values_only=True))
    assert [row[2] for row in snapshots] == [2100, 5600]
    asked = list(book["网友提问"].iter_rows(min_row=2, values_only=True))
    assert asked[0][0] == "医保异地就医备案怎么办理？" and asked[0][2] == 2


async def test_the_export_writes_formulas_and_control_characters_as_plain_text(world, client):
    # Written before input refused control characters (or by a path that does not check them):
    # the export still opens, every text is text, the characters are gone.
    card_id = await running(world)
    title = '=HYPERLINK("http://example.invalid","点我")\x01'
    await Card.update({Card.title: title}).where(Card.id == card_id)
    asked = "=cmd|' /C calc'!A0\x07"
    await CampaignQuestion.insert(
        CampaignQuestion(card=card_id, text=asked, asked_at=NOW, times=3),
        CampaignQuestion(card=card_id, text="#N/A", asked_at=NOW, times=2),
        CampaignQuestion(card=card_id, text="@SUM(1+1)\x1b[31m", asked_at=NOW, times=1),
    )
    await CampaignTask.insert(
        CampaignTask(card=card_id, title="+1 转发\x0b抽奖", owner=world.users["member"], done_at=NOW)
    )
    await CampaignDetail.update(
        {CampaignDetail.went_well: "-2+3 第一点\n\t第二点\x08", CampaignDetail.to_change: "\ufffe下次提前\x1f预热"}
    ).where(CampaignDetail.card == card_id)

    await login(client, "member")
    export = await client.get(f"/campaigns/{card_id}/review.xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    cells = [cell for ws in book for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type in ("f", "e")]
    texts = {cell.value: cell for cell in cells if isinstance(cell.value, str)}
    expected = {
        '=HYPERLINK("http://example.invalid","点我")',
        "=cmd|' /C calc'!A0",
        "#N/A",
        "@SUM(1+1)[31m",
        "-2+3 第一点\n\t第二点",
        "下次提前预热",
    }
    assert expected <= set(texts)
    assert any(text.endswith("+1 转发抽奖") for text in texts)  # the timeline's task done
    for text in expected:
        assert texts[text].data_type == "s"
        # Shown as typed even when a spreadsheet program re-reads the cell (Excel's apostrophe).
        assert texts[text].quotePrefix == text.startswith(("=", "+", "-", "@"))
    overview = dict(book["概况"].iter_rows(values_only=True))
    assert overview["活动名称"] == '=HYPERLINK("http://example.invalid","点我")'
    assert [row[0] for row in book["网友提问"].iter_rows(min_row=2, values_only=True)] == [
        "=cmd|' /C calc'!A0",
        "#N/A",
        "@SUM(1+1)[31m",
    ]
    # A plain text is left as it is.
    assert not texts["医保新政知识普及"].quotePrefix


async def test_control_characters_are_refused_at_input_nothing_written(world, client):
    card_id = await running(world)
    member = await world.access("member")
    before = await version(card_id)
    for text in ("医保\x00怎么办", "医保\x1b[31m怎么办", "医保\x7f", "医保\ufffe"):
        with pytest.raises(FormError) as error:
            await questions.add_question(member, card_id, {"text": text})
        assert "控制字符" in error.value.errors["text"]
    with pytest.raises(FormError) as error:
        await questions.paste_questions(member, card_id, {"lines": "第一问\n第二\x07问\n第三问"})
    assert "第 2 行" in error.value.errors["lines"]
    # Tabs and line breaks are the text's own spacing: a question is one line.
    assert (await questions.add_question(member, card_id, {"text": "医保\t怎么\r\n办"}))["text"] == "医保 怎么 办"
    assert [q["text"] for q in await questions.list_questions(card_id)] == ["医保 怎么 办"]
    assert await version(card_id) == before + 1

    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/campaigns/{card_id}/questions", json={"text": "=1+1\x01"})
    assert response.status_code == 422 and "text" in response.json()["errors"]

    page = await client.get(f"/campaigns/{card_id}/review")
    token = csrf_from(page.text)
    for field in ("went_well", "to_change"):
        response = await client.post(
            f"/campaigns/{card_id}/review",
            data={"_csrf_token": token, "went_well": "题目贴近生活", "to_change": "预热期太短", field: "好\x08的"},
        )
        assert response.status_code == 422
        assert "控制字符" in response.text and "field-error" in response.text
    detail = await CampaignDetail.select().where(CampaignDetail.card == card_id).first()
    assert not detail["went_well"] and not detail["to_change"]
    assert await version(card_id) == before + 1
    # Several lines, indented with tabs, are fine.
    response = await client.post(
        f"/campaigns/{card_id}/review",
        data={"_csrf_token": token, "went_well": "一、题目贴近生活\r\n\t二、专家审核", "to_change": "预热期太短"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    detail = await CampaignDetail.select().where(CampaignDetail.card == card_id).first()
    assert detail["went_well"] == "一、题目贴近生活\n\t二、专家审核"


async def test_the_export_shows_the_completion_the_page_shows(world, client):
    # 9,995 of 10,000 is 99% on the page (rounded down, not met): the same in the workbook.
    card_id = await running(world, targets={"douyin": {"participants": 10000}})
    await metrics.record(
        await world.access("member"),
        card_id,
        [{"platform": "douyin", "at": (NOW - timedelta(hours=1)).isoformat(), "participants": 9995}],
        source="hand",
    )
    await login(client, "member")
    html = (await client.get(f"/campaigns/{card_id}/review")).text
    row = html.split('data-platform="douyin" data-metric="participants"')[1].split("</tr>")[0]
    assert 'data-pct="99"' in row and "99%" in row and "9,995" in row
    export = await client.get(f"/campaigns/{card_id}/review.xlsx")
    goals = list(load_workbook(io.BytesIO(export.content))["目标与结果"].iter_rows(min_row=2))
    douyin = next(row for row in goals if row[0].value == "抖音" and row[1].value == "参与人数")
    assert [douyin[2].value, douyin[3].value] == [10000, 9995]
    assert douyin[4].value == pytest.approx(0.99) and douyin[4].number_format == "0%"
    assert f"{douyin[4].value:.0%}" == "99%"


async def test_the_team_writes_the_review_viewers_only_read_it(world, client):
    card_id = await running(world)
    await login(client, "member")
    page = await client.get(f"/campaigns/{card_id}/review")
    assert 'name="went_well"' in page.text
    token = csrf_from(page.text)
    seen = page.text.split('name="seen" value="')[1].split('"')[0]
    response = await client.post(
        f"/campaigns/{card_id}/review",
        data={"_csrf_token": token, "seen": seen, "went_well": "题目贴近生活", "to_change": "预热期太短"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    detail = await CampaignDetail.select().where(CampaignDetail.card == card_id).first()
    assert (detail["went_well"], detail["to_change"]) == ("题目贴近生活", "预热期太短")
    assert "题目贴近生活" in (await client.get(f"/campaigns/{card_id}/review")).text

    # Too long: 422 with the message, nothing saved.
    response = await client.post(
        f"/campaigns/{card_id}/review",
        data={"_csrf_token": token, "went_well": "好" * 5001, "to_change": "预热期太短"},
    )
    assert response.status_code == 422 and "field-error" in response.text
    # A form loaded before someone else's save does not overwrite their words.
    response = await client.post(
        f"/campaigns/{card_id}/review",
        data={"_csrf_token": token, "seen": seen, "went_well": "旧的表单", "to_change": ""},
    )
    assert response.status_code == 409
    detail = await CampaignDetail.select().where(CampaignDetail.card == card_id).first()
    assert detail["went_well"] == "题目贴近生活"

    await login(client, "viewer")
    page = await client.get(f"/campaigns/{card_id}/review")
    assert page.status_code == 200 and "题目贴近生活" in page.text and 'name="went_well"' not in page.text
    response = await client.post(
        f"/campaigns/{card_id}/review",
        data={"_csrf_token": csrf_from(page.text), "went_well": "我来写", "to_change": ""},
    )
    assert response.status_code == 403

    # Someone who may not see the campaign finds nothing, nor does anyone for a card of
    # another kind.
    await login(client, "outsider")
    assert (await client.get(f"/campaigns/{card_id}/review")).status_code == 404
    assert (await client.get(f"/campaigns/{card_id}/review.xlsx")).status_code == 404
    assert (await client.get(f"/campaigns/{card_id}/questions")).status_code == 404
    comments = await world.board("comments")
    other = await comments.card("member", title="一条留言")
    await login(client, "member")
    assert (await client.get(f"/campaigns/{other}/review")).status_code == 404


async def test_a_plan_just_begun_has_a_review_page_that_says_what_is_missing(world, client):
    card_id = await world.card("member", "planning", title="还在策划的活动")
    await login(client, "member")
    page = await client.get(f"/campaigns/{card_id}/review")
    assert page.status_code == 200
    assert "还在策划的活动" in page.text and 'class="empty"' in page.text
    export = await client.get(f"/campaigns/{card_id}/review.xlsx")
    assert export.status_code == 200 and load_workbook(io.BytesIO(export.content))["目标与结果"].max_row == 1
    data = await review.review(await world.access("member"), card_id)
    assert data["goals"] == [] and data["questions"] == []


async def test_the_section_and_the_api_collect_and_count_questions(world, client):
    await world.board("comments")
    card_id = await running(world)
    await login(client, "member")
    client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
    response = await client.post(f"/api/v1/campaigns/{card_id}/questions", json={"text": "奖品什么时候发？"})
    assert response.status_code == 201 and response.json()["times"] == 1
    response = await client.post(f"/api/v1/campaigns/{card_id}/questions", json={"text": "奖品什么时候发"})
    assert response.status_code == 200 and response.json()["counted"] and response.json()["times"] == 2
    response = await client.post(f"/api/v1/campaigns/{card_id}/questions", json={"text": ""})
    assert response.status_code == 422
    listed = (await client.get(f"/api/v1/campaigns/{card_id}/questions")).json()
    assert [(q["text"], q["times"]) for q in listed["questions"]] == [("奖品什么时候发？", 2)]
    question_id = listed["questions"][0]["id"]

    client.headers["HX-Request"] = "true"
    section = await client.get(f"/campaigns/{card_id}/questions")
    assert "奖品什么时候发？" in section.text and 'data-times="2"' in section.text
    assert f'data-card-version="{await version(card_id)}"' in section.text
    assert 'data-action="send"' in section.text and 'data-action="template"' in section.text
    response = await client.post(f"/campaigns/{card_id}/questions/paste", data={"lines": "\n \n"})
    assert response.status_code == 422 and "field-error" in response.text
    response = await client.post(
        f"/campaigns/{card_id}/questions/{question_id}/template", data={"answer": "发放时间见活动公告。"}
    )
    assert response.status_code == 200 and "data-made-template" in response.text


async def test_the_demo_campaigns_carry_questions_and_a_written_review(world):
    card_id = await running(world)
    card = {"title": "医保知识我来答", "platforms": ["douyin"], "starts_at": START, "ends_at": NOW, "assignee": None}
    await questions.seed_questions(card_id, "review", card, NOW)
    top = (await questions.list_questions(card_id))[0]
    assert top["text"] == "医保异地就医备案怎么办理？" and top["times"] > 1 and top["platform"] == "douyin"
    assert all(START <= q["asked_at"] <= NOW for q in await questions.list_questions(card_id))
    detail = await CampaignDetail.select().where(CampaignDetail.card == card_id).first()
    assert detail["went_well"] and detail["to_change"]


async def test_a_top_question_becomes_a_reply_template_from_the_review_page(world, client):
    await world.board("comments")  # the member and the manager work on reply templates there
    card_id = await running(world)
    member = await world.access("member")
    asked = await questions.add_question(member, card_id, {"text": "奖品什么时候发放？"})
    await questions.add_question(member, card_id, {"text": "奖品什么时候发放"})
    other = await questions.add_question(member, card_id, {"text": "可以重复答题吗？"})

    await login(client, "member")
    page = await client.get(f"/campaigns/{card_id}/review")
    part = page.text.split('id="review-questions"')[1].split("</section>")[0]
    # The drawer's form, on each question not made a template yet.
    assert part.count('data-action="template"') == 2
    assert f'action="/campaigns/{card_id}/review/questions/{asked["id"]}/template"' in part
    assert 'name="answer"' in part and "no-print" in part
    token = csrf_from(page.text)

    # No answer: the page again, the form open with its message, nothing made.
    refused = await client.post(
        f"/campaigns/{card_id}/review/questions/{asked['id']}/template", data={"_csrf_token": token, "answer": ""}
    )
    assert refused.status_code == 422
    form = refused.text.split(f'data-question-id="{asked["id"]}"')[1].split("</li>")[0]
    assert '<details class="case-action" open>' in form and "field-error" in form
    assert await ReplyTemplate.count() == 0

    answer = "奖品将在活动结束后 5 个工作日内发放，请留意抖音私信。"
    made = await client.post(
        f"/campaigns/{card_id}/review/questions/{asked['id']}/template",
        data={"_csrf_token": token, "answer": answer},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"].startswith(f"/campaigns/{card_id}/review?templated=1")
    template = await ReplyTemplate.select().first()
    assert (template["title"], template["body"], template["status"]) == ("奖品什么时候发放？", answer, "draft")
    page = await client.get(made.headers["location"])
    part = page.text.split('id="review-questions"')[1].split("</section>")[0]
    assert "已生成答复口径草稿" in part  # the flash says so
    done = part.split(f'data-question-id="{asked["id"]}"')[1].split("</li>")[0]
    assert "data-made-template" in done and 'data-action="template"' not in done
    assert part.count('data-action="template"') == 1  # the other question still offers it
    again = await client.post(
        f"/campaigns/{card_id}/review/questions/{asked['id']}/template", data={"_csrf_token": token, "answer": answer}
    )
    assert again.status_code == 409 and await ReplyTemplate.count() == 1

    # Viewers read the page without the form, and may not post it.
    await login(client, "viewer")
    page = await client.get(f"/campaigns/{card_id}/review")
    assert page.status_code == 200 and 'data-action="template"' not in page.text and "可以重复答题吗？" in page.text
    refused = await client.post(
        f"/campaigns/{card_id}/review/questions/{other['id']}/template",
        data={"_csrf_token": csrf_from(page.text), "answer": answer},
    )
    assert refused.status_code == 403 and await ReplyTemplate.count() == 1
