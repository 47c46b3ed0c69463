"""Spreadsheet import, parse only: real CSV (UTF-8 with BOM, GB18030, tabs) and XLSX files
(written with openpyxl, with real Excel date cells) built here, checked row by row."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from portal.comments import imports
from portal.comments.imports import ImportFileError, ImportPreview, parse_import, parse_time, read_rows
from portal.i18n import use_locale

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
HEADERS = ["平台", "评论ID", "昵称", "评论内容", "评论时间", "原文链接"]
PLATFORM_LABELS = ["微博", "微信", "抖音", "网站", "weibo"]


def export(count: int = 500) -> list[list[object]]:
    """A platform back office's export: ``count`` comments, times as Excel datetimes."""
    start = datetime(2026, 11, 1, 8, 0)
    return [
        [
            PLATFORM_LABELS[number % len(PLATFORM_LABELS)],
            f"C{number:06d}",
            f"网友{number}",
            f"第 {number} 条留言：路灯坏了，请尽快处理。",
            start + timedelta(minutes=7 * number),
            f"https://example.gov.cn/c/{number}" if number % 3 else "",
        ]
        for number in range(count)
    ]


def as_text(value: object) -> str:
    return value.strftime("%Y/%m/%d %H:%M:%S") if isinstance(value, datetime) else str(value)


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerows([[as_text(value) for value in row] for row in rows])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def preview(filename: str, data: bytes, **options) -> ImportPreview:
    with use_locale("en"):
        return parse_import(filename, data, now=NOW, **options)


def refusal(filename: str, data: bytes, **options) -> ImportFileError:
    with use_locale("en"), pytest.raises(ImportFileError) as caught:
        parse_import(filename, data, now=NOW, **options)
    return caught.value


# The 500-row export ------------------------------------------------------------------------


def broken_export() -> list[list[object]]:
    rows = [HEADERS, *export(500)]
    rows[11][4] = "昨天下午"  # spreadsheet row 12: a time nobody can read
    rows[201][3] = ""  # row 202: no text
    rows[377][0] = "小红书"  # row 378: a platform the portal does not have
    return rows


@pytest.mark.parametrize(
    ("filename", "build"),
    [
        ("评论导出.csv", lambda rows: csv_bytes(rows, encoding="utf-8-sig")),
        ("评论导出.csv", lambda rows: csv_bytes(rows, encoding="gb18030")),
        ("评论导出.xlsx", xlsx_bytes),
    ],
    ids=["csv-utf8-bom", "csv-gb18030", "xlsx"],
)
def test_a_500_row_export_with_three_broken_rows(filename, build):
    result = preview(filename, build(broken_export()))
    assert len(result.rows) == 497
    assert [(error.row, error.column) for error in result.errors] == [
        (12, "评论时间"),
        (202, "评论内容"),
        (378, "平台"),
    ]
    assert "2026-11-26 09:30" in result.errors[0].message
    assert "5000" in result.errors[1].message
    assert "小红书" in result.errors[2].message and "Weibo" in result.errors[2].message
    assert result.duplicates_in_file == 0

    first = result.rows[0]
    assert first.row == 2 and "row" not in first.model_dump()
    assert (first.platform, first.external_id, first.author) == ("weibo", "C000000", "网友0")
    assert first.text == "第 0 条留言：路灯坏了，请尽快处理。"
    assert first.received_at == datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI)
    assert first.link == ""
    assert {message.platform for message in result.rows} == {"weibo", "wechat", "douyin", "website"}
    assert result.rows[-1].row == 501 and result.rows[-1].link == "https://example.gov.cn/c/499"


def test_an_excel_datetime_cell_is_read_as_local_time():
    data = xlsx_bytes([HEADERS, ["抖音", "D1", "", "好", datetime(2026, 11, 20, 14, 5, 33), ""]])
    assert openpyxl.load_workbook(io.BytesIO(data)).active["E2"].is_date  # a real date cell, not text
    (row,) = preview("douyin.xlsx", data).rows
    assert row.received_at == datetime(2026, 11, 20, 14, 5, 33, tzinfo=SHANGHAI)
    assert row.received_at.utcoffset() == timedelta(hours=8)


def test_numeric_ids_in_excel_keep_their_digits():
    data = xlsx_bytes([HEADERS, ["微博", 4987654321098765, "", "好", datetime(2026, 11, 20, 14, 5), ""]])
    assert preview("weibo.xlsx", data).rows[0].external_id == "4987654321098765"


# Headers, platforms, times ------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        ["来源", "消息ID", "网友", "留言内容", "留言时间", "链接"],
        ["平台", "编号", "作者", "正文", "发布时间", "URL"],
        ["平台", "ID", "用户", "内容", "时间", "链接"],
        ["Platform", "External ID", "Author", "Text", "Received at", "Link"],
        ["platform", "external_id", "author", "content", "time", "url"],
    ],
)
def test_header_aliases(headers):
    data = csv_bytes(
        [headers, ["微信", "W1", "市民", "请问社保卡怎么补办", "2026-11-20 14:05", "https://mp.weixin.qq.com/s/x"]]
    )
    result = preview("x.csv", data)
    assert result.errors == []
    fields = ["platform", "external_id", "author", "text", "received_at", "link"]
    assert result.columns == dict(zip(fields, headers, strict=True))
    assert result.rows[0].attachments == []  # a spreadsheet row carries no files
    assert result.rows[0].model_dump(exclude={"attachments"}) == {
        "platform": "wechat",
        "external_id": "W1",
        "author": "市民",
        "text": "请问社保卡怎么补办",
        "received_at": datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI),
        "link": "https://mp.weixin.qq.com/s/x",
    }


def test_read_rows_keys_cells_by_the_header_text():
    data = csv_bytes([["评论ID", "内容", "其他"], ["1", "你好", "x"], ["", "", ""], ["2", "再见", ""]])
    assert read_rows("x.csv", data) == [
        {"评论ID": "1", "内容": "你好", "其他": "x"},
        {"评论ID": "2", "内容": "再见", "其他": ""},
    ]


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("微博", "weibo"),
        ("新浪微博", "weibo"),
        ("微信", "wechat"),
        ("微信公众号", "wechat"),
        ("WeChat", "wechat"),
        ("抖音", "douyin"),
        ("网站", "website"),
        ("网站留言板", "website"),
        ("12345 热线", "hotline"),
        ("12345热线", "hotline"),
        (" Weibo ", "weibo"),
        ("DOUYIN", "douyin"),
    ],
)
def test_platform_labels_and_codes(label, code):
    data = csv_bytes([HEADERS, [label, "1", "", "好", "2026-11-20 14:05", ""]])
    assert preview("x.csv", data).rows[0].platform == code


def test_a_platform_for_the_whole_file():
    headers = ["评论ID", "内容", "时间"]
    data = csv_bytes([headers, ["1", "好", "2026-11-20 14:05"], ["2", "好", "2026-11-20 14:06"]])
    assert [row.platform for row in preview("x.csv", data, platform="douyin").rows] == ["douyin", "douyin"]
    assert [row.platform for row in preview("x.csv", data, platform="微博").rows] == ["weibo", "weibo"]
    assert refusal("x.csv", data, platform="小红书").message == "Choose a platform."
    # The chosen platform wins over a column in the file.
    data = csv_bytes([HEADERS, ["小红书", "1", "", "好", "2026-11-20 14:05", ""]])
    fixed = preview("x.csv", data, platform="wechat")
    assert fixed.rows[0].platform == "wechat" and "platform" not in fixed.columns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20 14:05", datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI)),
        ("2026/11/20 14:05:33", datetime(2026, 11, 20, 14, 5, 33, tzinfo=SHANGHAI)),
        ("2026/1/5 9:05", datetime(2026, 1, 5, 9, 5, tzinfo=SHANGHAI)),
        ("2026年11月20日 14:05", datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI)),
        ("2026-11-20T14:05:00+08:00", datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI)),
        ("2026-11-20T06:05:00Z", datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI)),
        ("2026-11-20 01:05:00-05:00", datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI)),
        ("2026-11-20 14:05:33.250", datetime(2026, 11, 20, 14, 5, 33, 250000, tzinfo=SHANGHAI)),
        ("2026-11-20", None),
        ("2026-02-30 10:00", None),
        ("2026-11-20 24:00", None),
        ("14:05", None),
        ("", None),
    ],
)
def test_times(text, expected):
    assert parse_time(text, SHANGHAI) == expected


def test_times_in_the_future_or_out_of_range_are_row_errors():
    data = csv_bytes(
        [HEADERS, ["微博", "1", "", "好", "2026-12-01 09:06", ""], ["微博", "2", "", "好", "1999-12-31 10:00", ""]]
    )
    result = preview("x.csv", data)
    assert result.rows == []
    assert [(error.row, error.column) for error in result.errors] == [(2, "评论时间"), (3, "评论时间")]
    assert "future" in result.errors[0].message and "2000" in result.errors[1].message


def test_every_bad_cell_of_a_row_is_reported_in_column_order():
    data = csv_bytes([HEADERS, ["", "", "名" * 81, "", "", "ftp://x"]])
    result = preview("x.csv", data)
    assert [error.column for error in result.errors] == HEADERS
    assert {error.row for error in result.errors} == {2}


# Rows: duplicates, empty rows, titles --------------------------------------------------------


def test_duplicates_within_a_file_are_counted_and_the_first_is_kept():
    rows = [HEADERS, *export(10)]
    rows.append(["微博", "C000000", "again", "重复", "2026-11-21 10:00", ""])  # same platform + ID as row 2
    rows.append(["微博", "C000000", "again", "重复", "2026-11-21 10:00", ""])
    rows.append(["微信", "C000000", "", "另一个平台的同号留言", "2026-11-21 10:00", ""])  # another platform: kept
    result = preview("x.csv", csv_bytes(rows))
    assert result.duplicates_in_file == 2
    assert len(result.rows) == 11
    kept = [row for row in result.rows if row.external_id == "C000000"]
    assert [(row.row, row.platform, row.author) for row in kept] == [(2, "weibo", "网友0"), (14, "wechat", "")]


def test_empty_rows_are_skipped_and_row_numbers_stay_those_of_the_sheet():
    rows = [HEADERS, export(1)[0], ["", "", "", "", "", ""], [], ["", " ", "", "", "", ""], export(2)[1]]
    for filename, data in (("x.csv", csv_bytes(rows)), ("x.xlsx", xlsx_bytes(rows))):
        result = preview(filename, data)
        assert result.errors == []
        assert [row.row for row in result.rows] == [2, 6]


def test_a_title_above_the_header_is_allowed():
    rows = [["微博评论导出（2026年11月）"], [], HEADERS, *export(3)]
    for filename, data in (("x.csv", csv_bytes(rows)), ("x.xlsx", xlsx_bytes(rows))):
        result = preview(filename, data)
        assert result.header_row == 3
        assert [row.row for row in result.rows] == [4, 5, 6]


def test_a_sheet_starting_below_row_one_keeps_its_row_numbers():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for offset, row in enumerate([HEADERS, *export(2)]):
        for column, value in enumerate(row, start=2):
            sheet.cell(row=4 + offset, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = preview("x.xlsx", buffer.getvalue())
    assert result.header_row == 4 and [row.row for row in result.rows] == [5, 6]


def test_a_multi_line_cell_is_one_row():
    rows = [HEADERS, ["微博", "1", "", "第一行\n第二行", "2026-11-20 14:05", ""], ["微博", "2", "", "x", "bad", ""]]
    result = preview("x.csv", csv_bytes(rows))
    assert result.rows[0].text == "第一行\n第二行"
    assert result.errors[0].row == 3


# CSV dialects --------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_separators_are_sniffed(delimiter):
    rows = [HEADERS, ["微博", "1", "", "一，二, 三; 四\t五", "2026-11-20 14:05", ""], *export(3)]
    result = preview("x.csv", csv_bytes(rows, delimiter=delimiter))
    assert result.errors == [] and len(result.rows) == 4
    assert result.rows[0].text == "一，二, 三; 四\t五"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_encodings(encoding):
    result = preview("x.csv", csv_bytes([HEADERS, *export(3)], encoding=encoding))
    assert [row.author for row in result.rows] == ["网友0", "网友1", "网友2"]
    assert result.columns["text"] == "评论内容"


# Files refused as a whole --------------------------------------------------------------------


def test_an_xlsx_that_is_really_text_is_refused():
    error = refusal("评论.xlsx", csv_bytes([HEADERS, *export(3)]))
    assert ".xlsx" in error.message and "does not match" in error.message


def test_a_csv_that_is_really_a_workbook_is_refused():
    assert ".csv" in refusal("评论.csv", xlsx_bytes([HEADERS])).message


def test_a_damaged_workbook_is_refused():
    data = xlsx_bytes([HEADERS, *export(3)])
    assert "could not be read" in refusal("x.xlsx", data[: len(data) // 2]).message
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert "could not be read" in refusal("x.xlsx", buffer.getvalue()).message


def test_a_zip_that_unpacks_to_too_much_is_refused_before_reading():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 3_000_000)
    assert len(buffer.getvalue()) < 100_000
    assert "too large to read" in refusal("x.xlsx", buffer.getvalue(), max_bytes=100_000).message


def test_a_value_in_the_last_column_of_the_last_row_is_refused_without_killing_the_process():
    """python-calamine would allocate the whole 1048576 x 16384 block and abort: the reader's
    child process dies of its memory limit instead, and the upload is refused."""
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.cell(row=1_048_576, column=16_384, value="stray")
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(buffer.getvalue()) < 10_000
    assert "too large to read" in refusal("x.xlsx", buffer.getvalue()).message


def test_a_sheet_over_the_cell_limit_is_refused(monkeypatch):
    data = xlsx_bytes([HEADERS, *export(10)])
    monkeypatch.setattr(imports, "MAX_CELLS", 6 * 10)
    assert "too large to read" in refusal("x.xlsx", data).message
    monkeypatch.setattr(imports, "MAX_CELLS", 6 * 11)
    assert len(preview("x.xlsx", data).rows) == 10


@pytest.mark.parametrize("filename", ["评论.pdf", "评论", "评论.xlsx.exe", "评论.numbers"])
def test_other_kinds_of_file_are_refused(filename):
    assert ".xlsx" in refusal(filename, b"whatever").message


def test_over_the_row_limit_is_refused_with_the_limit_in_the_message():
    rows = [HEADERS, *export(101)]
    for filename, data in (("x.csv", csv_bytes(rows)), ("x.xlsx", xlsx_bytes(rows))):
        assert "100 rows" in refusal(filename, data, max_rows=100).message
        assert len(preview(filename, data, max_rows=101).rows) == 101


def test_the_default_row_limit_is_5000():
    data = csv_bytes([HEADERS, *export(5001)])
    assert "5000" in refusal("x.csv", data).message


def test_over_the_size_limit_is_refused_with_the_limit_in_the_message():
    data = csv_bytes([HEADERS, *export(50)])
    assert "2 KB" in refusal("x.csv", data, max_bytes=2048).message
    assert "5 MB" in refusal("x.csv", b"x" * (5 * 1024 * 1024 + 1)).message


def test_missing_columns_are_named():
    data = csv_bytes([["昵称", "评论内容", "链接"], ["a", "b", ""]])
    error = refusal("x.csv", data)
    assert error.missing_columns == ("platform", "external_id", "received_at")
    assert "平台" in error.message and "评论ID" in error.message and "时间" in error.message
    assert "内容" not in error.message
    assert refusal("x.csv", data, platform="weibo").missing_columns == ("external_id", "received_at")


@pytest.mark.parametrize("data", [b"", b"\n\n,,,\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    assert "empty" in refusal("x.csv", data).message


def test_a_file_that_is_not_text_is_refused():
    assert "encoding" in refusal("x.csv", bytes(range(128, 256)) * 10).message
