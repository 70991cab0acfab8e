"""The work JSON API: buckets, work items (and calling one's customer),
allocation, re-allocation, reminders and store appointments (thin: the rules
are in buckets.py, calling.py, allocation.py and reminders.py). Every query
is scoped to the caller."""
from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from callcenter import audit
from callcenter.models import utcnow
from callcenter.work import allocation, buckets, calling, reminders
from callcenter.work.exceptions import InvalidAllocation, WorkItemNotFound, WorkRequestInvalid
from callcenter.work.models import WorkItem
from callcenter.work.sweeper import publish
from dialer.http import call_view
from web import requests
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import local_today, path_int


def plain(value):
    """JSON-ready: dates and times as ISO 8601 (times with their UTC offset)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    return requests.query_int(request, name, default, error=WorkRequestInvalid)


def body_int(body: dict, name: str, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAllocation(f"{name} must be a whole number", field=name)
    return value


def body_ids(body: dict, name: str, required: bool = False) -> list[int] | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if (not isinstance(value, list) or not value or len(value) > allocation.MAX_ITEM_IDS
            or any(not isinstance(v, int) or isinstance(v, bool) for v in value)):
        raise InvalidAllocation(f"{name} must be a list of 1..{allocation.MAX_ITEM_IDS} ids", field=name)
    return value


def item_id_of(request: web.Request, key: str = "item_id") -> int:
    return path_int(request, key, WorkItemNotFound("no such work item"))


async def get_counts(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    agent_id, campaign_id = query_int(request, "agent"), query_int(request, "campaign")
    by = request.query.get("by", "")
    if by not in ("", "agent"):
        raise WorkRequestInvalid("by must be 'agent' or absent", field="by")
    async with services.sessions() as session:
        if by == "agent" and scope.role != "agent":
            per_agent = await buckets.counts_per_agent(session, scope, campaign_id=campaign_id,
                                                       today=local_today(services.settings))
            return web.json_response({"agents": [{"agent_id": k, "buckets": v}
                                                 for k, v in sorted(per_agent.items())]})
        found = await buckets.counts(session, scope, agent_id=agent_id, campaign_id=campaign_id,
                                     today=local_today(services.settings))
    return web.json_response({"buckets": found, "labels": buckets.LABELS,
                              "agent_id": agent_id, "campaign_id": campaign_id})


async def list_bucket(request: web.Request) -> web.Response:
    """One page of a bucket. Pages follow by ``?cursor=`` (the ``next`` and
    ``previous`` links of each answer); ``?page=N`` (offset) is still taken
    from older clients, for a transition."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    bucket = request.match_info["bucket"]
    cursor = request.query.get("cursor") or None   # blank: the first page
    page = query_int(request, "page")
    if cursor is not None and page is not None:
        raise WorkRequestInvalid("give either cursor or page, not both", field="page")
    per_page = query_int(request, "per_page", 25)
    async with services.sessions() as session:
        found = await buckets.list_items(
            session, scope, bucket, campaign_id=query_int(request, "campaign"),
            search=request.query.get("q"), page=page, cursor=cursor, per_page=per_page,
            agent_id=query_int(request, "agent"), now=utcnow(), today=local_today(services.settings),
            settings=services.settings, lead_minutes=services.settings.work.reminder_lead_minutes)
    await viewed(request, audit.BUCKETS_VIEWED, rows=len(found.items), bucket=bucket,
                 campaign=query_int(request, "campaign"), agent=query_int(request, "agent"),
                 q=request.query.get("q"), page=found.page, per_page=found.per_page)
    answer = {"bucket": bucket, "total": found.total, "per_page": found.per_page,
              "next": page_link(request, found.next), "previous": page_link(request, found.previous),
              "cursor": {"next": found.next, "previous": found.previous}, "items": found.items}
    if found.page is not None:   # asked by number, or the first page: what offset clients read
        answer.update(page=found.page, pages=found.pages)
    return web.json_response(plain(answer))


def page_link(request: web.Request, cursor: str | None) -> str | None:
    """The same list (filters and page size kept) at ``cursor``."""
    if cursor is None:
        return None
    query = {k: v for k, v in request.query.items() if k not in ("cursor", "page")}
    return str(request.rel_url.with_query({**query, "cursor": cursor}))


async def get_work_item(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        item = await buckets.get_item(session, scope, path_int(request, "item_id"), now=utcnow(),
                                      today=local_today(services.settings), settings=services.settings)
    return web.json_response(plain(item))


async def allocate_campaign(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await requests.json_object(request, WorkRequestInvalid)
    how = body.get("how")
    if not isinstance(how, str):
        raise InvalidAllocation(f"how must be one of {', '.join(allocation.MODES)}", field="how")
    async with services.sessions() as session:
        result = await allocation.allocate(
            session, scope, path_int(request), how, actor=principal_of(request).name,
            team_id=body_int(body, "team_id"), agent_ids=body_ids(body, "agent_ids"),
            item_ids=body_ids(body, "item_ids"), agent_id=body_int(body, "agent_id"),
            today=local_today(services.settings), timezone=services.settings.web.timezone)
        await session.commit()
    await publish(services, {"type": "bucket_counts"}, result.per_agent)
    return web.json_response(result.as_dict())


async def reassign(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await requests.json_object(request, WorkRequestInvalid)
    item_ids = body_ids(body, "item_ids", required=True)
    agent_id = body_int(body, "agent_id", required=True)
    async with services.sessions() as session:
        before = set(await holders(session, item_ids))
        result = await allocation.allocate(
            session, scope, None, "manual", actor=principal_of(request).name, item_ids=item_ids,
            agent_id=agent_id, today=local_today(services.settings), timezone=services.settings.web.timezone)
        await session.commit()
    await publish(services, {"type": "bucket_counts"}, set(result.per_agent) | before)
    return web.json_response(result.as_dict())


async def holders(session, item_ids) -> list[int]:
    """The agents who hold ``item_ids`` now (their panels learn they lost them)."""
    rows = await session.scalars(select(WorkItem.agent_id).where(WorkItem.id.in_(item_ids[:1000]))
                                 .distinct())
    return [a for a in rows if a is not None]


async def reallocate_agent(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await requests.json_object(request, WorkRequestInvalid)
    how = body.get("how")
    if not isinstance(how, str):
        raise InvalidAllocation(f"how must be one of {', '.join(allocation.REALLOCATE_MODES)}", field="how")
    from_agent = path_int(request)
    async with services.sessions() as session:
        result = await allocation.reallocate_result(
            session, scope, from_agent, how, actor=principal_of(request).name,
            to_agent_ids=body_ids(body, "to_agent_ids"), today=local_today(services.settings),
            timezone=services.settings.web.timezone)
        await session.commit()
    await publish(services, {"type": "bucket_counts"}, set(result.per_agent) | {from_agent})
    out = result.as_dict()
    return web.json_response({"moved": out["allocated"], "stayed": out["unallocated"],
                              "per_agent": out["per_agent"], "reasons": out["reasons"]})


async def get_reminders(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    settings = services.settings
    agent_id = query_int(request, "agent")
    lead = settings.work.reminder_lead_minutes
    now, today, tz = utcnow(), local_today(settings), settings.web.timezone
    async with services.sessions() as session:
        await buckets.owner_clause(session, scope, agent_id)  # 404 outside scope
        agent_id = agent_id if agent_id is not None else scope.user_id
        if agent_id is None:
            return web.json_response({"lead_minutes": lead, "due_soon": [], "missed": []})
        due = await reminders.due_soon(session, agent_id, now, lead, today=today, tz=tz)
        missed = await reminders.missed(session, agent_id, now, today=today, tz=tz)
    return web.json_response({"lead_minutes": lead, "due_soon": due, "missed": missed})


async def store_appointments(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    settings = services.settings
    async with services.sessions() as session:
        found = await reminders.store_appointments(session, scope, path_int(request), local_today(settings),
                                                   settings.web.timezone, settings=settings)
    await viewed(request, audit.CUSTOMERS_VIEWED, rows=sum(len(d["appointments"]) for d in found["days"]),
                 list="appointments", store=found["store"]["id"])
    return web.json_response(found)


async def call_work_item(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    call, agent, trunk, item = await calling.call_from_item(
        services, await scope_of(request), principal, item_id_of(request))
    return web.json_response(call_view(request, call, agent, trunk), status=202,
                             headers={"Location": f"/api/v1/calls/{call.id}"})


ROUTES = [
    ("GET", "/api/v1/buckets", get_counts, at_least("agent"),
     "Items per bucket (?agent= for team leads and up, ?campaign=, ?by=agent)"),
    ("GET", "/api/v1/buckets/{bucket}", list_bucket, at_least("agent"),
     "One page of a bucket (?campaign=, ?q= name or last 4+ digits, ?per_page= up to 100, ?agent=; "
     "the next and previous pages by ?cursor= from the answer's links; ?page= still accepted)"),
    ("GET", "/api/v1/work/{item_id}", get_work_item, at_least("agent"), "One work item"),
    ("POST", "/api/v1/campaigns/{id}/allocate", allocate_campaign, at_least("manager"),
     "Allocate a campaign's unallocated items: how = store | language | round_robin | manual"),
    ("POST", "/api/v1/work/reassign", reassign, at_least("teamlead"),
     "Assign chosen work items (item_ids) to one agent (agent_id)"),
    ("POST", "/api/v1/agents/{id}/reallocate", reallocate_agent, at_least("teamlead"),
     "Move an agent's open work to others: how = store | language | round_robin | balanced"),
    ("GET", "/api/v1/reminders", get_reminders, at_least("agent"),
     "Follow-ups and retries due soon, and missed follow-ups"),
    ("GET", "/api/v1/stores/{id}/appointments", store_appointments, at_least("agent"),
     "A store's appointments for today and tomorrow"),
    ("POST", "/api/v1/work/{item_id}/call", call_work_item, at_least("agent"),
     "Call the work item's customer (click-to-call through the campaign's trunk and mode); "
     "409 disposition_required while a disposition is owed, 422 number_dnd"),
]
