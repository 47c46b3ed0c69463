"""Metric snapshots from a spreadsheet: the CSV or Excel sheet a platform's back office exports
(or the team keeps), one snapshot per row. All or nothing: every bad cell is reported with its
row number and its header as the person sees them in Excel or WPS, and then nothing is
recorded.

The file is read by the comments import's reader (portal.comments.imports: encodings,
delimiters, workbooks read in a child process with limits, a title line or two above the
header allowed). Headers may be Chinese or English (``COLUMNS``); platforms codes or labels in
either language; times as people write them ("2026-11-20 18:00", "2026/11/20 18:00",
"2026年11月20日 18:00", ISO with an offset); figures whole numbers, thousands separators
allowed. A sheet needs the platform and time columns and at least one figure's; a blank figure
cell (or a figure without a column) is "not given", stored as NULL, never as 0, and a row needs
at least one figure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial

import anyio

from portal.boards.access import BoardAccess
from portal.campaigns import metrics, workflow
from portal.campaigns.choices import METRICS
from portal.comments import imports as sheets
from portal.comments.imports import ImportFileError, RowError, Sheet
from portal.core.errors import FormError
from portal.i18n import LOCALES, use_locale
from portal.i18n import gettext as _

MAX_ROWS = metrics.MAX_SNAPSHOTS

# Field → accepted header texts (matched ignoring case, spaces, "_", "-", "*", ":" and full/half
# width); the figures' labels in every language are accepted too.
COLUMNS: dict[str, tuple[str, ...]] = {
    "platform": ("平台", "渠道", "账号平台", "platform", "channel"),
    "at": ("时间", "统计时间", "数据时间", "日期时间", "截止时间", "at", "time", "datetime", "date time"),
    "participants": ("参与人数", "参与人次", "参与量", "参与数", "participants"),
    "comments": ("评论数", "评论量", "评论", "留言数", "comments"),
    "shares": ("转发数", "转发量", "转发", "分享数", "分享", "shares"),
    "new_followers": ("新增粉丝", "新增粉丝数", "涨粉", "涨粉数", "新增关注", "new_followers", "followers"),
    "reads": ("阅读量", "阅读数", "阅读", "播放量", "浏览量", "观看量", "reads", "views", "plays"),
}
FIGURES = metrics.FIGURES
REQUIRED = ("platform", "at")
_NOISE = re.compile(r"[\s_\-*:：\ufeff（）()]+")


def _key(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _aliases() -> dict[str, str]:
    aliases = {_key(alias): name for name, texts in COLUMNS.items() for alias in texts}
    for metric in FIGURES:
        for locale in LOCALES:
            with use_locale(locale):
                aliases.setdefault(_key(METRICS.label(metric)), metric)
    return aliases


@dataclass
class ImportResult:
    count: int
    platforms: list[str]
    participants_pct: int | None


class MetricsImportError(FormError):
    """The file or some of its cells are wrong: nothing was recorded. ``rows`` names each bad
    cell (row 0 and column "" for a problem of the whole file)."""

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        whole = len(rows) == 1 and not rows[0].row
        super().__init__(
            {
                "file": rows[0].message
                if whole
                else _("Nothing was imported: correct these cells and upload the file again.")
            }
        )


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The file's header and rows, by field (CPU-bound and waiting on the workbook reader:
    call it off the event loop). ImportFileError for a file that cannot be taken as a whole."""
    table = sheets.read_table(
        filename, data, max_rows=MAX_ROWS, max_bytes=sheets.MAX_BYTES, aliases=_aliases(), key=_key
    )
    header_row, headers, columns = table.header_row, table.headers, table.columns
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(
            _(
                "Columns missing from the header row: %(columns)s.",
                columns=", ".join(f"{COLUMNS[name][0]} ({name})" for name in missing),
            )
        )
    if not any(figure in columns for figure in FIGURES):
        raise ImportFileError(
            _(
                "The header row names no figure: add at least one of %(columns)s.",
                columns="、".join(COLUMNS[figure][0] for figure in FIGURES),
            )
        )
    sheet = Sheet(header_row=header_row, headers=headers, columns=columns)
    for number, cells in table.rows:
        values = {name: cells[index] if index < len(cells) else "" for name, index in columns.items()}
        if not any(value.strip() for value in values.values()):
            continue  # a template's unused row
        sheet.rows.append((number, values))
    if not sheet.rows:
        raise ImportFileError(_("The file has no rows below its header."))
    return sheet


async def import_file(access: BoardAccess, card_id: int, filename: str, data: bytes) -> ImportResult:
    """Record every row of the file as a snapshot (source "import"), all or nothing.
    NotFound/PermissionDenied/Conflict as ``metrics.record``; MetricsImportError (422) with
    every bad cell, nothing recorded."""
    await workflow.campaign_access(access, card_id)
    access.require_edit()
    await metrics.require_recording(access, card_id)
    try:
        sheet = await anyio.to_thread.run_sync(partial(read_sheet, filename, data))
    except ImportFileError as error:
        raise MetricsImportError([RowError(row=0, column="", message=error.message)]) from None
    items = [values for _number, values in sheet.rows]
    try:
        recorded = await metrics.record(access, card_id, items, source="import")
    except FormError as error:
        raise MetricsImportError(_row_errors(sheet, error.errors)) from None
    return ImportResult(recorded.count, recorded.platforms, recorded.participants_pct)


def _row_errors(sheet: Sheet, errors: dict[str, str]) -> list[RowError]:
    """``metrics.check``'s "<index>.<field>" errors as cells of the sheet, by row then by column."""
    found: list[tuple[int, int, RowError]] = []
    for key, message in errors.items():
        index, _dot, name = key.partition(".")
        if not index.isdigit():  # about the whole upload (too many rows …)
            found.append((0, 0, RowError(row=0, column="", message=message)))
            continue
        number = sheet.rows[int(index)][0]
        column = sheet.header(name)
        found.append((number, sheet.columns.get(name, -1), RowError(row=number, column=column, message=message)))
    return [error for _number, _column, error in sorted(found, key=lambda item: (item[0], item[1]))]


def describe(error: RowError) -> str:
    """A bad cell as the person reads it: "Row 3, column “参与人数”: …"."""
    if error.row and error.column:
        return _(
            "Row %(row)s, column “%(column)s”: %(problem)s", row=error.row, column=error.column, problem=error.message
        )
    if error.row:
        return _("Row %(row)s: %(problem)s", row=error.row, problem=error.message)
    return error.message


def errors_of(error: MetricsImportError) -> list[str]:
    return [describe(row) for row in error.rows]
