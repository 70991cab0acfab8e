"""What the JSON and HTML handlers share when reading a request: the JSON
body, whole numbers from the path, the query string and forms (strict for
the API, forgiving for pages), dates from the query string, today's date
where the users are, and a CSV file sent as a download.

A number from a path, query or form is ASCII digits only (no sign, no
``_``, no ``²`` or other scripts' digits, which ``str.isdigit`` and ``int``
accept) and at most ``MAX_ID_DIGITS`` long, so it always fits the database.

Each feature passes its own DomainError class (or not-found error), so its
error ids, messages and statuses stay its own."""
from __future__ import annotations

import datetime as dt
import json

from aiohttp import web

# what a typed value means is the domain's (callcenter/typed_input.py); re-exported for the handlers
from callcenter.typed_input import (FIRST_DAY, LAST_DAY, MAX_WHOLE, ascii_whole, iso_date,  # noqa: F401
                                    local_today, whole_number)

BODY_NOT_OBJECT = "the body must be a JSON object"


def _error(error, message: str, field: str | None):
    return error(message, field=field) if field is not None else error(message)


async def json_object(request: web.Request, error, *, field: str | None = "body",
                      empty_ok: bool = False) -> dict:
    """The request's JSON object, or ``error("the body must be a JSON object",
    field=field)`` (no ``field`` detail when ``field`` is None). With
    ``empty_ok`` a request without a body is ``{}``."""
    if empty_ok and not request.can_read_body:
        return {}
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _error(error, BODY_NOT_OBJECT, field) from None
    if not isinstance(body, dict):
        raise _error(error, BODY_NOT_OBJECT, field)
    return body


def path_int(request: web.Request, name: str = "id", not_found: Exception | None = None) -> int:
    """The whole number in the path segment ``name`` (ASCII digits, at most 12);
    anything else raises ``not_found`` (a plain 404 when None)."""
    raw = request.match_info[name]
    value = ascii_whole(raw) if raw == raw.strip() else None
    if value is None:
        raise not_found if not_found is not None else web.HTTPNotFound()
    return value


def page_number(request: web.Request) -> int:
    """The list page asked for in ``?page=`` (1 when absent or not a number)."""
    return max(1, whole_number(request.query.get("page"), max_digits=6) or 1)


def query_int(request: web.Request, name: str, default: int | None = None, *, error,
              low: int | None = None, high: int | None = None, field: str = "field") -> int | None:
    """The whole number in query parameter ``name`` (``default`` when absent or
    blank): ASCII digits, a leading ``-`` at most, within low..high (0 and
    ``MAX_WHOLE`` unless narrower); else ``error(..., <field>=name)``
    (``field`` is ``parameter`` for the reports)."""
    raw = request.query.get(name, "").strip()
    if raw == "":
        return default
    low = 0 if low is None else low
    high = MAX_WHOLE if high is None else min(high, MAX_WHOLE)
    value = ascii_whole(raw[1:]) if raw.startswith("-") else ascii_whole(raw)
    if value is None:
        raise error(f"{name} must be a whole number", **{field: name})
    value = -value if raw.startswith("-") else value
    if not low <= value <= high:
        raise error(f"{name} must be between {low} and {high}", **{field: name})
    return value


def query_date(request: web.Request, name: str, default: dt.date | None = None, *, error,
               field: str = "field") -> dt.date | None:
    """The date in query parameter ``name`` (``default`` when absent or blank);
    ``error("<name> must be a date YYYY-MM-DD ...", field=name)`` otherwise."""
    raw = request.query.get(name, "").strip()
    if raw == "":
        return default
    day = iso_date(raw)
    if day is None:
        raise error(f"{name} must be a date YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}", **{field: name})
    return day


def csv_file(path, filename: str) -> web.FileResponse:
    """A CSV file on disk as a download named ``filename``; 404 when it is not there."""
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"'})
