"""Account figures from a spreadsheet: the CSV or Excel sheet a platform's back office exports
(or the team keeps), one account's day per row. All or nothing: every bad cell is reported with
its row number and its header as the person sees them in Excel or WPS, and then nothing is
recorded.

The file is read by the comments import's reader (portal.comments.imports: encodings such as
GB18030, delimiters, workbooks read in a child process with limits, a title line or two above
the header allowed). Headers may be Chinese or English (``COLUMNS``): 账号/account, 平台/platform,
日期/date, 粉丝数/followers, 阅读量/reads, 互动量/interactions, and the names the platforms' own
exports use (累计关注人数, 阅读次数, 播放量 …). A sheet needs the date column and at least one
figure's. Each row names its account by 账号 and 平台 (the platform may be left out when the
name is on one platform only); a file of one account's days (a platform's own export has no
account column) is imported with that account chosen on the form, and then any account
columns are ignored. A blank figure cell (or a figure without a column) is "not given": the
day keeps what it had.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from portal.comments import imports as sheets
from portal.comments.imports import ImportFileError, RowError, Sheet
from portal.core.errors import FormError
from portal.core.identity import CurrentUser
from portal.i18n import LOCALES, use_locale
from portal.i18n import gettext as _
from portal.stats import accounts

MAX_ROWS = accounts.MAX_ROWS

# Field → accepted header texts (matched ignoring case, spaces, "_", "-", "*", ":", brackets and
# full/half width); the figures' labels in every language are accepted too.
COLUMNS: dict[str, tuple[str, ...]] = {
    "account": (
        "账号",
        "帐号",
        "账号名称",
        "帐号名称",
        "公众号名称",
        "账户",
        "名称",
        "account",
        "account name",
        "name",
    ),
    "platform": ("平台", "渠道", "账号平台", "platform", "channel"),
    "date": ("日期", "统计日期", "数据日期", "时间", "date", "day"),
    "followers": (
        "粉丝数",
        "粉丝",
        "粉丝总数",
        "总粉丝数",
        "累计粉丝",
        "累计粉丝数",
        "累计关注人数",
        "累积关注人数",
        "关注人数",
        "总关注人数",
        "followers",
        "fans",
        "subscribers",
    ),
    "reads": (
        "阅读量",
        "阅读数",
        "阅读次数",
        "阅读",
        "播放量",
        "播放数",
        "播放次数",
        "浏览量",
        "观看量",
        "reads",
        "views",
        "plays",
    ),
    "interactions": ("互动量", "互动数", "互动次数", "互动", "interactions", "engagements", "engagement"),
}
FIGURES = accounts.FIGURES
_NOISE = re.compile(r"[\s_\-*:：\ufeff（）()]+")


def _key(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _aliases() -> dict[str, str]:
    aliases = {_key(alias): name for name, texts in COLUMNS.items() for alias in texts}
    for figure in FIGURES:
        for locale in LOCALES:
            with use_locale(locale):
                aliases.setdefault(_key(accounts.FIGURE_LABELS.label(figure)), figure)
    return aliases


@dataclass
class ImportResult:
    count: int  # days recorded
    accounts: int


class AccountImportError(FormError):
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


def read_sheet(filename: str, data: bytes, *, fixed_account: bool = False) -> Sheet:
    """The file's header and rows, by field (CPU-bound and waiting on the workbook reader: call
    it off the event loop). ImportFileError for a file that cannot be taken as a whole."""
    table = sheets.read_table(
        filename, data, max_rows=MAX_ROWS, max_bytes=sheets.MAX_BYTES, aliases=_aliases(), key=_key
    )
    columns = dict(table.columns)
    if fixed_account:
        columns.pop("account", None)
        columns.pop("platform", None)
    required = ("date",) if fixed_account else ("account", "date")
    missing = [name for name in required if name not in columns]
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
    sheet = Sheet(header_row=table.header_row, headers=table.headers, columns=columns)
    for number, cells in table.rows:
        values = {name: cells[index] if index < len(cells) else "" for name, index in columns.items()}
        if not any(value.strip() for value in values.values()):
            continue  # a template's unused row
        sheet.rows.append((number, values))
    if not sheet.rows:
        raise ImportFileError(_("The file has no rows below its header."))
    return sheet


class _Directory:
    """The accounts by name, to find each row's."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, dict[str, int]] = {}
        for row in rows:
            self.by_name.setdefault(_name_key(row["name"]), {})[row["platform"]] = row["id"]

    def find(self, name: str, platform_text: str, has_platform_column: bool) -> tuple[int | None, dict[str, str]]:
        """The row's account, or the problems keyed by field."""
        name = name.strip()
        if not name:
            return None, {"account": _("Enter the account's name.")}
        platforms = self.by_name.get(_name_key(name), {})
        platform_text = platform_text.strip()
        if platform_text:
            code = accounts.platform_code(platform_text)
            if code is None:
                return None, {
                    "platform": _(
                        "Unknown platform “%(value)s”. Use one of: %(choices)s.",
                        value=platform_text[:40],
                        choices=accounts.platform_list(),
                    )
                }
            if code not in platforms:
                return None, {
                    "account": _(
                        "There is no account “%(name)s” on %(platform)s: add it on the account page first.",
                        name=name[:80],
                        platform=accounts.PLATFORMS.label(code),
                    )
                }
            return platforms[code], {}
        if not platforms:
            return None, {
                "account": _("There is no account “%(name)s”: add it on the account page first.", name=name[:80])
            }
        if len(platforms) > 1:
            problem = _(
                "“%(name)s” is on several platforms (%(platforms)s): say which in the 平台 (platform) column.",
                name=name[:80],
                platforms=accounts.platform_list(sorted(platforms, key=accounts.PLATFORMS.values.index)),
            )
            return None, {"platform" if has_platform_column else "account": problem}
        return next(iter(platforms.values())), {}


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


async def import_file(
    user: CurrentUser | None, filename: str, data: bytes, *, account_id: int | None = None, ip: str = ""
) -> ImportResult:
    """Record every row of the file (source "import"), all or nothing: each row's account by
    its 账号 and 平台 cells, or every row ``account_id``'s. PermissionDenied for anyone but
    managers and administrators, NotFound for an unknown ``account_id``; AccountImportError
    (422) with every bad cell, nothing recorded."""
    accounts.require_manager(user)
    if account_id is not None:
        await accounts.get_account(account_id)
    try:
        sheet = await anyio.to_thread.run_sync(
            partial(read_sheet, filename, data, fixed_account=account_id is not None)
        )
    except ImportFileError as error:
        raise AccountImportError([RowError(row=0, column="", message=error.message)]) from None
    directory = _Directory(await accounts.list_accounts()) if account_id is None else None
    today = accounts.today()
    found: list[tuple[int, int, RowError]] = []  # (row, column index, error): sorted for the person
    rows: list[tuple[int, accounts.FigureInput]] = []
    for number, values in sheet.rows:
        problems: dict[str, str] = {}
        row_account = account_id
        if directory is not None:
            row_account, problems = directory.find(
                values.get("account", ""), values.get("platform", ""), "platform" in sheet.columns
            )
        try:
            (figures,) = accounts.check([values], on=today)
        except FormError as error:
            problems.update({name.removeprefix("0."): message for name, message in error.errors.items()})
        else:
            if row_account is not None and not problems:
                rows.append((row_account, figures))
                continue
        for name, message in problems.items():
            found.append(_cell(sheet, number, name, message))
    if not found:
        try:
            recorded = await accounts.record_checked(user, rows, source="import", ip=ip)
        except FormError as error:  # the same account and day twice
            for key, message in error.errors.items():
                position, _dot, name = key.partition(".")
                found.append(_cell(sheet, sheet.rows[int(position)][0], name, message))
        else:
            return ImportResult(count=recorded.count, accounts=len(recorded.accounts))
    raise AccountImportError([error for _row, _column, error in sorted(found, key=lambda item: (item[0], item[1]))])


def _cell(sheet: Sheet, number: int, name: str, message: str) -> tuple[int, int, RowError]:
    return number, sheet.columns.get(name, -1), RowError(row=number, column=sheet.header(name), message=message)


def describe(error: RowError) -> str:
    """A bad cell as the person reads it: "Row 3, column “粉丝数”: …"."""
    if error.row and error.column:
        return _(
            "Row %(row)s, column “%(column)s”: %(problem)s", row=error.row, column=error.column, problem=error.message
        )
    if error.row:
        return _("Row %(row)s: %(problem)s", row=error.row, problem=error.message)
    return error.message


def errors_of(error: AccountImportError) -> list[str]:
    return [describe(row) for row in error.rows]
