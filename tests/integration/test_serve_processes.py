"""`portal serve` with several web processes (one per core by default, PORTAL_WEB_WORKERS):
they share the listening socket, a change made through one reaches a viewer connected to
another (through Redis pub/sub), and Ctrl-C to serve stops every one of them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from portal.core.redis import process_command
from tests import factories
from tests.live_helpers import board_socket, csrf, hello, htmx_post, http_login, receive_until
from tests.processes import alive, children_of, free_port, portal_process
from tests.security.test_ops_restart import serve_env

pytestmark = pytest.mark.processes


def web_pids(serve_pid: int) -> list[int]:
    return [pid for pid in children_of(serve_pid) if alive(pid) and "web" in (process_command(pid) or [])]


def serving_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server end of the TCP connection from ``client_port``
    (from /proc: the socket's inode in /proc/net/tcp, then the process with that inode open)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == server_port and remote_port == client_port:
                inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


async def test_two_web_processes_serve_a_change_reaches_a_viewer_on_the_other_and_ctrl_c_stops_both(tmp_path, clean_db):
    world = await factories.board("comments")
    card_id = await world.card("member", title="跨进程的卡片", platform="weibo")
    port = free_port()
    env = {**serve_env(tmp_path, port), "PORTAL_WEB_WORKERS": "2"}
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with portal_process("serve", "--no-demo", env=env, port=port, log=log) as serve:
        pids = wait_for(lambda: len(web_pids(serve.pid)) == 2 and web_pids(serve.pid), "two web processes")
        assert "Web processes: 2." in log.read_text()
        # Both have started serving (not only the first to answer /healthz).
        wait_for(lambda: log.read_text().count("Application startup complete") >= 2, "both web processes up")
        client = await http_login(base, "member", factories.PASSWORD)
        # A viewer on each process: open board sockets until each process holds one.
        viewers = {}
        spare = []
        try:
            for _ in range(60):
                socket = await board_socket(base, world.board_id, client)
                pid = serving_pid(port, socket.local_address[1], pids)
                if pid in viewers or pid is None:
                    spare.append(socket)
                    continue
                viewers[pid] = socket
                await hello(socket, 0)
                if len(viewers) == 2:
                    break
            assert set(viewers) == set(pids), "the two processes did not both accept connections"
            # The change goes through one process (whichever accepts it): both viewers see it.
            token = await csrf(client, f"/boards/{world.board_id}")
            response = await htmx_post(
                client, f"/cards/{card_id}", {"title": "另一个进程改的标题", "version": 1, "platform": "weibo"}, token
            )
            assert response.status_code == 200, response.text[:300]
            for socket in viewers.values():
                assert "另一个进程改的标题" in await receive_until(socket, "另一个进程改的标题", timeout=10)
            # The next load, on either process, shows it too.
            for _ in range(4):
                page = await client.get(f"/boards/{world.board_id}", headers={"Connection": "close"})
                assert "另一个进程改的标题" in page.text
        finally:
            for socket in [*viewers.values(), *spare]:
                await socket.close()
            await client.aclose()
        others = [pid for pid in children_of(serve.pid) if pid not in pids]  # the worker, Redis
        # Ctrl-C in the terminal: SIGINT to serve's whole process group. The children have
        # groups of their own, so each gets exactly one signal, serve's SIGTERM (a second
        # SIGINT would make uvicorn skip its graceful shutdown).
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(timeout=30) == 0
    for pid in [*pids, *others]:
        assert not alive(pid), f"process {pid} left behind after Ctrl-C"
    text = log.read_text()
    assert "Portal stopped." in text
    # Both web processes ran their shutdown to the end (lifespan included), nothing cut short.
    assert text.count("Application shutdown complete.") == 2, text[-3000:]
    assert "Traceback" not in text and "CancelledError" not in text and "exited (code" not in text


@pytest.mark.parametrize("shared", [False, True], ids=["plain", "so_reuseport"])
def test_a_port_in_use_is_one_sentence(tmp_path, clean_db, shared):
    """Also when the holder allows SO_REUSEPORT (another `portal serve`'s web processes):
    a second serve must not silently join its group and share the port."""
    import socket
    import subprocess

    from tests.processes import portal_command

    with socket.create_server(("127.0.0.1", 0), reuse_port=shared) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            portal_command("serve", "--no-demo"),
            env={**os.environ, **serve_env(tmp_path, port), "PORTAL_WEB_WORKERS": "2"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_a_web_process_that_cannot_start_is_marked_so_serve_can_give_up():
    """A child that exits 2 at once (it could not start, and said why) marks its supervisor;
    when every web process's supervisor is so marked, serve stops with one sentence instead
    of saying it runs and retrying for ever."""
    import threading

    from portal.cli import _WorkerSupervisor

    started = []
    supervisor = _WorkerSupervisor(
        dict(os.environ),
        on_start=started.append,
        stopping=threading.Event(),
        args=("web", "--port", "not-a-port"),  # a usage error: exit code 2
        what="web process",
    )
    supervisor.start()
    try:
        wait_for(lambda: supervisor.failed_at_start, "the failed start noticed", timeout=30)
    finally:
        supervisor.stop()
    assert started and supervisor.process.poll() is not None
