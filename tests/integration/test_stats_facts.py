"""The figures counted from the facts each process keeps (portal.stats.facts) are the figures
counted straight from the tables (``dashboard(reference=True)``), after any change, made
through the write path or behind it (SQL by hand, a worker): the change log's triggers name
every changed card, and the next dashboard reloads those cards' facts. Also: the facts reload
what a transaction committed after a later one (PostgreSQL), and the worker prunes the log."""

# ruff: noqa: F811 - the city fixture is imported from the figures' tests

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from portal.cards.services import StaleCard
from portal.cards.tables import Card
from portal.comments import replies
from portal.comments.replies import ReplyInput
from portal.comments.tables import CommentDetail
from portal.core.errors import Conflict, FormError
from portal.events.tables import Event
from portal.inquiries import supervision, workflow
from portal.inquiries.tables import InquiryDetail
from portal.stats import facts, figures, warm
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.integration.test_stats_figures import NOW, City, city, move, period  # noqa: F401

VIEWS = [("admin", {}), ("liaison", {}), ("manager", {}), ("admin", {"department": "publicity"})]


async def assert_same_figures(city: City, note: str) -> list[dict]:
    """Every view's dashboard from the facts equals the one counted from the tables; the views'."""
    found = []
    for username, narrowing in VIEWS:
        user = await city.user(username)
        if "department" in narrowing:
            narrowing = {"department": city.departments[narrowing["department"]]}
        filters = period(**narrowing)
        kept = await figures.dashboard(user, filters)
        reference = await figures.dashboard(user, filters, reference=True)
        for name in reference:
            assert kept[name] == reference[name], f"{note}: {username} {narrowing}: {name} differs"
        found.append(kept)
    return found


async def test_the_kept_facts_give_the_tables_figures_after_every_kind_of_change(city):
    before = await assert_same_figures(city, "at first")
    assert before[0]["volume"]["received"] > 0 and before[0]["deadlines"]["reopened"] == 1  # the city's work is counted

    c3, i2, i3, i5 = city.ids["C3"], city.ids["I2"], city.ids["I3"], city.ids["I5"]
    health = city.departments["health"]
    changes = [
        # Through the write path.
        ("a reply sent", lambda: reply(city, c3)),
        ("a case closed", lambda: move(city.comments, city.ids["C2"], "closed")),
        ("a closed case reopened", lambda: move(city.comments, city.ids["C5"], "new")),
        ("a notice (督办)", lambda: supervise(city, i3)),
        ("a case accepted", lambda: accept(city, i3)),
        # Behind it: SQL by hand, as a worker or an import might.
        ("reassigned", lambda: Card.update({Card.assignee: city.users["member2"]}).where(Card.id == c3)),
        ("another department", lambda: Card.update({Card.department: health}).where(Card.id == c3)),
        ("assisting departments", lambda: Card.update({Card.assisting_departments: [health]}).where(Card.id == i2)),
        ("received earlier", lambda: Card.update({Card.received_at: NOW - timedelta(days=30)}).where(Card.id == i5)),
        (
            "a platform",
            lambda: CommentDetail.update({CommentDetail.platform: "douyin"}).where(CommentDetail.card == c3),
        ),
        (
            "a sentiment",
            lambda: CommentDetail.update({CommentDetail.sentiment: "negative"}).where(CommentDetail.card == c3),
        ),
        (
            "a category",
            lambda: InquiryDetail.update({InquiryDetail.category: "complaint"}).where(InquiryDetail.card == i3),
        ),
        ("a reopening event", lambda: Event.insert(reopening(i5))),
        ("archived unfinished", lambda: Card.update({Card.archived: True}).where(Card.id == c3)),
        (
            "archived closed work",
            lambda: Card.update({Card.archived: True, Card.archived_from: "done"}).where(Card.id == c3),
        ),
        ("a card removed", lambda: Card.delete().where(Card.id == city.ids["C1"])),
        (
            "a new case",
            lambda: city.comments.card("manager", column="new", title="新留言", platform="weibo", received_at=NOW),
        ),
    ]
    for note, change in changes:
        await change()
        after = await assert_same_figures(city, note)
        assert after != before, f"{note}: no figure moved"
        before = after


async def supervise(city: City, card_id: int) -> None:
    await supervision.supervise(await city.inquiries.access("manager"), card_id, "请加快办理")


async def accept(city: City, card_id: int) -> None:
    await workflow.act(
        await city.inquiries.access("manager"), card_id, "accept", {"category": "help", "urgency": "normal"}
    )


def reopening(card_id: int) -> Event:
    return Event(verb=figures.REOPENED_VERB, object_type="card", object_id=card_id, created_at=NOW)


async def reply(city: City, card_id: int) -> None:
    await replies.submit(await city.comments.access("manager"), card_id, ReplyInput(body="您好，已处理。"))


@pytest.mark.parametrize("seed", [7, 19])
async def test_random_work_keeps_the_facts_equal_to_the_tables(city, seed):
    """Random moves, reassignments, replies, verdicts and removals, checked after each."""
    rng = random.Random(seed)

    async def a_case() -> tuple:
        # In id order: a seed must pick the same cards whatever order the database keeps rows in.
        rows = (
            await Card.select(Card.id, Card.board)
            .where(Card.board.is_in([city.comments.board_id, city.inquiries.board_id]))
            .order_by(Card.id)
        )
        row = rng.choice(rows)
        world = city.comments if row["board"] == city.comments.board_id else city.inquiries
        return world, row["id"]

    async def step() -> str:
        world, card_id = await a_case()
        choice = rng.randrange(6)
        if choice == 0:
            column = rng.choice(sorted(world.columns))
            try:
                await move(world, card_id, column)
            except (FormError, Conflict, StaleCard):  # a kind may refuse a drag: nothing changes then
                pass
            return f"move {card_id} to {column}"
        if choice == 1:
            assignee = rng.choice([None, *city.users.values()])
            await Card.update({Card.assignee: assignee}).where(Card.id == card_id)
            return f"assign {card_id}"
        if choice == 2 and world is city.comments:
            await reply(city, card_id)
            return f"reply {card_id}"
        if choice == 3 and world is city.inquiries:
            verdict = rng.choice(figures.VERDICTS)
            try:
                await workflow.act(await world.access("manager"), card_id, "follow_up", {"verdict": verdict})
            except (FormError, Conflict):
                pass
            return f"verdict {card_id}"
        if choice == 4:
            department = rng.choice([None, *city.departments.values()])
            await Card.update({Card.department: department}).where(Card.id == card_id)
            return f"department {card_id}"
        await world.card("manager", title="随机", received_at=NOW - timedelta(hours=rng.randrange(200)))
        return "a new case"

    for number in range(14):
        note = await step()
        await assert_same_figures(city, f"step {number}: {note}")


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer at a time: its log's ids commit in order")
async def test_a_change_committed_after_a_later_one_is_still_counted(city):
    """PostgreSQL commits transactions out of id order: a change written first but committed
    after a dashboard has read a later one must not be missed."""
    import asyncpg

    c3 = city.ids["C3"]
    admin = await city.user("admin")
    publicity = city.departments["publicity"]

    def received_by(found: dict, department: int | None) -> int:
        return next((row["received"] for row in found["departments"] if row["department"] == department), 0)

    before = await figures.dashboard(admin, period())  # the facts are loaded
    slow = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        transaction = slow.transaction()
        await transaction.start()
        await slow.execute("UPDATE card SET department = NULL WHERE id = $1", c3)  # written first, not committed
        await Card.update({Card.assignee: None}).where(Card.id == city.ids["C2"])  # written later, committed
        await assert_same_figures(city, "while the first is open")
        await transaction.commit()
    finally:
        await slow.close()
    (after, *_others) = await assert_same_figures(city, "after the first committed")
    assert received_by(after, publicity) == received_by(before, publicity) - 1
    assert received_by(after, None) == received_by(before, None) + 1


async def test_the_worker_prunes_day_old_changes_and_a_process_that_missed_some_loads_everything(city):
    from workers.settings import prune_stats_changes

    admin = await city.user("admin")
    await figures.dashboard(admin, period())
    await Card.update({Card.assignee: None}).where(Card.id == city.ids["C3"])
    await assert_same_figures(city, "the change read")
    assert await prune_stats_changes({}) == 0  # nothing a day old yet
    assert await facts.prune(now=datetime.now(UTC) + timedelta(days=2)) > 0
    (left,) = await Card.raw("SELECT COUNT(*) AS n FROM stats_change")
    assert left["n"] == 0
    await Card.update({Card.department: None}).where(Card.id == city.ids["C3"])
    await assert_same_figures(city, "a change after pruning")
    # A change pruned before this process read it (a process asleep for a day): it loads
    # everything again rather than miss it.
    await Card.update({Card.assignee: city.users["member"]}).where(Card.id == city.ids["C3"])
    assert await facts.prune(now=datetime.now(UTC) + timedelta(days=2)) > 0
    await assert_same_figures(city, "a change pruned unread")
    # And one that has not read the log for half a day loads everything too (by the wall clock).
    kept = await facts.current()
    facts.KEEPER.read_at -= facts.RELOAD_AFTER + 1
    assert await facts.current() is not kept


async def test_assisting_departments_count_as_the_access_rule_reads_them(city):
    """Only whole numbers in the JSON route a case (as ``routed_to``); anything else there —
    a null, an id written as text, not a list at all — neither routes it nor stops the figures."""
    i2, health = city.ids["I2"], city.departments["health"]
    for value in ([None], [str(health)], [health, None], {"department": health}, health, [float(health)]):
        await Card.update({Card.assisting_departments: value}).where(Card.id == i2)
        await assert_same_figures(city, f"assisting {value!r}")


async def test_a_load_begun_before_forget_is_read_again(city, monkeypatch):
    """forget() (the tests' clean slate, a restored database) throws away a load begun before
    it: here the load reads the cards, then a change the log cannot tell of is made (TRUNCATE
    fires no trigger) and forget() called; the facts kept are read after it."""
    c3, health = city.ids["C3"], city.departments["health"]
    keeper = facts.Keeper()
    read, go_on = asyncio.Event(), asyncio.Event()
    load = facts.Facts.load

    async def slow_load(*args, **kwargs):
        found = await load(*args, **kwargs)
        if not read.is_set():
            read.set()
            await go_on.wait()
        return found

    monkeypatch.setattr(facts.Facts, "load", slow_load)
    loading = asyncio.create_task(keeper.current())
    await read.wait()
    await Card.update({Card.department: health}).where(Card.id == c3)
    await Card.raw("DELETE FROM stats_change WHERE card = {}", c3)
    keeper.forget()
    go_on.set()
    kept = await loading
    row = kept.cards["department"][np.searchsorted(kept.cards.card, c3)]
    assert row == health


async def test_a_web_process_loads_the_facts_ahead_only_for_a_large_database(city, monkeypatch):
    await warm.warm()
    assert facts.KEEPER.facts is None  # a few cards: the first dashboard loads them at once
    monkeypatch.setattr(warm, "WARM_FROM", 1)
    await warm.warm()
    assert facts.KEEPER.facts is not None and city.ids["C3"] in facts.KEEPER.facts.cards.card
