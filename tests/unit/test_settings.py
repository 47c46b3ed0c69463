"""Settings: embedded defaults, validation in one sentence, the generated secret key."""

from __future__ import annotations

import stat

import pytest

from portal.settings import Settings, SettingsError, get_settings


def make(monkeypatch, **env) -> Settings:
    for name in ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORTAL_BASE_URL", "PORTAL_PORT", "PORTAL_TIMEZONE"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return get_settings()
    finally:
        get_settings.cache_clear()


def test_embedded_defaults(monkeypatch, tmp_path):
    settings = make(monkeypatch, PORTAL_VAR_DIR=str(tmp_path))
    assert settings.embedded_database and settings.embedded_redis
    assert settings.sqlite_path == tmp_path / "portal.sqlite3"
    assert settings.effective_redis_url == f"unix://{tmp_path}/redis.sock"
    assert (settings.host, settings.port, settings.timezone) == ("127.0.0.1", 8000, "Asia/Shanghai")
    assert settings.public_url == "http://127.0.0.1:8000" and not settings.secure_cookies


def test_https_base_url_makes_cookies_secure(monkeypatch, tmp_path):
    settings = make(monkeypatch, PORTAL_VAR_DIR=str(tmp_path), PORTAL_BASE_URL="https://portal.example.gov.cn/")
    assert settings.secure_cookies and settings.public_url == "https://portal.example.gov.cn"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must start with sqlite:/// or postgres://"),
        ("DATABASE_URL", "postgres:///nohost", "no host name"),
        ("REDIS_URL", "memcached://x", "REDIS_URL must start with"),
        ("PORTAL_PORT", "eighty", "PORTAL_PORT"),
        ("PORTAL_TIMEZONE", "Asia/Atlantis", "unknown time zone"),
    ],
)
def test_malformed_setting_is_one_clear_sentence(monkeypatch, tmp_path, name, value, fragment):
    with pytest.raises(SettingsError) as error:
        make(monkeypatch, PORTAL_VAR_DIR=str(tmp_path), **{name: value})
    message = str(error.value)
    assert fragment in message and message.startswith(f"Setting {name} is invalid") and "\n" not in message


def test_secret_key_is_generated_once_and_kept_private(monkeypatch, tmp_path):
    settings = make(monkeypatch, PORTAL_VAR_DIR=str(tmp_path))
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    assert settings.resolved_secret_key() == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert make(monkeypatch, PORTAL_VAR_DIR=str(tmp_path), SECRET_KEY="from-env").resolved_secret_key() == "from-env"
