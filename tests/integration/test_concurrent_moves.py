"""Card positions under many concurrent moves: a hypothesis stateful test on the real database.

Each step fires a batch of moves at once (some based on stale versions). Afterwards the
database must agree exactly with a model that replays the successful moves in the order
the database committed them (the board's event sequence): no card lost or duplicated, no
two cards sharing a position in a column, and every card where its move put it.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from portal import db
from portal.accounts.services import create_user_unchecked, get_active_user
from portal.boards.access import access_for
from portal.boards.tables import Board, BoardColumn, BoardMember
from portal.cards import services as cards
from portal.cards.forms import MoveForm
from portal.cards.tables import Card
from portal.events.tables import Event
from portal.piccolo_app import APP_CONFIG

COLUMNS = 3
CARDS = 8


def run(awaitable):
    async def wait():
        return await awaitable

    return asyncio.run(wait())


class ConcurrentMoves(RuleBasedStateMachine):
    @initialize()
    def board(self):
        async def setup():
            for table in reversed(APP_CONFIG.table_classes):
                await table.delete(force=True)
            user_id = await create_user_unchecked("mover", "搬运工", "x" * 12, "admin")
            board = (await Board.insert(Board(name="并发", kind="comments")))[0]["id"]
            columns = [
                (await BoardColumn.insert(BoardColumn(board=board, key=f"k{i}", name=f"列{i}", position=i)))[0]["id"]
                for i in range(COLUMNS)
            ]
            await BoardMember.insert(BoardMember(board=board, user=user_id, role="manager"))
            access = await access_for(await get_active_user(user_id), board)
            ids = []
            for index in range(CARDS):
                change = await cards.create_card(access, columns[index % COLUMNS], {"title": f"卡片{index}"})
                ids.append(change.card_id)
            return access, columns, ids

        self.access, self.columns, self.card_ids = run(setup())
        self.model = {column: [] for column in self.columns}
        for card in run(self.db_order()):
            self.model[card["column"]].append(card["id"])
        self.seen_seq = run(self._max_seq())

    async def _max_seq(self) -> int:
        row = await Board.select(Board.seq).where(Board.id == self.access.board_id).first()
        return row["seq"]

    async def db_order(self):
        return (
            await Card.select(Card.id, Card.column, Card.position)
            .where(Card.archived == False)
            .order_by(  # noqa: E712
                Card.column
            )
            .order_by(Card.position)
        )

    @rule(
        moves=st.lists(
            st.tuples(
                st.integers(0, CARDS - 1), st.integers(0, COLUMNS - 1), st.integers(-1, CARDS - 1), st.booleans()
            ),
            min_size=1,
            max_size=6,
        )
    )
    def concurrent_moves(self, moves):
        async def one(card_index, column_index, after_index, stale):
            card_id = self.card_ids[card_index]
            version = (await Card.select(Card.version).where(Card.id == card_id).first())["version"]
            form = MoveForm(
                column_id=self.columns[column_index],
                after_id=None if after_index < 0 else self.card_ids[after_index],
                version=version - 1 if stale and version > 1 else version,
            )
            try:
                await cards.move_card(self.access, card_id, form)
            except cards.StaleCard:
                return False
            return True

        async def batch():
            return await asyncio.gather(*(one(*move) for move in moves))

        run(batch())
        # Replay the committed moves, in commit order, on the model.
        events = run(
            Event.select(Event.seq, Event.object_id, Event.payload)
            .where(
                (Event.board_id == self.access.board_id) & (Event.seq > self.seen_seq) & (Event.verb == "card.moved")
            )
            .order_by(Event.seq)
            .output(load_json=True)
        )
        for event in events:
            card_id, target, after = event["object_id"], event["payload"]["to"], event["payload"]["after"]
            for column in self.model.values():
                if card_id in column:
                    column.remove(card_id)
            destination = self.model[target]
            if after is None:
                destination.insert(0, card_id)
            elif after in destination:
                destination.insert(destination.index(after) + 1, card_id)
            else:
                destination.append(card_id)
        self.seen_seq = run(self._max_seq())

    @invariant()
    def database_matches_model(self):
        if not hasattr(self, "model"):
            return
        rows = run(self.db_order())
        actual = {column: [] for column in self.columns}
        for row in rows:
            actual[row["column"]].append(row)
        for column, cards_in_column in actual.items():
            positions = [card["position"] for card in cards_in_column]
            assert len(positions) == len(set(positions)), f"repeated position in column {column}: {positions}"
            assert [card["id"] for card in cards_in_column] == self.model[column]
        assert sorted(row["id"] for row in rows) == sorted(self.card_ids)


@pytest.mark.hypothesis
async def test_concurrent_moves_keep_every_column_consistent(clean_db):
    # Each step runs its own event loop (hypothesis drives the machine synchronously), so
    # the pooled connections of the test loop are closed meanwhile.
    await db.close_pool()
    try:
        await asyncio.to_thread(
            run_state_machine_as_test,
            ConcurrentMoves,
            settings=settings(
                max_examples=15, stateful_step_count=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
            ),
        )
    finally:
        await db.open_pool()
