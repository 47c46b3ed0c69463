"""Whole processes, as an operator runs them: `portal serve`, `portal web` × 2, start-up errors."""

from __future__ import annotations

import re
import subprocess
import time

import httpx
import pytest
import redis

from tests.conftest import PASSWORD
from tests.processes import alive, children_of, free_port, portal_command, portal_process

pytestmark = pytest.mark.processes


def http_login(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": password, "_csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    return client


def test_serve_runs_everything_and_ctrl_c_leaves_nothing_behind(tmp_path):
    port = free_port()
    env = {"PORTAL_VAR_DIR": str(tmp_path / "var"), "PORTAL_PORT": str(port), "DATABASE_URL": "", "REDIS_URL": ""}
    log = tmp_path / "serve.log"
    with portal_process("serve", env=env, port=port, log=log) as serve:
        output = log.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "admin" in output and "portal-demo" in output
        client = http_login(f"http://127.0.0.1:{port}", "admin", "portal-demo")
        boards = client.get("/boards").text
        assert all(name in boards for name in ["留言评论", "问题解答", "互动活动"])
        # The worker is up: it leaves a heartbeat in the embedded Redis.
        embedded = redis.Redis(unix_socket_path=str(tmp_path / "var" / "redis.sock"))
        deadline = time.monotonic() + 30
        while not embedded.keys("portal:worker-heartbeat:*") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert embedded.keys("portal:worker-heartbeat:*"), "no worker heartbeat"
        redis_pid = int(embedded.info("server")["process_id"])
        children = [pid for pid in children_of(serve.pid) if pid != redis_pid]  # the worker, the web processes
        assert children, "serve started no worker process"
    assert serve.returncode is not None
    for pid in [redis_pid, *children]:
        assert not alive(pid), f"process {pid} left behind after Ctrl-C"
    assert not (tmp_path / "var" / "redis.sock").exists()
    assert "Portal stopped." in log.read_text()


def test_two_web_processes_share_one_login_session(tmp_path, users):
    """Scaled mode: a session made through one web process is valid on another."""
    port_a, port_b = free_port(), free_port()
    with (
        portal_process("web", "--port", str(port_a), port=port_a),
        portal_process("web", "--port", str(port_b), port=port_b),
    ):
        client = http_login(f"http://127.0.0.1:{port_a}", "member", PASSWORD)
        other = httpx.Client(base_url=f"http://127.0.0.1:{port_b}", cookies=client.cookies, timeout=10)
        response = other.get("/boards")
        assert response.status_code == 200 and "张伟" in response.text
        # Logging out on B ends the session on A too.
        token = re.search(r'"x-csrftoken": "([^"]+)"', response.text).group(1)
        other.post("/logout", headers={"x-csrftoken": token})
        assert client.get("/boards").status_code == 303


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"DATABASE_URL": "mysql://db.example/portal"}, "Setting DATABASE_URL is invalid"),
        ({"REDIS_URL": "http://cache"}, "Setting REDIS_URL is invalid"),
        ({"PORTAL_TIMEZONE": "Mars/Olympus"}, "unknown time zone"),
        ({"PORTAL_PORT": "99999"}, "Setting PORTAL_PORT is invalid"),
        ({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/portal"}, "Cannot reach the PostgreSQL database"),
    ],
)
def test_bad_settings_stop_start_up_with_one_sentence(tmp_path, env, sentence):
    result = subprocess.run(
        portal_command("migrate"), env={**_base_env(tmp_path), **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreachable_redis_is_one_sentence(tmp_path):
    result = subprocess.run(
        portal_command("web"),
        env={**_base_env(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Cannot reach Redis" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "web", "worker", "migrate", "seed-demo", "create-user", "create-token"])
def test_every_command_has_help(command):
    result = subprocess.run(portal_command(command, "--help"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_create_user_command(tmp_path):
    env = _base_env(tmp_path)
    result = subprocess.run(
        portal_command(
            "create-user", "--username", "ops", "--name", "运维", "--role", "admin", "--password", "a-long-password"
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    again = subprocess.run(
        portal_command(
            "create-user", "--username", "ops", "--name", "运维", "--role", "admin", "--password", "a-long-password"
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "taken" in again.stderr


def _base_env(tmp_path) -> dict[str, str]:
    import os

    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def test_create_token_prints_a_token_once_and_stores_only_its_hash(tmp_path):
    import hashlib
    import sqlite3

    env = _base_env(tmp_path)  # the command runs on its own embedded SQLite file
    created = subprocess.run(
        portal_command(
            "create-user", "--username", "ops", "--name", "运维", "--role", "admin", "--password", "Zhu-Jiang-River-9"
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    result = subprocess.run(
        portal_command("create-token", "--username", "ops"), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("pt_") and "shown only this once" in result.stderr
    with sqlite3.connect(tmp_path / "var" / "portal.sqlite3") as database:
        stored = [row[0] for row in database.execute("SELECT token_hash FROM personal_token")]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    missing = subprocess.run(
        portal_command("create-token", "--username", "nobody"), env=env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "No active user" in missing.stderr
