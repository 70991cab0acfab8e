"""Queues JSON API (thin: the rules are in service.py and agents.py)."""
from __future__ import annotations

from aiohttp import web

from callcenter.queues import service
from callcenter.queues.exceptions import QueueInvalid
from callcenter.models import User
from callcenter.queues.models import PAUSE_REASONS, QUEUE_STRATEGIES
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import json_object, path_int


async def _caller(session, request) -> User | None:
    principal = principal_of(request)
    return await session.get(User, principal.user_id) if principal.user_id else None


async def list_queues(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        user = await _caller(session, request)
        rows = await service.list_queues(session, scope, user,
                                         include_inactive=request.query.get("all") == "1" and scope.role != "agent")
    return web.json_response({"queues": [service.queue_json(q) for q in rows],
                              "strategies": list(QUEUE_STRATEGIES), "pause_reasons": list(PAUSE_REASONS)})


async def _changed(services) -> None:
    """A queue row changed: render and reload Asterisk's queues soon, refresh the live settings."""
    if services.pbx_sync is not None:
        services.pbx_sync.poke()
    await services.queues.refresh()


async def create_queue(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await json_object(request, QueueInvalid)
    async with services.sessions() as session:
        q = await service.create_queue(session, scope, body, actor=principal_of(request).name)
        await session.commit()
        out = service.queue_json(q)
    await _changed(services)
    return web.json_response(out, status=201)


async def get_queue(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        q = await service.get_queue(session, scope, path_int(request))
        if scope.role == "agent" and not service.offered(q, await _caller(session, request)):
            raise web.HTTPNotFound()
        return web.json_response(service.queue_json(q))


async def update_queue(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await json_object(request, QueueInvalid)
    async with services.sessions() as session:
        q, changes = await service.update_queue(session, scope, path_int(request), body,
                                                actor=principal_of(request).name)
        if changes.get("active") is False:  # its agents leave it; Asterisk drops it at the reload
            await services.queues.agents.close_queue(session, q, actor=principal_of(request).name)
        await session.commit()
        out = service.queue_json(q)
    if changes:
        await _changed(services)
    return web.json_response({**out, "changed": sorted(changes)})


async def queue_status(request: web.Request) -> web.Response:
    """The live board: the queues the caller sees (an agent: those offered)."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        rows = await service.list_queues(session, scope, await _caller(session, request))
    views = services.queues.views([q.name for q in rows])
    return web.json_response({"queues": views, "reconciled_at": services.queues.reconciled_at,
                              "pbx_connected": bool(services.ami and services.ami.connected)})


async def _agent_action(request: web.Request, action: str) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    scope = await scope_of(request)
    body = await json_object(request, QueueInvalid, empty_ok=True) if request.method == "POST" else {}
    name = body.get("agent") if request.method == "POST" else request.query.get("agent")
    agents = services.queues.agents
    async with services.sessions() as session:
        user = await agents.resolve(session, principal, scope, name)
        actor = principal.name
        if action == "login":
            done = await agents.login(session, user, body.get("queues"), actor=actor)
        elif action == "logout":
            done = await agents.logout(session, user, body.get("queues"), actor=actor)
        elif action == "pause":
            done = await agents.pause(session, user, body.get("reason"), actor=actor)
        elif action == "unpause":
            done = await agents.unpause(session, user, actor=actor)
        else:
            done = None
        await session.commit()
        out = await agents.status(session, user)
    if isinstance(done, list):
        out["changed"] = done
    return web.json_response(out)


async def my_status(request: web.Request) -> web.Response:
    return await _agent_action(request, "status")


async def login(request: web.Request) -> web.Response:
    return await _agent_action(request, "login")


async def logout(request: web.Request) -> web.Response:
    return await _agent_action(request, "logout")


async def pause(request: web.Request) -> web.Response:
    return await _agent_action(request, "pause")


async def unpause(request: web.Request) -> web.Response:
    return await _agent_action(request, "unpause")


ROUTES = [
    ("GET", "/api/v1/queues", list_queues, at_least("agent"),
     "Queues the caller may see (an agent: those offered by language and location; all=1 adds inactive ones)"),
    ("POST", "/api/v1/queues", create_queue, at_least("manager"),
     "Create a queue (name [a-z0-9-], language, strategy, wrap-up, max wait, service level...); "
     "Asterisk loads it within seconds"),
    ("GET", "/api/v1/queues/status", queue_status, at_least("agent"),
     "Live queue state: callers waiting, longest wait, agents' states, today's figures"),
    ("GET", "/api/v1/queues/me", my_status, at_least("agent"),
     "The caller's queues: offered, logged in, pause (agent=<name>: a supervisor asks about an agent)"),
    ("POST", "/api/v1/queues/login", login, at_least("agent"),
     "Log in to queues ({queues: [names]} or every offered queue; agent=<name> for supervisors)"),
    ("POST", "/api/v1/queues/logout", logout, at_least("agent"), "Log out of queues (all, or {queues: [...]})"),
    ("POST", "/api/v1/queues/pause", pause, at_least("agent"), "Pause in every queue with a reason ({reason})"),
    ("POST", "/api/v1/queues/unpause", unpause, at_least("agent"), "End the pause"),
    ("GET", "/api/v1/queues/{id}", get_queue, at_least("agent"), "A queue"),
    ("PATCH", "/api/v1/queues/{id}", update_queue, at_least("manager"),
     "Change a queue (not its name); active=false logs its agents out and unloads it"),
]
