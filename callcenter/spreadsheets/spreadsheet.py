"""Rows of an uploaded CSV or XLSX file, streamed one at a time.

``open_spreadsheet(path, kind)`` checks what the file is (by its bytes, not
its name), finds the header row, maps the headers people write ("Mobile No",
"DOB", "Store Code") to the names of the upload kind, and refuses a file
missing a required column before any row is read.  Iterating it yields
``(row_number, {column: text})``: the row number is the one the user sees in
Excel (header = 1 when it is the first line), blank rows are skipped but
counted, every value is text ("" when empty). ``with_cells()`` also yields
each row's cells as the file has them, under ``headers`` (the header row as
written), for a file of the rows that were left out.  Columns the kind does not name
are kept under their normalised header (a customer upload stores them in
``Customer.data``).

Memory does not grow with the number of rows: CSV is read line by line and
XLSX with openpyxl's read-only workbook and its row parser, each row dropped
once read (xlsx_rows.py).  (openpyxl keeps the workbook's shared-strings
table in memory: its size is that of the distinct texts, not of the rows;
xlsx_guard.py bounds it, and every part's unpacked size, before openpyxl
opens the file.)
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import logging
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Iterator

from callcenter.spreadsheets.exceptions import (
    DuplicateColumns, EmptySpreadsheet, MissingColumns, NotASpreadsheet, SpreadsheetError, TooLarge)
from callcenter.spreadsheets.layouts import CUSTOMERS, DND, HEADCOUNT, LAYOUTS, Layout, normalise_header
from callcenter.spreadsheets.xlsx_guard import check_archive, check_directory
from callcenter.spreadsheets.xlsx_rows import EXCEL_COLUMNS, sheet_rows

log = logging.getLogger(__name__)

CSV_DELIMITERS = (",", ";", "\t")
XLSX_BATCH = 500   # rows read from openpyxl per batch (warnings are caught per batch)
_SNIFF_BYTES = 64 * 1024


def cell_text(value) -> str:
    """An XLSX cell's value as text: 9876543210.0 -> '9876543210', a midnight
    datetime -> '1990-03-05', None -> ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def sniff_format(path: Path, name: str | None = None) -> str:
    """'xlsx' or 'csv' from the file's first bytes; NotASpreadsheet otherwise."""
    name = (name or path.name).lower()
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if not head:
        raise EmptySpreadsheet("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        check_directory(path)
        try:
            with zipfile.ZipFile(path) as z:
                if "xl/workbook.xml" in z.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        raise NotASpreadsheet("the file is a zip archive but not an Excel (.xlsx) workbook")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotASpreadsheet("the file is an old Excel .xls workbook: save it as .xlsx or CSV")
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        raise NotASpreadsheet("the file is named like an Excel workbook but is not one "
                              "(if it is a CSV file, name it .csv)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > len(head) // 100:
        raise NotASpreadsheet("the file is neither CSV text nor an Excel (.xlsx) workbook")
    return "csv"


def csv_encoding(path: Path) -> str:
    """utf-8-sig / utf-16 by their byte-order mark, else utf-8 if the whole file
    decodes as utf-8, else cp1252 (Excel's 'CSV' on Windows), else latin-1."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","



_SIZE_SCAN_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_size_scan():
    """Open a workbook without openpyxl's size scan: a read-only worksheet
    whose file has no ``<dimension>`` (openpyxl's own write-only files, some
    exporters) is parsed whole on opening to find its size, keeping ~77 bytes
    per row until the scan ends. The rows are streamed by xlsx_rows anyway and
    the size is never used. The lock keeps two uploads opening at once from
    restoring each other's patch."""
    try:
        from openpyxl.worksheet._read_only import ReadOnlyWorksheet
        original = ReadOnlyWorksheet._get_size
    except (ImportError, AttributeError):  # openpyxl changed: open it its own way
        yield
        return
    with _SIZE_SCAN_LOCK:
        ReadOnlyWorksheet._get_size = lambda self: None
        try:
            yield
        finally:
            ReadOnlyWorksheet._get_size = original

class Spreadsheet:
    """An open spreadsheet: ``columns`` (in file order), ``header_row``, and
    iteration over ``(row_number, {column: text})`` of its non-blank rows."""

    def __init__(self, path: Path, layout: Layout, *, name: str | None = None,
                 max_bytes: int | None = None) -> None:
        self.path, self.layout = Path(path), layout
        size = self.path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise TooLarge(f"the file is {size / 1e6:.1f} MB; the largest accepted is "
                           f"{max_bytes / 1e6:.0f} MB", size=size, max_bytes=max_bytes)
        self.format = sniff_format(self.path, name)
        self._closers: list = []
        self._width = EXCEL_COLUMNS
        self._raw = self._open_xlsx(max_bytes) if self.format == "xlsx" else self._open_csv()
        try:
            self.header_row, headers = self._find_header()
            self.headers = list(headers)
            while self.headers and not self.headers[-1]:
                self.headers.pop()
            self.columns = self._map_headers(headers)
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------
    def _open_csv(self) -> Iterator[list]:
        encoding = csv_encoding(self.path)
        f = open(self.path, encoding=encoding, newline="")
        self._closers.append(f.close)
        first = ""
        for line in f:  # the first non-blank line holds the headers: sniff its delimiter
            if line.strip(" \r\n,;\t"):
                first = line
                break
        f.seek(0)
        self.encoding, self.delimiter = encoding, _delimiter(first)
        reader = csv.reader(f, delimiter=self.delimiter)

        def rows():
            try:
                for row in reader:
                    yield [cell.strip() for cell in row]
            except csv.Error as exc:
                raise NotASpreadsheet(f"row {reader.line_num}: the CSV cannot be read ({exc})",
                                      row=reader.line_num) from None
        return rows()

    def _open_xlsx(self, max_bytes: int | None) -> Iterator[list]:
        import openpyxl

        check_archive(self.path, max_bytes)   # sizes, ratios, shared strings: before openpyxl
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with _no_size_scan():
                    workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a broken workbook
            raise NotASpreadsheet(f"the Excel workbook cannot be read ({exc.__class__.__name__})")
        self._closers.append(workbook.close)
        if not workbook.worksheets:
            raise EmptySpreadsheet("the workbook has no sheet")
        sheet = workbook.worksheets[0]

        def rows():
            source = sheet_rows(workbook, sheet, width=lambda: self._width)
            while True:
                size = XLSX_BATCH if self._width < EXCEL_COLUMNS else 1  # 1 until the header
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        batch = [row for _, row in zip(range(size), source)]
                except SpreadsheetError:
                    raise
                except Exception as exc:
                    raise NotASpreadsheet("the Excel workbook cannot be read "
                                          f"({exc.__class__.__name__})") from None
                for row in batch:
                    yield [cell_text(value) for value in row]
                if len(batch) < size:
                    return
        return rows()

    # -- headers --------------------------------------------------------------
    def _find_header(self) -> tuple[int, list[str]]:
        number = 0
        for row in self._raw:
            number += 1
            if any(row):
                self._width = max(len(row), 1)   # cells right of the header are never read
                return number, row
        raise EmptySpreadsheet("the file has no header row (it is empty)")

    def _map_headers(self, headers: list[str]) -> list[str | None]:
        columns: list[str | None] = []
        seen: dict[str, str] = {}
        for header in headers:
            if not header:
                columns.append(None)   # a column without a header is ignored
                continue
            column = self.layout.column_of(header)
            if not column:
                columns.append(None)
                continue
            if column in seen:
                if column in self.layout.aliases:
                    raise DuplicateColumns(
                        f"the columns {seen[column]!r} and {header!r} both mean {column!r}",
                        columns=[seen[column], header])
                suffix = 2
                while f"{column}_{suffix}" in seen:
                    suffix += 1
                column = f"{column}_{suffix}"
            seen[column] = header
            columns.append(column)
        missing = [c for c in self.layout.required if c not in seen]
        if missing:
            raise MissingColumns(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                f"(found: {', '.join(h for h in headers if h) or 'none'})",
                missing=missing, found=[h for h in headers if h])
        return columns

    @property
    def extra_columns(self) -> list[str]:
        """Columns the layout does not name (kept as they are)."""
        return [c for c in self.columns if c and c not in self.layout.aliases]

    # -- rows ---------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        for number, values, _ in self.with_cells():
            yield number, values

    def with_cells(self) -> Iterator[tuple[int, dict[str, str], list[str]]]:
        """``(row_number, {column: text}, cells)``: cells as in the file, one
        per header (padded, or cut at the header's width)."""
        columns = [(i, c) for i, c in enumerate(self.columns) if c]
        number, header_width = self.header_row, len(self.headers)
        for row in self._raw:
            number += 1
            if not any(row):
                continue
            width = len(row)
            values = {c: (row[i] if i < width else "") for i, c in columns}
            if any(values.values()):
                cells = list(row[:header_width])
                yield number, values, cells + [""] * (header_width - len(cells))

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> "Spreadsheet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_spreadsheet(path: Path, kind: str | Layout, *, name: str | None = None,
                     max_bytes: int | None = None) -> Spreadsheet:
    """Open ``path`` as a spreadsheet of ``kind`` ('customers', 'headcount',
    'dnd' or a Layout); use it as a context manager and iterate it.
    ``name`` is the file's original name (an .xlsx that is not a workbook is
    refused); ``max_bytes`` refuses a larger file (TooLarge)."""
    layout = kind if isinstance(kind, Layout) else LAYOUTS[kind]
    return Spreadsheet(Path(path), layout, name=name, max_bytes=max_bytes)


def read_rows(path: Path, kind: str | Layout, *, name: str | None = None,
              max_bytes: int | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Every ``(row_number, {column: text})`` of the file, closing it at the end.
    (A generator: header problems raise at the first ``next``; use
    ``open_spreadsheet`` to have them raised at once.)"""
    with open_spreadsheet(path, kind, name=name, max_bytes=max_bytes) as sheet:
        yield from sheet


__all__ = ["CUSTOMERS", "DND", "HEADCOUNT", "LAYOUTS", "Layout", "Spreadsheet",
           "SpreadsheetError", "open_spreadsheet", "read_rows", "normalise_header", "cell_text"]
