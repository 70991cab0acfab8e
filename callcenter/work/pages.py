"""The work pages: an agent's buckets (home: tabs with counts, campaign
filter, search, paging, reminders strip), allocation for managers,
reassignment for team leads and up, and a store's appointments."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, select

from callcenter import audit
from callcenter.campaigns.models import Campaign
from callcenter.errors import DomainError
from callcenter.models import User, utcnow
from callcenter.org.models import Store, Team
from callcenter.work import allocation, buckets, reminders
from callcenter.work.exceptions import InvalidCursor
from callcenter.work.models import BUCKETS, WorkItem
from callcenter.work.sweeper import publish
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import local_today, whole_number

MAX_AGENTS_LISTED = 5000
# Managers and admins pick an agent first: a whole location's buckets are the
# reports' business (and far too many rows to page through).
PICK_AN_AGENT = ("manager", "admin")
MODE_LABELS = {"store": "Store-wise (each customer to an executive of their store)",
               "language": "Language-wise (call-centre agents speaking the customer's language)",
               "round_robin": "Round-robin over a team"}


def link(path: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def list_position(params) -> tuple[str | None, int | None]:
    """(cursor, page number) of a list page: the cursor of a next/previous
    link, or an older link's ?page=N (by offset), or neither (the first page)."""
    cursor = str(params.get("cursor") or "") or None
    if cursor is not None:
        return cursor, None
    return None, whole_number(str(params.get("page") or ""), max_digits=6) or None


def query_int(request: web.Request, name: str) -> int | None:
    return whole_number(request.query.get(name))


def form_int(form, name: str) -> int | None:
    return whole_number(form.get(name))


async def agent_choices(session, scope, *, near: int | None = None) -> list:
    """Active agents the caller may look at or give work to (team leads and up).
    ``near``: only the agents of that agent's team (or store), so a manager's
    page about one agent does not carry a picker of the whole location."""
    if scope.role == "agent":
        return []
    query = (select(User.id, User.display_name, User.name, User.store_id)
             .where(User.role == "agent", User.active.is_(True), scope.users()))
    if near is not None:
        place = (await session.execute(select(User.team_id, User.store_id).where(User.id == near))).first()
        if place is not None and place.team_id is not None:
            query = query.where(User.team_id == place.team_id)
        elif place is not None and place.store_id is not None:
            query = query.where(User.store_id == place.store_id)
    return (await session.execute(
        query.order_by(User.display_name, User.name).limit(MAX_AGENTS_LISTED))).all()


async def campaign_choices(session, scope, today, *, allocatable: bool = False) -> list:
    """Callable campaigns the caller has work in (agents) or may see (leads and
    up); ``allocatable``: only those the caller may allocate (their location's)."""
    query = select(Campaign.id, Campaign.name, Campaign.expires_on).where(
        Campaign.id.in_(buckets.callable_campaigns(today)))
    if scope.role == "agent":
        query = query.where(Campaign.id.in_(
            select(WorkItem.campaign_id).where(WorkItem.agent_id == scope.user_id,
                                               WorkItem.bucket.in_(BUCKETS)).distinct()))
    elif allocatable and not scope.sees_all:
        query = query.where(Campaign.location_id == scope.location_id)
    elif not scope.sees_all:
        query = query.where((Campaign.location_id == scope.location_id) | Campaign.location_id.is_(None))
    return (await session.execute(query.order_by(Campaign.expires_on, Campaign.name))).all()


async def buckets_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    scope = await scope_of(request)
    bucket = request.query.get("bucket") or "fresh"
    if bucket not in BUCKETS:
        bucket = "fresh"
    campaign_id = query_int(request, "campaign")
    agent_id = query_int(request, "agent") if scope.role != "agent" else None
    search = request.query.get("q", "").strip()
    cursor, page = list_position(request.query)
    now, today, tz = utcnow(), local_today(settings), settings.web.timezone
    lead = settings.work.reminder_lead_minutes
    error, status = None, 200
    if agent_id is None and scope.role in PICK_AN_AGENT:
        async with services.sessions() as session:
            agents = await agent_choices(session, scope)
        return render(request, "work/pick_agent.html", {"agents": agents})
    async with services.sessions() as session:
        counts = await buckets.counts(session, scope, agent_id=agent_id, campaign_id=campaign_id, today=today)
        try:
            found = await buckets.list_items(
                session, scope, bucket, campaign_id=campaign_id, search=search or None, page=page,
                cursor=cursor, agent_id=agent_id, now=now, today=today, settings=settings,
                lead_minutes=lead, total=counts[bucket])
        except DomainError as exc:
            error, found = exc.message, buckets.Page([], 0, 1, 25)
            status = 400 if isinstance(exc, InvalidCursor) else 200
        whose = agent_id if agent_id is not None else scope.user_id
        due, missed = [], []
        if whose is not None and (scope.role == "agent" or agent_id is not None):
            due = await reminders.due_soon(session, whose, now, lead, today=today, tz=tz)
            missed = await reminders.missed(session, whose, now, today=today, tz=tz)
        campaigns = await campaign_choices(session, scope, today)
        # managers and admins pick among the viewed agent's team; "Other agents" goes back to the picker
        nearby = agent_id if scope.role in PICK_AN_AGENT else None
        agents = await agent_choices(session, scope, near=nearby)
    params = {"campaign": campaign_id, "q": search, "agent": agent_id}
    if error is None:
        await viewed(request, audit.BUCKETS_VIEWED, rows=len(found.items), bucket=bucket, page=found.page,
                     **params)
    return render(request, "work/buckets.html", {
        "bucket": bucket, "buckets": BUCKETS, "labels": buckets.LABELS, "counts": counts, "found": found,
        "error": error, "due": due, "missed": missed, "campaigns": campaigns, "agents": agents,
        "params": params, "link": link, "search": search, "campaign_id": campaign_id,
        "agent_id": agent_id, "lead": lead, "nearby": nearby}, status=status)


async def allocate_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    scope = await scope_of(request)
    today = local_today(settings)
    result, error, form = None, None, {}
    async with services.sessions() as session:
        if request.method == "POST":
            form = await request.post()
            try:
                result = await allocation.allocate(
                    session, scope, form_int(form, "campaign_id"), str(form.get("how", "")),
                    actor=principal_of(request).name, team_id=form_int(form, "team_id"),
                    today=today, timezone=settings.web.timezone)
                await session.commit()
            except DomainError as exc:
                await session.rollback()
                error = exc.message
        campaigns = await campaign_choices(session, scope, today, allocatable=True)
        waiting = dict((await session.execute(
            select(WorkItem.campaign_id, func.count())
            .where(WorkItem.agent_id.is_(None), WorkItem.bucket.in_(BUCKETS),
                   WorkItem.campaign_id.in_([c.id for c in campaigns]))
            .group_by(WorkItem.campaign_id))).all()) if campaigns else {}
        teams = select(Team.id, Team.name).order_by(Team.name)
        if not scope.sees_all:
            teams = teams.where(Team.location_id == scope.location_id)
        teams = (await session.execute(teams)).all()
    if result is not None:
        await publish(services, {"type": "bucket_counts"}, result.per_agent)
    return render(request, "work/allocate.html", {
        "campaigns": campaigns, "waiting": waiting, "teams": teams, "modes": MODE_LABELS,
        "first_waiting": next((c.id for c in campaigns if waiting.get(c.id)), None),
        "result": result, "error": error, "form": form}, status=422 if error else 200)


async def reassign_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    scope = await scope_of(request)
    now, today = utcnow(), local_today(settings)
    notice, error = None, None
    async with services.sessions() as session:
        if request.method == "POST":
            form = await request.post()
            notice, error, moved_to = await _reassign(session, scope, form, principal_of(request).name,
                                                      settings)
            if moved_to:
                await publish(services, {"type": "bucket_counts"}, moved_to)
            agent_id, bucket = form_int(form, "agent"), str(form.get("bucket") or "fresh")
            cursor, page = list_position(form)
        else:
            agent_id, bucket = query_int(request, "agent"), request.query.get("bucket") or "fresh"
            cursor, page = list_position(request.query)
        bucket = bucket if bucket in BUCKETS else "fresh"
        agents = await agent_choices(session, scope)
        found, counts = None, None
        if agent_id is not None:
            try:
                counts = await buckets.counts(session, scope, agent_id=agent_id, today=today)
                found = await buckets.list_items(session, scope, bucket, agent_id=agent_id, page=page,
                                                 cursor=cursor, per_page=50, now=now, today=today,
                                                 settings=settings, total=counts[bucket])
            except DomainError as exc:
                error, agent_id = exc.message, None
    if found is not None:
        await viewed(request, audit.BUCKETS_VIEWED, rows=len(found.items), bucket=bucket, agent=agent_id,
                     page=found.page)
    return render(request, "work/reassign.html", {
        "agents": agents, "agent_id": agent_id, "bucket": bucket, "buckets": BUCKETS,
        "labels": buckets.LABELS, "counts": counts, "found": found, "notice": notice, "error": error,
        "link": link, "cursor": cursor}, status=422 if error and request.method == "POST" else 200)


async def _reassign(session, scope, form, actor: str, settings):
    """Run the posted reassignment; (notice, error, agents whose buckets changed)."""
    source, target = form_int(form, "agent"), form_int(form, "to_agent")
    try:
        if form.get("action") == "move_all":
            how = str(form.get("how", ""))
            result = await allocation.reallocate_result(
                session, scope, source, how, actor=actor,
                to_agent_ids=[target] if how in ("balanced", "round_robin") and target else None,
                timezone=settings.web.timezone)
            notice = f"Moved {result.allocated} open items" + (
                f"; {result.unallocated} stayed (no one to take them)" if result.unallocated else "")
        else:
            item_ids = [i for v in form.getall("item", []) if (i := whole_number(v)) is not None]
            if not item_ids:
                return None, "Tick the items to reassign.", []
            if target is None:
                return None, "Choose the agent who takes them.", []
            result = await allocation.allocate(session, scope, None, "manual", actor=actor,
                                               item_ids=item_ids, agent_id=target,
                                               timezone=settings.web.timezone)
            notice = f"Reassigned {result.allocated} items" + (
                f"; {result.unallocated} skipped" if result.unallocated else "")
        await session.commit()
        return notice, None, set(result.per_agent) | ({source} if source else set())
    except DomainError as exc:
        await session.rollback()
        return None, exc.message, []


async def appointments_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    scope = await scope_of(request)
    store_id = scope.store_id if scope.role == "agent" else query_int(request, "store")
    stores, found, error = [], None, None
    async with services.sessions() as session:
        if scope.role != "agent":
            query = (select(Store.id, Store.code, Store.name).where(Store.active.is_(True))
                     .order_by(Store.code))
            if not scope.sees_all:
                query = query.where(Store.location_id == scope.location_id)
            stores = (await session.execute(query)).all()
        if store_id is not None:
            try:
                found = await reminders.store_appointments(session, scope, store_id, local_today(settings),
                                                           settings.web.timezone, settings=settings)
            except DomainError as exc:
                error = exc.message
    if found is not None:
        await viewed(request, audit.CUSTOMERS_VIEWED, rows=sum(len(d["appointments"]) for d in found["days"]),
                     list="appointments", store=store_id)
    return render(request, "work/appointments.html", {
        "stores": stores, "store_id": store_id, "found": found, "error": error})


ROUTES = [
    ("GET", "/buckets", buckets_page, at_least("agent"),
     "Page: the agent's five buckets (tabs, campaign filter, search, paging, reminders)"),
    ("GET", "/allocate", allocate_page, at_least("manager"), "Page: allocate a campaign"),
    ("POST", "/allocate", allocate_page, at_least("manager"), "Allocate a campaign (form)"),
    ("GET", "/work/reassign", reassign_page, at_least("teamlead"), "Page: reassign an agent's items"),
    ("POST", "/work/reassign", reassign_page, at_least("teamlead"), "Reassign items (form)"),
    ("GET", "/appointments", appointments_page, at_least("agent"),
     "Page: a store's appointments today and tomorrow"),
]
