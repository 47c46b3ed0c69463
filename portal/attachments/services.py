"""Attachments on cards: upload (checked by content, within the size limits), list, open
for download or preview (permission-checked, citizen materials audited), delete, the
worker's thumbnails and the clean-up of files nothing refers to.

Writes go through the write path (``portal.events.unit.board_write``): the rows, the card's
``version + 1`` (so every open drawer reloads its attachments section, see static/app.js
``refreshOpenSections``), the typed event and the publish to the board's viewers commit
together. A batch with one bad file is refused whole: nothing is stored, no row is written,
and the message names the file.

Who sees what: the card's own rule (404 for anyone who may not see the card). A kind whose
attachments hold citizen materials (``CardKind.private_materials``: an inquiry's 发票 or
病历) shows them only to those its hook allows (for inquiries, those who may reveal the
citizen's numbers) and to the person who uploaded them; others see how many there are,
and get 403 for their URLs. Every download or preview of such an attachment is written to
the audit log (``attachment.downloaded``) once its file was found, a thumbnail's view once
per person, attachment and day, and a refused attempt every time; none of them is cached.

An archived card's attachments stay readable (the evidence of a closed case) with the same
rules, read only: nothing is added to or removed from an archived card.

A file's name follows its content (``portal.attachments.types.stored_name``): a PNG sent as
``截图.html`` is refused, one sent as ``截图.jpeg`` is kept as ``截图.png``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import threading
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from portal.accounts.services import CurrentUser, NotFound, PermissionDenied
from portal.attachments import storage, targets
from portal.attachments.tables import Attachment
from portal.attachments.types import MAX_ZIP_ENTRIES, Refused, Sniffed, sniff, stored_name
from portal.boards.access import BoardAccess, access_for
from portal.cards import services as cards
from portal.cards.kinds import kind_of
from portal.cards.tables import Card
from portal.core.errors import FormError
from portal.core.forms import valid_id
from portal.events import services as audit
from portal.events.kinds import EventKind
from portal.events.tables import Event
from portal.events.unit import board_write
from portal.i18n import gettext as _
from portal.live import effects as live_effects
from portal.settings import get_settings

log = logging.getLogger("portal.attachments")

MB = 1024 * 1024
MAX_FILES_PER_UPLOAD = 20
NAME_LENGTH = 200
THUMBNAIL_SIZE = 320
# Pillow refuses images above this many pixels (a decompression bomb: a small PNG that
# unpacks to gigabytes); 50 megapixels is more than any phone's screenshot or photo.
MAX_IMAGE_PIXELS = 50_000_000
# A drawer shows a placeholder and re-asks for the section until the worker has made the
# thumbnail; after this long it stops asking (no worker running) and says so.
THUMBNAIL_WAIT = timedelta(minutes=2)

DOWNLOADED = "attachment.downloaded"
DOWNLOAD_REFUSED = "attachment.download_refused"


def max_file_bytes() -> int:
    return get_settings().attachment_max_mb * MB


def max_card_bytes() -> int:
    return get_settings().attachment_card_max_mb * MB


def max_card_files() -> int:
    return get_settings().attachment_card_max_files


# At most this many uploads are checked (read, listed, hashed) at once in one process: a
# batch of large zips must not take every thread of the pool.
CHECKS = threading.BoundedSemaphore(2)


@dataclass
class Incoming:
    """A file as it arrived: its name as sent and its bytes (a seekable binary file)."""

    name: str
    file: BinaryIO

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Incoming:
        return cls(name, io.BytesIO(data))


@dataclass
class Checked:
    name: str
    file: BinaryIO
    sniffed: Sniffed
    sha256: str
    size: int


@dataclass
class AttachmentChange:
    board_id: int
    card_id: int
    seq: int
    attachment_ids: list[int] = field(default_factory=list)
    version_before: int | None = None  # the card's version the write started from (+1 after it)


def clean_name(name: str) -> str:
    """The file's own name: no folders, no control or format characters (bidi overrides and
    isolates, zero-width joiners …), at most NAME_LENGTH."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    name = name.strip().strip(".") or _("attachment")
    if len(name) > NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_LENGTH - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:NAME_LENGTH]
    return name


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < MB:
        return f"{size / 1024:.0f} KB"
    return f"{size / MB:.1f} MB"


def _check_one(incoming: Incoming) -> Checked:
    """Size and type of one file, by its content (runs in a thread: it reads the file)."""
    name = clean_name(incoming.name)
    incoming.file.seek(0, io.SEEK_END)
    size = incoming.file.tell()
    incoming.file.seek(0)
    if size > max_file_bytes():
        raise FormError(
            {
                "files": _(
                    "%(name)s is %(size)s: a file may be at most %(limit)s MB.",
                    name=name,
                    size=human_size(size),
                    limit=get_settings().attachment_max_mb,
                )
            }
        )
    found = sniff(incoming.file, name)
    if isinstance(found, Refused):
        if found.message:
            raise FormError({"files": found.message % {"name": name, "n": MAX_ZIP_ENTRIES}})
        raise FormError(
            {"files": _("%(name)s is not an allowed type of file (it is %(actual)s).", name=name, actual=found.actual)}
        )
    kept = stored_name(name, found)
    if kept is None:
        raise FormError(
            {
                "files": _(
                    "%(name)s: files ending in .%(ext)s are not accepted, whatever they hold (a computer could run "
                    "them as a program or a web page).",
                    name=name,
                    ext=name.rsplit(".", 1)[-1].lower(),
                )
            }
        )
    sha256, size = storage.digest(incoming.file)
    return Checked(clean_name(kept), incoming.file, found, sha256, size)


def check_files(files: list[Incoming]) -> list[Checked]:
    """Every file checked, or FormError naming the first bad one (nothing stored)."""
    if not files:
        raise FormError({"files": _("Choose a file to attach.")})
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise FormError({"files": _("Attach at most %(n)s files at once.", n=MAX_FILES_PER_UPLOAD)})
    with CHECKS:
        checked = [_check_one(incoming) for incoming in files]
    total = sum(item.size for item in checked)
    if total > max_card_bytes():
        raise FormError({"files": _card_limit_message(0, total)})
    return checked


def _card_limit_message(stored: int, adding: int) -> str:
    return _(
        "A card may hold at most %(limit)s MB of attachments: it has %(stored)s, these files add %(adding)s.",
        limit=get_settings().attachment_card_max_mb,
        stored=human_size(stored),
        adding=human_size(adding),
    )


def _card_files_message(stored: int, adding: int) -> str:
    return _(
        "A card may hold at most %(limit)s attachments: it has %(stored)s, these are %(adding)s more.",
        limit=max_card_files(),
        stored=stored,
        adding=adding,
    )


def _departments(card: dict[str, Any]) -> list[int]:
    return [d for d in [card.get("department"), *(card.get("assisting_departments") or [])] if d is not None]


async def add_attachments(
    access: BoardAccess,
    card_id: int,
    files: list[Incoming],
    *,
    target_type: str = "",
    target_id: int | None = None,
) -> AttachmentChange:
    """Attach ``files`` to the card (all or none). PermissionDenied for a reader, NotFound
    for a card this person may not see, FormError for a bad file or a limit passed."""
    access.require_edit()
    await cards.require_visible(access, card_id)  # before anything about the files is said
    await targets.require_target(card_id, access.board_kind, target_type, target_id)
    checked = await asyncio.to_thread(check_files, files)
    stored_before, count_before = await _card_usage(card_id)
    adding = sum(item.size for item in checked)
    if stored_before + adding > max_card_bytes():
        raise FormError({"files": _card_limit_message(stored_before, adding)})
    if count_before + len(checked) > max_card_files():
        raise FormError({"files": _card_files_message(count_before, len(checked))})
    # Stored before the rows commit: a file whose row never commits is an orphan the clean-up
    # removes (after an hour, so that it never races an upload in progress).
    await asyncio.to_thread(lambda: [storage.store(item.file, item.sha256) for item in checked])
    thumbnails = await _thumbnails_made([item.sha256 for item in checked if item.sniffed.kind == "image"])
    now = datetime.now(UTC)
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, card_id)
        stored, count = await _card_usage(card_id)  # again, under the board's lock
        if stored + adding > max_card_bytes():
            raise FormError({"files": _card_limit_message(stored, adding)})
        if count + len(checked) > max_card_files():
            raise FormError({"files": _card_files_message(count, len(checked))})
        rows = []
        for item in checked:
            made = thumbnails.get(item.sha256) if item.sniffed.kind == "image" else None
            rows.append(
                Attachment(
                    card=card_id,
                    board=access.board_id,
                    target_type=target_type,
                    target_id=target_id,
                    sha256=item.sha256,
                    name=item.name,
                    kind=item.sniffed.kind,
                    content_type=item.sniffed.content_type,
                    label=str(item.sniffed.label),
                    size=item.size,
                    width=made["width"] if made else None,
                    height=made["height"] if made else None,
                    thumbnail=("ready" if made else "pending") if item.sniffed.kind == "image" else "none",
                    thumbnail_sha256=made["thumbnail_sha256"] if made else "",
                    uploaded_by=access.user.id if access.user.id else None,
                    uploaded_at=now,
                )
            )
        inserted = await Attachment.insert(*rows).returning(Attachment.id, Attachment.thumbnail)
        ids = [row["id"] for row in inserted]
        await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == card_id)
        unit.record(
            EventKind.card_attachment_added,
            "card",
            card_id,
            {"attachments": ids, "names": [item.name for item in checked]}
            | ({"target": f"{target_type}:{target_id}"} if target_type else {}),
        )
        departments = _departments(card)
        unit.after_commit(
            live_effects.cards_changed(unit.board_id, [card_id], departments, departments, access.board_kind)
        )
        from portal.attachments import effects

        for row in inserted:
            if row["thumbnail"] == "pending":
                unit.after_commit(effects.thumbnail(row["id"]))
    return AttachmentChange(access.board_id, card_id, unit.seq, ids, card["version"])


async def _card_usage(card_id: int) -> tuple[int, int]:
    """(bytes, how many) of the card's attachments."""
    rows = await Attachment.select(Attachment.size).where(Attachment.card == card_id)
    return sum(row["size"] for row in rows), len(rows)


async def _thumbnails_made(digests: list[str]) -> dict[str, dict[str, Any]]:
    """Thumbnails the worker made already for the same bytes (the same screenshot twice)."""
    if not digests:
        return {}
    rows = await Attachment.select(
        Attachment.sha256, Attachment.thumbnail_sha256, Attachment.width, Attachment.height
    ).where(Attachment.sha256.is_in(digests) & (Attachment.thumbnail == "ready"))
    return {row["sha256"]: row for row in rows if storage.exists(row["thumbnail_sha256"])}


def materials_visible(access: BoardAccess, card: dict[str, Any]) -> bool:
    """May this viewer open the card's attachments? The kind decides for citizen materials."""
    hook = kind_of(access.board_kind).private_materials
    return hook is None or bool(hook(access, card))


def _private(access: BoardAccess) -> bool:
    return kind_of(access.board_kind).private_materials is not None


async def card_for_reading(access: BoardAccess, card_id: int) -> tuple[dict[str, Any], bool]:
    """(the card as this viewer may see it, whether it is archived): an archived card's
    attachments are read (never changed) with the same rules. NotFound otherwise."""
    if await cards.board_of_archived(card_id) == access.board_id:
        return (await cards.archived_card_detail(access, card_id))["card"], True
    return await cards.get_card(access, card_id), False


async def board_of_card(card_id: int) -> int:
    """The board of a card, archived or not (NotFound when there is no such card)."""
    board_id = await cards.board_of_archived(card_id)
    return board_id if board_id is not None else await cards.find_board_of(card_id)


async def section(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """What the drawer's attachments section (or an archived card's page, read only) shows
    this viewer."""
    card, archived = await card_for_reading(access, card_id)
    rows = (
        await Attachment.select(
            *Attachment.all_columns(exclude=[Attachment.uploaded_by]),
            Attachment.uploaded_by.as_alias("uploader_id"),
            Attachment.uploaded_by.display_name.as_alias("uploader"),
        )
        .where(Attachment.card == card_id)
        .order_by(Attachment.id)
    )
    visible = materials_visible(access, card)
    shown = [row for row in rows if visible or (row["uploader_id"] and row["uploader_id"] == access.user.id)]
    on_card = await targets.targets_of(card_id, access.board_kind)
    labels = {target.key: target.label for target in on_card}
    now = datetime.now(UTC)
    for row in shown:
        row["target"] = f"{row['target_type']}:{row['target_id']}" if row["target_type"] else ""
        row["target_label"] = labels.get(row["target"], "")
        row["size_text"] = human_size(row["size"])
        row["may_delete"] = (
            not archived and access.can_edit and (access.can_manage or row["uploader_id"] == access.user.id)
        )
        row["waiting"] = row["thumbnail"] == "pending" and now - row["uploaded_at"] < THUMBNAIL_WAIT
    return {
        "card": card,
        "archived": archived,
        "attachments": shown,
        "targets": on_card,
        "hidden": len(rows) - len(shown),
        "private": _private(access),
        "waiting": any(row["waiting"] for row in shown),
        "limits": {"file_mb": get_settings().attachment_max_mb, "card_mb": get_settings().attachment_card_max_mb},
    }


async def list_for_api(access: BoardAccess, card_id: int) -> list[dict[str, Any]]:
    return (await section(access, card_id))["attachments"]


async def open_attachment(user: CurrentUser, attachment_id: int, purpose: str, ip: str = "") -> dict[str, Any]:
    """The attachment's row for a download ("download"), an image shown large ("preview") or
    its thumbnail ("thumbnail"), its card archived or not. NotFound unless the person may see
    its card, or when its file is missing; PermissionDenied for citizen materials the person
    may not open (audited). Downloads and previews of citizen materials are audited once the
    file was found, before it is sent; thumbnails once per person, attachment and day. The
    row comes back with ``private`` (never cache what it serves)."""
    if not valid_id(attachment_id):
        raise NotFound
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    if row is None:
        raise NotFound
    access = await access_for(user, row["board"])
    card, _archived = await card_for_reading(access, row["card"])  # NotFound: a card this person may not see
    private = _private(access)
    allowed = materials_visible(access, card) or (row["uploaded_by"] and row["uploaded_by"] == user.id)

    async def record(verb: str, **extra: Any) -> None:
        await audit.record(
            verb,
            actor_id=user.id or None,
            object_type="attachment",
            object_id=attachment_id,
            payload={"card": row["card"], "board": row["board"], "name": row["name"], "how": purpose, **extra},
            ip=ip,
        )

    if not allowed:
        if private:
            await record(DOWNLOAD_REFUSED)
        raise PermissionDenied
    if purpose in ("preview", "thumbnail") and row["kind"] != "image":
        raise NotFound
    if purpose == "thumbnail" and row["thumbnail"] != "ready":
        raise NotFound
    if not storage.exists(row["thumbnail_sha256"] if purpose == "thumbnail" else row["sha256"]):
        raise NotFound  # a row without its file (a restore gone wrong): nothing was downloaded
    if private and (purpose != "thumbnail" or not await _thumbnail_seen_today(user.id, attachment_id)):
        await record(DOWNLOADED)
    row["private"] = private
    return row


async def _thumbnail_seen_today(user_id: int, attachment_id: int) -> bool:
    """Has this person's view of this thumbnail been audited today (UTC) already?"""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        await Event.select(Event.payload)
        .where(
            (Event.verb == DOWNLOADED)
            & (Event.object_type == "attachment")
            & (Event.object_id == attachment_id)
            & (Event.actor == (user_id or None))
            & (Event.created_at >= today)
        )
        .output(load_json=True)
    )
    return any((row["payload"] or {}).get("how") == "thumbnail" for row in rows)


async def delete_attachment(access: BoardAccess, attachment_id: int) -> AttachmentChange:
    """Take an attachment off its card (its uploader or a board manager). The file stays in
    the store while another attachment refers to the same bytes; the clean-up removes it
    once nothing does."""
    if not valid_id(attachment_id):
        raise NotFound
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    if row is None or row["board"] != access.board_id:
        raise NotFound
    await cards.require_visible(access, row["card"])
    access.require_edit()
    if not (access.can_manage or (row["uploaded_by"] and row["uploaded_by"] == access.user.id)):
        raise PermissionDenied
    async with board_write(access.board_id, access.user.id) as unit:
        card = await cards.load_for_write(access, row["card"])
        deleted = await Attachment.delete().where(Attachment.id == attachment_id).returning(Attachment.id)
        version_before = card["version"] if deleted else None
        if deleted:
            now = datetime.now(UTC)
            await Card.update({Card.version: Card.version + 1, Card.updated_at: now}).where(Card.id == row["card"])
            unit.record(
                EventKind.card_attachment_removed,
                "card",
                row["card"],
                {"attachments": [attachment_id], "names": [row["name"]]},
            )
            departments = _departments(card)
            unit.after_commit(
                live_effects.cards_changed(unit.board_id, [row["card"]], departments, departments, access.board_kind)
            )
    if version_before is not None:
        await _mark_orphaned([row["sha256"], row["thumbnail_sha256"]])
    return AttachmentChange(access.board_id, row["card"], unit.seq, [attachment_id], version_before)


async def _mark_orphaned(digests: list[str]) -> None:
    """After a delete committed: a file no row refers to any more starts its hour now (the
    clean-up removes files an hour after they became orphans, not an hour after their upload:
    the backup order in docs/deploy.md relies on it)."""
    for sha256 in [d for d in digests if d]:
        if await Attachment.exists().where((Attachment.sha256 == sha256) | (Attachment.thumbnail_sha256 == sha256)):
            continue
        try:
            await asyncio.to_thread(os.utime, storage.path_of(sha256))
        except (FileNotFoundError, ValueError):
            continue


async def find_board_of_attachment(attachment_id: int) -> int:
    if not valid_id(attachment_id):
        raise NotFound
    row = await Attachment.select(Attachment.board).where(Attachment.id == attachment_id).first()
    if row is None:
        raise NotFound
    return row["board"]


# The worker: thumbnails and the clean-up ----------------------------------------------------


def render_thumbnail(path: Any) -> tuple[bytes, int, int] | None:
    """A WebP thumbnail at most THUMBNAIL_SIZE on a side, and the image's size; None for
    what Pillow cannot read or refuses (a decompression bomb)."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return None
                image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # JPEG: decode smaller
                image.seek(0)  # an animated GIF: its first frame
                frame = ImageOps.exif_transpose(image)
                frame.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                frame = frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "P", "PA") else "RGB")
                out = io.BytesIO()
                frame.save(out, "WEBP", quality=80)
                return out.getvalue(), width, height
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, ValueError, SyntaxError, EOFError):
        return None
    except Exception:  # a damaged file can make a decoder fail in other ways: not a thumbnail
        log.exception("attachments: thumbnail failed")
        return None


async def make_thumbnail(attachment_id: int) -> str:
    """The worker's job: the image's thumbnail into the store. Returns the attachment's
    thumbnail state ("ready", "failed", or what it was when there was nothing to do)."""
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    if row is None:
        return "gone"
    if row["thumbnail"] != "pending":
        return row["thumbnail"]
    made = await asyncio.to_thread(render_thumbnail, storage.path_of(row["sha256"]))
    if made is None:
        await Attachment.update({Attachment.thumbnail: "failed"}).where(Attachment.id == attachment_id)
        return "failed"
    data, width, height = made
    thumbnail_sha256 = await asyncio.to_thread(storage.store_bytes, data)
    # Every attachment of the same bytes still waiting gets it too.
    await Attachment.update(
        {
            Attachment.thumbnail: "ready",
            Attachment.thumbnail_sha256: thumbnail_sha256,
            Attachment.width: width,
            Attachment.height: height,
        }
    ).where((Attachment.sha256 == row["sha256"]) & (Attachment.thumbnail == "pending"))
    return "ready"


async def referenced_digests() -> set[str]:
    rows = await Attachment.select(Attachment.sha256, Attachment.thumbnail_sha256)
    return {row["sha256"] for row in rows} | {row["thumbnail_sha256"] for row in rows if row["thumbnail_sha256"]}


async def remove_orphans(age_seconds: float = storage.ORPHAN_AGE_SECONDS) -> list[str]:
    """The worker's clean-up: stored files no attachment refers to, older than an hour."""
    referenced = await referenced_digests()
    return await asyncio.to_thread(storage.remove_orphans, referenced, None, age_seconds)
