"""Publishing board changes after commit: one render, one Redis PUBLISH, every web process.

Web processes publish through Litestar's ChannelsPlugin; workers (no plugin) through
the same Redis pub/sub backend, so the message format and channel keys are identical.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.channels.backends.redis import RedisChannelsPubSubBackend, _LazyEvent

from portal.cards import services as cards
from portal.cards.services import CardChange
from portal.live import fragments
from portal.live.channels import ACCESS, BELL, CARDS, REFRESH, Envelope, board_channel, user_channel

Send = Callable[[bytes, list[str]], Awaitable[None]]


class NamespacedPubSubBackend(RedisChannelsPubSubBackend):
    """Redis pub/sub channels are global to the server, not per database: two portals (or
    two test runs) on one Redis server with different database numbers would receive each
    other's ``board:1``. Each channel is published and subscribed as "<database>:<name>";
    the app's subscribers see the plain name."""

    def __init__(self, *, redis, namespace: str) -> None:
        super().__init__(redis=redis)
        self._namespace = namespace

    def name(self, channel: str) -> str:
        """The channel's name on the Redis server."""
        return self._namespace + channel

    def _names(self, channels) -> list[str]:
        return [self.name(channel) for channel in channels]

    async def subscribe(self, channels) -> None:
        await super().subscribe(self._names(channels))

    async def unsubscribe(self, channels) -> None:
        await super().unsubscribe(self._names(channels))

    async def publish(self, data: bytes, channels) -> None:
        await super().publish(data, self._names(channels))

    async def stream_events(self):
        async for channel, data in super().stream_events():
            yield channel.removeprefix(self._namespace), data

    async def on_shutdown(self) -> None:
        """Close the subscription and the client's connections, and forget what was bound to
        this event loop, so that the app's next start (the same app run again, as the test
        suite does) begins with fresh ones; Litestar's backend keeps both for good."""
        await super().on_shutdown()
        await self._redis.aclose()
        self._RedisChannelsPubSubBackend__pub_sub = None  # its property makes a new one on demand
        self._has_subscribed = _LazyEvent()


def backend_for(redis) -> RedisChannelsPubSubBackend:
    database = redis.connection_pool.connection_kwargs.get("db", 0)
    return NamespacedPubSubBackend(redis=redis, namespace=f"portal:{database}:")


async def publish_card_change(send: Send, change: CardChange, kind: str | None = None) -> bytes:
    tiles = await cards.tiles([change.card_id], kind)
    envelope = Envelope(
        type=CARDS,
        seq=change.seq,
        cards=[change.card_id],
        html=fragments.card_upsert(tiles, change.seq),
        before=change.departments_before,
        after=change.departments_after,
    )
    data = envelope.encode()
    await send(data, [board_channel(change.board_id)])
    return data


async def publish_refresh(send: Send, board_id: int, seq: int) -> None:
    await send(Envelope(type=REFRESH, seq=seq, html=fragments.refresh(seq)).encode(), [board_channel(board_id)])


async def publish_to_user(send: Send, user_id: int, html: dict[str, bytes]) -> None:
    await send(Envelope(type=BELL, seq=None, html=html).encode(), [user_channel(user_id)])


async def publish_access_changed(send: Send, user_id: int) -> None:
    """The user logged out, was disabled, got a new password, or their board memberships
    changed: every socket they have open re-checks its access now (and closes if it lost it).
    Call it after the change is saved (sessions deleted, membership written)."""
    await send(Envelope(type=ACCESS, seq=None, html={}).encode(), [user_channel(user_id)])


async def notify_users(send: Send, user_ids: list[int]) -> None:
    """Refresh the bell (unread count) of each user, wherever they have the portal open."""
    from portal.notifications.tables import Notification

    for user_id in user_ids:
        unread = await Notification.count().where((Notification.user == user_id) & Notification.read_at.is_null())
        await publish_to_user(send, user_id, fragments.render("partials/notifications/_bell.html", unread=unread))
