"""Triage on arrival: every new comment is read by the worker, which flags sensitive words (and
tells the managers at once), sets sentiment and topic, counts similar comments and assigns
the card in turn to whoever is on duty; admins keep the words and rules, managers the rota."""

from __future__ import annotations

import asyncio

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from portal.accounts.services import get_active_user
from portal.accounts.tokens import create_token
from portal.boards.tables import Board, BoardMember
from portal.cards.tables import Card
from portal.comments import triage
from portal.comments.tables import CategoryRule, CommentDetail, SensitiveWord, SentimentCorrection
from portal.events.tables import Event, Outbox
from portal.notifications.tables import Notification
from portal.settings import get_settings
from tests import factories
from tests.conftest import csrf_from, login
from workers.settings import triage_comment

MAJOR = "我要上访，拆迁补偿一直不到位"  # 上访 is 重大 in the shipped list


async def detail(card_id: int) -> dict:
    row = (
        await CommentDetail.select(
            CommentDetail.sentiment,
            CommentDetail.sentiment_auto,
            CommentDetail.topic,
            CommentDetail.flag_tier,
            CommentDetail.flag_words,
            CommentDetail.similar_count,
            CommentDetail.triaged_at,
        )
        .where(CommentDetail.card == card_id)
        .output(load_json=True)
        .first()
    )
    card = (
        await Card.select(Card.labels, Card.assignee, Card.version)
        .where(Card.id == card_id)
        .output(load_json=True)
        .first()
    )
    return {**row, **card}


async def bells(user_id: int, card_id: int) -> int:
    return await Notification.count().where((Notification.user == user_id) & (Notification.card_id == card_id))


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


async def test_a_major_word_flags_the_comment_and_the_managers_bell_rings_once_through_the_worker(world):
    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    card_id = await world.card("member", column="new", title=MAJOR)  # its creation queues the job
    worker = Worker(functions=[triage_comment], redis_pool=pool, poll_delay=0.05, handle_signals=False)
    task = asyncio.create_task(worker.main())
    try:
        for _ in range(200):
            if (await detail(card_id))["triaged_at"] is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(worker.close(), return_exceptions=True)
        await pool.aclose()
    found = await detail(card_id)
    assert found["flag_tier"] == "major"
    assert [word["word"] for word in found["flag_words"]] == ["上访"]
    manager = world.users["manager"]
    assert await bells(manager, card_id) == 1, "the manager is told within the triage job itself"
    assert await bells(world.users["member"], card_id) == 0
    robots = await Outbox.select(Outbox.payload).where(Outbox.effect == "robots").output(load_json=True)
    assert [row["payload"]["key"] for row in robots] == [f"triage:{card_id}"]

    # The job again (arq retried, a sweep re-queued it): nothing more changes, nobody is told twice.
    assert await triage_comment({}, card_id) is False
    assert await bells(manager, card_id) == 1
    assert await Outbox.count().where(Outbox.effect == "robots") == 1
    assert await Event.count().where(Event.verb == "comment.triaged") == 1
    assert (await detail(card_id))["version"] == found["version"]


async def test_sentiment_and_topic_and_a_serious_complaint_tells_the_manager(world):
    complaint = await world.card("member", column="new", title="投诉！办事窗口互相推诿，等了三天都没人管")
    thanks = await world.card("member", column="new", title="感谢工作人员，辛苦了，问题很快就解决了")
    question = await world.card("member", column="new", title="医保报销需要什么材料", labels=["咨询"])
    for card_id in (complaint, thanks, question):
        assert await triage_comment({}, card_id) is True
    assert (await detail(complaint))["sentiment"] == "negative"
    assert (await detail(thanks))["sentiment"] == "positive"
    asked = await detail(question)
    assert asked["sentiment"] == "neutral"
    assert asked["topic"] == "医保"  # the shipped rules apply while the table is empty
    assert asked["labels"] == ["咨询", "医保"]
    # 推诿 and 没人管 are 较大: the manager hears of the complaint only.
    assert (await detail(complaint))["flag_tier"] == "serious"
    assert [await bells(world.users["manager"], card_id) for card_id in (complaint, thanks, question)] == [1, 0, 0]


async def test_a_persons_sentiment_is_kept_and_a_correction_is_kept_too(world, client):
    card_id = await world.card(
        "member", column="new", title="投诉！办事窗口互相推诿，等了三天都没人管", sentiment="neutral"
    )
    await triage_comment({}, card_id)
    found = await detail(card_id)
    assert (found["sentiment"], found["sentiment_auto"]) == ("neutral", "negative")

    await login(client, "member", factories.PASSWORD)
    csrf = csrf_from((await client.get("/boards")).text)
    headers = {"HX-Request": "true", "x-csrftoken": csrf}
    response = await client.post(
        f"/comments/{card_id}/sentiment", data={"sentiment": "negative", "version": found["version"]}, headers=headers
    )
    assert response.status_code == 200
    assert "sentiment-negative" in response.text
    assert (await detail(card_id))["sentiment"] == "negative"
    kept = await SentimentCorrection.select().where(SentimentCorrection.card == card_id)
    assert [(row["automatic"], row["corrected"], row["corrected_by"]) for row in kept] == [
        ("negative", "negative", world.users["member"])
    ]
    assert await Event.count().where(Event.verb == "comment.sentiment_corrected") == 1
    # An old version is refused and nothing changes; a viewer may not correct at all.
    stale = await client.post(
        f"/comments/{card_id}/sentiment", data={"sentiment": "positive", "version": found["version"]}, headers=headers
    )
    assert stale.status_code == 409
    assert (await detail(card_id))["sentiment"] == "negative"


async def test_the_triage_section_marks_the_words_and_escapes_the_text(world, client):
    card_id = await world.card("member", column="new", title="<b>上访</b> 群众", body="")
    await triage_comment({}, card_id)
    await login(client, "viewer", factories.PASSWORD)
    html = (await client.get(f"/comments/{card_id}/triage", headers={"HX-Request": "true"})).text
    assert '<mark class="tier-major" title="重大">上访</mark>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "/sentiment" not in html  # a viewer gets no correction form
    await login(client, "liaison", factories.PASSWORD)
    assert (await client.get(f"/comments/{card_id}/triage")).status_code == 404


async def test_topic_from_the_admins_rules_and_similar_comments_are_counted(world):
    await CategoryRule.insert(CategoryRule(category="轨道交通", keywords=["地铁", "末班车"], priority=5))
    first = await world.card("member", column="new", title="请问异地就医备案在哪里办理")
    second = await world.card("member", column="new", title="小编你好，异地就医备案在哪里办理啊")
    metro = await world.card("member", column="new", title="地铁末班车能不能延长")
    for card_id in (first, second, metro):
        await triage_comment({}, card_id)
    assert (await detail(metro))["topic"] == "轨道交通"
    assert (await detail(first))["topic"] is None  # the table's rules replace the defaults
    assert (await detail(second))["similar_count"] == 1
    assert (await detail(first))["similar_count"] == 1
    assert (await detail(metro))["similar_count"] == 0
    access = await world.access("member")
    section = await triage.triage_section(access, second)
    assert [other["id"] for other in section["similar_cards"]] == [first]


async def test_round_robin_among_members_on_duty_within_the_cap(clean_db):
    world = await factories.board(
        "comments",
        {
            "manager": ("manager", "publicity", "manager"),
            "anna": ("member", "publicity", "member"),
            "bo": ("member", "publicity", "member"),
            "chen": ("member", "publicity", "member"),
            "liaison": ("liaison", "health", "member"),
            "viewer": ("viewer", "publicity", "viewer"),
        },
    )
    await Board.update({Board.assign_cap: 2}).where(Board.id == world.board_id)
    await BoardMember.update({BoardMember.on_duty: False}).where(BoardMember.user == world.users["chen"])
    assigned = []
    for number in range(5):
        card_id = await world.card("manager", column="new", title=f"留言 {number}")
        await triage_comment({}, card_id)
        assigned.append((await detail(card_id))["assignee"])
    anna, bo = world.users["anna"], world.users["bo"]
    assert assigned == [anna, bo, anna, bo, None]  # chen is off duty; the cap of 2 stops the fifth


async def test_a_manager_switches_duty_and_sets_the_cap(world, client):
    await login(client, "manager", factories.PASSWORD)
    csrf = csrf_from((await client.get(f"/boards/{world.board_id}/settings")).text)
    headers = {"HX-Request": "true", "x-csrftoken": csrf}
    response = await client.post(
        f"/boards/{world.board_id}/duty/{world.users['member']}", data={"on_duty": "0"}, headers=headers
    )
    assert response.status_code == 200
    member_id = world.users["member"]
    assert f'id="duty-{member_id}"' in response.text and 'aria-pressed="false"' in response.text
    member = await BoardMember.select(BoardMember.on_duty).where(BoardMember.user == world.users["member"]).first()
    assert member["on_duty"] is False
    assert (
        await client.post(f"/boards/{world.board_id}/assign-cap", data={"assign_cap": "3"}, headers=headers)
    ).status_code == 200
    assert (await Board.select(Board.assign_cap).where(Board.id == world.board_id).first())["assign_cap"] == 3
    bad = await client.post(f"/boards/{world.board_id}/assign-cap", data={"assign_cap": "-1"}, headers=headers)
    assert bad.status_code == 422
    assert (await Board.select(Board.assign_cap).where(Board.id == world.board_id).first())["assign_cap"] == 3


async def test_the_sensitive_words_api(world, client):
    async def token(name: str) -> dict[str, str]:
        user = await get_active_user(world.users[name])
        return {"Authorization": f"Bearer {await create_token(user, 'triage')}"}

    admin = await token("admin")
    created = await client.post("/api/v1/sensitive-words", json={"word": "讨说法", "tier": "serious"}, headers=admin)
    assert created.status_code == 201
    assert created.json()["word"] == "讨说法" and created.json()["tier"] == "serious"
    again = await client.post("/api/v1/sensitive-words", json={"word": "讨说法", "tier": "major"}, headers=admin)
    assert again.status_code == 409
    bad = await client.post("/api/v1/sensitive-words", json={"word": "别的", "tier": "huge"}, headers=admin)
    assert bad.status_code == 422 and "tier" in bad.json()["errors"]
    member = await client.post(
        "/api/v1/sensitive-words", json={"word": "成员", "tier": "general"}, headers=await token("member")
    )
    assert member.status_code == 403
    listed = await client.get("/api/v1/sensitive-words", headers=admin)
    assert [(row["word"], row["tier"]) for row in listed.json()] == [("讨说法", "serious")]

    # The table now holds the words: the new word flags, the shipped list no longer applies.
    card_id = await world.card("member", column="new", title="我要去讨说法，也要上访")
    await triage_comment({}, card_id)
    found = await detail(card_id)
    assert found["flag_tier"] == "serious"
    assert [word["word"] for word in found["flag_words"]] == ["讨说法"]


async def test_an_import_with_a_bad_line_writes_nothing(world, client):
    await login(client, "admin", factories.PASSWORD)
    page = await client.get("/admin/sensitive-words")
    assert page.status_code == 200
    csrf = csrf_from(page.text)
    bad = "word,tier\n上访,重大\n维权,huge\n闹事\n"
    response = await client.post(
        "/admin/sensitive-words/import",
        files={"file": ("words.csv", bad.encode("utf-8"), "text/csv")},
        data={"_csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "3" in response.text and "4" in response.text  # the two bad lines are named
    assert await SensitiveWord.count() == 0
    good = "上访,重大\n维权\t较大\n投诉,general\n".encode("gb18030")
    response = await client.post(
        "/admin/sensitive-words/import",
        files={"file": ("words.txt", good, "text/plain")},
        data={"_csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    rows = await SensitiveWord.select(SensitiveWord.word, SensitiveWord.tier).order_by(SensitiveWord.word)
    assert {row["word"]: row["tier"] for row in rows} == {"上访": "major", "维权": "serious", "投诉": "general"}


async def test_a_sensitive_comments_bell_and_robot_post_mask_the_citizens_number(world):
    card_id = await world.card(
        "member", column="new", title="13812345678 我要上访", body="联系电话13812345678，拆迁补偿不到位"
    )
    assert await triage_comment({}, card_id) is True
    told = await Notification.select(Notification.title, Notification.body).where(Notification.card_id == card_id)
    assert told and all("13812345678" not in row["title"] + (row["body"] or "") for row in told)
    assert "138****5678" in told[0]["title"]
    robots = await Outbox.select(Outbox.payload).where(Outbox.effect == "robots").output(load_json=True)
    assert robots and all("13812345678" not in row["payload"]["text"] for row in robots)
