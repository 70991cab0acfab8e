"""``/admin/audit``: the audit trail for admins and managers, with the API's
filters (a plain GET form), newest first, "Older" and "Newest" links (the
``before`` cursor), and a CSV button (``/api/v1/audit.csv`` with the same
filters). The customer 360 and the user page link here pre-filtered
(``?customer=12``, ``?object=user&object_id=3``) for the roles that may read it."""
from __future__ import annotations

import logging

from aiohttp import web

from callcenter.audit_trail import query
from callcenter.audit_trail.http import READERS, filter_of, page_of
from web.render import link, render

log = logging.getLogger(__name__)
PAGE_ROWS = 50
# Where an object's own page is, by its entity type (the row's object links there).
OBJECT_PAGES = {"customer": "/customers/{}", "user": "/admin/users/{}", "complaint": "/complaints/{}",
                "campaign": "/campaigns/{}", "store": "/admin/stores/{}", "team": "/admin/teams/{}",
                "upload": "/uploads/{}", "queue": "/queues/{}"}
OBJECT_TYPES = ("customer", "user", "work_item", "call", "complaint", "appointment", "campaign", "upload",
                "store", "team", "location", "queue", "view", "trunk", "api_token", "dnd", "webhook_endpoint",
                "report_schedule", "hr_source", "complaint_category")


def object_page(kind: str, object_id: str) -> str | None:
    pattern = OBJECT_PAGES.get(kind)
    return pattern.format(object_id) if pattern and object_id.isdigit() else None


async def audit_page(request: web.Request) -> web.Response:
    values = {name: request.query.get(name, "").strip() for name in query.FILTER_NAMES}
    error, rows, next_before = None, [], None
    try:
        rows, next_before = await page_of(request, filter_of(request, max_limit=PAGE_ROWS))
    except query.InvalidAuditFilter as exc:
        error = exc
    given = {k: v for k, v in values.items() if v}
    return render(request, "audit_trail/list.html", {
        "rows": rows, "values": values, "error": error, "object_types": OBJECT_TYPES,
        "object_page": object_page,
        "older": link("/admin/audit", **given, before=next_before) if next_before else None,
        "newest": link("/admin/audit", **given) if request.query.get("before") else None,
        "csv": link("/api/v1/audit.csv", **given),
        "by_actor": lambda actor: link("/admin/audit", actor=actor),
        "history": lambda kind, object_id: link("/admin/audit", object=kind, object_id=object_id),
    }, status=error.status if error else 200)


ROUTES = [
    ("GET", "/admin/audit", audit_page, READERS,
     "The audit trail page: filters, newest first, older pages, CSV export (admins; managers their location's)"),
]
