"""JSON API of the HR source (admins): read and change its settings (secrets
only ever reported as set or not), fetch now (the head-count report of the
fetched list comes back; commit it with POST /api/v1/headcount/{id}/commit),
and the fetches so far."""
from __future__ import annotations

from aiohttp import web

from callcenter.clock import utc_iso
from callcenter.hrsource import source as hr
from callcenter.hrsource.exceptions import FetchNotFound
from callcenter.hrsource.fetch import Fetcher, get_fetch, list_fetches
from callcenter.hrsource.models import HrFetch
from callcenter.headcount.http import upload_json
from callcenter.org.http import actor_of, int_param, json_body
from callcenter.spreadsheets.models import Upload
from web.keys import SERVICES
from web.requests import path_int

ADMIN = ("admin",)


def fetch_json(fetch: HrFetch, upload: Upload | None) -> dict:
    return {"id": fetch.id, "trigger": fetch.trigger, "requested_by": fetch.requested_by,
            "status": fetch.status, "started_at": utc_iso(fetch.started_at),
            "finished_at": utc_iso(fetch.finished_at), "employees": fetch.employees, "pages": fetch.pages,
            "error": fetch.error or None, "detail": fetch.detail or {}, "upload_id": fetch.upload_id,
            "upload_status": upload.status if upload is not None else None,
            "upload_url": f"/api/v1/headcount/{fetch.upload_id}" if fetch.upload_id else None}


async def get_source(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        return web.json_response(hr.source_json(await hr.get_source(session)))


async def put_source(request: web.Request) -> web.Response:
    body = await json_body(request)
    services = request.app[SERVICES]
    async with services.sessions() as session:
        source = await hr.update_source(session, services.settings, body, actor=actor_of(request))
        await session.commit()
        return web.json_response(hr.source_json(source))


async def fetch_now(request: web.Request) -> web.Response:
    """Pull now and validate: 201 with the fetch and its head-count report;
    a failing HR system answers 502 (or 503 with Retry-After when it is down
    or slow) with the fetch's id, the failure kept on the fetches' list."""
    services = request.app[SERVICES]
    fetcher = Fetcher(services.sessions, services.settings)
    fetch = await fetcher.fetch(trigger="manual", actor=actor_of(request))
    async with services.sessions() as session:
        fetch, upload = await get_fetch(session, fetch.id)
    return web.json_response({"fetch": fetch_json(fetch, upload), "headcount": upload_json(upload)}, status=201)


async def fetches(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 50, minimum=1, maximum=200)
    async with request.app[SERVICES].sessions() as session:
        rows = await list_fetches(session, limit)
    return web.json_response({"fetches": [fetch_json(f, u) for f, u in rows]})


async def one_fetch(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        row = await get_fetch(session, path_int(request))
    if row is None:
        raise FetchNotFound("no such HR fetch")
    return web.json_response(fetch_json(*row))


ROUTES = [
    ("GET", "/api/v1/hrsource", get_source, ADMIN, "The HR source's settings (secrets: set or not)"),
    ("PUT", "/api/v1/hrsource", put_source, ADMIN,
     "Change the HR source's settings (a blank secret keeps the stored one, null removes it)"),
    ("POST", "/api/v1/hrsource/fetch", fetch_now, ADMIN,
     "Fetch the head count from the HR system now: its validation report (commit it by hand)"),
    ("GET", "/api/v1/hrsource/fetches", fetches, ADMIN, "The HR source's fetches, newest first"),
    ("GET", "/api/v1/hrsource/fetches/{id}", one_fetch, ADMIN, "One fetch of the HR source"),
]
