"""Spreadsheet import on a comments board: upload → preview → confirm → import in batches.

Nothing is written to the database before the person confirms. The parsed preview is kept in
Redis under a random token for ``TTL`` seconds (not in the form: a form would let the browser
change rows after they were checked), tied to the person and the board that made it. The
import itself runs in batches of ``BATCH`` rows, one per request, so that a 5,000-row file shows
a moving progress bar instead of one request that outlasts the proxy's patience; each batch
claims its rows with one atomic increment, so two tabs driving the same import never take the
same rows. Every row goes through ``intake_services.receive``, the same path as a signed post:
a message already on the portal (same platform and external id) is skipped and counted.

Who may import: whoever may edit the board, except department liaisons (an import is about the
whole board; its "already on the portal" count would tell them about cards they may not see),
for whom the page does not exist.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio

from portal.accounts.services import NotFound
from portal.boards.access import BoardAccess
from portal.comments import intake_services
from portal.comments.imports import MAX_BYTES, ImportFileError, parse_import
from portal.comments.intake import IntakeMessage
from portal.comments.kind import KIND
from portal.core.forms import FormError
from portal.i18n import gettext as _

logger = logging.getLogger(__name__)

TTL = 30 * 60
BATCH = 50
SHOWN_ROWS = 20


@dataclass(frozen=True)
class Progress:
    total: int  # rows to try (valid, not repeated in the file, not on the portal when previewed)
    imported: int
    skipped: int  # on the portal by the time their batch ran
    failed: int

    @property
    def processed(self) -> int:
        return self.imported + self.skipped + self.failed

    @property
    def done(self) -> bool:
        return self.processed >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.processed * 100 // self.total)


def require_importer(access: BoardAccess) -> None:
    if access.board_kind != KIND.name or access.department_only is not None:
        raise NotFound
    access.require_edit()


def _key(token: str) -> str:
    return f"portal:import:{token}"


def _progress_key(token: str) -> str:
    return f"portal:import:{token}:progress"


async def prepare(redis: Any, access: BoardAccess, filename: str, data: bytes, platform: str = "") -> str:
    """Check the file and keep its preview; the token names it. ``FormError`` for a file that
    cannot be imported at all."""
    require_importer(access)
    if not data:
        raise FormError({"file": _("Choose a CSV or Excel file.")})
    if len(data) > MAX_BYTES:  # before the child process reads it
        raise FormError({"file": _("The file is larger than %(limit)s.", limit="5 MB")})
    try:
        # CPU-bound, and waits on the workbook reader's child process: off the event loop.
        preview = await anyio.to_thread.run_sync(partial(parse_import, filename, data, platform=platform or None))
    except ImportFileError as error:
        raise FormError({"file": error.message}) from None
    keys = [(row.platform, row.external_id) for row in preview.rows]
    on_portal = await intake_services.existing_cards(keys)
    rows = [row for row in preview.rows if (row.platform, row.external_id) not in on_portal]
    stored = {
        "user": access.user.id,
        "board": access.board_id,
        "filename": filename[:200],
        "valid": len(preview.rows),
        "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in preview.errors],
        "error_rows": len({e.row for e in preview.errors}),
        "duplicates_in_file": preview.duplicates_in_file,
        "on_portal": len(on_portal),
        "shown": [{**row.model_dump(mode="json"), "row": row.row} for row in preview.rows[:SHOWN_ROWS]],
        "rows": [row.model_dump(mode="json") for row in rows],
        "created_at": datetime.now(UTC).isoformat(),
    }
    token = secrets.token_urlsafe(16)
    await redis.set(_key(token), json.dumps(stored, ensure_ascii=False), ex=TTL)
    return token


async def load(redis: Any, access: BoardAccess, token: str) -> dict[str, Any]:
    """The stored preview, for its owner on its board only (anyone else: it does not exist)."""
    require_importer(access)
    raw = await redis.get(_key(token))
    if raw is None:
        raise NotFound
    stored = json.loads(raw)
    if stored["user"] != access.user.id or stored["board"] != access.board_id:
        raise NotFound
    return stored


async def progress(redis: Any, token: str, stored: dict[str, Any]) -> Progress | None:
    """None until the import is confirmed."""
    values = await redis.hgetall(_progress_key(token))
    if not values:
        return None
    counts = {key.decode(): int(value) for key, value in values.items()}
    return Progress(len(stored["rows"]), counts.get("imported", 0), counts.get("skipped", 0), counts.get("failed", 0))


async def confirm(redis: Any, access: BoardAccess, token: str) -> None:
    """Start the import (confirming twice starts it once)."""
    await load(redis, access, token)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(_progress_key(token), "next", 0)
        pipe.expire(_progress_key(token), TTL)
        pipe.expire(_key(token), TTL)
        await pipe.execute()


async def run_batch(redis: Any, access: BoardAccess, token: str) -> Progress | None:
    """Import the next ``BATCH`` rows (none once all are claimed) and say how far it is;
    None (and nothing written) when the import was not confirmed."""
    stored = await load(redis, access, token)
    key = _progress_key(token)
    if not await redis.hexists(key, "next"):
        return None
    # Keep the preview while it is being imported, however long that takes.
    await redis.expire(key, TTL)
    await redis.expire(_key(token), TTL)
    end = await redis.hincrby(key, "next", BATCH)
    rows = stored["rows"][end - BATCH : end]
    column_id = await intake_services.intake_column(access.board_id) if rows else None
    for row in rows:
        try:
            received = await intake_services.receive(access, IntakeMessage.model_validate(row), column_id=column_id)
            outcome = "imported" if received.created else "skipped"
        except Exception:
            # One row must not stop the rest: its rows are claimed, so nobody would retry them
            # and the bar would never finish. It is counted, and logged for whoever looks.
            logger.exception("import %s: row %s failed", token[:6], row.get("external_id"))
            outcome = "failed"
        await redis.hincrby(key, outcome, 1)
    return await progress(redis, token, stored)
