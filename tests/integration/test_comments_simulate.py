"""`portal simulate`: realistic comments through the intake path, at the rate asked for."""

from __future__ import annotations

import pytest

from portal.cards.tables import Card
from portal.comments import simulate
from portal.comments.tables import CommentDetail
from portal.core.forms import FormError
from tests import factories


async def test_simulated_comments_arrive_through_intake_no_faster_than_the_rate(clean_db):
    world = await factories.board("comments")
    await world.card(column="pending", title="已有的留言")  # the first card also loads the calendar
    sent = await simulate.run(world.board_id, rate=10, seconds=2, echo=lambda line: None)
    assert 1 <= sent <= 21  # how many fit depends on the machine; never more than asked for
    rows = await CommentDetail.select(
        CommentDetail.external_id, CommentDetail.platform, CommentDetail.card.column.key.as_alias("column")
    ).where(CommentDetail.external_id.is_not_null())
    assert len(rows) == sent == await Card.count() - 1
    assert all(row["external_id"].startswith("sim-") and row["platform"] for row in rows)
    assert {row["column"] for row in rows} == {"new"}  # where intake puts new comments


async def test_only_a_comments_board_can_be_fed(clean_db):
    world = await factories.board("inquiries")
    with pytest.raises(FormError):
        await simulate.run(world.board_id, rate=5, seconds=1, echo=lambda line: None)
