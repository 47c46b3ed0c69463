"""SLA policies and the business calendar are kept per process; a save in one process
reaches every other at once through a counter in Redis (portal.sla.services.changed()).

"Another process" is this one with the copy it held before the save put back: it has
the old rows and the old counter, exactly what a second web process would hold."""

from __future__ import annotations

from datetime import date

from portal.accounts.services import get_active_user
from portal.sla import services as sla
from tests import factories


async def test_a_saved_policy_reaches_a_process_holding_the_old_copy(clean_db, redis_client):
    world = await factories.board("comments", {"admin": ("admin", None, "")})
    admin = await get_active_user(world.users["admin"])
    before = await sla.list_policies()
    policy = before[0]
    other_process = dict(sla._cache)  # its copy: the rows, and the counter they were read under

    new_amount = policy["amount"] % 999 + 1
    await sla.save_policy(
        admin,
        policy["id"],
        policy["board_kind"],
        policy["stage"],
        policy["priority"],
        policy["category"],
        new_amount,
        policy["mode"],
    )
    assert int(await redis_client.get(sla.VERSION_KEY)) >= 1

    sla._cache.update(other_process)
    rows = {row["id"]: row for row in await sla.list_policies()}
    assert rows[policy["id"]]["amount"] == new_amount


async def test_a_calendar_change_reaches_a_process_holding_the_old_copy(clean_db, redis_client):
    world = await factories.board("comments", {"admin": ("admin", None, "")})
    admin = await get_active_user(world.users["admin"])
    day = date(2026, 6, 3)  # a Wednesday: a working day
    assert (await sla.get_calendar()).day_kind(day) == "workday"
    other_process = dict(sla._cache)

    await sla.set_day(admin, day, "holiday")

    sla._cache.update(other_process)
    assert (await sla.get_calendar()).day_kind(day) == "holiday"


async def test_an_unchanged_counter_keeps_the_copy(clean_db, redis_client):
    await sla.get_calendar()  # seeds the calendar (a save: the counter moves) …
    first = await sla.get_calendar()  # … so this reads it again, under the new counter
    assert await sla.get_calendar() is first
    await redis_client.incr(sla.VERSION_KEY)  # a save in another process
    assert await sla.get_calendar() is not first
