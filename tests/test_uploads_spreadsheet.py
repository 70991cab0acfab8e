"""Reading uploaded spreadsheets: CSV in the encodings and delimiters people
export, XLSX streamed, header aliases, blank rows, and files that are not
spreadsheets at all; and the cells: mixed dates and mobile numbers."""
import datetime as dt
import os
import struct
import zlib

import openpyxl
import pytest

from callcenter.spreadsheets import store
from callcenter.spreadsheets.cells import CellError, parse_date, parse_mobile
from callcenter.spreadsheets.exceptions import (
    DuplicateColumns, EmptySpreadsheet, MissingColumns, NotASpreadsheet, TooLarge)
from callcenter.spreadsheets.spreadsheet import open_spreadsheet, read_rows


def rows_of(path, kind="customers", **kw):
    with open_spreadsheet(path, kind, **kw) as sheet:
        return sheet, list(sheet)


def png_bytes() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_in_every_common_encoding_and_delimiter(tmp_path, encoding, delimiter):
    lines = [["Mobile No", "Customer Name", "DOB", "Loyalty Tier"],
             ["+91 98765 43210", "Zoë D’Souza", "05/03/1990", "Gold"],
             ["", "", "", ""],
             ["098765-43211", "Ravi, Jr", "5 Mar 1990", ""]]
    text = "\r\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in line)
                       for line in lines)
    path = tmp_path / "c.csv"
    path.write_bytes(text.encode(encoding))
    sheet, rows = rows_of(path)
    assert sheet.columns == ["mobile", "name", "birthday", "loyalty_tier"]
    assert rows == [
        (2, {"mobile": "+91 98765 43210", "name": "Zoë D’Souza", "birthday": "05/03/1990",
             "loyalty_tier": "Gold"}),
        (4, {"mobile": "098765-43211", "name": "Ravi, Jr", "birthday": "5 Mar 1990",
             "loyalty_tier": ""})]


def test_blank_lines_before_the_header_and_between_rows_count_in_row_numbers(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("\n,,\nphone,name\n\n9876543210,A\n,\n\n9876543211,B\n")
    sheet, rows = rows_of(path)
    assert sheet.header_row == 3
    assert [n for n, _ in rows] == [5, 8]


def test_xlsx_written_with_write_only_streams_typed_cells_as_text(tmp_path):
    path = tmp_path / "c.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("customers")
    ws.append(["Mobile Number", "Name", "Birth Date", "Anniversary", "Points", "Last Visit"])
    ws.append([9876543210, "Asha", dt.datetime(1990, 3, 5), "12-11-2015", 1250.0, 45000.5])
    ws.append([])
    ws.append(["+91 98765 43211", "Ravi", None, None, None, None])
    wb.save(path)
    sheet, rows = rows_of(path)
    assert sheet.format == "xlsx"
    assert rows == [
        (2, {"mobile": "9876543210", "name": "Asha", "birthday": "1990-03-05",
             "anniversary": "12-11-2015", "points": "1250", "last_visit": "45000.5"}),
        (4, {"mobile": "+91 98765 43211", "name": "Ravi", "birthday": "", "anniversary": "",
             "points": "", "last_visit": ""})]


def test_missing_required_column_is_named(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Customer Name,DOB\nAsha,05/03/1990\n")
    with pytest.raises(MissingColumns) as err:
        open_spreadsheet(path, "customers")
    assert err.value.error_id == "missing_columns"
    assert err.value.details["missing"] == ["mobile"]
    assert "missing column: mobile" in err.value.message


def test_two_columns_meaning_the_same_thing_are_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Mobile,Phone,Name\n1,2,3\n")
    with pytest.raises(DuplicateColumns):
        open_spreadsheet(path, "customers")


def test_read_rows_generator_and_dnd_kind(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Mobile No.\n9876543210\n\n98765 43211\n")
    assert list(read_rows(path, "dnd")) == [(2, {"mobile": "9876543210"}),
                                            (4, {"mobile": "98765 43211"})]


@pytest.mark.parametrize("name,data,message", [
    ("photo.csv", png_bytes(), "neither CSV text nor an Excel"),
    ("random.csv", os.urandom(4096), "neither CSV text nor an Excel"),
    ("text.xlsx", b"mobile,name\n9876543210,A\n", "named like an Excel workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old Excel .xls"),
    ("archive.xlsx", None, "zip archive but not an Excel"),
])
def test_files_that_are_not_spreadsheets(tmp_path, name, data, message):
    path = tmp_path / name
    if data is None:
        import zipfile
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hello")
    else:
        path.write_bytes(data)
    with pytest.raises(NotASpreadsheet) as err:
        open_spreadsheet(path, "customers")
    assert err.value.error_id == "not_a_spreadsheet"
    assert message in err.value.message


def test_empty_file_and_too_large_file(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptySpreadsheet):
        open_spreadsheet(empty, "customers")
    big = tmp_path / "b.csv"
    big.write_text("mobile,name\n" + "9876543210,A\n" * 1000)
    with pytest.raises(TooLarge) as err:
        open_spreadsheet(big, "customers", max_bytes=1000)
    assert err.value.error_id == "too_large"


@pytest.mark.parametrize("text,expected", [
    ("05/03/1990", dt.date(1990, 3, 5)), ("5-3-90", dt.date(1990, 3, 5)),
    ("1990-03-05", dt.date(1990, 3, 5)), ("05.03.1990", dt.date(1990, 3, 5)),
    ("5 Mar 1990", dt.date(1990, 3, 5)), ("March 5 1990", dt.date(1990, 3, 5)),
    ("Mar 5, 1990", dt.date(1990, 3, 5)), ("5th March, 1990", dt.date(1990, 3, 5)),
    ("05-Mar-90", dt.date(1990, 3, 5)), ("32937", dt.date(1990, 3, 5)),
    ("1990-03-05 00:00:00", dt.date(1990, 3, 5)), ("19900305", dt.date(1990, 3, 5)),
    ("12/11/2015", dt.date(2015, 11, 12)),   # ambiguous: day first
    ("03/25/1990", dt.date(1990, 3, 25)),    # only month-first can be right
    ("1-1-05", dt.date(2005, 1, 1)), ("", None), ("  ", None),
    (dt.datetime(1990, 3, 5, 0, 0), dt.date(1990, 3, 5)),
])
def test_parse_date(text, expected):
    assert parse_date(text, today=dt.date(2025, 1, 1)) == expected


@pytest.mark.parametrize("text,reason", [
    ("31/02/1990", "not a date that exists"), ("05-Mar", "has no year"),
    ("soon", "cannot read 'soon' as a date"), ("1/1/1850", "outside 1900-2100"),
    ("13/13/1990", "not a date that exists"), ("5 Foo 1990", "not a month"),
])
def test_parse_date_refuses_with_a_reason(text, reason):
    with pytest.raises(CellError, match=reason):
        parse_date(text)


@pytest.mark.parametrize("text", ["+91 98765 43210", "098765 43210", "919876543210",
                                  "98765-43210", "0091 98765 43210", "9876543210.0",
                                  "(+91) 98765-43210", 9876543210.0])
def test_parse_mobile_normalises_local_habits(text):
    assert parse_mobile(text) == "+919876543210"


@pytest.mark.parametrize("text,reason", [
    ("98765abc10", "holds letters"), ("9.87654E+09", "rounded number by Excel"),
    ("011 2345 6789", "landline"), ("12345", "not a valid phone number"),
    ("1800 123 4567", "not a mobile number"), ("98765;43210", "may hold only digits"),
])
def test_parse_mobile_refuses_with_a_reason(text, reason):
    with pytest.raises(CellError, match=reason):
        parse_mobile(text)


class FakePart:
    def __init__(self, data: bytes, filename: str) -> None:
        self.filename, self._data = filename, data

    async def read_chunk(self, size):
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


async def test_store_saves_under_a_server_name_and_stops_at_the_limit(tmp_path):
    saved = await store.save_part(FakePart(b"mobile\n1\n", "../../etc/My File.csv"), tmp_path, 100)
    assert saved.original_name == "My File.csv"
    assert saved.path.parent == tmp_path and saved.stored_name.endswith(".csv")
    assert saved.path.read_bytes() == b"mobile\n1\n" and saved.size == 9
    assert store.file_sha256(saved.path) == saved.sha256
    with pytest.raises(TooLarge):
        await store.save_part(FakePart(b"x" * (store.CHUNK * 3), "big.csv"), tmp_path, store.CHUNK)
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.stored_name]


def test_report_written_and_read_back(tmp_path):
    path = store.report_path(tmp_path, "0" * 32 + ".csv")
    store.write_report(path, [(2, "valid", "", "+919876543210"), (3, "invalid", "bad, date")])
    assert [(r["row"], r["status"], r["reason"]) for r in store.read_report(path)] == [
        (2, "valid", ""), (3, "invalid", "bad, date")]
    with pytest.raises(Exception):
        store.stored_path(tmp_path, "../x.csv")


def test_xlsx_rows_missing_from_the_sheet_keep_their_numbers(tmp_path):
    # Excel leaves empty rows out of the file; row heights on every row
    path = tmp_path / "gaps.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = "Mobile", "Name", "Anniversary"
    ws["A2"], ws["B2"] = "9876543210", "Asha"
    ws["A6"], ws["C6"] = 9876543211, dt.date(2015, 11, 12)
    ws["C6"].number_format = "DD/MM/YYYY"
    for row in range(1, 7):
        ws.row_dimensions[row].height = 18
    ws2 = wb.create_sheet("second")
    ws2["A1"] = "ignored"
    wb.save(path)
    sheet, rows = rows_of(path)
    assert rows == [(2, {"mobile": "9876543210", "name": "Asha", "anniversary": ""}),
                    (6, {"mobile": "9876543211", "name": "", "anniversary": "2015-11-12"})]


def test_xlsx_laid_out_like_excel_reads_its_shared_strings(tmp_path):
    # Excel and LibreOffice keep every text in xl/sharedStrings.xml (openpyxl writes inline strings)
    from tests.xlsx_bombs import workbook
    path = tmp_path / "excel.xlsx"
    path.write_bytes(workbook([["+91 98765 43210", "Asha Rao", "DEL01"], ["9876543211", "Ravi", "DEL01"]]))
    sheet, rows = rows_of(path)
    assert sheet.columns == ["mobile", "name", "store_code"]
    assert rows == [(2, {"mobile": "+91 98765 43210", "name": "Asha Rao", "store_code": "DEL01"}),
                    (3, {"mobile": "9876543211", "name": "Ravi", "store_code": "DEL01"})]
