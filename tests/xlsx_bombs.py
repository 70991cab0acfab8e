"""XLSX files written part by part with zipfile, the way Excel lays them out
(shared strings, ``t="s"`` cells): normal ones, and hostile ones whose
parts unpack to hundreds of megabytes from a few hundred kilobytes. Used by
the upload tests and bench/upload_bombs.py."""
from __future__ import annotations

import io
import zipfile
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE}.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="{OFFICE}.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Target="xl/workbook.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>
<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG_REL}">
<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{REL}/worksheet"/>
<Relationship Id="rId2" Target="sharedStrings.xml" Type="{REL}/sharedStrings"/>
</Relationships>"""
HEADER = ["Mobile No", "Customer Name", "Store Code"]
CHUNK = 1 << 20


def customer_rows(count: int, store: str = "DEL01") -> list[list[str]]:
    return [[f"98765{i:05d}", f"Customer {i}", store] for i in range(count)]


def _column(index: int) -> str:
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer, size = [], 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def workbook(rows: list[list[str]], *, header: list[str] = HEADER, padding_strings: int = 0, distinct_padding: bool = False,
             sheet_tail: Iterable[str] = (), sheet_rows: Iterable[str] | None = None,
             extra_parts: dict[str, bytes] | None = None) -> bytes:
    """An XLSX of ``rows`` (the header first) with every text in the shared
    strings. ``padding_strings`` adds that many unused shared strings (all
    the same: compress ~1000 times; or distinct); ``sheet_tail`` adds raw XML
    after the rows in ``<sheetData>``; ``sheet_rows`` replaces the rows' XML."""
    table: dict[str, int] = {}
    for row in [header] + rows:
        for text in row:
            table.setdefault(text, len(table))

    def strings() -> Iterator[str]:
        total = len(table) + padding_strings
        yield (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<sst xmlns="{MAIN}" count="{total}" uniqueCount="{total}">')
        for text in table:
            yield f"<si><t>{escape(text)}</t></si>"
        for i in range(padding_strings):
            yield f"<si><t>p{i}</t></si>" if distinct_padding else "<si><t>x</t></si>"
        yield "</sst>"

    def sheet() -> Iterator[str]:
        yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}"><sheetData>'
        if sheet_rows is not None:
            yield from sheet_rows
        else:
            for number, row in enumerate([header] + rows, 1):
                cells = "".join(f'<c r="{_column(c)}{number}" t="s"><v>{table[text]}</v></c>'
                                for c, text in enumerate(row, 1))
                yield f'<row r="{number}">{cells}</row>'
        yield from sheet_tail
        yield "</sheetData></worksheet>"

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, content in (("xl/sharedStrings.xml", strings()), ("xl/worksheets/sheet1.xml", sheet())):
            with z.open(name, "w") as part:
                for chunk in _chunked(content):
                    part.write(chunk)
        for name, data in (extra_parts or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def shared_strings_bomb(unpacked_mb: int = 300, rows=None, header=HEADER) -> bytes:
    """Good rows (two customers by default), and shared strings unpacking to
    ``unpacked_mb`` MB of ``<si><t>x</t></si>`` (the issue's file: 300 MB)."""
    return workbook(customer_rows(2) if rows is None else rows, header=header,
                    padding_strings=unpacked_mb * 1_000_000 // 16)


def sheet_bomb(unpacked_mb: int = 200, rows=None, header=HEADER) -> bytes:
    """Good rows, then one cell holding ``unpacked_mb`` MB of text."""
    rows = customer_rows(2) if rows is None else rows
    number = len(rows) + 3
    start = [f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>']
    return workbook(rows, header=header,
                    sheet_tail=start + ["a" * 1_000_000] * unpacked_mb + ["</t></is></c></row>"])
