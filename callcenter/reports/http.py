"""The reports' JSON API (``?format=csv`` for a CSV download of the same report).

Team leads and up see the agents of their part of the hierarchy; every agent
(and anyone else) has ``/api/v1/reports/me`` for their own figures. Filters
(``team``, ``location``, ``store``, ``campaign``) narrow the caller's scope;
one outside it answers 404. Dates are days in ``settings.web.timezone``."""
from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from callcenter import audit
from callcenter.period import days_of, local_day, parse_date
from callcenter.reports import csv_export, nps, service
from callcenter.reports.campaigns import campaign_report, visible_campaigns
from callcenter.reports.exceptions import CampaignNotFound, InvalidReportParameter
from callcenter.reports.stores import store_daily
from web.audit_views import viewed
from web.auth import at_least, scope_of
from web.keys import SERVICES
from web import requests
from web.requests import path_int

log = logging.getLogger(__name__)
CSV_CHUNK = 500          # report rows per write while streaming a CSV
DEFAULT_LIMIT = 1000


def query_int(request: web.Request, name: str, *, minimum: int = 0) -> int | None:
    return requests.query_int(request, name, error=InvalidReportParameter, low=minimum, field="parameter")


def filters_of(request: web.Request) -> service.Filters:
    return service.Filters(team_id=query_int(request, "team", minimum=1),
                           location_id=query_int(request, "location", minimum=1),
                           store_id=query_int(request, "store", minimum=1),
                           campaign_id=query_int(request, "campaign", minimum=1))


def wants_csv(request: web.Request) -> bool:
    fmt = request.query.get("format", "json").strip().lower()
    if fmt not in ("json", "csv"):
        raise InvalidReportParameter("format must be json or csv", parameter="format")
    return fmt == "csv"


def day_of(request: web.Request):
    zone = request.app[SERVICES].settings.web.timezone
    return local_day(parse_date(request.query.get("date"), zone), zone)


def day_range(request: web.Request) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """``?date=`` (default today) and optional ``?to=`` (inclusive), in the configured zone."""
    return days_of(request.query, request.app[SERVICES].settings.web.timezone)


def page_of(request: web.Request) -> tuple[int, int]:
    limit = query_int(request, "limit", minimum=1) or DEFAULT_LIMIT
    return min(limit, service.MAX_PAGE), query_int(request, "offset") or 0


def _filter_words(filters: service.Filters) -> list:
    return [f"{k}-{v}" for k, v in (("team", filters.team_id), ("location", filters.location_id),
                                     ("store", filters.store_id), ("campaign", filters.campaign_id)) if v]


async def _exported(request: web.Request, report: str, rows: int, day=None,
                    filters: service.Filters | None = None, **more) -> None:
    """The audit row of a CSV download (written before the file is sent)."""
    f = filters or service.Filters()
    await viewed(request, audit.REPORT_EXPORTED, rows=rows, report=report,
                 date=day.date.isoformat() if day is not None else None, team=f.team_id,
                 location=f.location_id, store=f.store_id, campaign=f.campaign_id, **more)


async def _chunks(rows: list, to_rows):
    """CSV rows, CSV_CHUNK report rows at a time."""
    for start in range(0, len(rows), CSV_CHUNK):
        yield to_rows(rows[start:start + CSV_CHUNK])


async def overview_report(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    scope, filters, day, csv = await scope_of(request), filters_of(request), day_of(request), wants_csv(request)
    limit, offset = (None, 0) if csv else page_of(request)  # a CSV has everyone, one query per figure
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await service.overview(session, scope, filters, day, limit=limit, offset=offset)
        total = len(rows) if csv else await service.count_agents(session, scope, filters)
    if csv:
        name = csv_export.filename("overview", day.date, *_filter_words(filters))
        await _exported(request, "overview", len(rows), day, filters)
        return await csv_export.stream(request, name, csv_export.OVERVIEW_HEADER,
                                       _chunks(rows, csv_export.overview_rows))
    return web.json_response({"date": day.date.isoformat(), "total_agents": total, "limit": limit,
                              "offset": offset, "agents": [r.as_dict() for r in rows],
                              "totals": service.overview_totals(rows)})


async def agents_report(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    scope, filters, day, csv = await scope_of(request), filters_of(request), day_of(request), wants_csv(request)
    limit, offset = (None, 0) if csv else page_of(request)
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await service.daily(session, scope, filters, day, limit=limit, offset=offset)
        total = len(rows) if csv else await service.count_agents(session, scope, filters, day.start)
    if csv:
        name = csv_export.filename("agents", day.date, *_filter_words(filters))
        await _exported(request, "agents", len(rows), day, filters)
        return await csv_export.stream(request, name, csv_export.DAILY_HEADER,
                                       _chunks(rows, lambda part: csv_export.daily_rows(part, day.date)))
    return web.json_response({"date": day.date.isoformat(), "timezone": day.zone, "total_agents": total,
                              "limit": limit, "offset": offset, "agents": [r.as_dict() for r in rows],
                              "totals": service.day_totals(rows)})


async def stores_report(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    scope, filters, day, csv = await scope_of(request), filters_of(request), day_of(request), wants_csv(request)
    async with services.sessions() as session:
        await service.check_filters(session, scope, filters)
        rows = await store_daily(session, scope, filters, day)
    if csv:
        name = csv_export.filename("stores", day.date, *_filter_words(filters))
        await _exported(request, "stores", len(rows), day, filters)
        return await csv_export.stream(request, name, csv_export.STORE_HEADER,
                                       _once(csv_export.store_rows(rows, day.date)))
    return web.json_response({"date": day.date.isoformat(), "stores": [r.as_dict() for r in rows]})


async def _once(rows):
    yield rows


async def campaigns_list(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        return web.json_response({"campaigns": await visible_campaigns(session, scope)})


async def campaign_detail(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    campaign_id = path_int(request, "campaign_id", CampaignNotFound("no such campaign"))
    scope, csv = await scope_of(request), wants_csv(request)
    day = day_of(request) if request.query.get("date") else None
    async with services.sessions() as session:
        report = await campaign_report(session, scope, campaign_id, day)
    if csv:
        name = csv_export.filename("campaign", report.campaign_id, report.name, day.date if day else "all")
        await _exported(request, "campaign", len(csv_export.campaign_rows(report)), day,
                        service.Filters(campaign_id=report.campaign_id))
        return await csv_export.stream(request, name, csv_export.CAMPAIGN_HEADER,
                                       _once(csv_export.campaign_rows(report)))
    return web.json_response(report.as_dict())


async def my_report(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope, day = await scope_of(request), day_of(request)
    async with services.sessions() as session:
        return web.json_response(await service.me(session, scope, day))


async def nps_of(request: web.Request) -> tuple[str, object, object, dict]:
    """The NPS report the request asks for (``?by=``, ``?date=``, ``?to=``) in
    the caller's scope: (grouping, first day, last day, report)."""
    scope = await scope_of(request)
    by = nps.check_grouping(request.query.get("by", "agent"))
    first, last, start, end = day_range(request)
    async with request.app[SERVICES].sessions() as session:
        return by, first, last, await nps.nps_report(session, scope, by, start, end)


async def nps_report(request: web.Request) -> web.Response:
    _by, first, last, report = await nps_of(request)
    return web.json_response({"date": first.isoformat(), "to": last.isoformat(), **report})


LEAD = at_least("teamlead")
ROUTES = [
    ("GET", "/api/v1/reports/overview", overview_report, LEAD,
     "Per agent in scope: bucket counts, progress, today's calls (?team ?location ?store ?campaign "
     "?limit ?offset ?format=csv)"),
    ("GET", "/api/v1/reports/agents", agents_report, LEAD,
     "Daily report per agent: attempts and connected (outbound calls placed), inbound calls answered, "
     "talk time (both directions) and inbound talk, dispositions, appointments, calls placed per hour "
     "(?date=YYYY-MM-DD ?team ?location ?store ?campaign ?format=csv)"),
    ("GET", "/api/v1/reports/stores", stores_report, LEAD,
     "Daily figures of store executives summed per store (?date ?location ?store ?format=csv)"),
    ("GET", "/api/v1/reports/campaigns", campaigns_list, LEAD, "Campaigns the caller may report on"),
    ("GET", "/api/v1/reports/campaigns/{campaign_id}", campaign_detail, LEAD,
     "Per campaign: items, attempted, contacted, contact and appointment rates, dispositions, "
     "ratings and NPS (?date for one day, ?format=csv)"),
    ("GET", "/api/v1/reports/nps", nps_report, LEAD,
     "NPS (-100..100) of the post-call IVR survey by agent, team or queue, with the agents' average "
     "1-5 rating (?by=agent|team|queue ?date=YYYY-MM-DD ?to=YYYY-MM-DD)"),
    ("GET", "/api/v1/reports/me", my_report, at_least("agent"),
     "The caller's own buckets, progress and day (?date=YYYY-MM-DD)"),
]
