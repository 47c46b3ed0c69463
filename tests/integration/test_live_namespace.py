"""Two portals on one Redis server (different database numbers) never see each other's live
messages: Redis pub/sub channels are global to the server, so the portal names them per
database."""

from __future__ import annotations

import asyncio

from redis.asyncio import ConnectionPool, Redis

from portal.live.channels import board_channel
from portal.live.publisher import backend_for


async def _first_event(backend, timeout: float):
    events = backend.stream_events()
    try:
        return await asyncio.wait_for(anext(events), timeout)
    except TimeoutError:
        return None
    finally:
        await events.aclose()


async def test_a_board_message_reaches_only_the_same_database(redis_client):
    pool = redis_client.connection_pool
    kwargs = dict(pool.connection_kwargs)

    def client(db: int) -> Redis:  # the same server (TCP or the embedded one's socket)
        return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **{**kwargs, "db": db}))

    other = client((kwargs.get("db", 0) + 1) % 16)
    mine, theirs = backend_for(redis_client), backend_for(other)
    listener = backend_for(client(kwargs.get("db", 0)))
    try:
        await listener.subscribe([board_channel(1)])
        await theirs.publish(b"from the other portal", [board_channel(1)])
        assert await _first_event(listener, 0.5) is None
        await mine.publish(b"from this portal", [board_channel(1)])
        assert await _first_event(listener, 3) == (board_channel(1), b"from this portal")
    finally:
        await listener.on_shutdown()
        await other.aclose()
