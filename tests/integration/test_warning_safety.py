"""Early warning under pressure: concurrent observations merging topics, a phone number in a
keyword-less comment, 转为事件 twice at once, a failed warning step retried, the live signal
coalesced in a surge, the audit trail of warning changes, and the daily clean-up. Real
SQLite / PostgreSQL and Redis (the same tests run on both)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.services import get_active_user
from portal.boards.tables import BoardMember
from portal.cards.tables import Card
from portal.comments import intake_services, triage
from portal.core.errors import Conflict
from portal.events.tables import Event
from portal.incidents.tables import IncidentDetail
from portal.notifications.tables import Notification
from portal.warning import detection, services
from portal.warning.simulate import Simulation, _comments_board, message
from portal.warning.tables import (
    WarningAlert,
    WarningTopic,
    WarningTopicBucket,
    WarningTopicMember,
)
from tests import factories
from tests.integration.test_warning_alerts import START, _api_alert, _topic_with_alert

PHONE = re.compile(r"\d{7,}")


@pytest.fixture
async def world(clean_db):
    world = await factories.board("comments")
    await BoardMember.update({BoardMember.on_duty: True}).where(
        (BoardMember.board == world.board_id) & (BoardMember.user == world.users["member"])
    )
    return world


async def _received(world, text: str, at: datetime) -> int:
    """A comment through intake and triage, not yet observed by the early warning."""
    import random

    access = await _comments_board(world.board_id)
    received = await intake_services.receive(access, message(text, at, random.Random(3)))
    await triage.triage_card(received.card_id)
    return received.card_id


async def test_concurrent_observations_that_merge_topics_lose_no_comment_and_no_alert(world):
    """Two topics of one subject, each with an open alert; comments about it observed at once
    (several workers): every comment ends in exactly one live topic, no alert vanishes."""
    older = await _topic_with_alert(world, "地铁 停运", "yellow", first_at=START, raised=3, volume=12)
    await _topic_with_alert(world, "停运 地铁", "orange", first_at=START + timedelta(minutes=2), raised=2, volume=8)
    at = START + timedelta(minutes=5)
    texts = ["地铁停运了，站里挤满了人", "暴雨地铁停运，谁负责", "地铁站停运，什么时候恢复", "地铁全线停运"]
    cards = [await _received(world, text, at) for text in texts]
    results = await asyncio.gather(
        *[services.observe_comment(card_id, now=at) for card_id in cards], return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    members = await WarningTopicMember.select(WarningTopicMember.card, WarningTopicMember.topic).where(
        WarningTopicMember.card.is_in(cards)
    )
    assert sorted(m["card"] for m in members) == sorted(cards)  # each once
    live = {row["id"] for row in await WarningTopic.select(WarningTopic.id)}
    assert {m["topic"] for m in members} <= live
    assert {m["topic"] for m in members} == {older}  # merged into the older topic
    alerts = await WarningAlert.select()
    assert len(alerts) == 2 and all(alert["topic"] in live for alert in alerts)
    assert len([alert for alert in alerts if alert["merged_into"] is None]) == 1


async def test_a_keyword_less_comment_never_names_its_topic_after_a_phone_number(world):
    sim = Simulation(world.board_id)
    card_id = await sim.send("怎么办？13812345678", START)
    topic_id = sim.topics[card_id]
    stored = (await WarningTopic.select(WarningTopic.name).where(WarningTopic.id == topic_id).first())["name"]
    assert not PHONE.search(stored) and stored
    assert str(topic_id) in stored  # the neutral name, by its number
    assert not PHONE.search(await services.topic_name(topic_id))
    # Even a name that holds a number (an older row) leaves the service masked.
    await WarningTopic.update({WarningTopic.name: "13812345678 怎么办"}).where(WarningTopic.id == topic_id)
    assert not PHONE.search(await services.topic_name(topic_id))
    admin = await get_active_user(world.users["admin"])
    overview = await services.topics_overview(admin, now=START)
    assert overview and not any(PHONE.search(services.topic_json(t)["name"]) for t in overview)
    # An alert on it (a 重大 word): its bells, robots and API answer carry no number either.
    await sim.send("13812345678 我要上访", START + timedelta(seconds=30))
    alerts = await services.list_alerts(admin, now=START)
    assert alerts and not any(PHONE.search(services.alert_json(a)["topic"]["name"]) for a in alerts)
    bells = await Notification.select(Notification.title).where(Notification.dedupe_key.like("warning%"))
    assert bells and not any(PHONE.search(row["title"]) for row in bells)


async def test_making_an_incident_twice_at_once_opens_one(world):
    alert_id = await _api_alert(world)
    incidents = await world.board("incidents")
    manager = await get_active_user(world.users["manager"])
    admin = await get_active_user(world.users["admin"])
    results = await asyncio.gather(
        services.make_incident(manager, alert_id), services.make_incident(admin, alert_id), return_exceptions=True
    )
    opened = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(opened) == 1 and len(refused) == 1, results
    assert await Card.count().where(Card.board == incidents.board_id) == 1
    assert await IncidentDetail.count().where(IncidentDetail.alert_id == alert_id) == 1
    alert = await WarningAlert.select().where(WarningAlert.id == alert_id).first()
    assert alert["incident_card"] == opened[0]


async def test_a_failed_warning_step_is_retried_and_counts_the_comment_once(world, monkeypatch):
    from arq import Retry

    from workers.settings import triage_comment

    card_id = await _received(world, "小区停水三天了，物业不管", datetime.now(UTC))

    async def broken(card_id, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "observe_comment", broken)
    with pytest.raises(Retry):
        await triage_comment({"job_try": 1}, card_id)
    assert not await WarningTopicMember.exists().where(WarningTopicMember.card == card_id)
    monkeypatch.undo()
    assert await triage_comment({"job_try": 2}, card_id) is False  # triaged before: the warning step only
    assert await services.observe_comment(card_id) is None  # observed: a second time is a no-op
    assert await WarningTopicMember.count().where(WarningTopicMember.card == card_id) == 1
    topic = (await WarningTopicMember.select(WarningTopicMember.topic).first())["topic"]
    assert (await WarningTopic.select(WarningTopic.comments).where(WarningTopic.id == topic).first())["comments"] == 1
    buckets = await WarningTopicBucket.select(WarningTopicBucket.comments).where(WarningTopicBucket.topic == topic)
    assert sum(b["comments"] for b in buckets) == 1


async def test_a_burst_of_observations_signals_each_board_at_most_twice(world, redis_client):
    from portal.live.channels import Envelope, user_channel
    from portal.live.publisher import backend_for

    backend = backend_for(redis_client)
    pubsub = redis_client.pubsub()
    channel = backend.name(user_channel(world.users["member"]))
    await pubsub.subscribe(channel)
    now = datetime.now(UTC)
    try:
        cards = [await _received(world, f"公交{n}路晚点，等了半小时", now) for n in range(20)]
        for card_id in cards:  # a surge: every observation changes the page (and raises the alert)
            await services.observe_comment(card_id, now=now)
        # Everything was published before observe_comment returned: read until the channel
        # stays quiet (the first None is the subscription's own acknowledgement).
        signals, quiet = 0, 0
        while quiet < 5:
            found = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if found is None:
                quiet += 1
                continue
            signals += b"warning-signal" in Envelope.decode(found["data"]).html["zh_Hans"]
    finally:
        await pubsub.aclose()
    assert 1 <= signals <= 2
    # The rest wait for one trailing signal per board and period (a job id each: queued once).
    queued = [key async for key in redis_client.scan_iter(match=f"arq:job:warning-live:{world.board_id}:*")]
    assert 1 <= len(queued) <= 2
    from workers.settings import signal_warning_live

    await signal_warning_live({"redis": redis_client}, world.board_id)  # the trailing job runs


async def test_warning_changes_are_in_the_audit_trail(world):
    alert_id = await _api_alert(world)
    manager = await get_active_user(world.users["manager"])
    admin = await get_active_user(world.users["admin"])
    await services.acknowledge(manager, alert_id)
    await services.acknowledge(manager, alert_id)  # twice: one record
    rule_id = await services.add_rule(
        admin, services.WatchRuleInput(name="停水", keywords=["停水"], window_minutes=30, min_count=3)
    )
    await services.delete_rule(admin, rule_id)
    await services.set_escalate_minutes(admin, services.WarningSettingInput(escalate_minutes=20))
    events = await Event.select(Event.verb, Event.actor, Event.object_id).where(Event.verb.like("warning.%"))
    assert {(e["verb"], e["actor"]) for e in events} == {
        ("warning.alert_acknowledged", manager.id),
        ("warning.rule_added", admin.id),
        ("warning.rule_removed", admin.id),
        ("warning.escalation_set", admin.id),
    }
    assert [e["object_id"] for e in events if e["verb"] == "warning.alert_acknowledged"] == [alert_id]


async def test_the_daily_purge_removes_old_counts_and_idle_topics_without_alerts(world):
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=40)
    sim = Simulation(world.board_id)
    idle_card = await sim.send("公交站牌坏了很久没人修", long_ago)
    idle_topic = sim.topics[idle_card]
    with_alert = await _topic_with_alert(world, "拆迁 补偿", "blue", first_at=long_ago, raised=1, volume=6)
    fresh_card = await sim.send("小区停水，物业不管", now - timedelta(hours=1))
    fresh_topic = sim.topics[fresh_card]
    old_slot = detection.slot_of(now - timedelta(days=9))
    await WarningTopicBucket.insert(WarningTopicBucket(topic=fresh_topic, slot=old_slot, comments=3, negative=1))
    removed = await services.purge_old(now)
    assert removed["topics"] == 1 and removed["buckets"] >= 2
    live = {row["id"] for row in await WarningTopic.select(WarningTopic.id)}
    assert idle_topic not in live and {with_alert, fresh_topic} <= live
    assert not await WarningTopicMember.exists().where(WarningTopicMember.card == idle_card)
    assert await WarningTopicMember.exists().where(WarningTopicMember.card == fresh_card)
    assert not await WarningTopicBucket.exists().where(
        WarningTopicBucket.slot < detection.slot_of(now - timedelta(days=8))
    )
    assert await WarningTopicBucket.exists().where(WarningTopicBucket.topic == fresh_topic)
    assert await services.purge_old(now) == {"buckets": 0, "topics": 0}
