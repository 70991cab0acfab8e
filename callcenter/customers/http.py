"""Customers JSON API: a customer's 360 (GET /api/v1/customers/{id}) and the
DND list (list, check, add, import, remove)."""
from __future__ import annotations

import datetime as dt
from functools import partial
from urllib.parse import unquote

from aiohttp import web

from callcenter import audit
from callcenter.campaigns.exceptions import CampaignInvalid
from callcenter.campaigns.http import paging
from callcenter.customers import dnd, dnd_import, erasure
from callcenter.customers.exceptions import CustomerNotFound, DndInvalid, ErasureInvalid
from callcenter.customers.profile import History, profile
from callcenter.spreadsheets.http import receive_file, upload_json
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import json_object, path_int


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


async def get_customer(request: web.Request, *, history: History) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    scope = await scope_of(request)
    async with services.sessions() as session, session.begin():
        view = await profile(session, scope, services.settings, principal.role, customer_id_of(request),
                             history=history, actor=principal.name)
    return web.json_response(jsonable(view))


async def erase_customer(request: web.Request, *, parts) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request, ErasureInvalid)
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        raise ErasureInvalid(f"unknown field {unknown[0]!r}: send {{\"reason\": \"...\"}}", field=unknown[0])
    erased = await erasure.erase_now(services.sessions, services.settings, customer_id_of(request),
                                     actor=principal_of(request).name, reason=body.get("reason"), parts=parts)
    return web.json_response(erasure.erased_json(erased))


async def list_dnd(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit, offset = paging(request)
    async with services.sessions() as session:
        rows, total = await dnd.list_numbers(session, search=request.query.get("q") or None,
                                             limit=limit, offset=offset)
    await viewed(request, audit.CUSTOMERS_VIEWED, rows=len(rows), list="dnd", q=request.query.get("q"),
                 offset=offset)
    return web.json_response({"total": total, "limit": limit, "offset": offset,
                              "numbers": [dnd.dnd_json(r) for r in rows]})


async def check_dnd(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    number = unquote(request.match_info["number"])
    async with services.sessions() as session:
        listed = await dnd.is_dnd(session, number, services.settings.calls.default_region)
    return web.json_response({"number": number, "dnd": listed})


async def add_dnd(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request, CampaignInvalid)
    if set(body) != {"number"} or not isinstance(body["number"], str):
        raise DndInvalid("send {\"number\": \"...\"}", field="number")
    async with services.sessions() as session:
        number, added = await dnd.add_number(session, body["number"], actor=principal_of(request).name,
                                             region=services.settings.calls.default_region)
        await session.commit()
    return web.json_response({"number": number, "added": added}, status=201 if added else 200)


async def remove_dnd(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.sessions() as session:
        number = await dnd.remove_number(session, unquote(request.match_info["number"]),
                                         actor=principal_of(request).name,
                                         region=services.settings.calls.default_region)
        await session.commit()
    return web.json_response({"number": number, "removed": True})


async def receive_dnd_file(request: web.Request):
    services = request.app[SERVICES]
    scope = await scope_of(request)
    dnd_import.may_import(scope)
    saved = await receive_file(request)
    async with services.sessions() as session:
        upload = await dnd_import.validate_dnd_upload(session, scope, saved,
                                                      actor=principal_of(request).name,
                                                      settings=services.settings)
        await session.commit()
    return upload


async def upload_dnd(request: web.Request) -> web.Response:
    upload = await receive_dnd_file(request)
    return web.json_response(upload_json(upload), status=201)


ROUTES = [
    ("GET", "/api/v1/dnd", list_dnd, at_least("manager"), "The DND list (q= digits, limit=, offset=)"),
    ("POST", "/api/v1/dnd", add_dnd, at_least("manager"), "Add one number to the DND list"),
    ("POST", "/api/v1/dnd/uploads", upload_dnd, at_least("manager"),
     "Import DND numbers (CSV or XLSX, multipart field 'file'): the validation report; "
     "commit with POST /api/v1/uploads/{id}/commit"),
    ("GET", "/api/v1/dnd/{number}", check_dnd, at_least("manager"), "Is a number on the DND list?"),
    ("DELETE", "/api/v1/dnd/{number}", remove_dnd, at_least("admin"),
     "Take a number off the DND list (admins)"),
]


def routes(*, history: History) -> list:
    """The customer 360: ``history`` is the customer's work and calls
    (callcenter/dispositions/history.py); declared by the dispositions feature
    (callcenter/dispositions/feature.py), as customers may not import it."""
    return [
        ("GET", "/api/v1/customers/{id}", partial(get_customer, history=history), at_least("agent"),
         "A customer's 360: profile (mobile masked per role), store, upload data, work items, calls with "
         "dispositions and recordings, appointments, survey answers (audited as a view)"),
    ]


def erase_routes(*, parts) -> list:
    """Erasing a customer: ``parts`` are the features' ``ErasesHistory``
    (callcenter/customers/erasure.py), handed in by callcenter/dispositions/feature.py."""
    return [
        ("POST", "/api/v1/customers/{id}/erase", partial(erase_customer, parts=parts), at_least("admin"),
         "Erase a customer's personal data (admins; {\"reason\": ...}): tombstone, calls masked, recordings "
         "deleted, work closed, number on the DND list; 409 when erased already"),
    ]
