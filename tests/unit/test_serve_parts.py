"""`portal serve`'s pieces that need no running server: the secret key several processes
create at once, the default number of web processes, the run file written from several
threads, a system without SO_REUSEPORT, and the tile cache's key."""

from __future__ import annotations

import json
import socket
import threading
from collections import OrderedDict
from datetime import UTC, datetime

import pytest

from portal import settings as portal_settings
from portal.settings import Settings, SettingsError


def test_the_secret_key_is_created_once_when_processes_start_together(tmp_path):
    settings = Settings(PORTAL_VAR_DIR=str(tmp_path), SECRET_KEY="")
    start = threading.Barrier(8)
    keys = []

    def resolve() -> None:
        start.wait()
        keys.append(settings.resolved_secret_key())

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = (tmp_path / "secret_key").read_text()
    assert len(keys) == 8 and set(keys) == {written} and len(written) >= 48
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no candidate left behind
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_an_empty_secret_key_file_is_refused(tmp_path):
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(SettingsError, match="secret_key is empty"):
        Settings(PORTAL_VAR_DIR=str(tmp_path), SECRET_KEY="").resolved_secret_key()


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", None), ("200000 100000\n", 2), ("50000 100000\n", 1), ("garbage", None)],
)
def test_the_default_web_processes_follow_the_cgroup_quota_and_stop_at_eight(monkeypatch, tmp_path, cpu_max, expected):
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max)
    monkeypatch.setattr(portal_settings, "CGROUP_CPU_MAX", quota)
    monkeypatch.setattr(portal_settings.os, "sched_getaffinity", lambda pid: set(range(32)))
    count = Settings(PORTAL_VAR_DIR=str(tmp_path), PORTAL_WEB_WORKERS=0).web_process_count
    assert count == (expected or portal_settings.DEFAULT_WEB_PROCESSES_MAX)
    assert Settings(PORTAL_VAR_DIR=str(tmp_path), PORTAL_WEB_WORKERS=12).web_process_count == 12


def test_the_run_file_keeps_every_pid_recorded_from_many_threads(tmp_path):
    from portal.cli import _RunFile

    run_file = _RunFile(tmp_path / "serve.pid")
    run_file.claim(None)
    start = threading.Barrier(16)

    def record(index: int) -> None:
        start.wait()
        for _ in range(50):
            run_file.record(web=(index, 1000 + index))

    threads = [threading.Thread(target=record, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads((tmp_path / "serve.pid").read_text())["web"] == [1000 + index for index in range(16)]
    run_file.release()


def test_no_so_reuseport_is_one_sentence(monkeypatch):
    from portal.cli import _listen

    monkeypatch.delattr(socket, "SO_REUSEPORT")
    with pytest.raises(SettingsError, match="PORTAL_WEB_WORKERS=1"):
        _listen("127.0.0.1", 0, reuse_port=True)


def test_a_tile_is_cached_whatever_the_body(monkeypatch):
    from portal.boards import tiles

    monkeypatch.setattr(tiles, "_cache", OrderedDict())
    card = {
        "id": 7,
        "column": 1,
        "position": 1,
        "title": "标题",
        "priority": "normal",
        "labels": ["甲"],
        "version": 1,
        "received_at": datetime(2026, 1, 1, tzinfo=UTC),
        "body": "正文一",
        "due_at": None,
        "assignee_id": None,
        "assignee_name": None,
    }
    first = tiles.card_tiles([card], None, None)
    second = tiles.card_tiles([{**card, "body": "正文二，很长" * 100}], None, None)
    assert first == second and "标题" in first and len(tiles._cache) == 1
    tiles.card_tiles([{**card, "title": "新标题"}], None, None)
    assert len(tiles._cache) == 2  # what the tile shows is still part of the key
