"""Tests for portal.devtools.vendor: pinned hashes of static/vendor/ files."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from portal.devtools import vendor

EXPECTED_FILES = {"htmx.min.js", "htmx-ext-ws.js", "Sortable.min.js"}


def _status(results: list[vendor.Result]) -> dict[str, str]:
    return {r.entry.filename: r.status for r in results}


@pytest.fixture
def vendor_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "vendor"
    shutil.copytree(vendor.VENDOR_DIR, dest)
    return dest


def test_committed_files_pass_offline_check() -> None:
    results = vendor.check(vendor.VENDOR_DIR)
    assert _status(results) == {name: "ok" for name in EXPECTED_FILES}
    assert vendor.main(["--check"]) == 0


def test_the_browser_tests_accessibility_engine_is_the_pinned_one() -> None:
    tests_vendor = Path(__file__).resolve().parents[1] / "browser" / "vendor"
    assert _status(vendor.check(tests_vendor)) == {"axe.min.js": "ok"}


def test_tampered_byte_is_reported_as_mismatch(vendor_copy: Path) -> None:
    target = vendor_copy / "htmx.min.js"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))

    status = _status(vendor.check(vendor_copy))
    assert status["htmx.min.js"] == "mismatch"
    assert all(s == "ok" for name, s in status.items() if name != "htmx.min.js")
    assert vendor.main(["--check", "--vendor-dir", str(vendor_copy)]) != 0


def test_missing_file_is_reported(vendor_copy: Path) -> None:
    (vendor_copy / "Sortable.min.js").unlink()
    assert _status(vendor.check(vendor_copy))["Sortable.min.js"] == "missing"


@pytest.mark.parametrize(
    "line",
    [
        "a.js pkg 1.0.0 package/a.js",  # too few columns
        "a.js pkg 1.0.0 package/a.js " + "z" * 64,  # not hex
        "../a.js pkg 1.0.0 package/a.js " + "0" * 64,  # escapes vendor dir
        "a.js pkg 1.0.0 ../a.js " + "0" * 64,  # unsafe member path
    ],
)
def test_malformed_versions_line_is_rejected(tmp_path: Path, line: str) -> None:
    (tmp_path / "VERSIONS").write_text(f"# header\n{line}\n")
    with pytest.raises(vendor.VendorError):
        vendor.read_versions(tmp_path)


# --- --refresh, with `npm pack` replaced by a locally built tarball (offline) ---


def _make_tarball(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _fake_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, members: dict[str, bytes]) -> None:
    source = tmp_path / "pkg.tgz"
    _make_tarball(source, members)

    def fake_pack(spec: str, dest: Path) -> Path:
        return Path(shutil.copy(source, dest / "pkg.tgz"))

    monkeypatch.setattr(vendor, "npm_pack", fake_pack)
    monkeypatch.setattr(vendor.shutil, "which", lambda name: "/usr/bin/npm")


def _pin(vendor_dir: Path, data: bytes) -> None:
    (vendor_dir / "VERSIONS").write_text(
        f"# file package version member sha256\nlib.js lib 1.0.0 package/dist/lib.js {vendor.sha256_bytes(data)}\n"
    )


def test_refresh_writes_file_when_hash_matches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vendor_dir = tmp_path / "vendor"
    vendor_dir.mkdir()
    payload = b"console.log('pinned');\n"
    _pin(vendor_dir, payload)
    _fake_npm(monkeypatch, tmp_path, {"package/dist/lib.js": payload, "package/evil.js": b"x"})

    assert _status(vendor.refresh(vendor_dir)) == {"lib.js": "ok"}
    assert (vendor_dir / "lib.js").read_bytes() == payload
    assert sorted(p.name for p in vendor_dir.iterdir()) == ["VERSIONS", "lib.js"]


def test_refresh_refuses_to_write_on_hash_mismatch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vendor_dir = tmp_path / "vendor"
    vendor_dir.mkdir()
    _pin(vendor_dir, b"expected bytes")
    (vendor_dir / "lib.js").write_bytes(b"expected bytes")
    _fake_npm(monkeypatch, tmp_path, {"package/dist/lib.js": b"republished bytes"})

    assert _status(vendor.refresh(vendor_dir)) == {"lib.js": "mismatch"}
    assert (vendor_dir / "lib.js").read_bytes() == b"expected bytes"


def test_read_member_rejects_symlink(tmp_path: Path) -> None:
    tarball = tmp_path / "pkg.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo("package/dist/lib.js")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(vendor.VendorError, match="not a regular file"):
        vendor.read_member(tarball, "package/dist/lib.js")


def test_refresh_reports_missing_npm(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(vendor.shutil, "which", lambda name: None)
    assert vendor.main(["--refresh"]) != 0
    assert "npm not found" in capsys.readouterr().err
