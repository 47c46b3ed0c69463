"""A browser that stops reading and then goes away must not leave its websocket handler
behind: its presence disappears for the others, the server keeps answering, and Ctrl-C
stops the web process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from portal.live.channels import Envelope, board_channel
from portal.live.publisher import backend_for
from tests import factories
from tests.live_helpers import board_socket, hello, http_login, receive_until
from tests.processes import free_port, portal_process

pytestmark = pytest.mark.processes


@pytest.fixture
async def board(clean_db):
    people = {"zhangwei": ("member", "publicity", "member", "张伟"), "lina": ("member", "publicity", "member", "李娜")}
    return (await factories.board("comments", people=people)).board_id


async def presence_without(socket, board_id: int, name: str, timeout: float) -> str:
    async def wait():
        while True:
            message = await socket.recv()
            if f'id="presence-{board_id}"' in message and name not in message:
                return message

    return await asyncio.wait_for(wait(), timeout)


async def test_a_socket_that_stops_reading_and_closes_is_released_and_ctrl_c_stops_the_server(
    board, redis_client, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with portal_process("web", "--port", str(port), port=port, log=tmp_path / "web.log") as process:
        zhang = await http_login(base, "zhangwei", factories.PASSWORD)
        lina = await http_login(base, "lina", factories.PASSWORD)
        # 张伟's browser says hello, then stops reading (a frozen tab, a dead network) …
        async with board_socket(base, board, zhang, max_queue=1, close_timeout=2) as stuck:
            await hello(stuck, 10**9)
            await receive_until(stuck, f'id="presence-{board}"')
            publish = backend_for(redis_client).publish
            big = ("<p>" + "很长的卡片内容" * 12000 + "</p>").encode()  # ~250 KB a message
            for _ in range(60):
                envelope = Envelope(seq=None, html={"zh_Hans": big, "en": b""})
                await publish(envelope.encode(), [board_channel(board)])
        # … and then goes away. 李娜 opens the board and must see 张伟 leave.
        async with board_socket(base, board, lina) as watcher:
            await hello(watcher, 10**9)
            await presence_without(watcher, board, "张伟", timeout=30)
        # The server still answers, and Ctrl-C stops it.
        assert (await zhang.get("/healthz")).status_code == 200
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the web process did not stop on Ctrl-C")
