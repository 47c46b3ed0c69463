"""The file store: each file once, named by its SHA-256, under PORTAL_MEDIA_DIR.

``<media>/ab/cd/abcd…`` (the full digest as the name). A file is written to a temporary
file in ``<media>/tmp`` on the same file system, flushed, then renamed into place: a reader
sees the whole file or none, and two uploads of the same bytes end with one file. Files are
never deleted while an attachment row names them; the worker's clean-up (``orphans``)
removes the rest once they are older than ``ORPHAN_AGE`` (an upload stores its file before
its row commits: the hour keeps the clean-up from racing it). Storing bytes that are there
already touches the file, so that a file just re-used is never "old"; so does deleting the
last attachment that refers to a file (``services._mark_orphaned``), so that an orphan is
removed an hour after it became one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from portal.settings import get_settings

CHUNK = 1024 * 1024
ORPHAN_AGE_SECONDS = 3600
DIGEST = re.compile(r"[0-9a-f]{64}")


def root() -> Path:
    return get_settings().media_dir


def path_of(sha256: str, base: Path | None = None) -> Path:
    if not DIGEST.fullmatch(sha256):
        raise ValueError("not a SHA-256 digest")
    return (base or root()) / sha256[:2] / sha256[2:4] / sha256


def digest(file: BinaryIO) -> tuple[str, int]:
    """(SHA-256, size) of a seekable file, read from its start; left at its start."""
    file.seek(0)
    hasher, size = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    file.seek(0)
    return hasher.hexdigest(), size


def store(file: BinaryIO, sha256: str) -> Path:
    """Put the file's bytes in the store under ``sha256`` (computed by ``digest``)."""
    target = path_of(sha256)
    if target.exists():
        try:
            os.utime(target)  # re-used now: not an orphan for the next hour
            return target
        except FileNotFoundError:
            pass  # the clean-up removed it a moment ago: write it again
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = root() / "tmp"
    temporary.mkdir(parents=True, exist_ok=True)
    file.seek(0)
    handle, name = tempfile.mkstemp(dir=temporary, prefix="upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(file, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, 0o640)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    finally:
        file.seek(0)
    return target


def store_bytes(data: bytes) -> str:
    import io

    sha256 = hashlib.sha256(data).hexdigest()
    store(io.BytesIO(data), sha256)
    return sha256


def exists(sha256: str) -> bool:
    try:
        return path_of(sha256).is_file()
    except ValueError:
        return False


def stored_files(base: Path | None = None) -> Iterator[Path]:
    """Every stored file (not the temporary ones)."""
    base = base or root()
    if not base.is_dir():
        return
    for first in base.iterdir():
        if len(first.name) != 2 or not first.is_dir():
            continue
        for second in first.iterdir():
            if not second.is_dir():
                continue
            for path in second.iterdir():
                if DIGEST.fullmatch(path.name):
                    yield path


def remove_orphans(referenced: set[str], now: float | None = None, age: float = ORPHAN_AGE_SECONDS) -> list[str]:
    """Delete stored files no row refers to and older than ``age`` seconds (and temporary
    files left by an upload that died); returns the digests removed."""
    now = now or time.time()
    removed = []
    for path in stored_files():
        if path.name in referenced:
            continue
        try:
            if now - path.stat().st_mtime < age:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path.name)
    temporary = root() / "tmp"
    if temporary.is_dir():
        for path in temporary.iterdir():
            try:
                if now - path.stat().st_mtime >= age:
                    path.unlink()
            except FileNotFoundError:
                continue
    return removed
