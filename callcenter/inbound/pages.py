"""Inbound pages: the new-customer form the screen pop opens for an unknown
caller (/customers/new?inbound=<id>) and the day's inbound calls (/inbound).
(The post-call survey's NPS page, /reports/nps, is in ``callcenter.reports.pages``.)"""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from callcenter import audit
from callcenter.customers.privacy import mobile_for
from callcenter.errors import DomainError
from callcenter.inbound import customers
from callcenter.inbound.http import day_calls, day_range
from callcenter.inbound.live import screen_pop_url
from callcenter.org.languages import INDIAN
from callcenter.period import today
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import flash, link, render

FIELDS = ("name", "language", "city", "email", "store_id")
OUTCOME_LABELS = {"answered": "Answered", "abandoned": "Hung up waiting", "callback": "Call-back booked",
                  "ivr_only": "Left in the IVR", "closed": "Out of hours", "failed": "Failed", None: "In progress"}


def duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


async def new_customer_page(request: web.Request, error: DomainError | None = None,
                            values: dict | None = None) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    principal = principal_of(request)
    inbound_id = (values or {}).get("inbound") or request.query.get("inbound", "")
    async with services.sessions() as session:
        call = await customers.inbound_call(session, scope, inbound_id)
        stores = await customers.store_choices(session)
    values = values or {"language": call.language or ""}
    return render(request, "inbound/new_customer.html", {
        "call": call, "number": mobile_for(services.settings, principal.role, call.caller),
        "stores": stores, "languages": INDIAN, "values": values, "error": error,
    }, status=error.status if error else 200)


async def create_customer(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    form = await request.post()
    values = {k: form.get(k) if isinstance(form.get(k), str) else "" for k in (*FIELDS, "inbound")}
    try:
        async with services.sessions() as session, session.begin():
            customer, item_id, created = await customers.create_from_call(
                session, scope, services.settings, values["inbound"], values,
                actor=principal_of(request).name, live=services.inbound)
    except DomainError as error:
        if error.status == 404:
            raise
        return await new_customer_page(request, error, values)
    response = web.Response(status=303, headers={"Location": screen_pop_url(values["inbound"], customer.id, item_id)})
    flash(response, "Customer saved." if created else "This number is a customer already: here they are.")
    return response


async def calls_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    first, last, start, end = day_range(request)
    calls = await day_calls(services, scope, principal_of(request).role, start, end)
    await viewed(request, audit.INBOUND_VIEWED, rows=len(calls), date=first.isoformat(), to=last.isoformat())
    counts = {}
    for c in calls:
        c["started"] = dt.datetime.fromisoformat(c["started_at"]) if c["started_at"] else None
        counts[c["outcome"]] = counts.get(c["outcome"], 0) + 1
    answered = [c for c in calls if c["outcome"] == "answered" and c["wait_seconds"] is not None]
    return render(request, "inbound/calls.html", {
        "calls": calls, "counts": counts, "first": first, "today": today(services.settings.web.timezone),
        "average_wait": sum(c["wait_seconds"] for c in answered) / len(answered) if answered else None,
        "labels": OUTCOME_LABELS, "duration": duration, "link": link})


ROUTES = [
    ("GET", "/customers/new", new_customer_page, at_least("agent"),
     "New-customer form for the unknown caller of an inbound call (?inbound=<id>)"),
    ("POST", "/customers/new", create_customer, at_least("agent"), "Make the caller a customer"),
    ("GET", "/inbound", calls_page, at_least("agent"), "The day's inbound calls"),
]
