"""``GET /api/v1/audit``: the audit trail, newest first, a page at a time
(``before=<id>``; the answer's ``next`` goes on), with filters (see
callcenter/audit_trail/query.py for them and for what a manager sees);
``?format=csv`` or ``/api/v1/audit.csv``: the same rows as a CSV download,
itself audited as a bulk view. Admins and managers only."""
from __future__ import annotations

import functools
import logging

from aiohttp import web

from callcenter.audit_trail import export, query
from callcenter.audit_trail.summary import row_view
from callcenter.customers.http import jsonable
from callcenter.customers.privacy import mobile_for
from callcenter.reports.csv_export import BOM, encode
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES

log = logging.getLogger(__name__)
READERS = at_least("manager")


def shown_numbers(request: web.Request):
    """How a number that is the field changed is shown to this reader (the panel's rule)."""
    return functools.partial(mobile_for, request.app[SERVICES].settings, principal_of(request).role)


def filter_of(request: web.Request, **limits) -> query.AuditFilter:
    return query.parse_filter(request.query, request.app[SERVICES].settings.web.timezone, **limits)


async def page_of(request: web.Request, f: query.AuditFilter) -> tuple[list[dict], int | None]:
    """The rows of one page as dicts (``row_view``) and the next page's cursor."""
    scope = await scope_of(request)
    async with request.app[SERVICES].sessions() as session:
        found = await query.page(session, scope, f)
        users = await query.user_ids(session, {r.actor for r in found.rows})
    shown = shown_numbers(request)
    return [row_view(r, users, shown) for r in found.rows], found.next_before


def wants_csv(request: web.Request) -> bool:
    fmt = request.query.get("format", "json").strip().lower()
    if fmt not in ("json", "csv"):
        raise query.InvalidAuditFilter("format must be json or csv", field="format")
    return fmt == "csv"


async def list_audit(request: web.Request) -> web.StreamResponse:
    if wants_csv(request):
        return await export_audit(request)
    f = filter_of(request)
    rows, next_before = await page_of(request, f)
    link = str(request.rel_url.update_query(before=next_before)) if next_before else None
    return web.json_response({"entries": jsonable(rows), "next_before": next_before, "next": link,
                              "limit": f.limit, "filters": jsonable(f.given())})


async def export_audit(request: web.Request) -> web.StreamResponse:
    """The CSV of the filters (no page limit; the cursor, if given, still applies)."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    f, count = await export.snapshot(services.sessions, scope, filter_of(request))
    await export.record_export(services.sessions, principal_of(request).name, request.path, f, count)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="audit.csv"', "X-Content-Type-Options": "nosniff"})
    await response.prepare(request)
    await response.write((BOM + encode([export.HEADER])).encode("utf-8"))
    async for text in export.csv_chunks(services.sessions, scope, f, shown_numbers(request)):
        await response.write(text.encode("utf-8"))
    await response.write_eof()
    log.info("audit export by %s: %d rows", principal_of(request).name, count)
    return response


ROUTES = [
    ("GET", "/api/v1/audit", list_audit, READERS,
     "The audit trail, newest first (?actor, action (a prefix when it ends in '.'), object, object_id, "
     "customer (their rows and their work's), "
     "from, to (YYYY-MM-DD in the site's time zone, or ISO times), before=<id> and limit (max 500) to page; "
     "format=csv for a download). Admins see every row, managers their location's objects"),
    ("GET", "/api/v1/audit.csv", export_audit, READERS,
     "The audit trail's rows of the same filters as CSV (audited as a bulk view)"),
]
