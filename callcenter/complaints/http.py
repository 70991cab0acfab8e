"""JSON API of complaints (/api/v1/complaints) and their categories
(/api/v1/complaint-categories). Thin handlers: the rules are in service.py."""
from __future__ import annotations

from aiohttp import web

from callcenter.complaints import categories, service
from callcenter.complaints.exceptions import CategoryNotFound, ComplaintNotFound, InvalidComplaint
from callcenter.complaints.models import ComplaintCategory
from callcenter.customers.http import jsonable
from callcenter.customers.models import Customer
from callcenter.customers.privacy import mobile_for
from callcenter.models import User, utcnow
from callcenter.org.http import bool_param, int_param, json_body, paging
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import path_int

CREATE_FIELDS = {"customer_id", "call_id", "category_id", "priority", "description"}
CHANGE_FIELDS = {"status", "comment", "resolution"}


def complaint_id_of(request: web.Request) -> int:
    return path_int(request, "id", ComplaintNotFound("no such complaint"))


def wake_dispatcher(services) -> None:
    dispatcher = getattr(services, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def complaint_view(c, now, *, category=None, customer=None, owner=None, creator=None) -> dict:
    return {
        "id": c.id, "ticket": c.ticket, "status": c.status, "level": c.level, "priority": c.priority,
        "category_id": c.category_id, "category": category, "description": c.description,
        "customer_id": c.customer_id, "customer": customer, "call_id": c.call_id,
        "inbound_call_id": c.inbound_call_id, "owner_id": c.owner_id, "owner": owner,
        "created_by_id": c.created_by_id, "created_by": creator, "location_id": c.location_id,
        "due_at": c.due_at, "overdue": service.is_overdue(c, now), "escalations": c.escalations,
        "resolution": c.resolution, "created_at": c.created_at, "updated_at": c.updated_at,
        "resolved_at": c.resolved_at,
    }


def complaint_json(c, now, **names) -> dict:
    return jsonable(complaint_view(c, now, **names))


async def detail(session, settings, role: str, complaint, now) -> dict:
    """A complaint with its category, customer (mobile as the role may see it), people and
    history (times as datetimes: ``jsonable`` it for the API)."""
    category = await session.get(ComplaintCategory, complaint.category_id)
    customer = await session.get(Customer, complaint.customer_id) if complaint.customer_id else None
    names = {}
    for user_id in {complaint.owner_id, complaint.created_by_id} - {None}:
        user = await session.get(User, user_id)
        names[user_id] = (user.display_name or user.name) if user else None
    out = complaint_view(complaint, now, category=category.name if category else None,
                         customer=customer.name if customer else None,
                         owner=names.get(complaint.owner_id), creator=names.get(complaint.created_by_id))
    out["customer_mobile"] = mobile_for(settings, role, customer.mobile) if customer else None
    out["sla_hours"] = category.sla_hours if category else None
    out["events"] = [{"at": e.at, "actor": e.actor, "action": e.action, "from_level": e.from_level,
                      "to_level": e.to_level, "note": e.note}
                     for e in await service.events_of(session, complaint.id)]
    return out


def _status_param(request):
    status = request.query.get("status") or None
    level = request.query.get("level") or None
    return status, level


async def list_complaints(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    limit, offset = paging(request)
    status, level = _status_param(request)
    mine = bool_param(request, "mine")
    now = utcnow()
    async with services.sessions() as session:
        rows, total = await service.list_complaints(
            session, scope, status=status, level=level, overdue=bool_param(request, "overdue"),
            customer_id=int_param(request, "customer"), owner_id=scope.user_id if mine else None,
            now=now, limit=limit, offset=offset)
    return web.json_response({"total": total, "complaints": [
        complaint_json(c, now, category=cat, customer=cust, owner=owner, creator=creator)
        for c, cat, cust, owner, creator in rows]})


async def create_complaint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    scope = await scope_of(request)
    body = await json_body(request, CREATE_FIELDS)
    now = utcnow()
    async with services.sessions() as session, session.begin():
        complaint = await service.create(
            session, scope, services.settings, principal.name, category_id=body.get("category_id"),
            description=body.get("description"), priority=body.get("priority", "normal"),
            customer_id=body.get("customer_id"), call_id=body.get("call_id"), now=now)
        out = jsonable(await detail(session, services.settings, principal.role, complaint, now))
    wake_dispatcher(services)
    return web.json_response(out, status=201, headers={"Location": f"/api/v1/complaints/{complaint.id}"})


async def get_complaint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        complaint = await service.get(session, scope, complaint_id_of(request))
        out = jsonable(await detail(session, services.settings, principal_of(request).role, complaint,
                                    utcnow()))
    return web.json_response(out)


async def change_complaint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    scope = await scope_of(request)
    body = await json_body(request, CHANGE_FIELDS)
    if "status" in body and not isinstance(body["status"], str):
        raise InvalidComplaint("status must be text", field="status")
    now = utcnow()
    async with services.sessions() as session, session.begin():
        complaint = await service.change(session, scope, services.settings, principal.name,
                                         complaint_id_of(request), status=body.get("status"),
                                         comment=body.get("comment"), resolution=body.get("resolution"),
                                         now=now)
        out = jsonable(await detail(session, services.settings, principal.role, complaint, now))
    wake_dispatcher(services)
    return web.json_response(out)


# -- categories --------------------------------------------------------------------
async def list_categories(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    everything = principal_of(request).role == "admin" and bool_param(request, "all") is True
    async with services.sessions() as session:
        rows = await categories.list_categories(session, include_retired=everything)
    return web.json_response({"categories": [categories.category_json(r) for r in rows]})


async def create_category(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_body(request, {"code", "name", "sla_hours"})
    async with services.sessions() as session, session.begin():
        row = await categories.create_category(session, principal_of(request).name, body.get("code"),
                                               body.get("name"), body.get("sla_hours", 24))
        out = categories.category_json(row)
    return web.json_response(out, status=201)


async def update_category(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    category_id = path_int(request, "id", CategoryNotFound("no such category"))
    body = await json_body(request)
    async with services.sessions() as session, session.begin():
        row = await categories.update_category(session, principal_of(request).name, category_id, body)
        out = categories.category_json(row)
    return web.json_response(out)


ROUTES = [
    ("GET", "/api/v1/complaints", list_complaints, at_least("agent"),
     "Complaints in the caller's scope (?status=open|in_progress|resolved|closed|active, level, "
     "overdue=true, customer, mine=true, limit, offset)"),
    ("POST", "/api/v1/complaints", create_complaint, at_least("agent"),
     "File a complaint about a customer and/or call in scope (category_id, priority, description); "
     "the customer gets the ticket number by SMS"),
    ("GET", "/api/v1/complaints/{id}", get_complaint, at_least("agent"), "A complaint with its history"),
    ("PATCH", "/api/v1/complaints/{id}", change_complaint, at_least("agent"),
     "Comment on a complaint and/or change its status (a resolution note to resolve or close it)"),
    ("GET", "/api/v1/complaint-categories", list_categories, at_least("agent"),
     "Complaint categories with their SLA (?all=true: retired ones too, admins)"),
    ("POST", "/api/v1/complaint-categories", create_category, at_least("admin"),
     "Add a complaint category (code, name, sla_hours)"),
    ("PATCH", "/api/v1/complaint-categories/{id}", update_category, at_least("admin"),
     "Change a category's name, SLA or active flag"),
]
