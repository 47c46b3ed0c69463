"""Pinned, verifiable vendoring of front-end libraries.

Portal serves htmx, its WebSocket extension and SortableJS from
``static/vendor/`` instead of loading them from a CDN at run time.  That keeps
the browser talking only to our own origin, but it also means the files in the
repository *are* the supply chain: if one of them is swapped or edited, every
user runs the altered code.

``static/vendor/VERSIONS`` therefore pins each file to an exact npm package
version, the path of the file inside that package's tarball, and the SHA-256
of the file's bytes.  This module enforces that pin:

``python -m portal.devtools.vendor --check`` (the default)
    Offline.  Every listed file must exist and hash to its pinned value.
    Cheap enough for CI and the unit tests.

``python -m portal.devtools.vendor --refresh``
    Re-fetches each pinned ``package@version`` with ``npm pack``, extracts only
    the listed member from the tarball and compares its hash with the pin.  The
    file is written only when the hash matches: a pinned version must
    reproduce the pinned bytes, so a republished or tampered package is
    reported instead of silently vendored.

Upgrading a library is a deliberate act: change the version *and* the hash in
VERSIONS (after reviewing the new file), then run ``--refresh``.

Only the standard library is used, so the check runs before any project
dependency is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parents[2]  # parent of the ``portal`` package
VENDOR_DIR = REPO_ROOT / "static" / "vendor"
VERSIONS_NAME = "VERSIONS"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_NPM_TIMEOUT_S = 300


class VendorError(Exception):
    """A problem with VERSIONS itself or with the tooling (not a hash mismatch)."""


@dataclass(frozen=True)
class Entry:
    """One line of VERSIONS."""

    filename: str  # file name inside the vendor directory
    package: str  # npm package name
    version: str  # exact version
    member: str  # path of the file inside the npm tarball
    sha256: str  # expected hex digest of the file

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


@dataclass(frozen=True)
class Result:
    """Outcome for one entry: ``status`` is ``ok``, ``missing``, ``mismatch`` or ``error``."""

    entry: Entry
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- VERSIONS


def _parse_line(line: str, lineno: int) -> Entry:
    cols = line.split()
    if len(cols) != 5:
        raise VendorError(f"{VERSIONS_NAME}:{lineno}: expected 5 columns, got {len(cols)}")
    filename, package, version, member, sha = cols
    if filename in {".", ".."} or "/" in filename or "\\" in filename:
        raise VendorError(f"{VERSIONS_NAME}:{lineno}: file name must be a plain name: {filename!r}")
    member_path = PurePosixPath(member)
    if member_path.is_absolute() or ".." in member_path.parts:
        raise VendorError(f"{VERSIONS_NAME}:{lineno}: unsafe tarball path: {member!r}")
    if not _SHA256_RE.match(sha):
        raise VendorError(f"{VERSIONS_NAME}:{lineno}: not a lowercase sha256 hex digest: {sha!r}")
    return Entry(filename, package, version, member, sha)


def read_versions(vendor_dir: Path = VENDOR_DIR) -> list[Entry]:
    """Parse ``vendor_dir/VERSIONS``; blank lines and ``#`` comments are ignored."""
    path = Path(vendor_dir) / VERSIONS_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VendorError(f"{path} not found") from None
    entries = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append(_parse_line(line, lineno))
    if not entries:
        raise VendorError(f"{path} lists no files")
    return entries


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- --check


def check_entry(entry: Entry, vendor_dir: Path = VENDOR_DIR) -> Result:
    path = Path(vendor_dir) / entry.filename
    if not path.is_file():
        return Result(entry, "missing", f"{path} does not exist")
    actual = sha256_file(path)
    if actual != entry.sha256:
        return Result(entry, "mismatch", f"expected sha256 {entry.sha256}, file has {actual}")
    return Result(entry, "ok")


def check(vendor_dir: Path = VENDOR_DIR) -> list[Result]:
    """Offline: verify every file listed in VERSIONS against its pinned hash."""
    return [check_entry(e, vendor_dir) for e in read_versions(vendor_dir)]


# --------------------------------------------------------------------------- --refresh


def npm_pack(spec: str, dest: Path) -> Path:
    """Download ``spec`` (``name@version``) with ``npm pack`` into ``dest``; return the tarball."""
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm not found on PATH; install Node.js/npm to use --refresh")
    cmd = [npm, "pack", spec, "--pack-destination", str(dest), "--ignore-scripts"]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=_NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VendorError(f"npm pack {spec} timed out after {_NPM_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        raise VendorError(f"npm pack {spec} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    tarballs = list(Path(dest).glob("*.tgz"))
    if len(tarballs) != 1:
        raise VendorError(f"npm pack {spec}: expected one .tgz in {dest}, found {len(tarballs)}")
    return tarballs[0]


def read_member(tarball: Path, member: str) -> bytes:
    """Return the bytes of one regular-file member; nothing is extracted to disk."""
    with tarfile.open(tarball, mode="r:gz") as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            raise VendorError(f"{member} not found in {tarball.name}") from None
        if not info.isfile():  # refuse symlinks, hard links, devices, directories
            raise VendorError(f"{member} in {tarball.name} is not a regular file")
        fh = tar.extractfile(info)
        assert fh is not None  # guaranteed for regular files
        with fh:
            return fh.read()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def refresh_entry(entry: Entry, vendor_dir: Path = VENDOR_DIR) -> Result:
    """Fetch the pinned package, verify the member's hash, and only then write the file."""
    try:
        with tempfile.TemporaryDirectory(prefix="portal-vendor-") as tmp:
            data = read_member(npm_pack(entry.spec, Path(tmp)), entry.member)
    except VendorError as exc:
        return Result(entry, "error", str(exc))
    actual = sha256_bytes(data)
    if actual != entry.sha256:
        return Result(
            entry,
            "mismatch",
            f"{entry.spec}:{entry.member} has sha256 {actual}, VERSIONS pins {entry.sha256}; not written",
        )
    _write_atomically(Path(vendor_dir) / entry.filename, data)
    return Result(entry, "ok", "written")


def refresh(vendor_dir: Path = VENDOR_DIR) -> list[Result]:
    """Re-fetch every pinned file with npm; write only those reproducing the pinned hash."""
    entries = read_versions(vendor_dir)
    if shutil.which("npm") is None:
        raise VendorError("npm not found on PATH; install Node.js/npm to use --refresh")
    return [refresh_entry(e, vendor_dir) for e in entries]


# --------------------------------------------------------------------------- CLI


def _report(results: list[Result]) -> bool:
    for r in results:
        label = "ok" if r.ok else r.status.upper()
        line = f"{label:<9}{r.entry.filename:<18}{r.entry.spec:<22}{r.entry.member}"
        if r.detail:
            line += f"  ({r.detail})" if r.ok else f"\n         {r.detail}"
        print(line, file=sys.stdout if r.ok else sys.stderr)
    return all(r.ok for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m portal.devtools.vendor",
        description="Verify or re-fetch the pinned front-end files in static/vendor/.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="offline hash check (default)")
    mode.add_argument("--refresh", action="store_true", help="re-fetch pinned versions with npm pack")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        results = refresh(args.vendor_dir) if args.refresh else check(args.vendor_dir)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if _report(results):
        return 0
    print(
        f"error: {sum(not r.ok for r in results)} vendored file(s) failed",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
