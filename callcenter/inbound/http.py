"""Inbound JSON API: the day's inbound calls (callers waiting in a queue
included, with their queue, language and wait so far), a customer made from an unknown
caller, and hanging up an inbound call from the panel (the caller goes on to
the survey). Thin: the rules are in service modules. (The NPS report of the
post-call survey is served by ``callcenter.reports.http``.)"""
from __future__ import annotations

import datetime as dt
import time

from aiohttp import web
from sqlalchemy import select

from callcenter import audit
from callcenter.clock import utc_iso
from callcenter.customers.privacy import mobile_for
from callcenter.inbound import customers
from callcenter.inbound.exceptions import CallNotLive, CustomerInvalid
from callcenter.inbound.live import screen_pop_url
from callcenter.inbound.models import InboundCall
from callcenter.models import User
from callcenter.queues.models import Queue
from callcenter.period import days_of
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import json_object

CALLS_LIMIT = 1000


def day_range(request: web.Request) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """``?date=`` (default today) and optional ``?to=`` (inclusive), in the configured zone."""
    return days_of(request.query, request.app[SERVICES].settings.web.timezone)


def call_json(row: InboundCall, queue: str | None, agent: str | None, settings, role: str,
              waiting: tuple[str, float] | None = None) -> dict:
    """An inbound call of the list; ``waiting``: (queue, joined at) while the
    caller waits in a queue (the queue events), when ``state`` is "waiting"
    and ``wait_seconds`` the wait so far."""
    state, wait = call_state(row, waiting), row.wait_seconds
    if state == "waiting":
        queue, wait = waiting[0], round(max(0.0, time.time() - waiting[1]), 1)
    return {"id": row.id, "direction": "inbound", "state": state, "did": row.did,
            "caller": mobile_for(settings, role, row.caller), "customer_id": row.customer_id, "flow": row.flow,
            "language": row.language, "queue": queue, "agent": agent, "agent_id": row.agent_id,
            "call_id": row.call_id, "outcome": row.outcome, "started_at": utc_iso(row.started_at),
            "entered_queue_at": utc_iso(row.entered_queue_at), "answered_at": utc_iso(row.answered_at),
            "ended_at": utc_iso(row.ended_at), "wait_seconds": wait, "talk_seconds": row.talk_seconds}


def call_state(row: InboundCall, waiting) -> str:
    """ended; answered (talking, or after the talk in the survey); waiting in
    a queue; else in the IVR."""
    if row.ended_at is not None:
        return "ended"
    if row.answered_at is not None:
        return "answered"
    return "waiting" if waiting is not None else "ivr"


async def day_calls(services, scope, role: str, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The day's inbound calls in scope, newest first; a caller waiting in a
    queue is listed as such (queue, language, wait so far) on any server: the
    row has the queue and language from the moment they join
    (``service.waiting``), and every server hears the queue events."""
    async with services.sessions() as session:
        rows = (await session.execute(
            select(InboundCall, Queue.name, User.name).outerjoin(Queue, Queue.id == InboundCall.queue_id)
            .outerjoin(User, User.id == InboundCall.agent_id)
            .where(InboundCall.started_at >= start, InboundCall.started_at < end, customers.visible(scope))
            .order_by(InboundCall.started_at.desc()).limit(CALLS_LIMIT))).all()
    queues = getattr(services, "queues", None)  # None: no queue feature, nobody waits
    waiting = queues.waiting_callers() if queues is not None else {}
    return [call_json(row, queue, agent, services.settings, role, waiting.get(row.id))
            for row, queue, agent in rows]


async def list_calls(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    first, last, start, end = day_range(request)
    calls = await day_calls(services, scope, principal_of(request).role, start, end)
    await viewed(request, audit.INBOUND_VIEWED, rows=len(calls), date=first.isoformat(), to=last.isoformat())
    return web.json_response({"date": first.isoformat(), "to": last.isoformat(), "calls": calls})


async def make_customer(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await json_object(request, CustomerInvalid)
    async with services.sessions() as session, session.begin():
        customer, item_id, created = await customers.create_from_call(
            session, scope, services.settings, request.match_info["id"], body,
            actor=principal_of(request).name, live=services.inbound)
        out = {"customer_id": customer.id, "work_item_id": item_id, "created": created,
               "url": screen_pop_url(request.match_info["id"], customer.id, item_id)}
    return web.json_response(out, status=201 if created else 200)


async def hang_up(request: web.Request) -> web.Response:
    """Hang up the agent's side of a live inbound call (the caller hears the survey)."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        call = await customers.inbound_call(session, scope, request.match_info["id"])
    entry = services.inbound.get(call.id) if services.inbound is not None else None
    if entry is None or not entry.in_conversation:
        raise CallNotLive("this inbound call is not in a conversation on this server")
    await services.control.hang_up_inbound(entry.agent_channel)
    return web.json_response({"id": call.id, "hangup": "requested"}, status=202)


ROUTES = [
    ("GET", "/api/v1/inbound/calls", list_calls, at_least("agent"),
     "Inbound calls of a day (?date ?to): IVR flow, language, queue, agent, wait, talk, outcome "
     "(an agent: the calls that rang them)"),
    ("POST", "/api/v1/inbound/calls/{id}/customer", make_customer, at_least("agent"),
     "Make the caller of an inbound call a customer ({name, language, city, email, store_id}); "
     "their item in the inbound campaign is the agent's and the call is linked to it"),
    ("POST", "/api/v1/inbound/calls/{id}/hangup", hang_up, at_least("agent"),
     "Hang up the agent's side of a live inbound call (the caller goes on to the survey)"),
]
