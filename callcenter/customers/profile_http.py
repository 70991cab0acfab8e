"""JSON API of the customer 360 (GET /api/v1/customers/{id})."""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from callcenter.customers.profile import CustomerNotFound, profile
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import path_int


def customer_id_of(request: web.Request) -> int:
    return path_int(request, "id", CustomerNotFound("no such customer"))


def jsonable(value):
    """Dates and times as ISO 8601 (times in UTC with their offset)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


async def get_customer(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    scope = await scope_of(request)
    async with services.sessions() as session, session.begin():
        view = await profile(session, scope, services.settings, principal.role, customer_id_of(request),
                             actor=principal.name)
    return web.json_response(jsonable(view))


ROUTES = [
    ("GET", "/api/v1/customers/{id}", get_customer, at_least("agent"),
     "A customer's 360: profile (mobile masked per role), store, upload data, work items, calls with "
     "dispositions and recordings, appointments, survey answers (audited as a view)"),
]
