"""The board websocket: checks session, Origin and board access, replays what the
browser missed, then forwards the board channel (filtered for liaisons) until it closes.

Browser → server messages are small JSON objects:
    {"type": "hello", "seq": 41}       last sequence number shown (sent on every (re)connect)
    {"type": "editing", "card": 7}     the user opened card 7's drawer (null: closed it)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from portal.accounts.services import NotFound, get_active_user
from portal.boards import services as boards
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.core.forms import optional_int
from portal.i18n import current_locale
from portal.live import fragments, presence
from portal.live.channels import Envelope, board_channel, user_channel

MAX_REPLAY_EVENTS = 200
HELLO_TIMEOUT_SECONDS = 10
PRESENCE_REFRESH_SECONDS = 30

CLOSE_NOT_LOGGED_IN = 4401
CLOSE_BAD_ORIGIN = 4403
CLOSE_NO_ACCESS = 4404


def origin_allowed(socket: WebSocket) -> bool:
    """Same origin only: the page's own host, or the configured public address."""
    origin = socket.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    host = socket.headers.get("host", "")
    public = urlsplit(socket.app.state.settings.public_url)
    return parts.netloc == host or (parts.scheme, parts.netloc) == (public.scheme, public.netloc)


async def refuse_or_user(socket: WebSocket):
    """The handshake's checks: a session, and our own page as the Origin. Refused → None."""
    user = socket.scope.get("user")
    if user is None:
        await socket.close(code=CLOSE_NOT_LOGGED_IN)
    elif not origin_allowed(socket):
        await socket.close(code=CLOSE_BAD_ORIGIN)
    else:
        return user
    return None


@websocket("/boards/{board_id:int}/ws")
async def board_socket(socket: WebSocket, board_id: FromPath[int], channels: ChannelsPlugin) -> None:
    user = await refuse_or_user(socket)
    if user is None:
        return
    try:
        access = await access_for(user, board_id)
    except NotFound:
        await socket.close(code=CLOSE_NO_ACCESS)
        return
    await socket.accept()
    locale = current_locale()
    redis = socket.app.state.redis
    connection_id = secrets.token_hex(8)
    # The board's changes, and this user's own (the notification bell).
    async with channels.start_subscription([board_channel(board_id), user_channel(user.id)]) as subscriber:
        await presence.join(redis, board_id, connection_id, user.id, user.display_name)
        await publish_presence(channels, redis, board_id)
        state: dict[str, int | None] = {"editing": None}
        try:
            async with subscriber.run_in_background(lambda data: forward(socket, access, locale, data)):
                await converse(socket, access, locale, channels, connection_id, state)
        finally:
            await presence.leave(redis, board_id, connection_id)
            with contextlib.suppress(Exception):
                await publish_presence(channels, redis, board_id)
                await publish_editing(channels, board_id, state["editing"], None)


@websocket("/ws/me")
async def my_socket(socket: WebSocket, channels: ChannelsPlugin) -> None:
    """The user's own channel on pages without a board: the bell's unread count, live."""
    user = await refuse_or_user(socket)
    if user is None:
        return
    await socket.accept()
    locale = current_locale()

    async def send(data: bytes) -> None:
        await socket.send_text(Envelope.decode(data).html[locale].decode())

    async with channels.start_subscription([user_channel(user.id)]) as subscriber:
        async with subscriber.run_in_background(send):
            while True:
                try:
                    await asyncio.wait_for(socket.receive_text(), timeout=PRESENCE_REFRESH_SECONDS)
                except TimeoutError:
                    session = socket.scope.get("auth")
                    if session is None or await socket.app.state.sessions.get(session.token) is None:
                        await socket.close(code=CLOSE_NOT_LOGGED_IN)
                        return
                except WebSocketDisconnect:
                    return


async def forward(socket: WebSocket, access: BoardAccess, locale: str, data: bytes) -> None:
    envelope = Envelope.decode(data)
    if access.department_only is not None and envelope.after is not None:
        if access.department_only not in envelope.after:
            if envelope.before and access.department_only in envelope.before:
                # The card left this liaison's department: take it off their board.
                card_id = _card_id(envelope.html[locale])
                if card_id:
                    await socket.send_text(fragments.card_delete_html(card_id))
            return
    await socket.send_text(envelope.html[locale].decode())


def _card_id(html: bytes) -> int | None:
    marker = b'id="card-'
    start = html.find(marker)
    if start < 0:
        return None
    digits = html[start + len(marker) : html.find(b'"', start + len(marker))]
    return int(digits) if digits.isdigit() else None


async def converse(
    socket: WebSocket,
    access: BoardAccess,
    locale: str,
    channels: ChannelsPlugin,
    connection_id: str,
    state: dict[str, int | None],
) -> None:
    redis = socket.app.state.redis
    user = access.user
    while True:
        try:
            raw = await asyncio.wait_for(socket.receive_text(), timeout=PRESENCE_REFRESH_SECONDS)
        except TimeoutError:
            # Access is re-checked regularly: a logout, a disabled account or a removal
            # from the board ends the live feed within half a minute.
            if not await still_allowed(socket, access):
                await socket.close(code=CLOSE_NO_ACCESS)
                return
            await presence.join(redis, access.board_id, connection_id, user.id, user.display_name)
            continue
        except WebSocketDisconnect:
            return
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("type") == "hello":
            seq = message.get("seq")
            await catch_up(socket, access, locale, seq if isinstance(seq, int) else 0)
        elif message.get("type") == "editing":
            card = message.get("card")
            card_id = optional_int(card) if isinstance(card, int | str) else None
            departments = None
            if card_id is not None:
                try:
                    card = await cards.get_card(access, card_id)
                except NotFound:
                    continue
                departments = [d for d in [card["department"], *(card["assisting_departments"] or [])] if d]
            if state["editing"] is not None and state["editing"] != card_id:
                await publish_editing(channels, access.board_id, state["editing"], None)
            state["editing"] = card_id
            if card_id is not None:
                await publish_editing(channels, access.board_id, card_id, user.display_name, departments)


async def still_allowed(socket: WebSocket, access: BoardAccess) -> bool:
    session = socket.scope.get("auth")
    if session is None or await socket.app.state.sessions.get(session.token) is None:
        return False
    user = await get_active_user(access.user.id)
    if user is None:
        return False
    try:
        current = await access_for(user, access.board_id)
    except NotFound:
        return False
    return current.department_only == access.department_only


async def catch_up(socket: WebSocket, access: BoardAccess, locale: str, seq: int) -> None:
    """Send what happened after ``seq``: the current state of each card touched since,
    or, past the replay limit or after column changes, an instruction to re-fetch."""
    missed = await boards.events_since(access.board_id, seq, MAX_REPLAY_EVENTS + 1)
    if not missed:
        return
    last_seq = missed[-1]["seq"]
    if len(missed) > MAX_REPLAY_EVENTS or any(event["object_type"] == "column" for event in missed):
        await socket.send_text(fragments.render_one("partials/live/_refresh.html", locale, seq=last_seq))
        return
    card_ids = list(dict.fromkeys(e["object_id"] for e in missed if e["object_type"] == "card" and e["object_id"]))
    visible = [tile for tile in await cards.tiles(card_ids) if tile["board"] == access.board_id]
    shown = [tile for tile in visible if access.can_see_card(tile)]
    hidden = [tile["id"] for tile in visible if not access.can_see_card(tile)]
    html = fragments.render_one("partials/live/_cards.html", locale, cards=shown, seq=last_seq)
    html += "".join(fragments.card_delete_html(card_id) for card_id in hidden)
    await socket.send_text(html)


async def publish_presence(channels: ChannelsPlugin, redis, board_id: int) -> None:
    people = await presence.viewers(redis, board_id)
    html = fragments.render("partials/live/_presence.html", board_id=board_id, people=people)
    await channels.wait_published(Envelope(seq=None, html=html).encode(), [board_channel(board_id)])


async def publish_editing(
    channels: ChannelsPlugin, board_id: int, card_id: int | None, name: str | None, departments: list[int] | None = None
) -> None:
    """Show (or, with no name, clear) "张三 正在编辑" on a card for everyone on the board."""
    if card_id is None:
        return
    html = fragments.render("partials/live/_editing.html", card_id=card_id, name=name)
    envelope = Envelope(seq=None, html=html, before=departments, after=departments)
    await channels.wait_published(envelope.encode(), [board_channel(board_id)])
