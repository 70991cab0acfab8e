"""The report schedules' JSON API (managers and admins): list, create,
read (with its runs and mails), change, pause (``active``), delete, and
send now. Error ids: ``invalid_schedule`` (with ``field``), ``schedule_not_found``."""
from __future__ import annotations

from aiohttp import web

from callcenter.org.http import actor_of, json_body, scoped
from callcenter.report_schedules import history, service
from callcenter.report_schedules.exceptions import ScheduleNotFound
from callcenter.report_schedules.runner import send_now
from web.auth import at_least
from web.keys import SERVICES
from web.requests import path_int


def schedule_id_of(request: web.Request) -> int:
    return path_int(request, "id", ScheduleNotFound("no such schedule"))


def wake_dispatcher(services) -> None:
    dispatcher = getattr(services, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


async def list_schedules(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        rows = await service.list_schedules(session, scope)
        runs = await history.runs(session, [r.id for r in rows], limit=1)
    return web.json_response({"schedules": [
        {**history.schedule_json(r), "last_run": (runs[r.id] or [None])[0]} for r in rows]})


async def create_schedule(request: web.Request) -> web.Response:
    body = await json_body(request, service.FIELDS)
    async with scoped(request, write=True) as (session, scope):
        row = await service.create(session, scope, body, actor=actor_of(request))
        out = history.schedule_json(row)
    return web.json_response(out, status=201)


async def get_schedule(request: web.Request) -> web.Response:
    schedule_id = schedule_id_of(request)
    async with scoped(request) as (session, scope):
        row = await service.get(session, scope, schedule_id)
        runs = await history.runs(session, [row.id])
        return web.json_response({**history.schedule_json(row), "runs": runs[row.id],
                                  "mails": await history.mails(session, row.id)})


async def change_schedule(request: web.Request) -> web.Response:
    body = await json_body(request, service.FIELDS)
    schedule_id = schedule_id_of(request)
    async with scoped(request, write=True) as (session, scope):
        row = await service.update(session, scope, schedule_id, body, actor=actor_of(request))
        out = history.schedule_json(row)
    return web.json_response(out)


async def delete_schedule(request: web.Request) -> web.Response:
    schedule_id = schedule_id_of(request)
    async with scoped(request, write=True) as (session, scope):
        await service.delete(session, scope, schedule_id, actor=actor_of(request))
    return web.Response(status=204)


async def send_schedule_now(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    schedule_id = schedule_id_of(request)
    async with scoped(request, write=True) as (session, scope):
        row = await service.get(session, scope, schedule_id)
        detail = await send_now(session, row, services.settings.web.timezone, actor=actor_of(request))
    wake_dispatcher(services)
    return web.json_response(detail, status=202)


MANAGER = at_least("manager")
ROUTES = [
    ("GET", "/api/v1/report-schedules", list_schedules, MANAGER,
     "Report schedules in scope, each with its last run"),
    ("POST", "/api/v1/report-schedules", create_schedule, MANAGER,
     "New report schedule {name, report: agents|stores|campaign|nps, campaign_id, period: yesterday|today, "
     "formats: csv|xlsx|both, roles: [teamlead, manager, admin], emails: [...], send_at: HH:MM, active}"),
    ("GET", "/api/v1/report-schedules/{id}", get_schedule, MANAGER,
     "A report schedule with its runs and the mails it produced (delivery state, attempts)"),
    ("PATCH", "/api/v1/report-schedules/{id}", change_schedule, MANAGER,
     "Change a report schedule (any of its fields; active false pauses it)"),
    ("DELETE", "/api/v1/report-schedules/{id}", delete_schedule, MANAGER, "Delete a report schedule"),
    ("POST", "/api/v1/report-schedules/{id}/send", send_schedule_now, MANAGER,
     "Send a report schedule's mails now (to test it); 202 {date, mails, to, skipped}"),
]
