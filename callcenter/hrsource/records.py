"""The HR system's employee records as a head-count file: each record's
fields picked by the admin's mapping (dotted paths such as ``store.code``),
the status turned into active / left by the status filter, written as the
CSV the head-count import reads (callcenter/spreadsheets/layouts.py)."""
from __future__ import annotations

import csv
import io

from callcenter.hrsource.client import at_path
from callcenter.hrsource.exceptions import InvalidSource, SourceFailed

FIELDS = ("employee_id", "name", "store_code", "status", "languages", "mobile")
REQUIRED = ("employee_id", "name", "store_code")   # status may be left out: everyone listed is active
LABELS = {"employee_id": "employee id", "name": "name", "store_code": "store code",
          "status": "status", "languages": "languages", "mobile": "mobile"}


def check_mapping(mapping: dict) -> dict:
    """The mapping cleaned (head-count field -> source field path); InvalidSource otherwise."""
    if not isinstance(mapping, dict):
        raise InvalidSource("the field mapping must be an object {field: source field}", field="mapping")
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise InvalidSource(f"the field mapping names unknown fields: {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(FIELDS)})", field="mapping")
    clean = {}
    for name, path in mapping.items():
        if path is None or path == "":
            continue
        if not isinstance(path, str) or len(path) > 120 or any(c in path for c in "\r\n"):
            raise InvalidSource(f"the source field for {LABELS[name]} must be a short text", field="mapping")
        clean[name] = path.strip()
    missing = [LABELS[f] for f in REQUIRED if not clean.get(f)]
    if missing:
        raise InvalidSource(f"map the source field of: {', '.join(missing)}", field="mapping")
    return clean


def parse_statuses(text: str) -> set[str]:
    """'Active, On Notice' -> {'active', 'on notice'}."""
    return {" ".join(part.split()).casefold() for part in (text or "").split(",") if part.strip()}


def _text(value) -> str:
    if value is None or isinstance(value, (dict, bool)):
        return ""
    if isinstance(value, list):
        return ",".join(_text(v) for v in value if _text(v))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _cell(record: dict, path: str | None) -> str:
    if not path:
        return ""
    try:
        return _text(at_path(record, path))
    except KeyError:
        return ""


def to_rows(records: list, mapping: dict, active_statuses: str) -> list[list[str]]:
    """One row of FIELDS per record. With a status filter, a status in it is
    'active' and any other 'left'; without one the source's status is kept
    (the import knows active, left, resigned...); with no status mapped,
    everyone listed is active."""
    active = parse_statuses(active_statuses)
    rows = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise SourceFailed(f"employee {number} of the list is not an object")
        row = [_cell(record, mapping.get(name)) for name in FIELDS]
        status = row[3]
        if not mapping.get("status"):
            row[3] = "active"
        elif active and status:
            row[3] = "active" if " ".join(status.split()).casefold() in active else "left"
        rows.append(row)
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
