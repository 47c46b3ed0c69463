"""Comments from a spreadsheet: the CSV or Excel export a platform's back office gives, uploaded
by staff. Parsing only — nothing here touches the database; the write path takes the preview.

- ``read_rows(filename, data)``: the first sheet (or the CSV) as dicts keyed by the header
  text, empty rows left out;
- ``parse_import(filename, data, platform=…)``: every row checked as an ``IntakeMessage``,
  with the valid ones, one ``RowError`` per bad cell (row number and header text as the
  person sees them in Excel/WPS, header = row 1) and the number of repeated messages;
- a file that cannot be taken as a whole (wrong kind, too big, too many rows, required
  columns missing) raises ``ImportFileError`` with a message for the person.

The format is decided by the extension and must match the content (an ``.xlsx`` is a zip
archive, an ``.xls`` an OLE2 compound file or a zip, a ``.csv`` text). CSV comes as UTF-8
(with or without BOM), UTF-16 with BOM, or GB18030 (the superset of GBK that Chinese Excel
and WPS write), separated by commas, tabs or semicolons. Headers may be Chinese or English
(``COLUMNS``), and a title line or two above them is allowed; platforms may be codes or the
labels in either language. Times without an offset are in the portal's time zone.

Workbooks are read by python-calamine in a short-lived child process with a memory and a time
limit (``SHEET_READER``): a crafted or merely odd workbook can make calamine abort, and that
must not take the web worker with it. This costs about 0.15 s per upload. Call these
functions off the event loop (``anyio.to_thread``): they are CPU-bound and wait on the child.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import PurePath
from typing import Annotated, Any

from pydantic import Field

from portal.comments.intake import IntakeMessage
from portal.core.choices import PLATFORMS
from portal.core.errors import FormError
from portal.core.schemas import parse
from portal.i18n import LOCALES, use_locale
from portal.i18n import gettext as _
from portal.settings import get_settings

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
UNPACKED_RATIO = 20  # an .xlsx/.ods may unpack to at most this many times the upload limit
HEADER_SEARCH = 10  # the header is among the first non-empty rows (exports often put a title above)

# python-calamine builds a sheet as one block of width x height cells, so a workbook of a few
# kilobytes with one value in column XFD or row 1048576 asks for hundreds of gigabytes, and
# the Rust allocator aborts the whole process instead of raising (calamine issue #550 for .xls,
# fastexcel #487 for .xlsx). The reader therefore runs in a child process with a memory limit
# and a time limit, refuses sheets over MAX_CELLS, and sends the rows back as JSON lines.
READER_MEMORY = 1024 * 1024 * 1024  # bytes of address space for the child
READER_SECONDS = 30
MAX_CELLS = 2_000_000  # the sheet's used range, blank cells included (5000 rows x 400 columns)
SHEET_READER = r"""
import io, json, resource, sys
from datetime import date, datetime, time

memory, max_cells, wanted = (int(arg) for arg in sys.argv[1:4])
try:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort leaves no core file behind
except (ValueError, OSError):
    pass
from python_calamine import CalamineWorkbook


def text(value):  # whole numbers without ".0" (IDs), dates and times in ISO form
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


try:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(sys.stdin.buffer.read()))
    sheet = workbook.get_sheet_by_index(0) if workbook.sheet_names else None
except Exception:  # damaged, password-protected, not a workbook
    sys.exit(2)
if sheet is None:
    sys.exit(0)
top = sheet.start[0] if sheet.start else 0
if (top + sheet.height) * sheet.width > max_cells:
    sys.exit(3)
found = 0
# iter_rows starts at the sheet's row 1 (to_python skips blank rows above the first value), so
# the count is the row number a person sees; blank columns on the left are left out.
for number, cells in enumerate(sheet.iter_rows(), start=1):
    if cells.count("") == len(cells):  # calamine gives "" for a blank cell; skip those rows fast
        continue
    cells = [text(value) for value in cells]
    if any(cells):
        sys.stdout.write(json.dumps([number, cells], ensure_ascii=False) + "\n")
        found += 1
        if found > wanted:
            break
"""

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_MAGIC = {".xlsx": (ZIP_MAGIC,), ".ods": (ZIP_MAGIC,), ".xls": (OLE_MAGIC, ZIP_MAGIC)}
CSV_DELIMITERS = ",\t;"

# Field → accepted header texts (matched ignoring case, spaces, "_", "-", "*" and full/half width).
COLUMNS: dict[str, tuple[str, ...]] = {
    "platform": ("平台", "来源", "渠道", "platform", "source", "channel"),
    "external_id": ("评论ID", "消息ID", "留言ID", "ID", "编号", "external_id", "comment_id", "message_id"),
    "author": ("昵称", "用户", "作者", "网友", "用户昵称", "网友昵称", "author", "user", "nickname", "username"),
    "text": ("内容", "评论内容", "留言内容", "正文", "评论", "留言", "text", "content", "comment", "message", "body"),
    "received_at": (
        "时间",
        "发布时间",
        "评论时间",
        "留言时间",
        "创建时间",
        "日期时间",
        "received_at",
        "time",
        "datetime",
        "created_at",
        "published_at",
    ),
    "link": ("链接", "原文链接", "评论链接", "网址", "link", "url"),
}
REQUIRED = ("platform", "external_id", "text", "received_at")

# Names for the platforms besides their codes and their labels in every language.
PLATFORM_ALIASES: dict[str, tuple[str, ...]] = {
    "wechat": ("微信公众号", "公众号", "服务号", "订阅号"),
    "weibo": ("新浪微博", "政务微博"),
    "douyin": ("抖音号",),
    "website": ("网站", "官网", "门户网站", "政府网站", "网站留言", "web"),
    "hotline": ("12345", "热线", "市民热线"),
}

# 2026-11-20 14:05, 2026/1/5 9:05:33, 2026年11月20日 14:05, 2026-11-20T14:05:00+08:00, …Z
TIME_PATTERN = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日\s*T?\s*|\s*T\s*|\s+)"
    r"(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:[.,](\d{1,6})\d*)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
HEADER_NOISE = re.compile(r"[\s_\-*:：\ufeff]+")


class ImportFileError(Exception):
    """The file cannot be imported as a whole; ``message`` is translated, for the person.
    ``missing_columns`` names the required fields without a column, when that is the reason."""

    status_code = 422

    def __init__(self, message: str, *, missing_columns: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.missing_columns = missing_columns


@dataclass
class Sheet:
    """A sheet's rows by field, for an import with its own columns (a campaign's figures, an
    account's): the header row, its texts, field → column index, and (row number, field → cell)."""

    header_row: int
    headers: list[str]
    columns: dict[str, int]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers[self.columns[name]] if name in self.columns else ""


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet shows it: the header row is 1 (or below a title, its own number)
    column: str  # the header text as in the file ("" when the problem is not one cell's)
    message: str  # translated


class ImportedMessage(IntakeMessage):
    """A valid row: the message, and the spreadsheet row it came from (which is not part of
    the message, so ``model_dump`` leaves it out)."""

    row: Annotated[int, Field(exclude=True)]


@dataclass
class ImportPreview:
    rows: list[ImportedMessage]  # valid rows, in file order, the first of any repeated message
    errors: list[RowError]  # by row, then column order
    duplicates_in_file: int = 0  # rows repeating an earlier row's platform + external_id (left out)
    columns: dict[str, str] = field(default_factory=dict)  # field → header text it was read from
    header_row: int = 1


@dataclass
class _Table:
    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells) below the header, empty rows left out
    columns: dict[str, int]  # field → index of the first column whose header names it


# Public API --------------------------------------------------------------------------------


def read_rows(
    filename: str, data: bytes, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
) -> list[dict[str, str]]:
    """The rows below the header as {header text: cell text}; blank and repeated headers are
    left out (the first of a repeated header wins), so are empty rows."""
    table = read_table(filename, data, max_rows=max_rows, max_bytes=max_bytes)
    keep = {}
    for index, header in enumerate(table.headers):
        if header and header not in keep:
            keep[header] = index
    return [{header: _at(cells, index) for header, index in keep.items()} for _number, cells in table.rows]


def parse_import(
    filename: str,
    data: bytes,
    *,
    platform: str | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
    now: datetime | None = None,
) -> ImportPreview:
    """Check every row of an uploaded export. ``platform`` (a code or a label) fixes the
    platform for the whole file, and then the file needs no platform column (one it has is
    ignored). ``now`` (aware) is for the "not in the future" check; it defaults to the clock."""
    names = _platform_names()
    fixed = None
    if platform is not None and platform.strip():
        fixed = names.get(_key(platform))
        if fixed is None:
            raise ImportFileError(_("Choose a platform."))
    table = read_table(filename, data, max_rows=max_rows, max_bytes=max_bytes)
    missing = tuple(name for name in REQUIRED if name not in table.columns and not (name == "platform" and fixed))
    if missing:
        columns = ", ".join(f"{COLUMNS[name][0]} ({name})" for name in missing)
        raise ImportFileError(
            _("Columns missing from the header row: %(columns)s.", columns=columns), missing_columns=missing
        )

    tz = get_settings().tz
    context = {"now": now or datetime.now(UTC)}
    mapped = [index for name, index in table.columns.items() if not (name == "platform" and fixed)]
    preview = ImportPreview(
        rows=[],
        errors=[],
        columns={name: table.headers[index] for name, index in table.columns.items() if index in mapped},
        header_row=table.header_row,
    )
    order = {name: position for position, name in enumerate(sorted(table.columns, key=table.columns.__getitem__))}
    seen: set[tuple[str, str]] = set()
    for number, cells in table.rows:
        if not any(_at(cells, index) for index in mapped):
            continue  # e.g. a template's pre-numbered but unused row
        message, problems = _check_row(number, cells, table.columns, fixed, names, tz, context)
        if problems:
            for name, text in sorted(problems.items(), key=lambda item: order.get(item[0], len(order))):
                column = table.headers[table.columns[name]] if name in table.columns else ""
                preview.errors.append(RowError(row=number, column=column, message=text))
            continue
        assert message is not None
        key = (message.platform, message.external_id)
        if key in seen:
            preview.duplicates_in_file += 1
            continue
        seen.add(key)
        preview.rows.append(message)
    return preview


def parse_time(text: str, tz: tzinfo) -> datetime | None:
    """A date and time as people and exports write it, aware (``tz`` when it has no offset);
    None if it is not one (a date alone is not: a comment's clock needs the time of day)."""
    match = TIME_PATTERN.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        microsecond = int((fraction or "").ljust(6, "0"))
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), microsecond)
    except ValueError:  # 2026-02-30, 25:00 …
        return None
    if offset is None:
        return value.replace(tzinfo=tz)
    if offset.upper() == "Z":
        return value.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return value.replace(tzinfo=timezone(-delta if offset[0] == "-" else delta))


# Rows --------------------------------------------------------------------------------------


def _check_row(
    number: int,
    cells: list[str],
    columns: dict[str, int],
    fixed: str | None,
    names: dict[str, str],
    tz: tzinfo,
    context: dict[str, Any],
) -> tuple[ImportedMessage | None, dict[str, str]]:
    """The row as a message, or the problems with it (field → translated message)."""

    def cell(name: str) -> str:
        return _at(cells, columns[name]) if name in columns else ""

    problems: dict[str, str] = {}
    raw: dict[str, Any] = {"row": number, **{name: cell(name) for name in ("external_id", "author", "text", "link")}}
    if fixed:
        raw["platform"] = fixed
    elif code := names.get(_key(cell("platform"))):
        raw["platform"] = code
    elif cell("platform"):
        choices = ", ".join(label for _value, label in PLATFORMS.options())
        problems["platform"] = _(
            "Unknown platform “%(value)s”. Use one of: %(choices)s.", value=cell("platform")[:40], choices=choices
        )
    else:
        problems["platform"] = _("Choose a platform.")
    received_at = parse_time(cell("received_at"), tz)
    if received_at is None:
        problems["received_at"] = _("Enter a date and time like 2026-11-26 09:30.")
    else:
        raw["received_at"] = received_at
    try:
        message = parse(ImportedMessage, raw, form=False, context=context)
    except FormError as error:
        return None, {**error.errors, **problems}  # ours are more precise than "required"
    return (None, problems) if problems else (message, {})


def _platform_names() -> dict[str, str]:
    """Every accepted way of naming a platform (normalised) → its code."""
    names: dict[str, str] = {}
    for code in PLATFORMS:
        names[_key(code)] = code
        for locale in LOCALES:
            with use_locale(locale):
                names[_key(PLATFORMS.label(code))] = code
        for alias in PLATFORM_ALIASES.get(code, ()):
            names[_key(alias)] = code
    return names


def _key(text: str) -> str:
    return HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


ALIASES = {_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def _at(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


# Reading the file --------------------------------------------------------------------------


def read_table(
    filename: str,
    data: bytes,
    *,
    max_rows: int,
    max_bytes: int,
    aliases: dict[str, str] | None = None,
    key: Callable[[str], str] | None = None,
) -> _Table:
    """The file's header and rows with their row numbers as Excel/WPS shows them; the header is
    the first of the first rows naming two known columns (``aliases``: normalised header text
    → field, normalised by ``key``; the comments' by default), its ``columns`` field → index.
    Other imports (a campaign's metric snapshots) pass their own aliases."""
    if len(data) > max_bytes:
        raise ImportFileError(_("The file is larger than %(limit)s.", limit=_size(max_bytes)))
    extension = PurePath(filename or "").suffix.lower()
    if extension == ".csv":
        rows = _csv_rows(data)
    elif extension in SPREADSHEET_MAGIC:
        if not data.startswith(SPREADSHEET_MAGIC[extension]):
            raise ImportFileError(_mismatch(extension))
        if data.startswith(ZIP_MAGIC):
            _check_unpacked_size(data, max_bytes)
        rows = _spreadsheet_rows(data, max_rows + HEADER_SEARCH + 1)
    else:
        raise ImportFileError(_("Upload a CSV or Excel file (.csv, .xlsx, .xls or .ods)."))

    # Read no further than the row limit can allow: the header is among the first HEADER_SEARCH rows.
    found: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if any(cells):
            found.append((number, cells))
            if len(found) > max_rows + HEADER_SEARCH:
                break
    if not found:
        raise ImportFileError(_("The file is empty."))

    def fields(cells: list[str]) -> dict[str, int]:
        return _fields(cells, aliases if aliases is not None else ALIASES, key or _key)

    position = next(
        (index for index, (_n, cells) in enumerate(found[:HEADER_SEARCH]) if len(fields(cells)) >= 2),
        0,
    )
    header_row, headers = found[position]
    body = found[position + 1 :]
    if len(body) > max_rows:
        raise ImportFileError(
            _("The file has more than %(limit)s rows. Split it into files of at most %(limit)s rows.", limit=max_rows)
        )
    return _Table(header_row=header_row, headers=headers, rows=body, columns=fields(headers))


def _fields(headers: list[str], aliases: dict[str, str], key: Callable[[str], str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = aliases.get(key(header))
        if name and name not in columns:
            columns[name] = index
    return columns


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise ImportFileError(_mismatch(".csv"))
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_mismatch(".csv"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        rows = [[cell.strip() for cell in record] for record in reader]
    except csv.Error:
        raise ImportFileError(_unreadable()) from None
    return iter(enumerate(rows, start=1))  # a record is one spreadsheet row, even with line breaks in a cell


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The text encoding of this file is not recognised. Save it as “CSV UTF-8”."))


def _delimiter(text: str) -> str:
    """The separator that splits the first lines into the most rows of one width (ties: wider)."""
    sample = "\n".join(text[:65536].splitlines()[:50])
    best, best_score = ",", (0, 0)
    for delimiter in CSV_DELIMITERS:
        try:
            widths = Counter(
                len(record) for record in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(record)
            )
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        score = (count, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _check_unpacked_size(data: bytes, max_bytes: int) -> None:
    """A zip can unpack to far more than it weighs; look at the sizes before the reader does."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception:  # any damage to the archive: refuse it like an unreadable file
        raise ImportFileError(_unreadable()) from None
    if unpacked > UNPACKED_RATIO * max_bytes:
        raise ImportFileError(_too_large())


def _spreadsheet_rows(data: bytes, wanted: int) -> Iterator[tuple[int, list[str]]]:
    """The sheet's non-empty rows, read in a child process (see ``SHEET_READER``)."""
    command = [sys.executable, "-I", "-c", SHEET_READER, str(READER_MEMORY), str(MAX_CELLS), str(wanted)]
    try:
        result = subprocess.run(command, input=data, capture_output=True, timeout=READER_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ImportFileError(_too_large()) from None
    if result.returncode == 2:
        raise ImportFileError(_unreadable())
    if result.returncode != 0:  # over MAX_CELLS, or killed by its memory limit
        raise ImportFileError(_too_large())
    for line in result.stdout.decode().split("\n"):  # not splitlines: a cell may hold U+2028
        if line:
            number, cells = json.loads(line)
            yield number, cells


def _mismatch(extension: str) -> str:
    return _(
        "This file's content does not match its extension (%(extension)s). "
        "Open it in Excel or WPS and save it as .xlsx or .csv.",
        extension=extension,
    )


def _too_large() -> str:
    return _("The spreadsheet is too large to read. Delete the rows and columns after the data, or save it as CSV.")


def _unreadable() -> str:
    return _("The spreadsheet could not be read. Open it in Excel or WPS and save it again as .xlsx or .csv.")


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB" if limit >= 1024 else f"{limit} B"
