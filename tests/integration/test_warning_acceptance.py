"""The issue's acceptance as a user would meet it, in one chain through the real parts: signed
posts to the intake API, the real arq worker (triage, the warning step, the deferred
escalation), the on-duty member's bell, the managers told when nobody acknowledges, the
manager's 转为事件 on the 舆情监测 page, and the incident's course through the drawer's
buttons — statement drafted, approved by someone else, published, a leader's 批示, review,
closed. (The same surge on a simulated clock, where its seconds are measured, is
test_warning_alerts.py's acceptance test; bench/warning.py gives the figures.)"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts.services import get_active_user
from portal.boards.tables import BoardMember
from portal.cards.tables import Card
from portal.comments import intake_services
from portal.comments import simulate as comment_simulation
from portal.comments.intake import sign
from portal.incidents.tables import IncidentStatement
from portal.notifications.tables import Notification
from portal.warning.simulate import surge_texts
from portal.warning.tables import WarningAlert, WarningSetting, WarningTopicMember
from tests import factories
from tests.conftest import csrf_from, login

SURGE = 40


@pytest.fixture
async def world(clean_db):
    people = {
        "admin": ("admin", None, ""),
        "chenjing": ("manager", "publicity", "manager", "陈静"),  # the board's manager
        "zhangwei": ("member", "publicity", "member", "张伟"),  # on duty (值班)
        "lina": ("member", "publicity", "member", "李娜"),  # a member not on duty
        "hejianguo": ("viewer", "publicity", "viewer", "何建国"),  # a leader
    }
    world = await factories.board("comments", people=people)
    await BoardMember.update({BoardMember.on_duty: False}).where(
        (BoardMember.board == world.board_id) & (BoardMember.user == world.users["lina"])
    )
    world.incidents = await world.board("incidents")
    return world


def payload(text: str, received_at: datetime, rng: random.Random) -> dict:
    return {
        "platform": rng.choice(["weibo", "wechat", "douyin"]),
        "external_id": f"acc-{uuid.uuid4().hex[:16]}",
        "author": f"网友{uuid.uuid4().hex[:8]}",  # 40 different people (the minute counts people)
        "text": text,
        "received_at": received_at.isoformat(),
    }


async def post(client, secret: str, message: dict) -> int:
    body = json.dumps(message, ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "X-Portal-Timestamp": str(timestamp),
        "X-Portal-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }
    # Litestar's AsyncTestClient waits for the app synchronously (its transport's
    # handle_async_request calls handle_request, a blocking portal call), which freezes this
    # loop, and the worker running in it, for the whole request: a job holding SQLite's write
    # lock could then not commit, and the request waited out the busy timeout (a 500 under
    # load). The request is sent from a thread of its own, as a relay's would be.
    answer = await asyncio.to_thread(asyncio.run, client.post("/api/intake/weibo-relay", content=body, headers=headers))
    assert answer.status_code == 201, answer.text
    return answer.json()["card_id"]


async def until(check, what: str, tries: int = 400):
    for _ in range(tries):
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker did not get to it: {what}")


async def observed(card_id: int) -> bool:
    return await WarningTopicMember.exists().where(WarningTopicMember.card == card_id)


@asynccontextmanager
async def real_worker():
    """The portal's worker (its jobs as `portal worker` registers them), in this process."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from portal.settings import get_settings
    from workers.settings import WorkerSettings

    pool = await create_pool(RedisSettings.from_dsn(get_settings().effective_redis_url))
    worker = Worker(functions=WorkerSettings.functions, redis_pool=pool, poll_delay=0.05, handle_signals=False)
    task = asyncio.create_task(worker.main())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(worker.close(), return_exceptions=True)
        await pool.aclose()


@asynccontextmanager
async def signed_in(username: str):
    from portal.app import create_app

    async with AsyncTestClient(create_app(), base_url="http://testserver.local") as client:
        await login(client, username)
        client.headers["x-csrftoken"] = csrf_from((await client.get("/boards")).text)
        yield client


async def press(client, card_id: int, action: str, **form) -> str:
    """A button of the incident's 处置 section, as the drawer posts it."""
    answer = await client.post(f"/incidents/{card_id}/{action}", data=form, headers={"hx-request": "true"})
    assert answer.status_code == 200, (action, answer.status_code, answer.text[:400])
    return answer.text


async def test_forty_comments_through_the_intake_api_to_a_closed_incident(world, client):
    users = world.users
    admin = await get_active_user(users["admin"])
    secret = (await intake_services.create_source(admin, "weibo-relay", world.board_id)).secret
    # Nobody acknowledges within the set time: here none (the row as only a test would write
    # it; an administrator sets 1 to 1,440 minutes), so the deferred job runs as soon as the
    # alert turns 橙 and no test waits out a real quarter of an hour.
    await WarningSetting.insert(WarningSetting(escalate_minutes=0))
    rng = random.Random(5)
    now = datetime.now(UTC)

    async with real_worker():
        # The background: an hour of ordinary comments (the demo city's), about 20.
        stream = comment_simulation.messages(rng)
        background = []
        for minute in sorted(rng.uniform(1, 60) for _ in range(20)):
            background.append(
                await post(client, secret, payload(next(stream).text, now - timedelta(minutes=minute), rng))
            )
        await until(lambda: observed(background[-1]), "the background")
        for card_id in background:
            await until(lambda card_id=card_id: observed(card_id), f"comment {card_id}")
        assert await WarningAlert.count() == 0  # ordinary comments raise nothing

        # The surge: 40 comments about 地铁停运, each observed before the next is sent.
        texts, surge, orange_at = surge_texts("地铁停运", rng), [], None
        duty_bell = (Notification.user == users["zhangwei"]) & Notification.dedupe_key.like("warning:%:orange:%")
        for index in range(1, SURGE + 1):
            surge.append(await post(client, secret, payload(next(texts), datetime.now(UTC), rng)))
            await until(lambda: observed(surge[-1]), f"surge comment {index}")
            if orange_at is None and await Notification.exists().where(duty_bell):
                orange_at = index
        # The 橙 bell rang with the surge's fourth comment: 45 s into 40 in ten minutes (one
        # every 15 s), within its first minute.
        assert orange_at == 4
        alerts = await WarningAlert.select().where(WarningAlert.merged_into.is_null())
        assert len(alerts) == 1, alerts  # one alert for the surge, its count rising
        alert = alerts[0]
        assert alert["level"] in ("orange", "red") and alert["raised_count"] > 1
        bell = await Notification.select(Notification.title, Notification.link).where(duty_bell).first()
        assert "橙" in bell["title"] and "地铁" in bell["title"]
        assert bell["link"] == f"/warning?alert={alert['id']}#alert-{alert['id']}"

        # Nobody acknowledged: the worker's deferred job escalated it to the managers, the
        # leader and the administrator, once; not to the member on duty.
        alert_id = alert["id"]
        await until(
            lambda: WarningAlert.exists().where(
                (WarningAlert.id == alert_id) & WarningAlert.escalated_at.is_not_null()
            ),
            "the escalation",
        )
        told = Notification.dedupe_key.like(f"warning-escalated:{alert_id}:%")
        for person in ("chenjing", "hejianguo", "admin"):
            assert await Notification.count().where((Notification.user == users[person]) & told) == 1, person
        assert await Notification.count().where((Notification.user == users["zhangwei"]) & told) == 0

    # The manager follows the link, sees it escalated, and makes it an incident.
    async with signed_in("chenjing") as manager:
        page = await manager.get(bell["link"].split("#")[0])
        row = page.text[page.text.index(f'id="alert-{alert_id}"') :]
        row = row[: row.index("</tr>")]
        assert 'aria-current="true"' in row and "升级" in row  # escalated, not acknowledged
        made = await manager.post(f"/warning/alerts/{alert_id}/incident", headers={"hx-request": "true"})
        assert made.status_code == 200, made.text[:300]
        card_url = made.headers["hx-redirect"]
        card_id = int(card_url.rsplit("/", 1)[1])
        card_page = await manager.get(card_url)
        assert card_page.status_code == 200 and "地铁" in card_page.text
        card = await Card.select(Card.board, Card.title).where(Card.id == card_id).first()
        assert card["board"] == world.incidents.board_id

    # The member on duty assesses, plans and drafts the statement; she may not approve it.
    statement = "经核实，今晨暴雨致地铁2号线部分区段停运，目前已恢复运营，公交接驳持续至18时。"
    async with signed_in("zhangwei") as duty:
        section = await duty.get(f"/incidents/{card_id}/workflow")
        assert "地铁" in section.text and f"/warning?alert={alert_id}" in section.text  # its topic and alert
        await press(duty, card_id, "assess", level="orange", assessment="传播快，负面为主")
        await press(duty, card_id, "respond-plan", plan="联系地铁集团核实，统一口径回应")
        await press(duty, card_id, "submit-statement", text=statement)
        refused = await duty.post(
            f"/incidents/{card_id}/approve-statement", data={"version": "1"}, headers={"hx-request": "true"}
        )
        assert refused.status_code == 409
    async with signed_in("chenjing") as manager:
        await press(manager, card_id, "approve-statement", version="1")
    async with signed_in("hejianguo") as leader:
        await press(leader, card_id, "instruct", text="请持续关注，及时发布权威信息")
    async with signed_in("zhangwei") as duty:
        await press(duty, card_id, "publish-statement", version="1")
        await press(duty, card_id, "calm")
        await press(duty, card_id, "review", text="口径发布及时；核实环节可提前")
        closed = await duty.post(f"/incidents/{card_id}/close", headers={"hx-request": "true"})
        assert closed.status_code == 200

    assert (await Card.select(Card.archived).where(Card.id == card_id).first())["archived"] is True
    version = await IncidentStatement.select().where(IncidentStatement.card == card_id).first()
    assert version["text"] == statement and version["status"] == "approved" and version["published_at"]
    assert version["submitted_by"] == users["zhangwei"] and version["decided_by"] == users["chenjing"]
    async with signed_in("chenjing") as manager:
        listed = (await manager.get("/api/v1/warning/alerts")).json()
    assert [(a["id"], a["status"], a["incident_card"]) for a in listed] == [(alert_id, "incident", card_id)]
