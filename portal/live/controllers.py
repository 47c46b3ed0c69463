"""The board websocket: checks session, Origin and board access, replays what the
browser missed, then forwards the board channel (filtered for liaisons) until it closes.

Every handshake is accepted; a refused one is then closed at once with a code the page
understands (the htmx ws extension does not retry these, and app.js says why):
    4401  not logged in, or the session ended (logout, expiry, disabled account)
    4403  not our own page (foreign Origin)
    4404  no such board, or no access to it (any more)

Browser → server messages are small JSON objects (anything else is ignored):
    {"type": "hello", "seq": 41, "cards": [7, 9]}   last sequence number shown (sent on every
                                                  (re)connect) and, for department-scoped
                                                  viewers, the ids of the cards on the page
    {"type": "editing", "card": 7}                the user opened card 7's drawer (null: closed it)

Server → browser messages are one JSON header line (see ``channels.Envelope``), then HTML
for the htmx ws extension to swap.

Each connection runs three tasks: one receives what the browser says, one forwards the
channels to it (each send bounded by a timeout: a browser that stops reading is dropped),
one re-checks access on a timer and whenever the user's channel says something about
their access changed. When any of them ends, the others are cancelled and the
subscription, presence and editing marker are cleaned up without waiting on the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import secrets
import time
from dataclasses import replace
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from litestar.params import FromPath

from portal.accounts.services import NotFound, get_active_user
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.i18n import current_locale, use_locale
from portal.i18n import gettext as _
from portal.live import fragments, presence
from portal.live.channels import (
    ACCESS,
    CARDS,
    EDITING,
    PRESENCE,
    REFRESH,
    Envelope,
    board_channel,
    for_browser,
    user_channel,
)

log = logging.getLogger("portal.live")

MAX_REPLAY_EVENTS = 200
PRESENCE_REFRESH_SECONDS = 30
# Access (session, account, board membership) is re-checked this often whatever the
# browser sends, and at once when the user's channel announces a change.
RECHECK_SECONDS = float(os.environ.get("PORTAL_LIVE_RECHECK_SECONDS") or 30)
SEND_TIMEOUT_SECONDS = 10  # a browser that takes longer to take a message is dropped
CLEANUP_TIMEOUT_SECONDS = 5
EDITING_INTERVAL_SECONDS = 1.0  # at most one "正在编辑" change per second per connection
HELLO_INTERVAL_SECONDS = 1.0  # a browser says hello once per (re)connect; more are dropped

MAX_MESSAGE_CHARS = 4096  # browser messages; larger ones are ignored …
MAX_HELLO_CHARS = 65536  # … except a hello, which may list the cards on the page
MAX_HELLO_CARDS = 5000
MAX_ID = 2**31 - 1

CLOSE_NOT_LOGGED_IN = 4401
CLOSE_BAD_ORIGIN = 4403
CLOSE_NO_ACCESS = 4404


class Closed(Exception):
    """The connection ends here (with a close code, or because the browser is gone)."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(code)
        self.code = code


def bounded_id(value: object) -> int | None:
    """A card id or sequence number from the browser: a plain integer in 0..2**31-1, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_ID:
        return value
    return None


def origin_allowed(socket: WebSocket) -> bool:
    """Same origin only: the page's own host, or the configured public address."""
    origin = socket.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    host = socket.headers.get("host", "")
    public = urlsplit(socket.app.state.settings.public_url)
    return parts.netloc == host or (parts.scheme, parts.netloc) == (public.scheme, public.netloc)


def close_reason(code: int, locale: str) -> str:
    """What the page shows (app.js): the close frame's reason, in the user's language."""
    with use_locale(locale):
        if code == CLOSE_NOT_LOGGED_IN:
            reason = _("Your session has ended. Please log in again.")
        elif code == CLOSE_BAD_ORIGIN:
            reason = _("Live updates stopped: this page may not connect. Reload it.")
        else:
            reason = _("Live updates stopped: this board does not exist or you may not see it.")
    reason = str(reason)
    return reason if len(reason.encode()) <= 123 else ""  # a close frame's reason is short


async def close(socket: WebSocket, code: int, locale: str | None = None) -> None:
    """Close with ``code`` without waiting long on a browser that does not read."""
    with contextlib.suppress(Exception):
        reason = close_reason(code, locale or current_locale())
        await asyncio.wait_for(socket.close(code=code, reason=reason), CLEANUP_TIMEOUT_SECONDS)


async def accept_or_refuse(socket: WebSocket):
    """Accept the handshake, then check a session and our own page as the Origin.
    Refused → closed with the reason's code, and None."""
    await socket.accept()
    user = socket.scope.get("user")
    if user is None:
        await close(socket, CLOSE_NOT_LOGGED_IN)
    elif not origin_allowed(socket):
        await close(socket, CLOSE_BAD_ORIGIN)
    else:
        return user
    return None


async def session_valid(socket: WebSocket) -> bool:
    session = socket.scope.get("auth")
    return session is not None and await socket.app.state.sessions.get(session.token) is not None


@websocket("/boards/{board_id:int}/ws", opt={"public": True})  # the handler checks and says why
async def board_socket(socket: WebSocket, board_id: FromPath[int]) -> None:
    channels = socket.app.plugins.get(ChannelsPlugin)
    user = await accept_or_refuse(socket)
    if user is None:
        return
    try:
        access = await access_for(user, board_id)
    except NotFound:
        await close(socket, CLOSE_NO_ACCESS)
        return
    await BoardConnection(socket, access, channels, current_locale()).run()


@websocket("/ws/me", opt={"public": True})
async def my_socket(socket: WebSocket) -> None:
    """The user's own channel on pages without a board: the bell's unread count, live.
    Sends plain HTML (the page's ws element has no header-reading extension)."""
    channels = socket.app.plugins.get(ChannelsPlugin)
    user = await accept_or_refuse(socket)
    if user is None:
        return
    await UserConnection(socket, user, channels, current_locale()).run()


class Connection:
    """What every live socket does: forward its channels, re-check access, clean up."""

    def __init__(self, socket: WebSocket, channels: ChannelsPlugin, locale: str) -> None:
        self.socket = socket
        self.channels = channels
        self.locale = locale
        self.recheck = asyncio.Event()  # set by an "access" message on the user's channel
        self.send_lock = asyncio.Lock()

    def channel_names(self) -> list[str]:
        raise NotImplementedError

    async def run(self) -> None:
        names = self.channel_names()
        subscriber = await self.channels.subscribe(names)
        tasks: list[asyncio.Task] = []
        code = None
        try:
            await self.started()
            tasks = [
                asyncio.create_task(self.receive_loop()),
                asyncio.create_task(self.forward_loop(subscriber)),
                asyncio.create_task(self.watch_loop()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if isinstance(error, Closed):
                    code = error.code
                elif error is not None:
                    log.warning("live socket ended by %r", error)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Not ``Subscriber.stop(join=True)``: nothing waits for a queue the browser will never drain.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.channels.unsubscribe(subscriber, names), CLEANUP_TIMEOUT_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.finished(), CLEANUP_TIMEOUT_SECONDS)
        if code is not None:
            await close(self.socket, code, self.locale)

    async def started(self) -> None:
        pass

    async def finished(self) -> None:
        pass

    async def send(self, text: str) -> None:
        """One message to the browser, in order; a browser that does not take it in time is dropped."""
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                async with self.send_lock:
                    await self.socket.send_text(text)
        except TimeoutError:
            raise Closed() from None
        except Exception as error:  # the browser went away
            raise Closed() from error

    async def receive_loop(self) -> None:
        while True:
            try:
                raw = await self.socket.receive_text()
            except Exception as error:  # disconnect, or a frame we cannot read
                raise Closed() from error
            if not isinstance(raw, str):
                continue
            try:
                await self.on_message(raw)
            except Closed:
                raise
            except Exception:  # one bad message never ends the connection
                log.exception("live message not handled")

    async def on_message(self, raw: str) -> None:
        pass

    async def forward_loop(self, subscriber: Subscriber) -> None:
        async for data in subscriber.iter_events():
            try:
                envelope = Envelope.decode(data)
            except Exception:
                log.warning("undecodable live message dropped")
                continue
            if envelope.type == ACCESS:
                self.recheck.set()
                continue
            await self.forward(envelope)
        raise Closed()  # unsubscribed

    async def forward(self, envelope: Envelope) -> None:
        raise NotImplementedError

    async def watch_loop(self) -> None:
        """Re-check access on a monotonic deadline (spread a little, so that sockets opened
        together do not all check at once) and at once when told to; tick in between."""
        next_check = time.monotonic() + RECHECK_SECONDS * random.uniform(0.8, 1.2)
        while True:
            wake = min(next_check, self.next_tick())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recheck.wait(), max(wake - time.monotonic(), 0))
            if self.recheck.is_set() or time.monotonic() >= next_check:
                self.recheck.clear()
                next_check = time.monotonic() + RECHECK_SECONDS * random.uniform(0.8, 1.2)
                code = await self.check_access()
                if code is not None:
                    raise Closed(code)
            if time.monotonic() >= self.next_tick():
                await self.tick()

    async def check_access(self) -> int | None:
        """None while still allowed; else the close code."""
        return None if await session_valid(self.socket) else CLOSE_NOT_LOGGED_IN

    def next_tick(self) -> float:
        return math.inf

    async def tick(self) -> None:
        pass


class UserConnection(Connection):
    def __init__(self, socket: WebSocket, user, channels: ChannelsPlugin, locale: str) -> None:
        super().__init__(socket, channels, locale)
        self.user = user

    def channel_names(self) -> list[str]:
        return [user_channel(self.user.id)]

    async def forward(self, envelope: Envelope) -> None:
        await self.send(envelope.html.get(self.locale, b"").decode())

    async def check_access(self) -> int | None:
        if not await session_valid(self.socket) or await get_active_user(self.user.id) is None:
            return CLOSE_NOT_LOGGED_IN
        return None


class BoardConnection(Connection):
    def __init__(self, socket: WebSocket, access: BoardAccess, channels: ChannelsPlugin, locale: str) -> None:
        super().__init__(socket, channels, locale)
        self.access = access
        self.board_id = access.board_id
        self.user = access.user
        self.connection_id = secrets.token_hex(8)
        self.redis = socket.app.state.redis
        self.editing: int | None = None  # the card this connection shows as being edited
        self.editing_pending: int | None = None
        self.editing_next = 0.0  # monotonic time from which the next change may go out
        self.editing_flush: asyncio.Task | None = None
        self.last_presence = time.monotonic()
        self.hello_next = 0.0  # a hello costs a query: at most one a second

    def channel_names(self) -> list[str]:
        # The board's changes, and this user's own (the notification bell, access changes).
        return [board_channel(self.board_id), user_channel(self.user.id)]

    async def started(self) -> None:
        await presence.join(self.redis, self.board_id, self.connection_id, self.user.id, self.user.display_name)
        await publish_presence(self.channels, self.redis, self.board_id)

    async def finished(self) -> None:
        if self.editing_flush is not None:
            self.editing_flush.cancel()
        await presence.leave(self.redis, self.board_id, self.connection_id)
        await publish_presence(self.channels, self.redis, self.board_id)
        if self.editing is not None:
            await publish_editing(self.channels, self.board_id, self.editing, None)

    # ---- server → browser ---------------------------------------------------------------
    async def forward(self, envelope: Envelope) -> None:
        department = self.access.department_only
        if department is not None and envelope.after is not None and department not in envelope.after:
            if envelope.type == CARDS and envelope.before and department in envelope.before and envelope.cards:
                # The card left this liaison's department: take it off their board.
                await self.send(card_deletes(envelope.cards, envelope.seq))
            return
        await self.send(envelope.for_browser(self.locale))

    # ---- access -------------------------------------------------------------------------
    async def check_access(self) -> int | None:
        """Session still valid, account active, still on the board with the same department
        scope; a role change (member ↔ viewer) applies to this connection from now on."""
        if not await session_valid(self.socket):
            return CLOSE_NOT_LOGGED_IN
        user = await get_active_user(self.user.id)
        if user is None:
            return CLOSE_NOT_LOGGED_IN
        try:
            current = await access_for(user, self.board_id)
        except NotFound:
            return CLOSE_NO_ACCESS
        if current.department_only != self.access.department_only:
            return CLOSE_NO_ACCESS
        if current.board_role != self.access.board_role:
            self.access = replace(self.access, board_role=current.board_role)
            if not self.access.can_edit:
                await self.set_editing(None)
        return None

    def next_tick(self) -> float:
        return self.last_presence + PRESENCE_REFRESH_SECONDS

    async def tick(self) -> None:
        """Still here: the presence entry is refreshed before it goes stale."""
        self.last_presence = time.monotonic()
        await presence.join(self.redis, self.board_id, self.connection_id, self.user.id, self.user.display_name)

    # ---- browser → server ---------------------------------------------------------------
    async def on_message(self, raw: str) -> None:
        if len(raw) > MAX_HELLO_CHARS:
            return
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError):
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "hello":
            seq = bounded_id(message.get("seq"))
            if seq is None or time.monotonic() < self.hello_next:
                return
            self.hello_next = time.monotonic() + HELLO_INTERVAL_SECONDS
            shown = message.get("cards")
            shown_ids = []
            if isinstance(shown, list):
                shown_ids = [card_id for card_id in map(bounded_id, shown[:MAX_HELLO_CARDS]) if card_id is not None]
            await self.catch_up(seq, set(shown_ids))
        elif len(raw) > MAX_MESSAGE_CHARS:
            return
        elif kind == "editing":
            card = message.get("card")
            if card is None:
                await self.want_editing(None)
                return
            card_id = bounded_id(card)
            if card_id is not None:
                await self.want_editing(card_id)

    async def catch_up(self, seq: int, shown: set[int]) -> None:
        """Send what happened after ``seq``: the current state of each card touched since,
        or, past the replay limit or after column changes, an instruction to re-fetch.
        A card that is (now) hidden from this viewer is taken off the page only when the
        page said it shows it: a delete never tells anyone an id they did not have."""
        missed = await boards.events_since(self.board_id, seq, MAX_REPLAY_EVENTS + 1)
        if not missed:
            return
        last_seq = missed[-1]["seq"]
        if len(missed) > MAX_REPLAY_EVENTS or any(event["object_type"] == "column" for event in missed):
            html = fragments.render_one("partials/live/_refresh.html", self.locale, seq=last_seq)
            await self.send(for_browser(REFRESH, html, seq=last_seq))
            return
        card_ids = list(dict.fromkeys(e["object_id"] for e in missed if e["object_type"] == "card" and e["object_id"]))
        tiles = await cards.tiles(card_ids, self.access.board_kind)
        visible = [tile for tile in tiles if tile["board"] == self.board_id]
        shown_tiles = [tile for tile in visible if self.access.can_see_card(tile)]
        hidden = [tile["id"] for tile in visible if not self.access.can_see_card(tile) and tile["id"] in shown]
        html = fragments.render_one("partials/live/_cards.html", self.locale, cards=shown_tiles, seq=last_seq)
        html += "".join(fragments.card_delete_html(card_id) for card_id in hidden)
        ids = [tile["id"] for tile in shown_tiles] + hidden
        await self.send(for_browser(CARDS, html, seq=last_seq, cards=ids))

    async def want_editing(self, card_id: int | None) -> None:
        """At most one change per second goes out; in between, only the latest wish is kept
        and sent when the second is over."""
        now = time.monotonic()
        if now >= self.editing_next and self.editing_flush is None:
            await self.set_editing(card_id)
            return
        self.editing_pending = card_id
        if self.editing_flush is None:
            self.editing_flush = asyncio.create_task(self._flush_editing(self.editing_next - now))

    async def _flush_editing(self, delay: float) -> None:
        try:
            await asyncio.sleep(max(delay, 0))
            await self.set_editing(self.editing_pending)
        except Exception:
            log.exception("editing marker not published")
        finally:
            self.editing_flush = None

    async def set_editing(self, card_id: int | None) -> None:
        departments = None
        self.editing_next = time.monotonic() + EDITING_INTERVAL_SECONDS
        if card_id is not None:
            if not self.access.can_edit:
                card_id = None  # viewers (and liaisons without a department) do not edit
            else:
                try:
                    card = await cards.get_card(self.access, card_id)
                    departments = [d for d in [card["department"], *(card["assisting_departments"] or [])] if d]
                except NotFound:
                    card_id = None
        if card_id == self.editing:
            return
        if self.editing is not None:
            await publish_editing(self.channels, self.board_id, self.editing, None, user_id=self.user.id)
        self.editing = card_id
        if card_id is not None:
            await publish_editing(
                self.channels, self.board_id, card_id, self.user.display_name, departments, user_id=self.user.id
            )


def card_deletes(card_ids: list[int], seq: int | None) -> str:
    html = "".join(fragments.card_delete_html(card_id) for card_id in card_ids)
    return for_browser(CARDS, html, seq=seq, cards=card_ids)


async def publish_presence(channels: ChannelsPlugin, redis, board_id: int) -> None:
    people = await presence.viewers(redis, board_id)
    html = fragments.render("partials/live/_presence.html", board_id=board_id, people=people)
    envelope = Envelope(type=PRESENCE, seq=None, html=html, data={"people": [p["user_id"] for p in people]})
    await channels.wait_published(envelope.encode(), [board_channel(board_id)])


async def publish_editing(
    channels: ChannelsPlugin,
    board_id: int,
    card_id: int | None,
    name: str | None,
    departments: list[int] | None = None,
    *,
    user_id: int | None = None,
) -> None:
    """Show (or, with no name, clear) "张三 正在编辑" on a card for everyone on the board."""
    if card_id is None:
        return
    html = fragments.render("partials/live/_editing.html", card_id=card_id, name=name, user_id=user_id)
    envelope = Envelope(
        type=EDITING,
        seq=None,
        html=html,
        before=departments,
        after=departments,
        cards=[card_id],
        data={"card": card_id, "user": user_id if name else None, "name": name},
    )
    await channels.wait_published(envelope.encode(), [board_channel(board_id)])
