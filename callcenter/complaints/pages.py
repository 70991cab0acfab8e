"""Complaint pages: the list (/complaints, overdue ones highlighted), a
complaint with its history and actions (/complaints/{id}), a new complaint
(/complaints/new?customer=&call=, also offered on the customer 360 page
through the /customers/{id}/complaints fragment) and the categories page
for admins (/admin/complaint-categories)."""
from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from callcenter.complaints import categories, service
from callcenter.complaints.escalation import ACTIVE
from callcenter.complaints.http import complaint_id_of, detail, wake_dispatcher
from callcenter.complaints.models import LEVELS, PRIORITIES, STATUSES
from callcenter.complaints.notices import LEVEL_LABELS
from callcenter.customers.exceptions import CustomerNotFound
from callcenter.customers.http import customer_id_of
from callcenter.customers.models import Customer
from callcenter.errors import DomainError
from callcenter.models import Call, utcnow
from callcenter.work.scope import customers_in
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import flash, render
from web.requests import whole_number

PAGE_SIZE = 50
RECENT_CALL = dt.timedelta(hours=2)  # the 360 form picks the customer's last call when this recent
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved", "closed": "Closed"}
COMMON = {"status_labels": STATUS_LABELS, "level_labels": LEVEL_LABELS, "priorities": PRIORITIES}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def see_other(location: str, message: str | None = None) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    if message:
        flash(response, message)
    return response


async def list_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    q = request.query
    status = q.get("status", "active")
    status = status if status in (*STATUSES, "active", "all") else "active"
    level = q.get("level") if q.get("level") in LEVELS else None
    overdue, mine = q.get("overdue") == "1", q.get("mine") == "1"
    page = max(whole_number(q.get("page")) or 1, 1)
    now = utcnow()
    async with services.sessions() as session:
        rows, total = await service.list_complaints(
            session, scope, status=None if status == "all" else status, level=level,
            overdue=True if overdue else None, owner_id=scope.user_id if mine else None, now=now,
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {"status": status, "level": level or "", "overdue": "1" if overdue else "",
             "mine": "1" if mine else ""}
    return render(request, "complaints/list.html", {
        **COMMON, "rows": rows, "total": total, "page": page, "pages": -(-total // PAGE_SIZE),
        "status": status, "level": level, "overdue": overdue, "mine": mine, "query": query,
        "now": now, "levels": LEVELS, "statuses": STATUSES, "active": ACTIVE,
        "is_overdue": lambda c: service.is_overdue(c, now)})


async def detail_page(request: web.Request, error: DomainError | None = None,
                      values: dict | None = None) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    principal = principal_of(request)
    async with services.sessions() as session:
        complaint = await service.get(session, scope, complaint_id_of(request))
        view = await detail(session, services.settings, principal.role, complaint, utcnow())
    return render(request, "complaints/detail.html", {
        **COMMON, "c": view, "error": error, "values": values or {},
        "next_statuses": service.TRANSITIONS[view["status"]]}, status=error.status if error else 200)


async def act(request: web.Request) -> web.Response:
    """POST /complaints/{id}: a comment and/or a status change from the detail page."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    principal = principal_of(request)
    form = await request.post()
    values = {k: form.get(k) if isinstance(form.get(k), str) else None
              for k in ("status", "comment", "resolution")}
    complaint_id = complaint_id_of(request)
    try:
        async with services.sessions() as session, session.begin():
            complaint = await service.change(session, scope, services.settings, principal.name, complaint_id,
                                             status=values["status"] or None, comment=values["comment"],
                                             resolution=values["resolution"])
    except DomainError as error:
        if error.status == 404:
            raise
        return await detail_page(request, error, values)
    wake_dispatcher(services)
    return see_other(f"/complaints/{complaint.id}", f"Complaint {complaint.ticket} updated.")


async def _customer(session, scope, customer_id: int) -> Customer:
    customer = (await session.execute(select(Customer).where(Customer.id == customer_id, customers_in(scope)))
                ).scalar_one_or_none()
    if customer is None:
        raise CustomerNotFound("no such customer")
    return customer


async def _form_context(session, scope, customer_id: int) -> dict:
    customer = await _customer(session, scope, customer_id)
    calls = (await session.execute(
        select(Call.id, Call.requested_at, Call.direction, Call.state)
        .where(Call.customer_id == customer.id, scope.calls())
        .order_by(Call.requested_at.desc()).limit(10))).all()
    return {**COMMON, "customer": customer, "calls": calls,
            "categories": await categories.list_categories(session)}


async def new_page(request: web.Request, error: DomainError | None = None, values: dict | None = None):
    services = request.app[SERVICES]
    scope = await scope_of(request)
    source = values or request.query
    customer_id = whole_number(source.get("customer_id") or source.get("customer"))
    if customer_id is None:
        raise CustomerNotFound("open the customer's page to file a complaint")
    async with services.sessions() as session:
        context = await _form_context(session, scope, customer_id)
    values = dict(values or {"call_id": request.query.get("call", ""), "priority": "normal"})
    return render(request, "complaints/new.html", {**context, "error": error, "values": values},
                  status=error.status if error else 200)


async def create(request: web.Request) -> web.Response:
    """POST /complaints: file the complaint, then show it (the ticket number in the flash)."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    principal = principal_of(request)
    form = await request.post()
    values = {k: form.get(k) if isinstance(form.get(k), str) else "" for k in
              ("customer_id", "call_id", "category_id", "priority", "description")}
    try:
        async with services.sessions() as session, session.begin():
            complaint = await service.create(
                session, scope, services.settings, principal.name, category_id=whole_number(values["category_id"]),
                description=values["description"], priority=values["priority"] or "normal",
                customer_id=whole_number(values["customer_id"]), call_id=values["call_id"] or None)
    except DomainError as error:
        if error.status == 404 and error.error_id == "customer_not_found":
            raise
        return await new_page(request, error, values)
    wake_dispatcher(services)
    told = " The customer gets it by SMS." if services.settings.notifications.customer_sms else ""
    return see_other(f"/complaints/{complaint.id}", f"Complaint filed: ticket {complaint.ticket}.{told}")


async def customer_fragment(request: web.Request) -> web.Response:
    """The 360 page's complaints card (loaded by htmx): the customer's
    complaints in scope and the form for a new one."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    customer_id = customer_id_of(request)
    now = utcnow()
    async with services.sessions() as session:
        context = await _form_context(session, scope, customer_id)
        rows, total = await service.list_complaints(session, scope, customer_id=customer_id, now=now,
                                                    limit=20)
    recent = [c for c in context["calls"] if c.requested_at and now - _aware(c.requested_at) < RECENT_CALL]
    return render(request, "complaints/_customer.html", {
        **context, "rows": rows, "total": total,
        "values": {"priority": "normal", "call_id": recent[0].id if recent else ""},
        "is_overdue": lambda c: service.is_overdue(c, now)})


async def categories_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    error, values, status = None, {}, 200
    if request.method == "POST":
        form = await request.post()
        values = {k: form.get(k) if isinstance(form.get(k), str) else "" for k in
                  ("id", "code", "name", "sla_hours", "active")}
        try:
            async with services.sessions() as session, session.begin():
                if whole_number(values["id"]) is not None:
                    row = await categories.update_category(session, principal.name, whole_number(values["id"]), {
                        "name": values["name"], "sla_hours": values["sla_hours"],
                        "active": values["active"] == "1"})
                else:
                    row = await categories.create_category(session, principal.name, values["code"],
                                                           values["name"], values["sla_hours"] or 24)
            return see_other("/admin/complaint-categories", f"Category {row.code} saved.")
        except DomainError as exc:
            error, status = exc, exc.status
    async with services.sessions() as session:
        rows = await categories.list_categories(session, include_retired=True)
    return render(request, "complaints/categories.html", {"rows": rows, "error": error, "values": values},
                  status=status)


ROUTES = [
    ("GET", "/complaints", list_page, at_least("agent"),
     "Page: complaints in scope (?status, level, overdue=1, mine=1), overdue ones highlighted"),
    ("GET", "/complaints/new", new_page, at_least("agent"), "Page: file a complaint (?customer=&call=)"),
    ("POST", "/complaints", create, at_least("agent"), "File a complaint (form)"),
    ("GET", "/complaints/{id}", detail_page, at_least("agent"),
     "Page: a complaint with its history and actions"),
    ("POST", "/complaints/{id}", act, at_least("agent"),
     "Comment on / change the status of a complaint (form)"),
    ("GET", "/customers/{id}/complaints", customer_fragment, at_least("agent"),
     "Fragment of the customer 360 page: the customer's complaints and a new-complaint form"),
    ("GET", "/admin/complaint-categories", categories_page, at_least("admin"), "Page: complaint categories"),
    ("POST", "/admin/complaint-categories", categories_page, at_least("admin"),
     "Add or change a complaint category (form)"),
]

