"""Queue pages: the live board (``/queues``: waiting per queue, longest wait,
agents' states, today's figures; kept live by web/static/queues.js over the
page's WebSocket) and, for managers and admins, the queues' settings
(``/queues/manage``, ``/queues/new``, ``/queues/{id}``)."""
from __future__ import annotations

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.models import User
from callcenter.queues import service
from callcenter.queues.conf import LIMITS
from callcenter.queues.http import _changed
from callcenter.queues.models import QUEUE_STRATEGIES
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import path_int, whole_number

FIELDS = ("name", "language", "location_id", "region", "strategy", "wrapup_seconds", "max_wait_seconds",
          "service_level_seconds")
DEFAULTS = {"language": "en", "strategy": "leastrecent", "wrapup_seconds": 10, "max_wait_seconds": 120,
            "service_level_seconds": 20, "announce_position": True, "active": True, "region": ""}


def _fields(post, *, creating: bool) -> dict:
    fields = {k: post.get(k, "").strip() for k in FIELDS if k in post}
    for key in LIMITS:
        if (number := whole_number(fields.get(key))) is not None:
            fields[key] = number
    fields["announce_position"] = post.get("announce_position") == "on"
    if not creating:
        fields.pop("name", None)
        fields["active"] = post.get("active") == "on"
    return fields


async def _choices(session, scope) -> dict:
    return {"strategies": QUEUE_STRATEGIES, "labels": service.STRATEGY_LABELS, "limits": LIMITS,
            "locations": await service.location_choices(session, scope), "sees_all": scope.sees_all}


async def board_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        user = await session.get(User, principal_of(request).user_id) if principal_of(request).user_id else None
        rows = await service.list_queues(session, scope, user)
    return render(request, "queues/board.html", {
        "views": services.queues.views([q.name for q in rows]), "manages": service.manages(scope),
        "labels": service.STRATEGY_LABELS, "strategies": {q.name: q.strategy for q in rows},
        "pbx_connected": bool(services.ami and services.ami.connected)})


async def manage_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        rows = await service.list_queues(session, scope, include_inactive=True)
        return render(request, "queues/manage.html", {
            "queues": rows, "saved": request.query.get("saved"), "manages": service.manages,
            "scope": scope, **(await _choices(session, scope))})


async def new_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    if not service.manages(scope):
        raise web.HTTPForbidden(reason="Only managers and admins create queues")
    values, error = {**DEFAULTS, "location_id": scope.location_id}, None
    async with services.sessions() as session:
        if request.method == "POST":
            post = await request.post()
            values.update({k: v for k, v in post.items() if k != "_csrf"})
            values["announce_position"] = post.get("announce_position") == "on"
            try:
                q = await service.create_queue(session, scope, _fields(post, creating=True),
                                               actor=principal_of(request).name)
                await session.commit()
                await _changed(services)
                raise web.HTTPSeeOther(f"/queues/manage?saved={q.name}")
            except DomainError as exc:
                await session.rollback()
                error = exc
        return render(request, "queues/edit.html", {"values": values, "error": error, "creating": True,
                                                    **(await _choices(session, scope))},
                      status=error.status if error else 200)


async def edit_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    queue_id = path_int(request)
    error = None
    async with services.sessions() as session:
        q = await service.get_queue(session, scope, queue_id)
        if not service.manages(scope, q):
            raise web.HTTPForbidden(reason="Only the queue's manager or an admin may change it")
        values = service.queue_json(q)
        if request.method == "POST":
            post = await request.post()
            fields = _fields(post, creating=False)
            values.update(fields)
            try:
                q, changes = await service.update_queue(session, scope, queue_id, fields,
                                                        actor=principal_of(request).name)
                if changes.get("active") is False:
                    await services.queues.agents.close_queue(session, q, actor=principal_of(request).name)
                await session.commit()
                if changes:
                    await _changed(services)
                raise web.HTTPSeeOther(f"/queues/manage?saved={q.name}")
            except DomainError as exc:
                await session.rollback()
                error = exc
        return render(request, "queues/edit.html", {"values": values, "error": error, "creating": False,
                                                    "queue_id": queue_id, **(await _choices(session, scope))},
                      status=error.status if error else 200)


ROUTES = [
    ("GET", "/queues", board_page, at_least("teamlead"), "Live queue board"),
    ("GET", "/queues/manage", manage_page, at_least("manager"), "Queues and their settings"),
    ("GET", "/queues/new", new_page, at_least("manager"), "New queue page"),
    ("POST", "/queues/new", new_page, at_least("manager"), "Create a queue (form)"),
    ("GET", "/queues/{id}", edit_page, at_least("manager"), "A queue's settings"),
    ("POST", "/queues/{id}", edit_page, at_least("manager"), "Change a queue (form)"),
]
