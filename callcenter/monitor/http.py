"""HTTP handlers of listen / whisper / barge."""
from __future__ import annotations

from aiohttp import web

from callcenter.monitor.exceptions import InvalidMode, MayNotMonitor
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import json_object


async def start_monitor(request: web.Request) -> web.Response:
    body = await json_object(request, InvalidMode, field=None)
    unknown = set(body) - {"mode"}
    if unknown:
        raise InvalidMode(f"unknown fields: {', '.join(sorted(unknown))}")
    services = request.app[SERVICES]
    principal = principal_of(request)
    call_id = request.match_info["call_id"]
    if principal.role == "agent":
        raise MayNotMonitor("only a team lead, a manager or an admin may listen in on calls")
    # found whatever the caller's reach (404 only for no such call); the reach decides 403
    call, agent, trunk = await services.dialer.get(principal, call_id)
    covered = True
    if principal.user_id is not None and principal.role in ("teamlead", "manager"):
        scope = await scope_of(request)
        covered = await services.monitor.covers(scope, agent.id)
    session = await services.monitor.start(principal, call, agent, trunk, covered, body.get("mode"))
    return web.json_response(session.view(), status=202)


async def list_monitors(request: web.Request) -> web.Response:
    principal = principal_of(request)
    scope = await scope_of(request) if principal.user_id is not None else None
    return web.json_response({"sessions": await request.app[SERVICES].monitor.active_in(scope)})


ROUTES = [
    ("POST", "/api/v1/calls/{call_id}/monitor", start_monitor, at_least("agent"),
     "Listen, whisper or barge on a call from the supervisor's phone"),
    ("GET", "/api/v1/monitor", list_monitors, at_least("teamlead"), "The monitor sessions going on, on calls of agents in the caller's scope"),
]
