"""One write path: a board change, its events and its effects commit together, and the
effects run after the commit — in the writing process, or by a worker when that process
died first (see portal/events/unit.py and portal/events/outbox.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from portal.boards.tables import Board
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.events import outbox
from portal.events.kinds import EventKind
from portal.events.outbox import Effect
from portal.events.tables import Event, Outbox
from portal.events.unit import EXIT_AFTER_COMMIT_STATUS, board_write
from portal.reminders import services as reminders
from tests import factories
from tests.live_helpers import board_socket, csrf, hello, htmx_post, http_login, receive_until, subscribed
from tests.processes import free_port, portal_process


@pytest.fixture
async def world(clean_db):
    return await factories.board("comments")


async def _card(card_id: int) -> dict:
    return await Card.select(Card.id, Card.column, Card.version, Card.title).where(Card.id == card_id).first()


async def _board_seq(board_id: int) -> int:
    return (await Board.select(Board.seq).where(Board.id == board_id).first())["seq"]


async def _rows(effect: str | None = None) -> list[dict]:
    query = Outbox.select().order_by(Outbox.id).output(load_json=True)
    if effect:
        query = query.where(Outbox.effect == effect)
    return await query


async def test_a_card_write_commits_its_event_and_its_effects_and_runs_them(world):
    card_id = await world.card("member", "new", title="扶梯停运")
    card = await _card(card_id)
    access = await world.access("member")
    change = await cards.move_card(
        access, card_id, MoveForm(column_id=world.columns["pending"], after_id=None, version=card["version"])
    )
    event = await Event.select().where(Event.verb == EventKind.card_moved).output(load_json=True).first()
    assert event["seq"] == change.seq == await _board_seq(world.board_id)
    assert event["payload"]["from"] == world.columns["new"] and event["payload"]["to"] == world.columns["pending"]
    published = (await _rows("publish_cards"))[-1]
    assert published["payload"] == {
        "board_id": world.board_id,
        "card_ids": [card_id],
        "seq": change.seq,
        "before": change.departments_before,
        "after": change.departments_after,
        "kind": "comments",  # so that the publisher reads the tiles in one statement
    }
    # Run by this process right after the commit: nothing is left for a worker.
    assert all(row["done_at"] is not None and row["attempts"] == 0 for row in await _rows())
    assert {row["effect"] for row in await _rows()} >= {"publish_cards", "arm_reminders"}


async def test_a_reopening_move_numbers_each_event_and_publishes_the_last_number(world):
    card_id = await world.card("member", "new")
    access = await world.access("member")
    card = await _card(card_id)
    await cards.move_card(access, card_id, MoveForm(column_id=world.columns["closed"], after_id=None, version=1))
    before = await _board_seq(world.board_id)
    change = await cards.move_card(
        access, card_id, MoveForm(column_id=world.columns["pending"], after_id=None, version=card["version"] + 1)
    )
    events = await Event.select(Event.verb, Event.seq).where(Event.seq > before).order_by(Event.seq)
    assert events == [
        {"verb": "card.moved", "seq": before + 1},
        {"verb": "card.reopened", "seq": before + 2},
    ]
    assert change.seq == before + 2 == await _board_seq(world.board_id)
    assert (await _rows("publish_cards"))[-1]["payload"]["seq"] == before + 2


async def test_a_failing_effect_leaves_the_write_committed_and_is_retried_later(world, monkeypatch):
    calls = []

    async def scheduling_breaks(arq, card_id, now=None):
        calls.append(card_id)
        raise OverflowError("date value out of range")

    monkeypatch.setattr(reminders, "schedule_card", scheduling_breaks)
    card_id = await world.card("member", "new", title="提交后出错")  # no error for the writer
    assert (await _card(card_id))["title"] == "提交后出错"
    [row] = await _rows("arm_reminders")
    assert row["done_at"] is None and row["attempts"] == 1 and "date value out of range" in row["last_error"]
    assert row["payload"] == {"card_id": card_id}
    # The other effects of the same write ran.
    assert all(other["done_at"] is not None for other in await _rows("publish_cards"))
    # Not before its retry time …
    assert await outbox.run_pending() == 0
    # … then a worker's pass completes it.
    monkeypatch.undo()
    assert await outbox.run_pending(now=datetime.now(UTC) + timedelta(minutes=5)) == 1
    [row] = await _rows("arm_reminders")
    assert row["done_at"] is not None and row["attempts"] == 1
    assert calls == [card_id]
    assert await outbox.pending_count() == 0


async def test_an_error_inside_a_unit_writes_nothing(world):
    card_id = await world.card("member", "new", title="原标题")
    seq, events, rows = await _board_seq(world.board_id), await Event.count(), await Outbox.count()
    with pytest.raises(RuntimeError):
        async with board_write(world.board_id, world.users["member"]) as unit:
            await Card.update({Card.title: "改了一半", Card.version: Card.version + 1}).where(Card.id == card_id)
            unit.record(EventKind.card_updated, "card", card_id, {"fields": ["title"]})
            unit.after_commit(Effect("publish_cards", {"board_id": world.board_id, "card_ids": [card_id]}))
            raise RuntimeError("the write fails halfway")
    assert (await _card(card_id))["title"] == "原标题" and (await _card(card_id))["version"] == 1
    assert (await _board_seq(world.board_id), await Event.count(), await Outbox.count()) == (seq, events, rows)
    # A stale version is refused the same way: nothing written, nothing published.
    access = await world.access("member")
    with pytest.raises(cards.StaleCard):
        await cards.move_card(access, card_id, MoveForm(column_id=world.columns["pending"], after_id=None, version=7))
    assert (await _card(card_id))["column"] == world.columns["new"]
    assert (await _board_seq(world.board_id), await Event.count(), await Outbox.count()) == (seq, events, rows)


async def test_a_unit_that_records_nothing_gives_its_number_back(world):
    seq = await _board_seq(world.board_id)
    access = await world.access("manager")
    from portal.boards import services as boards

    await boards.remove_webhook(access, 3)  # there is no robot 3: nothing to do
    assert await _board_seq(world.board_id) == seq


async def test_membership_and_column_changes_stage_their_effects(world):
    from portal.boards import services as boards
    from portal.boards.forms import ColumnForm, MemberForm

    access = await world.access("manager")
    await boards.set_member(access, MemberForm(user_id=world.users["outsider"], role="viewer"))
    await boards.remove_member(access, world.users["outsider"])
    change = await boards.add_column(access, ColumnForm(name="待复核", meaning="working", wip_limit=None))
    effects = [(row["effect"], row["payload"]) for row in await _rows()]
    assert effects == [
        ("access_changed", {"user_id": world.users["outsider"]}),
        ("access_changed", {"user_id": world.users["outsider"]}),
        ("publish_refresh", {"board_id": world.board_id, "seq": change.seq}),
    ]


async def test_a_move_takes_a_handful_of_statements(world):
    from portal.db import engine

    card_id = await world.card("member", "new")
    access = await world.access("member")
    await cards.move_card(access, card_id, MoveForm(column_id=world.columns["pending"], after_id=None, version=1))
    db = engine()
    original = type(db).run_querystring
    counter = {"n": 0}

    async def counting(self, querystring, in_pool=True):
        counter["n"] += 1
        return await original(self, querystring, in_pool=in_pool)

    # Effects are counted too: they run in this process, after the commit.
    type(db).run_querystring = counting
    try:
        await cards.move_card(access, card_id, MoveForm(column_id=world.columns["replied"], after_id=None, version=2))
    finally:
        type(db).run_querystring = original
    assert counter["n"] <= 20, counter["n"]  # 15 when this was written


# A process that dies between the commit and its effects -------------------------------------


@pytest.mark.processes
async def test_effects_of_a_process_that_died_after_its_commit_are_run_by_a_worker(world, tmp_path, redis_client):
    card_id = await world.card("member", "new", title="写完就崩溃")
    access = await world.access("member")
    # From a done column back to work (重办): a new clock round, so new reminder jobs.
    await cards.move_card(access, card_id, MoveForm(column_id=world.columns["closed"], after_id=None, version=1))
    jobs_before = set(await redis_client.keys(f"arq:job:reminder:{card_id}:*"))
    port_a, port_b = free_port(), free_port()
    with (
        portal_process(
            "web",
            "--port",
            str(port_a),
            port=port_a,
            env={"PORTAL_TEST_EXIT_AFTER_COMMIT": "1"},
            log=tmp_path / "a.log",
        ) as web_a,
        portal_process("web", "--port", str(port_b), port=port_b, log=tmp_path / "b.log"),
        portal_process("worker", log=tmp_path / "worker.log") as worker,
    ):
        base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        await _wait_for_worker(redis_client, worker)
        mover = await http_login(base_a, "member", factories.PASSWORD)
        watcher = await http_login(base_b, "viewer", factories.PASSWORD)
        async with board_socket(base_b, world.board_id, watcher) as socket:
            await hello(socket, await _board_seq(world.board_id))
            await subscribed(socket, "viewer")
            token = await csrf(mover)
            with pytest.raises(httpx.HTTPError):  # A dies before it answers
                await htmx_post(
                    mover,
                    f"/cards/{card_id}/move",
                    {
                        "column_id": world.columns["pending"],
                        "after_id": "",
                        "version": (await _card(card_id))["version"],
                    },
                    token,
                )
            assert web_a.wait(timeout=10) == EXIT_AFTER_COMMIT_STATUS
            # The move is saved …
            assert (await _card(card_id))["column"] == world.columns["pending"]
            # … and the worker runs what A left: the viewer on B sees the card move …
            # (The comment's triage, a job of its own, may show the card first, still closed.)
            message = await receive_until(socket, f'data-column-id="{world.columns["pending"]}"', timeout=15)
            assert f'id="card-{card_id}"' in message
        # … and its new reminders are queued.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            jobs = set(await redis_client.keys(f"arq:job:reminder:{card_id}:*"))
            if jobs - jobs_before:
                break
            await asyncio.sleep(0.2)
        assert jobs - jobs_before, (await _rows(), (tmp_path / "worker.log").read_text()[-2000:])
        # Every effect ends done: the crashed process's, and the comment's triage queueing that
        # this test process (which has no job queue) left to a worker, after its retry delay.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not await outbox.pending_count():
                break
            await asyncio.sleep(0.2)
        assert await outbox.pending_count() == 0, await _rows()
        await mover.aclose()
        await watcher.aclose()


async def _wait_for_worker(redis_client, worker, timeout: float = 30) -> None:
    """Until the worker has started (its heartbeat), and its start-up sweep is behind it:
    reminders queued later are the outbox's doing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        if await redis_client.keys("portal:worker-heartbeat:*"):
            await asyncio.sleep(2)
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the worker did not start")
