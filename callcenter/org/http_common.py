"""What the organisation's JSON handlers share: the body, query parameters,
the caller's scope and audit name, and the JSON views of the rows."""
from __future__ import annotations

import contextlib

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.models import User
from callcenter.org.models import Location, Store, Team
from callcenter.org.scope import load_scope
from web.auth import principal_of
from web.hub import utc_iso
from web.keys import SERVICES
from web.requests import json_object, query_int

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


def user_json(row: User) -> dict:
    return {"id": row.id, "name": row.name, "display_name": row.display_name, "role": row.role,
            "employee_id": row.employee_id, "agent_kind": row.agent_kind,
            "languages": [c for c in (row.languages or "").split(",") if c],
            "location_id": row.location_id, "team_id": row.team_id, "store_id": row.store_id,
            "phone_mode": row.phone_mode, "mobile": row.mobile, "sip_endpoint": row.sip_endpoint,
            "sip_contact": row.sip_contact, "active": row.active,
            "can_log_in": bool(row.password_hash), "created_at": utc_iso(row.created_at)}
