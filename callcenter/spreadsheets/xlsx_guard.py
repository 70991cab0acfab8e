"""Checks an uploaded XLSX archive before openpyxl opens it.

An XLSX is a zip: a few hundred kB can unpack to gigabytes, and openpyxl's
read-only mode still parses every part but the worksheets whole (the
shared-strings table, styles, the workbook, pivot caches...). A 746 kB file
whose shared strings unpacked to 300 MB grew the server by 1.7 GB and held
it for 97 s. ``check_archive`` reads only the zip's directory, the first
64 KiB of each part and the shared-strings parts (decompressed in chunks, never
held whole), and refuses before anything is parsed:

- a zip directory of more than ``MAX_PARTS`` parts or ``MAX_DIRECTORY``
  bytes (zipfile reads it whole into objects before anything can be checked:
  ``check_directory``, before the file is even opened as a zip), or a zip
  that cannot be read (422);
- a part over 1 MiB unpacked that unpacks to more than ``MAX_RATIO`` times its
  packed size: no spreadsheet compresses like that, a bomb does (413);
- more than ``UNPACKED_TIMES`` the upload limit unpacked in all (413);
- a part read whole (anything but a worksheet) over ``WHOLE_PART_MAX``, or the
  shared strings over the upload limit or with more than
  ``MAX_SHARED_STRINGS`` strings (413);
- a ``<!DOCTYPE`` in any part (entity expansion; Excel never writes one), or
  a prolog that does not end within 64 KiB (422).

zipfile never hands out more than a part's declared size (a part that holds
more fails its CRC), so the sizes in the directory bound what openpyxl reads.
"""
from __future__ import annotations

import codecs
import logging
import re
import zipfile
from pathlib import Path

from callcenter.spreadsheets.exceptions import NotASpreadsheet, UnpacksTooLarge

log = logging.getLogger(__name__)

MAX_PARTS = 1_000
MAX_DIRECTORY = 1 << 20        # the zip's central directory (≈ 100 bytes a part in Excel's files)
MAX_RATIO = 100                # packed:unpacked, for parts over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
UNPACKED_TIMES = 16            # all parts together, times the upload limit
WHOLE_PART_MAX = 16 << 20      # a part openpyxl parses whole (styles, workbook, ...)
MAX_SHARED_STRINGS = 1_000_000
DEFAULT_LIMIT = 50 << 20       # when the caller gives no upload limit (command line)
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_PROLOG_WINDOW = 64 * 1024
_CHUNK = 1 << 20
_STRING_TAG = re.compile(rb"<(?:[^\s<>/:!?]+:)?si[\s/>]")
_OVERRIDE = re.compile(rb"<(?:[^\s<>/:!?]+:)?Override\s[^>]*>")
_ATTRIBUTE = re.compile(rb"""(PartName|ContentType)\s*=\s*["']([^"']*)["']""")
_CSV_HINT = "save the sheet as CSV and upload that"


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def check_directory(path: Path) -> None:
    """Refuse a zip whose central directory lists more than MAX_PARTS parts or
    is over MAX_DIRECTORY bytes, from its end record, before zipfile loads it."""
    try:
        with open(path, "rb") as f:
            end = zipfile._EndRecData(f)   # the end record (zip64 aware), as zipfile reads it
    except AttributeError:                  # zipfile changed: check_archive still counts parts
        log.warning("zipfile has no _EndRecData: the zip directory is not bounded before reading")
        return
    except OSError:
        return
    if not end:
        return   # no end record: zipfile refuses the file itself
    parts, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if parts > MAX_PARTS or size > MAX_DIRECTORY:
        raise UnpacksTooLarge(f"the workbook lists {parts} parts in {_mb(size)}; at most "
                              f"{MAX_PARTS} are accepted ({_CSV_HINT})", parts=parts)


def check_archive(path: Path, max_bytes: int | None = None) -> None:
    """Refuse ``path`` (an XLSX) if it unpacks to more than the server reads
    safely: UnpacksTooLarge (413) or NotASpreadsheet (422)."""
    limit = max_bytes or DEFAULT_LIMIT
    check_directory(path)
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise UnpacksTooLarge(f"the workbook has {len(parts)} parts; at most {MAX_PARTS} "
                                      f"are accepted ({_CSV_HINT})", parts=len(parts))
            rels = [info for info in parts if info.filename.endswith(".rels")]
            _check_sizes(rels, limit, streamed=lambda name: False)
            # openpyxl parses a chartsheet whole, wherever it lies
            charts = any(_contains(archive, info, b"chartsheet") for info in rels)
            _check_sizes(parts, limit, streamed=(lambda name: False) if charts else _streamed)
            for info in parts:
                _check_prolog(archive, info)
            for name in _shared_strings_parts(archive):
                _check_shared_strings(archive, archive.getinfo(name), limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            RuntimeError, ValueError, OSError) as exc:   # broken, encrypted, odd compression
        raise NotASpreadsheet(f"the Excel workbook cannot be read ({exc.__class__.__name__})") from None


def _check_sizes(parts: list[zipfile.ZipInfo], limit: int, *, streamed) -> None:
    whole_limit = UNPACKED_TIMES * limit
    total = 0
    for info in parts:
        size = info.file_size
        if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            raise UnpacksTooLarge(
                f"the workbook part {info.filename!r} unpacks from {_mb(info.compress_size)} to "
                f"{_mb(size)} ({size // max(info.compress_size, 1)} times): no spreadsheet packs "
                "like that", part=info.filename, unpacked=size)
        total += size
        if total > whole_limit:
            raise UnpacksTooLarge(f"the workbook unpacks to more than {_mb(whole_limit)} "
                                  f"({_CSV_HINT})", unpacked=total, max_unpacked=whole_limit)
        if size > WHOLE_PART_MAX and not streamed(info.filename) and not _strings_name(info.filename):
            raise UnpacksTooLarge(
                f"the workbook part {info.filename!r} unpacks to {_mb(size)}; a part other than a "
                f"sheet may be at most {_mb(WHOLE_PART_MAX)} ({_CSV_HINT})",
                part=info.filename, unpacked=size)


def _streamed(name: str) -> bool:
    """Worksheets are read row by row (xlsx_rows), whatever their size."""
    return name.startswith("xl/worksheets/") and name.count("/") == 2 and name.endswith(".xml")


def _strings_name(name: str) -> bool:
    return name == "xl/sharedStrings.xml"


def _contains(archive: zipfile.ZipFile, info: zipfile.ZipInfo, needle: bytes) -> bool:
    tail = b""
    with archive.open(info) as part:
        while chunk := part.read(_CHUNK):
            if needle in tail + chunk[:len(needle)] or needle in chunk:
                return True
            tail = chunk[-len(needle):]
    return False


def _check_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """No DOCTYPE (entities can expand a few bytes into gigabytes)."""
    with archive.open(info) as part:
        head = part.read(_PROLOG_WINDOW)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    elif head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    at = 0
    while True:
        while at < len(head) and head[at] in b" \t\r\n":
            at += 1
        if at >= len(head):
            if len(head) >= _PROLOG_WINDOW - 4:
                raise NotASpreadsheet(f"the workbook part {info.filename!r} does not start "
                                      "like an Excel part")
            return
        if head.startswith(b"<?", at) or head.startswith(b"<!--", at):
            end = head.find(b"?>" if head[at + 1] == ord("?") else b"-->", at)
            if end < 0:
                raise NotASpreadsheet(f"the workbook part {info.filename!r} does not start "
                                      "like an Excel part")
            at = end + 2
            continue
        if head.startswith(b"<!", at):
            raise NotASpreadsheet(f"the workbook part {info.filename!r} declares a DOCTYPE, "
                                  "which Excel never writes")
        return   # the root element, or not XML at all (a picture)


def _shared_strings_parts(archive: zipfile.ZipFile) -> list[str]:
    """The shared-strings parts openpyxl would read: named by an Override in
    [Content_Types].xml (whatever the name), and the usual name."""
    names = set(archive.namelist())
    found = {"xl/sharedStrings.xml"} & names
    if "[Content_Types].xml" in names:
        manifest = archive.read("[Content_Types].xml")   # capped by WHOLE_PART_MAX
        for override in _OVERRIDE.finditer(manifest):
            attributes = dict(_ATTRIBUTE.findall(override.group(0)))
            part = attributes.get(b"PartName", b"").decode("utf-8", "replace").lstrip("/")
            if attributes.get(b"ContentType", b"").decode("utf-8", "replace").strip() \
                    == SHARED_STRINGS_TYPE and part in names:
                found.add(part)
    return sorted(found)


def _check_shared_strings(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> None:
    """openpyxl keeps every shared string in memory (≈ 90 bytes each beside
    its text): bound their bytes and count them, a chunk at a time."""
    if info.file_size > max(limit, WHOLE_PART_MAX):
        raise UnpacksTooLarge(
            f"the workbook's shared strings unpack to {_mb(info.file_size)}; at most "
            f"{_mb(max(limit, WHOLE_PART_MAX))} are accepted ({_CSV_HINT})",
            part=info.filename, unpacked=info.file_size)
    count, tail = 0, b""
    with archive.open(info) as part:
        while chunk := part.read(_CHUNK):
            data = tail + chunk
            matches = list(_STRING_TAG.finditer(data))
            # a tag cut by the chunk's end is counted with the next chunk
            keep_from = max(len(data) - 256, matches[-1].end() if matches else 0)
            count += len(matches)
            tail = data[keep_from:]
            if count > MAX_SHARED_STRINGS:
                raise UnpacksTooLarge(
                    f"the workbook holds more than {MAX_SHARED_STRINGS:,} different texts "
                    f"({_CSV_HINT})", part=info.filename, max_strings=MAX_SHARED_STRINGS)
