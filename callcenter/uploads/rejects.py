"""The rejects file of a customer upload: exactly the rows the validation left
out (invalid, repeated in the file, on the DND list), each with every cell
as the client's file has it under the client's own header, plus "Row" (its
line in the original file) and "Reason".

Staff fix those rows in Excel and upload the file again: it is itself a valid
customer file (the "Row" and "Reason" headers are ignored on upload, see
``spreadsheets.layouts.CUSTOMERS``).

The CSV (UTF-8 with a byte-order mark, so Excel reads names in any script) is
written row by row during the validation, beside the upload, under the
upload's server-made name (``<32 hex>.rejects.csv``). The XLSX is made from
it on the first download, with openpyxl's write-only workbook (rows streamed
to the file, not held), and kept beside it."""
from __future__ import annotations

import csv
import logging
import os
import uuid
from pathlib import Path

from callcenter.spreadsheets.store import CsvWriter

log = logging.getLogger(__name__)

EXTRA_HEADERS = ("Row", "Reason")
ENCODING = "utf-8-sig"


class RejectsWriter(CsvWriter):
    """The rejects CSV: the client's header plus Row and Reason."""

    def __init__(self, path: Path, headers: list[str]) -> None:
        super().__init__(path, [*headers, *EXTRA_HEADERS], encoding=ENCODING)

    def add(self, row: int, reason: str, cells: list[str]) -> None:
        self.write([*cells, row, reason])


def write_xlsx(source: Path, target: Path) -> Path:
    """The rejects CSV ``source`` as an XLSX workbook at ``target`` (made
    once; the "Row" column as numbers, every other cell as text, so Excel
    keeps mobiles as they were written)."""
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    import openpyxl

    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")   # two downloads at once
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Rejected rows")
    with open(source, newline="", encoding=ENCODING) as f:
        reader = csv.reader(f)
        header = next(reader, [])
        sheet.append(header)
        row_at = len(header) - len(EXTRA_HEADERS)
        for cells in reader:
            if row_at >= 0 and len(cells) > row_at and cells[row_at].isdigit():
                cells[row_at] = int(cells[row_at])
            sheet.append(cells)
    try:
        workbook.save(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("rejects workbook written: %s", target.name)
    return target
