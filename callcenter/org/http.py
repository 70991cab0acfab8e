"""JSON API of the organisation: locations, stores (with the store-list
import), teams; and what the JSON handlers of the organisation's features
(users, the head count) share: the body, query parameters, the caller's
scope and audit name, the uploaded file, the JSON views of the rows."""
from __future__ import annotations

import contextlib

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.org import service, store_import
from callcenter.org.models import Location, Store, Team
from callcenter.org.scope import load_scope
from callcenter.spreadsheets import store as files
from web import csrf
from web.auth import at_least, principal_of
from web.keys import SERVICES
from web.requests import json_object, path_int, query_int

MAX_PAGE = 500


class InvalidRequest(DomainError):
    error_id = "invalid_request"
    status = 422


async def json_body(request: web.Request, allowed: set[str] | None = None) -> dict:
    """The JSON object of the request; unknown fields are refused when ``allowed`` is given."""
    body = await json_object(request, InvalidRequest, field=None)
    if allowed is not None and (unknown := set(body) - allowed):
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    return body


def int_param(request: web.Request, name: str, default: int | None = None, *,
              minimum: int = 0, maximum: int | None = None) -> int | None:
    return query_int(request, name, default, error=InvalidRequest, low=minimum, high=maximum)


def bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name, "").lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise InvalidRequest(f"query parameter {name} must be true or false")


def paging(request: web.Request, default: int = 50) -> tuple[int, int]:
    return (int_param(request, "limit", default, minimum=1, maximum=MAX_PAGE),
            int_param(request, "offset", 0))


def actor_of(request: web.Request) -> str:
    return principal_of(request).name


@contextlib.asynccontextmanager
async def scoped(request: web.Request, *, write: bool = False):
    """(session, scope) for the caller; with ``write`` the session is in a
    transaction committed when the block ends without an error."""
    services = request.app[SERVICES]
    async with services.sessions() as session:
        scope = await load_scope(session, principal_of(request))
        yield session, scope
        if write:
            await session.commit()


def location_json(row: Location) -> dict:
    return {"id": row.id, "code": row.code, "name": row.name}


def store_json(row: Store) -> dict:
    return {"id": row.id, "code": row.code, "name": row.name, "city": row.city,
            "region": row.region, "language": row.language, "location_id": row.location_id,
            "active": row.active}


def team_json(row: Team, members: int | None = None) -> dict:
    out = {"id": row.id, "name": row.name, "location_id": row.location_id}
    if members is not None:
        out["members"] = members
    return out


class _RawBody:
    """The request body as a file part for ``files.save_part``."""

    def __init__(self, request: web.Request, filename: str) -> None:
        self.filename, self._content = filename, request.content

    async def read_chunk(self, size: int) -> bytes:
        return await self._content.read(size)


async def receive_file(request: web.Request, reader=None) -> files.SavedFile:
    """Save the uploaded file (the ``file`` part of a multipart form, or the raw
    body with ``?name=``): a store list or a head count (whose words the
    errors have kept)."""
    settings = request.app[SERVICES].settings
    limit = files.max_bytes(settings)
    if reader is None and request.content_type != "multipart/form-data":
        if not request.can_read_body:
            raise InvalidRequest("send the head count as the multipart field 'file' or as the body")
        return await files.save_part(_RawBody(request, request.query.get("name") or "headcount.csv"),
                                     settings.uploads_dir, limit)
    reader = reader or await csrf.multipart(request)  # a page's form: after its _csrf field
    while (part := await reader.next()) is not None:
        if part.name == "file" and part.filename:
            return await files.save_part(part, settings.uploads_dir, limit)
        await part.release()
    raise InvalidRequest("no file: send it in the multipart field 'file'")


STORE_FIELDS = {"code", "name", "city", "region", "language", "location", "location_id", "active"}


# ---------------------------------------------------------------- locations

async def list_locations(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        rows = await service.list_locations(session, scope)
    return web.json_response({"locations": [location_json(r) for r in rows]})


async def create_location(request: web.Request) -> web.Response:
    body = await json_body(request, {"code", "name"})
    async with scoped(request, write=True) as (session, scope):
        row = await service.create_location(session, scope, body.get("code"), body.get("name"),
                                            actor=actor_of(request))
        out = location_json(row)
    return web.json_response(out, status=201)


async def get_location(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        row = await service.get_location(session, scope, path_int(request))
        return web.json_response(location_json(row))


async def update_location(request: web.Request) -> web.Response:
    body = await json_body(request, {"name"})
    async with scoped(request, write=True) as (session, scope):
        row = await service.update_location(session, scope, path_int(request), name=body.get("name"),
                                            actor=actor_of(request))
        out = location_json(row)
    return web.json_response(out)


# ---------------------------------------------------------------- stores

async def list_stores(request: web.Request) -> web.Response:
    limit, offset = paging(request, 500)
    async with scoped(request) as (session, scope):
        rows, total = await service.list_stores(
            session, scope, location_id=int_param(request, "location_id"),
            q=request.query.get("q") or None, active=bool_param(request, "active"),
            limit=limit, offset=offset)
    return web.json_response({"stores": [store_json(r) for r in rows], "total": total,
                              "limit": limit, "offset": offset})


async def create_store(request: web.Request) -> web.Response:
    body = await json_body(request, STORE_FIELDS)
    async with scoped(request, write=True) as (session, scope):
        row = await service.create_store(session, scope, body, actor=actor_of(request))
        out = store_json(row)
    return web.json_response(out, status=201)


async def get_store(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        row = await service.get_store(session, scope, path_int(request))
        return web.json_response(store_json(row))


async def update_store(request: web.Request) -> web.Response:
    body = await json_body(request, STORE_FIELDS)
    async with scoped(request, write=True) as (session, scope):
        row = await service.update_store(session, scope, path_int(request), body, actor=actor_of(request))
        out = store_json(row)
    return web.json_response(out)


async def import_stores(request: web.Request) -> web.Response:
    """JSON ``{"stores": [{code, name, city, region, language, location}...],
    "dry_run": false}`` (rows counted from 1), or a CSV/XLSX file (multipart
    field ``file`` or the raw body; ``?dry_run=true``; rows numbered as in the
    file): every row checked, then all written or none (422 ``import_rejected``
    with the rows)."""
    if request.content_type != "application/json":
        return await _import_store_file(request)
    body = await json_body(request, {"stores", "dry_run"})
    stores, dry_run = body.get("stores"), body.get("dry_run", False)
    if not isinstance(stores, list) or not all(isinstance(s, dict) for s in stores):
        raise InvalidRequest("'stores' must be a list of objects")
    if not isinstance(dry_run, bool):
        raise InvalidRequest("'dry_run' must be true or false")
    if len(stores) > 10_000:
        raise InvalidRequest("at most 10000 stores at once")
    rows = [(n, {k: (v if v is None or isinstance(v, (str, bool)) else str(v)) for k, v in s.items()})
            for n, s in enumerate(stores, start=1)]
    async with scoped(request, write=True) as (session, scope):
        result = await store_import.import_stores(session, scope, rows, actor=actor_of(request),
                                                  dry_run=dry_run)
    return web.json_response(result.as_dict(), status=200 if dry_run else 201)


async def _import_store_file(request: web.Request) -> web.Response:
    dry_run = bool_param(request, "dry_run") or False
    saved = await receive_file(request)
    try:
        rows = store_import.read_store_file(saved.path, name=saved.original_name)
        async with scoped(request, write=True) as (session, scope):
            result = await store_import.import_stores(session, scope, rows, actor=actor_of(request),
                                                      dry_run=dry_run)
    finally:
        files.delete(request.app[SERVICES].settings.uploads_dir, saved.stored_name)
    return web.json_response(result.as_dict(), status=200 if dry_run else 201)


# ---------------------------------------------------------------- teams

async def list_teams(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        rows = await service.list_teams(session, scope, location_id=int_param(request, "location_id"))
        sizes = await service.team_sizes(session, [r.id for r in rows])
    return web.json_response({"teams": [team_json(r, sizes.get(r.id, 0)) for r in rows]})


def _location_ref(body: dict):
    return body.get("location", body.get("location_id"))


async def create_team(request: web.Request) -> web.Response:
    body = await json_body(request, {"name", "location", "location_id"})
    async with scoped(request, write=True) as (session, scope):
        row = await service.create_team(session, scope, body.get("name"), _location_ref(body),
                                        actor=actor_of(request))
        out = team_json(row, 0)
    return web.json_response(out, status=201)


async def get_team(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        row = await service.get_team(session, scope, path_int(request))
        sizes = await service.team_sizes(session, [row.id])
        return web.json_response(team_json(row, sizes.get(row.id, 0)))


async def update_team(request: web.Request) -> web.Response:
    body = await json_body(request, {"name", "location", "location_id"})
    async with scoped(request, write=True) as (session, scope):
        row = await service.update_team(session, scope, path_int(request), name=body.get("name"),
                                        location_ref=_location_ref(body), actor=actor_of(request))
        out = team_json(row)
    return web.json_response(out)


ROUTES = [
    ("GET", "/api/v1/locations", list_locations, at_least("teamlead"), "Locations in your scope"),
    ("POST", "/api/v1/locations", create_location, ("admin",), "Create a location"),
    ("GET", "/api/v1/locations/{id}", get_location, at_least("teamlead"), "A location"),
    ("PATCH", "/api/v1/locations/{id}", update_location, ("admin",), "Rename a location"),
    ("GET", "/api/v1/stores", list_stores, at_least("teamlead"),
     "Stores in your scope (filters location_id, q, active; limit, offset)"),
    ("POST", "/api/v1/stores", create_store, ("admin",), "Create a store"),
    ("POST", "/api/v1/stores/import", import_stores, ("admin",),
     "Create or update many stores (JSON or a CSV/XLSX file), all or nothing (dry_run: check only)"),
    ("GET", "/api/v1/stores/{id}", get_store, at_least("teamlead"), "A store"),
    ("PATCH", "/api/v1/stores/{id}", update_store, ("admin",),
     "Change a store (a new location moves its executives too)"),
    ("GET", "/api/v1/teams", list_teams, at_least("teamlead"), "Teams in your scope"),
    ("POST", "/api/v1/teams", create_team, at_least("manager"), "Create a team in your location"),
    ("GET", "/api/v1/teams/{id}", get_team, at_least("teamlead"), "A team"),
    ("PATCH", "/api/v1/teams/{id}", update_team, at_least("manager"), "Rename or move a team"),
]
