"""Reports for team leads and managers: per agent in the caller's scope, the
five bucket counts and progress (the overview), and a day's calls, talk time,
dispositions and appointments (the daily report).

Attempts, connected calls and the contact rate count outbound calls only;
answered inbound calls and their talk time are figures of their own, and the
talk time is both (:mod:`callcenter.reports.call_counts`).

Every query is narrowed by the caller's :class:`~callcenter.org.scope.Scope`
and grouped in SQL over indexed columns: one grouped query per figure for a
page of agents, never one query per agent. Per-campaign figures are in
:mod:`callcenter.reports.campaigns`, per-store ones in
:mod:`callcenter.reports.stores`."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Call, User
from callcenter.org.scope import Scope
from callcenter.period import Day, hour_key, local_hour
from callcenter.reports import exceptions
from callcenter.reports.call_counts import inbound_answered, inbound_talk, placed, placed_connected, talk
from callcenter.reports.selection import (
    MAX_PAGE, WIDE, Agent, Filters, Members, agents, agents_clause, check_filters, count_agents, members,
    visible_campaign,
)
from callcenter.work.models import BUCKETS, Appointment, Disposition, WorkItem

log = logging.getLogger(__name__)
__all__ = ["MAX_PAGE", "WIDE", "Agent", "AgentDay", "AgentOverview", "Filters", "Members", "agents",
           "agents_clause", "check_filters", "count_agents", "daily", "daily_for", "day_totals", "me",
           "members", "overview", "overview_for", "overview_totals", "visible_campaign"]


@dataclass
class AgentOverview:
    agent: Agent
    buckets: dict = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    closed: int = 0
    closed_today: int = 0
    calls_today: int = 0        # outbound calls placed today
    connected_today: int = 0    # of them, the customer answered

    @property
    def open_items(self) -> int:
        return sum(self.buckets.values())

    @property
    def allocated(self) -> int:
        return self.open_items + self.closed

    @property
    def progress(self) -> float | None:
        """Share of the agent's allocated items that are closed or booked."""
        if not self.allocated:
            return None
        return round((self.closed + self.buckets["appointment"]) / self.allocated, 4)

    def as_dict(self) -> dict:
        return {"agent": asdict(self.agent), "buckets": dict(self.buckets), "open": self.open_items,
                "closed": self.closed, "allocated": self.allocated, "progress": self.progress,
                "closed_today": self.closed_today, "calls_today": self.calls_today,
                "connected_today": self.connected_today}


@dataclass
class AgentDay:
    agent: Agent
    attempts: int = 0                   # outbound calls placed
    connected: int = 0                  # outbound calls the customer answered
    talk_seconds: float = 0.0           # outbound and inbound talk
    inbound_answered: int = 0           # inbound calls the agent answered
    inbound_talk_seconds: float = 0.0
    dispositions: dict = field(default_factory=dict)   # outcome -> count
    appointments: int = 0
    hours: dict = field(default_factory=dict)           # local hour (0-23) -> calls placed

    def as_dict(self) -> dict:
        return {"agent": asdict(self.agent), "attempts": self.attempts, "connected": self.connected,
                "talk_seconds": round(self.talk_seconds, 1), "inbound_answered": self.inbound_answered,
                "inbound_talk_seconds": round(self.inbound_talk_seconds, 1),
                "dispositions": dict(self.dispositions),
                "appointments": self.appointments,
                "hours": {str(h): n for h, n in sorted(self.hours.items())}}


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name


def _campaign(column, filters: Filters):
    return [column == filters.campaign_id] if filters.campaign_id is not None else []


async def overview(session: AsyncSession, scope: Scope, filters: Filters, day: Day, *,
                   limit: int | None = None, offset: int = 0) -> list[AgentOverview]:
    """Bucket counts, progress and today's activity per agent (a page of them)."""
    page = await agents(session, scope, filters, limit=limit, offset=offset)
    everyone = scope if limit is None and offset == 0 else None
    return await overview_for(session, page, day, filters, members(page, everyone, filters))


async def overview_for(session: AsyncSession, page: list[Agent], day: Day, filters: Filters = Filters(),
                       who: Members | None = None) -> list[AgentOverview]:
    rows = {a.id: AgentOverview(agent=a) for a in page}
    if not rows:
        return []
    who = who or members(page)
    buckets = (select(WorkItem.agent_id, WorkItem.bucket, func.count())
               .where(who.of(WorkItem.agent_id), *_campaign(WorkItem.campaign_id, filters))
               .group_by(WorkItem.agent_id, WorkItem.bucket))
    for agent_id, bucket, n in (await session.execute(buckets)).all():
        if bucket == "closed":
            rows[agent_id].closed = n
        elif bucket in BUCKETS:
            rows[agent_id].buckets[bucket] = n
    closed = (select(Disposition.agent_id, func.count())
              .where(who.on_day(Disposition.agent_id), Disposition.created_at >= day.start,
                     Disposition.created_at < day.end, Disposition.bucket_after == "closed",
                     *_campaign(Disposition.campaign_id, filters))
              .group_by(Disposition.agent_id))
    for agent_id, n in (await session.execute(closed)).all():
        rows[agent_id].closed_today = n
    calls = (select(Call.agent_id, placed(), placed_connected())
             .where(who.on_day(Call.agent_id), Call.requested_at >= day.start, Call.requested_at < day.end,
                    *_campaign(Call.campaign_id, filters))
             .group_by(Call.agent_id))
    for agent_id, n, connected in (await session.execute(calls)).all():
        rows[agent_id].calls_today, rows[agent_id].connected_today = n, connected
    return list(rows.values())


async def daily(session: AsyncSession, scope: Scope, filters: Filters, day: Day, *,
                limit: int | None = None, offset: int = 0) -> list[AgentDay]:
    """Per agent, the day's attempts (outbound calls placed), connected calls,
    inbound calls answered, talk time (both directions and inbound alone),
    dispositions by outcome, appointments booked and calls placed per local hour. Agents who left
    after the day began are still listed."""
    page = await agents(session, scope, filters, limit=limit, offset=offset, since=day.start)
    everyone = scope if limit is None and offset == 0 else None
    return await daily_for(session, page, day, filters, members(page, everyone, filters, since=day.start))


async def daily_for(session: AsyncSession, page: list[Agent], day: Day, filters: Filters = Filters(),
                    who: Members | None = None) -> list[AgentDay]:
    rows = {a.id: AgentDay(agent=a) for a in page}
    if not rows:
        return []
    who, dialect = who or members(page), _dialect(session)
    in_day = (Call.requested_at >= day.start, Call.requested_at < day.end)
    key = hour_key(Call.requested_at, day, dialect).label("hour_key")
    calls = (select(Call.agent_id, key, placed(), placed_connected(),
                    talk(), inbound_answered(), inbound_talk())
             .where(who.on_day(Call.agent_id), *in_day, *_campaign(Call.campaign_id, filters))
             .group_by(Call.agent_id, key))
    for agent_id, k, n, connected, seconds, inbound, inbound_seconds in (await session.execute(calls)).all():
        row = rows[agent_id]
        if n:
            hour = local_hour(k, day, dialect)
            row.hours[hour] = row.hours.get(hour, 0) + n
        row.attempts += n
        row.connected += connected
        row.talk_seconds += float(seconds or 0)
        row.inbound_answered += inbound
        row.inbound_talk_seconds += float(inbound_seconds or 0)
    outcomes = (select(Disposition.agent_id, Disposition.outcome, func.count())
                .where(who.on_day(Disposition.agent_id), Disposition.created_at >= day.start,
                       Disposition.created_at < day.end, *_campaign(Disposition.campaign_id, filters))
                .group_by(Disposition.agent_id, Disposition.outcome))
    for agent_id, outcome, n in (await session.execute(outcomes)).all():
        rows[agent_id].dispositions[outcome] = n
    booked = (select(Appointment.agent_id, func.count())
              .where(who.of(Appointment.agent_id), Appointment.created_at >= day.start,
                     Appointment.created_at < day.end)
              .group_by(Appointment.agent_id))
    if filters.campaign_id is not None:
        booked = booked.join(WorkItem, WorkItem.id == Appointment.work_item_id).where(
            WorkItem.campaign_id == filters.campaign_id)
    for agent_id, n in (await session.execute(booked)).all():
        rows[agent_id].appointments = n
    return list(rows.values())


def day_totals(rows: list[AgentDay]) -> dict:
    """The team's (or location's) sum of a daily report."""
    outcomes: dict = defaultdict(int)
    hours: dict = defaultdict(int)
    for row in rows:
        for outcome, n in row.dispositions.items():
            outcomes[outcome] += n
        for hour, n in row.hours.items():
            hours[hour] += n
    return {"agents": len(rows), "attempts": sum(r.attempts for r in rows),
            "connected": sum(r.connected for r in rows),
            "talk_seconds": round(sum(r.talk_seconds for r in rows), 1),
            "inbound_answered": sum(r.inbound_answered for r in rows),
            "inbound_talk_seconds": round(sum(r.inbound_talk_seconds for r in rows), 1),
            "dispositions": dict(outcomes), "appointments": sum(r.appointments for r in rows),
            "hours": {str(h): n for h, n in sorted(hours.items())}}


def overview_totals(rows: list[AgentOverview]) -> dict:
    buckets = {b: sum(r.buckets[b] for r in rows) for b in BUCKETS}
    closed = sum(r.closed for r in rows)
    allocated = sum(buckets.values()) + closed
    return {"agents": len(rows), "buckets": buckets, "open": sum(buckets.values()), "closed": closed,
            "allocated": allocated,
            "progress": round((closed + buckets["appointment"]) / allocated, 4) if allocated else None,
            "closed_today": sum(r.closed_today for r in rows),
            "calls_today": sum(r.calls_today for r in rows),
            "connected_today": sum(r.connected_today for r in rows)}


async def me(session: AsyncSession, scope: Scope, day: Day) -> dict:
    """The caller's own figures: their buckets and progress, and the day."""
    if scope.user_id is None:
        raise exceptions.NotFoundInScope("this token has no user behind it")
    user = await session.get(User, scope.user_id)
    agent = Agent(user.id, user.name, user.display_name, user.employee_id, user.team_id, user.store_id)
    summary = (await overview_for(session, [agent], day))[0]
    today = (await daily_for(session, [agent], day))[0]
    return {"date": day.date.isoformat(), "overview": summary.as_dict(), "day": today.as_dict()}
