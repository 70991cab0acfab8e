"""The rows of an XLSX sheet with memory that does not grow with the sheet.

openpyxl's read-only reader streams rows, but its parser leaves every parsed
(emptied) ``<row>`` element attached to ``<sheetData>`` and keeps each row's
attributes (Excel writes row heights for every row): about 100 bytes per
row, 10 MB per 100,000 rows. This drives openpyxl's own row parser (cells,
shared strings, dates by number format, booleans, errors) over the sheet's
XML and detaches each row once it is read. Should openpyxl's internals
change, ``sheet_rows`` falls back to the plain read-only iteration.

A row number past Excel's last row (1,048,576) or a cell past its last column
(XFD) is refused: a few bytes of XML could otherwise make the reader yield a
billion blank rows or a 16,384-cell row for every line. Cells past
``width()`` (the header's width, once it is known) are dropped unread."""
from __future__ import annotations

import logging
from typing import Callable, Iterator
from xml.etree.ElementTree import iterparse

from callcenter.spreadsheets.exceptions import NotASpreadsheet

log = logging.getLogger(__name__)

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384


def _all_columns() -> int:
    return EXCEL_COLUMNS


def _plain(sheet, width: Callable[[], int]) -> Iterator[tuple]:
    sheet.reset_dimensions()  # some writers store a wrong size: read every row there is
    for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
        if number > EXCEL_ROWS:
            _beyond_excel(f"row {number}")
        yield row[:width()]


def _beyond_excel(what: str):
    raise NotASpreadsheet(f"the sheet has a {what}, past Excel's last row or column: "
                          "Excel does not write such a file")


def sheet_rows(workbook, sheet, width: Callable[[], int] = _all_columns) -> Iterator[tuple]:
    """Every row of ``sheet`` (of a read-only ``workbook``) as a tuple of cell
    values, missing rows as ``()``, from row 1; at most ``width()`` values a
    row, trailing empty cells left out."""
    try:
        from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
        from openpyxl.xml.constants import SHEET_MAIN_NS

        # the table read from the file is the sheet's: a read-only workbook's own is empty
        strings = sheet._shared_strings
        source = workbook._archive.open(sheet._worksheet_path)
        parser = WorkSheetParser(source, strings, data_only=True,
                                 epoch=workbook.epoch, date_formats=workbook._date_formats,
                                 timedelta_formats=workbook._timedelta_formats)
    except (ImportError, AttributeError, TypeError) as exc:  # openpyxl changed: its own way
        log.warning("streaming XLSX rows the plain openpyxl way (%s)", exc)
        yield from _plain(sheet, width)
        return
    sheet_data = f"{{{SHEET_MAIN_NS}}}sheetData"
    with source:
        holder = None
        expected = 1
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == sheet_data:
                    holder = element
                continue
            if element.tag != ROW_TAG:
                continue
            number, cells = parser.parse_row(element)
            if number > EXCEL_ROWS:
                _beyond_excel(f"row {number}")
            parser.row_dimensions.clear()
            if holder is not None:
                holder.remove(element)   # the only child left: nothing piles up
            element.clear()
            while expected < number:     # rows the file leaves out are blank rows
                expected += 1
                yield ()
            if number < expected:        # a row number going backwards: keep the order read
                number = expected
            expected = number + 1
            limit, last = width(), 0
            for cell in cells:
                column = cell["column"]
                if column > EXCEL_COLUMNS:
                    _beyond_excel(f"cell in column {column}")
                if last < column <= limit and cell["value"] is not None:
                    last = column
            values = [None] * last
            for cell in cells:
                if cell["column"] <= last:
                    values[cell["column"] - 1] = cell["value"]
            yield tuple(values)
