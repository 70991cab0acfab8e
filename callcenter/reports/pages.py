"""The reports' HTML pages (team leads and up): the team's or location's
overview with links to each agent's buckets and to reassignment, the daily
report with a date picker, per campaign and per store, the post-call survey's
NPS; CSV buttons link to the JSON API's ``?format=csv`` with the same filters."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from callcenter.org.models import Location, Store, Team
from callcenter.period import today
from callcenter.reports import service
from callcenter.reports.campaigns import campaign_report, visible_campaigns
from callcenter.reports.exceptions import CampaignNotFound
from callcenter.reports.http import day_of, filters_of, nps_of, query_int
from callcenter.reports.stores import store_daily
from callcenter.work.models import BUCKETS
from web.auth import at_least, scope_of
from web.keys import SERVICES
from web.render import link, render
from web.requests import path_int

PAGE_SIZE = 100
BUCKET_LABELS = {"fresh": "Fresh", "non_contact": "Non-contact", "future_followup": "Future follow-up",
                 "pending_followup": "Pending follow-up", "appointment": "Appointment"}

OUTCOME_LABELS = {"not_talked": "Not reached", "call_later": "Call later", "appointment": "Will visit",
                  "closed": "Closed"}


def outcome_label(outcome: str) -> str:
    """A disposition outcome in words (the default form's, else the id made readable)."""
    return OUTCOME_LABELS.get(outcome) or outcome.replace("_", " ").capitalize()


def filter_params(filters: service.Filters) -> dict:
    return {"team": filters.team_id, "location": filters.location_id, "store": filters.store_id,
            "campaign": filters.campaign_id}


async def _choices(session, scope) -> dict:
    """Teams, locations and stores the caller may narrow to (for the filter form)."""
    teams = select(Team.id, Team.name).order_by(Team.name)
    stores = select(Store.id, Store.code, Store.name).order_by(Store.code)
    locations = select(Location.id, Location.name).order_by(Location.name)
    if not scope.sees_all:
        locations = locations.where(Location.id == scope.location_id)
        stores = stores.where(Store.location_id == scope.location_id)
        teams = (teams.where(Team.id == scope.team_id) if scope.role == "teamlead"
                 else teams.where(Team.location_id == scope.location_id))
    return {"teams": (await session.execute(teams)).all(),
            "stores": (await session.execute(stores)).all() if scope.role in ("manager", "admin") else [],
            "locations": (await session.execute(locations)).all() if scope.sees_all else [],
            "campaigns": await visible_campaigns(session, scope)}


async def overview_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope, filters, day = await scope_of(request), filters_of(request), day_of(request)
    page = max(query_int(request, "page", minimum=1) or 1, 1)
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await service.overview(session, scope, filters, day, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE)
        total = await service.count_agents(session, scope, filters)
        choices = await _choices(session, scope)
    params = filter_params(filters)
    return render(request, "reports/overview.html", {
        "rows": rows, "totals": service.overview_totals(rows), "total_agents": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "filters": filters, "params": params,
        "choices": choices, "buckets": BUCKETS, "bucket_labels": BUCKET_LABELS, "day": day, "link": link,
        "csv_url": link("/api/v1/reports/overview", format="csv", **params)})


async def daily_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope, filters, day = await scope_of(request), filters_of(request), day_of(request)
    page = max(query_int(request, "page", minimum=1) or 1, 1)
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await service.daily(session, scope, filters, day, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        total = await service.count_agents(session, scope, filters, day.start)
        choices = await _choices(session, scope)
    totals = service.day_totals(rows)
    busy = [h for h in range(24) if totals["hours"].get(str(h))]
    hours = list(range(min(busy + [9]), max(busy + [20]) + 1))
    params = filter_params(filters)
    known = list(OUTCOME_LABELS)
    outcomes = sorted({o for r in rows for o in r.dispositions}, key=lambda o: (known.index(o) if o in known
                                                                                 else len(known), o))
    return render(request, "reports/daily.html", {
        "rows": rows, "totals": totals, "hours": hours, "outcomes": outcomes, "day": day,
        "today": today(day.zone), "total_agents": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "filters": filters, "params": params,
        "choices": choices, "link": link, "duration": duration, "outcome_label": outcome_label,
        "csv_url": link("/api/v1/reports/agents", format="csv", date=day.date.isoformat(), **params)})


async def campaigns_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        campaigns = await visible_campaigns(session, scope)
    return render(request, "reports/campaigns.html", {"campaigns": campaigns})


async def campaign_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    campaign_id = path_int(request, "campaign_id", CampaignNotFound("no such campaign"))
    scope = await scope_of(request)
    day = day_of(request) if request.query.get("date") else None
    async with services.sessions() as session:
        report = await campaign_report(session, scope, campaign_id, day)
    date = day.date.isoformat() if day else None
    return render(request, "reports/campaign.html", {
        "report": report, "day": day, "bucket_labels": BUCKET_LABELS, "duration": duration,
        "outcome_label": outcome_label,
        "today": today(services.settings.web.timezone),
        "csv_url": link(f"/api/v1/reports/campaigns/{report.campaign_id}", format="csv", date=date)})


async def stores_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope, filters, day = await scope_of(request), filters_of(request), day_of(request)
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await store_daily(session, scope, filters, day)
        choices = await _choices(session, scope)
    params = filter_params(filters)
    return render(request, "reports/stores.html", {
        "rows": rows, "day": day, "today": today(day.zone), "filters": filters, "params": params,
        "choices": choices, "link": link, "duration": duration,
        "csv_url": link("/api/v1/reports/stores", format="csv", date=day.date.isoformat(), **params)})


async def my_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope, day = await scope_of(request), day_of(request)
    async with services.sessions() as session:
        mine = await service.me(session, scope, day)
    return render(request, "reports/me.html", {"mine": mine, "day": day, "today": today(day.zone),
                                               "bucket_labels": BUCKET_LABELS, "duration": duration})


def duration(seconds) -> str:
    """Talk time as h:mm:ss (or m:ss under an hour)."""
    seconds = int(round(float(seconds or 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


async def nps_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    by, first, last, report = await nps_of(request)
    return render(request, "reports/nps.html", {
        "report": report, "by": by, "first": first, "last": last,
        "today": today(services.settings.web.timezone), "link": link})


LEAD = at_least("teamlead")
ROUTES = [
    ("GET", "/reports", overview_page, LEAD, "Page: bucket counts and progress per agent of the team/location"),
    ("GET", "/reports/daily", daily_page, LEAD, "Page: the daily report per agent, with a date picker"),
    ("GET", "/reports/campaigns", campaigns_page, LEAD, "Page: campaigns to report on"),
    ("GET", "/reports/campaigns/{campaign_id}", campaign_page, LEAD, "Page: one campaign's report"),
    ("GET", "/reports/stores", stores_page, LEAD, "Page: the day per store"),
    ("GET", "/reports/nps", nps_page, LEAD, "NPS of the post-call survey by agent, team, queue"),
    ("GET", "/reports/me", my_page, at_least("agent"), "Page: my own figures"),
]
