"""JSON API of the users in the hierarchy: list in scope, create (a generated
login password is returned once), read, change, disable/enable, reset password."""
from __future__ import annotations

from functools import partial

from aiohttp import web

from callcenter.models import User
from callcenter.org.http import (
    InvalidRequest, actor_of, bool_param, int_param, json_body, paging, scoped,
)
from callcenter.users import hierarchy
from callcenter.users.service import HandOver
from web.auth import at_least
from callcenter.clock import utc_iso
from web.keys import SERVICES
from web.requests import path_int

PLACE = ("location", "team", "store")
USER_FIELDS = {"role", "display_name", "employee_id", "agent_kind", "languages", "phone_mode",
               "mobile", "contact", "email", *PLACE, *(f"{p}_id" for p in PLACE)}


def user_json(row: User) -> dict:
    return {"id": row.id, "name": row.name, "display_name": row.display_name, "role": row.role,
            "employee_id": row.employee_id, "agent_kind": row.agent_kind,
            "languages": [c for c in (row.languages or "").split(",") if c],
            "location_id": row.location_id, "team_id": row.team_id, "store_id": row.store_id,
            "phone_mode": row.phone_mode, "mobile": row.mobile, "email": row.email,
            "sip_endpoint": row.sip_endpoint,
            "sip_contact": row.sip_contact, "active": row.active,
            "can_log_in": bool(row.password_hash), "created_at": utc_iso(row.created_at)}


def _user_data(body: dict) -> dict:
    """The body with ``location_id``/``team_id``/``store_id`` read as ``location``... ."""
    data = dict(body)
    for place in PLACE:
        if f"{place}_id" in data:
            if place in data:
                raise InvalidRequest(f"give {place} or {place}_id, not both")
            data[place] = data.pop(f"{place}_id")
    for key in ("name", "role", "display_name", "employee_id", "agent_kind", "phone_mode",
                "mobile", "contact", "email", "password"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidRequest(f"'{key}' must be a string")
    return data


async def list_users(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    async with scoped(request) as (session, scope):
        rows, total = await hierarchy.list_users(
            session, scope, role=request.query.get("role") or None,
            team_id=int_param(request, "team_id"), store_id=int_param(request, "store_id"),
            location_id=int_param(request, "location_id"), active=bool_param(request, "active"),
            q=request.query.get("q") or None, limit=limit, offset=offset)
    return web.json_response({"users": [user_json(u) for u in rows], "total": total,
                              "limit": limit, "offset": offset})


async def create_user(request: web.Request) -> web.Response:
    body = _user_data(await json_body(request, USER_FIELDS | {"name", "password"}))
    settings = request.app[SERVICES].settings
    async with scoped(request, write=True) as (session, scope):
        user, generated, sip_password = await hierarchy.add_user(session, settings, scope, body,
                                                                 actor=actor_of(request))
        out = {"user": user_json(user)}
    if generated:
        out["login_password"] = generated
    if sip_password:
        out["sip_password"] = sip_password
    return web.json_response(out, status=201, headers={"Cache-Control": "no-store"})


async def get_user(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        user = await hierarchy.get_user(session, scope, path_int(request))
        return web.json_response(user_json(user))


async def update_user(request: web.Request) -> web.Response:
    body = _user_data(await json_body(request, USER_FIELDS))
    settings = request.app[SERVICES].settings
    async with scoped(request, write=True) as (session, scope):
        user, sip_password = await hierarchy.update_user(session, settings, scope, path_int(request),
                                                         body, actor=actor_of(request))
        out = {"user": user_json(user)}
    if sip_password:
        out["sip_password"] = sip_password
    return web.json_response(out, headers={"Cache-Control": "no-store"})


async def _set_active(request: web.Request, active: bool, hand_over: HandOver) -> web.Response:
    async with scoped(request, write=True) as (session, scope):
        user, moved, left = await hierarchy.set_active(session, scope, path_int(request), active,
                                                       actor=actor_of(request), hand_over=hand_over)
        out = {"user": user_json(user), "work_reallocated": moved, "work_unallocated": left}
    return web.json_response(out)


async def disable_user(request: web.Request, *, hand_over: HandOver) -> web.Response:
    return await _set_active(request, False, hand_over)


async def enable_user(request: web.Request, *, hand_over: HandOver) -> web.Response:
    return await _set_active(request, True, hand_over)


async def reset_password(request: web.Request) -> web.Response:
    """Body optional: ``{"password": "..."}``; without one a password is
    generated and returned once."""
    body = await json_body(request, {"password"}) if request.can_read_body else {}
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidRequest("'password' must be a string")
    async with scoped(request, write=True) as (session, scope):
        generated = await hierarchy.reset_password(session, scope, path_int(request), password,
                                                   actor=actor_of(request))
    out = {"password_set": True}
    if generated:
        out["login_password"] = generated
    return web.json_response(out, headers={"Cache-Control": "no-store"})


ROUTES = [
    ("GET", "/api/v1/users", list_users, at_least("teamlead"),
     "Users in your scope (filters role, team_id, store_id, location_id, active, q; limit, offset)"),
    ("POST", "/api/v1/users", create_user, at_least("manager"),
     "Create a user in your scope (a generated login password is returned once)"),
    ("GET", "/api/v1/users/{id}", get_user, at_least("agent"), "A user in your scope"),
    ("PATCH", "/api/v1/users/{id}", update_user, at_least("manager"), "Change a user in your scope"),
    ("POST", "/api/v1/users/{id}/reset-password", reset_password, at_least("manager"),
     "Set or generate a new login password (a generated one is returned once)"),
]


def routes(*, hand_over: HandOver) -> list:
    """The routes that disable and enable users: ``hand_over`` takes a disabled
    user's open work (callcenter/work/handover.py); declared by the work
    feature (callcenter/work/feature.py), as users may not import the work."""
    return [
        ("POST", "/api/v1/users/{id}/disable", partial(disable_user, hand_over=hand_over),
         at_least("manager"), "Disable a user: logins end, open work is re-allocated"),
        ("POST", "/api/v1/users/{id}/enable", partial(enable_user, hand_over=hand_over),
         at_least("manager"), "Enable a user again"),
    ]
