"""What a file is, by its content: the first bytes (and, for a zip, its list of entries;
for an old Office file, its list of streams), never its name.

Allowed: images (PNG, JPEG, GIF, WebP), PDF, Office documents (the new ones are zip files
holding ``[Content_Types].xml`` and a ``word/``, ``xl/`` or ``ppt/`` part; the old ones are
OLE compound files holding a ``WordDocument``, ``Workbook``/``Book`` or ``PowerPoint
Document`` stream — an installer (MSI) is an OLE file too, and refused), plain text (UTF-8 or
GB18030 without NUL or control bytes, and no markup anywhere in it) and zip archives (not
Java or Android packages, at most ``MAX_ZIP_ENTRIES`` entries). Everything else is refused,
and the refusal names what the content looks like where it is recognisable (an executable
renamed ``报名表.pdf`` is refused as an executable). HTML and SVG are text a browser would
run: they are refused, and no file is ever served inline except an image from its preview
route (with its own image type and ``nosniff``).

The name a file is stored and downloaded under follows what it is (``stored_name``): its own
extension stays only when it is one of those allowed for the detected type; an extension
that names a program or a page (``.exe``, ``.vbs``, ``.html``, ``.svg`` …) is refused
outright, and any other is replaced (``截图.jpeg`` holding a PNG becomes ``截图.png``) or
completed (``数据.json`` holding text becomes ``数据.json.txt``).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from portal.i18n import lazy_gettext as _l

HEAD_BYTES = 8192
# A zip with more entries is refused before it is opened: listing a quarter of a million
# empty entries costs a web process seconds of CPU and a hundred MB.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_DIRECTORY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image | pdf | office | text | zip
    content_type: str  # what the download declares (images: their type; text: text/plain)
    label: str  # a short type name shown beside the file ("PNG", "Word" …)
    extensions: tuple[str, ...] = ()  # the name's own extension may stay if it is one of these (first: the default)


@dataclass(frozen=True)
class Refused:
    actual: str  # what the content looks like, for the message (translated lazily)
    message: str = ""  # a whole message of its own instead (too many entries …)


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORD_X = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXCEL_X = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POWERPOINT_X = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OFFICE_BY_FOLDER = (
    ("word/", WORD_X, "Word", ("docx",)),
    ("xl/", EXCEL_X, "Excel", ("xlsx",)),
    ("ppt/", POWERPOINT_X, "PowerPoint", ("pptx",)),
)
# An old Office file by the stream its program keeps its document in.
OLE_BY_STREAM = (
    ("worddocument", "application/msword", "Word", ("doc",)),
    ("workbook", "application/vnd.ms-excel", "Excel", ("xls",)),
    ("book", "application/vnd.ms-excel", "Excel", ("xls",)),
    ("powerpoint document", "application/vnd.ms-powerpoint", "PowerPoint", ("ppt",)),
)
IMAGE_EXTENSIONS = {"PNG": ("png",), "JPEG": ("jpg", "jpeg"), "GIF": ("gif",), "WebP": ("webp",)}
TEXT_EXTENSIONS = ("txt", "csv", "log", "md")
# Every extension some allowed type may keep (a name ending in another type's one gets the
# right one instead; a name ending in something else gets it added).
KNOWN_EXTENSIONS = frozenset(
    ["png", "jpg", "jpeg", "gif", "webp", "pdf", "docx", "xlsx", "pptx", "doc", "xls", "ppt", "zip", *TEXT_EXTENSIONS]
)
# Names a program, a script, an installer, a page or an app package: refused whatever the
# content is (Windows, a browser or a phone would run the file by its name).
DANGEROUS_EXTENSIONS = frozenset(
    """exe com scr pif cpl dll sys msi msp mst msix msixbundle appx appxbundle appinstaller
    bat cmd ps1 psm1 psd1 ps1xml vbs vbe js jse mjs wsf wsh wsc sct hta jar apk aab ipa xap
    sh bash zsh csh ksh command app dmg pkg deb rpm run bin lnk url reg inf scf desktop
    html htm xhtml shtml mht mhtml svg svgz xml xsl xslt chm hlp
    docm dotm xlsm xltm xlam pptm potm ppsm ppam sldm iso img vhd vhdx py pyw pl rb php
    jsp asp aspx cgi swf""".split()
)

# Recognised and refused: what to call them in the message.
EXECUTABLE = _l("an executable program")
REFUSED_SIGNATURES: tuple[tuple[bytes, object], ...] = (
    (b"MZ", EXECUTABLE),
    (b"\x7fELF", EXECUTABLE),
    (b"\xcf\xfa\xed\xfe", EXECUTABLE),  # Mach-O
    (b"\xfe\xed\xfa\xcf", EXECUTABLE),
    (b"\xca\xfe\xba\xbe", EXECUTABLE),
    (b"Rar!\x1a\x07", _l("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _l("a 7z archive")),
    (b"\x1f\x8b", _l("a gzip archive")),
    (b"BM", _l("a BMP image")),
    (b"II*\x00", _l("a TIFF image")),
    (b"MM\x00*", _l("a TIFF image")),
    (b"ID3", _l("an audio file")),
    (b"OggS", _l("an audio or video file")),
    (b"\x1aE\xdf\xa3", _l("a video file")),
    (b"{\\rtf", _l("an RTF document")),
)
UNKNOWN = _l("an unknown type of file")
MARKUP = _l("a web page or SVG image")
BINARY = _l("binary data")
DAMAGED_ZIP = _l("a damaged zip archive")
APP_PACKAGE = _l("an app package (Java, Android or Windows)")
OTHER_OLE = _l("an installer or another compound file, not a Word, Excel or PowerPoint document")
# Entries that make a zip a program: Java and Android packages, Windows app packages.
APP_ENTRIES = ("META-INF/MANIFEST.MF", "classes.dex", "AndroidManifest.xml", "AppxManifest.xml", "AppxSignature.p7x")


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def stored_name(name: str, found: Sniffed) -> str | None:
    """The name the file is kept and downloaded under, its extension following what the
    content is; None when the name's extension names a program or a page (refused)."""
    ext = extension(name)
    if ext in found.extensions or not found.extensions:
        return name
    if ext in DANGEROUS_EXTENSIONS:
        return None
    right = found.extensions[0]
    if ext in KNOWN_EXTENSIONS:
        return name[: -len(ext)] + right
    return f"{name}.{right}"


def sniff(file: BinaryIO, name: str = "") -> Sniffed | Refused:
    """What ``file`` (seekable, read from its start; left at its start) contains."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    try:
        return _sniff(file, head)
    finally:
        file.seek(0)


def _sniff(file: BinaryIO, head: bytes) -> Sniffed | Refused:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "PNG", IMAGE_EXTENSIONS["PNG"])
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "JPEG", IMAGE_EXTENSIONS["JPEG"])
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "image/gif", "GIF", IMAGE_EXTENSIONS["GIF"])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "WebP", IMAGE_EXTENSIONS["WebP"])
    if head.startswith(b"%PDF-"):
        return Sniffed("pdf", "application/pdf", "PDF", ("pdf",))
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            return _zip(file)
        except Exception:  # zipfile raises what it likes on a crafted archive
            return Refused(str(DAMAGED_ZIP))
    if head.startswith(OLE):
        try:
            return _ole(file)
        except Exception:  # a damaged compound file: olefile raises what it likes
            return Refused(str(_l("a damaged Office document")))
    for signature, actual in REFUSED_SIGNATURES:
        if head.startswith(signature):
            return Refused(str(actual))
    return _text(file, head)


def _ole(file: BinaryIO) -> Sniffed | Refused:
    import olefile

    file.seek(0)
    with olefile.OleFileIO(file) as ole:
        streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    for stream, content_type, label, extensions in OLE_BY_STREAM:
        if stream in streams:
            return Sniffed("office", content_type, label, extensions)
    return Refused(str(OTHER_OLE))


def zip_entry_count(file: BinaryIO) -> int | None:
    """How many entries the zip's central directory holds, counted by walking it (the
    end record's own count may lie); None when the directory cannot be found or read."""
    file.seek(0, io.SEEK_END)
    size = file.tell()
    tail_start = max(0, size - 65_557)
    file.seek(tail_start)
    tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    directory_size = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    end = tail_start + at  # the directory ends where its end record (or the zip64 one) starts
    if end >= 20:
        # A zip64 end record, found as zipfile finds it: its locator just before the end record.
        file.seek(end - 20)
        locator = file.read(20)
        if locator[:4] == b"PK\x06\x07":
            if end - 20 - 56 < 0:
                return None
            file.seek(end - 20 - 56)
            record = file.read(56)
            if record[:4] != b"PK\x06\x06":
                return None
            directory_size = struct.unpack("<Q", record[40:48])[0]
            end = end - 20 - 56
    if directory_size > MAX_ZIP_DIRECTORY_BYTES:
        return MAX_ZIP_ENTRIES + 1
    # zipfile finds the directory relative to the end record (data may be prepended).
    start = end - directory_size
    if start < 0:
        return None
    file.seek(start)
    directory = file.read(directory_size)
    count, position = 0, 0
    while position + 46 <= len(directory) and directory[position : position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", directory[position + 28 : position + 34])
        position += 46 + name_length + extra_length + comment_length
        count += 1
        if count > MAX_ZIP_ENTRIES:
            break
    if count == 0 and directory_size:
        return None  # not where zipfile would find it: refused rather than guessed
    return count


def _zip(file: BinaryIO) -> Sniffed | Refused:
    count = zip_entry_count(file)
    if count is None:
        return Refused(str(DAMAGED_ZIP))
    if count > MAX_ZIP_ENTRIES:
        return Refused(
            "",
            str(_l("%(name)s holds more than %(n)s files: pack fewer files into one zip archive.")),
        )
    file.seek(0)
    names = zipfile.ZipFile(file).namelist()
    if any(entry in names for entry in APP_ENTRIES):
        return Refused(str(APP_PACKAGE))
    if "[Content_Types].xml" in names:
        for folder, content_type, label, extensions in OFFICE_BY_FOLDER:
            if any(entry.startswith(folder) for entry in names):
                return Sniffed("office", content_type, label, extensions)
    return Sniffed("zip", "application/zip", "ZIP", ("zip",))


# Markup anywhere in a text file: a tag a browser would act on, a document's start, or an
# event handler inside a tag.
MARKUP_PATTERN = re.compile(
    r"</?(?:script|svg|html|head|body|iframe|frame|frameset|img|image|object|embed|applet|meta|link|"
    r"style|base|form|input|math|video|audio|source|a|xml|x:script)\b"
    r"|<!doctype|<\?xml|<!--|<!\[cdata\[|<[a-z][^>]*\son\w+\s*=|javascript:",
    re.IGNORECASE,
)


def _text(file: BinaryIO, head: bytes) -> Sniffed | Refused:
    """Plain text: no NUL byte, valid UTF-8 (a BOM allowed) or GB18030, no control characters
    and no markup anywhere (the whole file is read: the size limit has been checked)."""
    data = head + file.read()
    if not data:
        return Refused(str(_l("an empty file")))
    if b"\x00" in data:
        return Refused(str(BINARY))
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for encoding in ("utf-8", "gb18030"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        if CONTROL.search(text):
            return Refused(str(BINARY))
        if MARKUP_PATTERN.search(text):
            return Refused(str(MARKUP))
        return Sniffed("text", f"text/plain; charset={encoding}", "TXT", TEXT_EXTENSIONS)
    return Refused(str(UNKNOWN))


CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")


def sniff_bytes(data: bytes, name: str = "") -> Sniffed | Refused:
    return sniff(io.BytesIO(data), name)
