"""What the JSON and HTML handlers share when reading a request: the JSON
body, whole numbers from the path, the query string and forms (strict for
the API, forgiving for pages), today's date where the users are, and a CSV
file sent as a download.

Each feature passes its own DomainError class (or not-found error), so its
error ids, messages and statuses stay its own."""
from __future__ import annotations

import datetime as dt
import json
import zoneinfo

from aiohttp import web

BODY_NOT_OBJECT = "the body must be a JSON object"
MAX_ID_DIGITS = 12


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
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise not_found if not_found is not None else web.HTTPNotFound()
    return int(raw)


def whole_number(value, max_digits: int = 11) -> int | None:
    """A form field or query value as a whole number, or None when it is blank,
    not ASCII digits, or longer than ``max_digits`` (pages ignore such input)."""
    raw = str(value or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= max_digits else None


def page_number(request: web.Request) -> int:
    """The list page asked for in ``?page=`` (1 when absent or not a number)."""
    return max(1, whole_number(request.query.get("page"), max_digits=6) or 1)


def query_int(request: web.Request, name: str, default: int | None = None, *, error,
              low: int | None = None, high: int | None = None) -> int | None:
    """The whole number in query parameter ``name`` (``default`` when absent or
    blank); ``error(..., field=name)`` when it is not one or is outside low..high."""
    raw = request.query.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error(f"{name} must be a whole number", field=name) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise error(f"{name} must be between {low} and {high}", field=name)
    return value


def local_today(settings) -> dt.date:
    """Today's date in the configured time zone (``settings.web.timezone``)."""
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.web.timezone)).date()


def csv_file(path, filename: str) -> web.FileResponse:
    """A CSV file on disk as a download named ``filename``; 404 when it is not there."""
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"'})
