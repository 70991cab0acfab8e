"""The supervisor's board, read once: the agents in the viewer's scope with
their state, the calls in progress, the queues (the queue board's own views)
and the trunks. The page loads this snapshot (``GET /api/v1/board``, also at
every reconnect of its socket) and then follows the live messages; nothing
here runs per live event.

A handful of queries per snapshot, whatever the number of agents: the agents,
their open queue sessions, their open pauses, the live calls and the calls
still owing a disposition (one query), and, with a campaign filter, the
campaign's agents."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.board import view
from callcenter.board.exceptions import BoardFilterInvalid
from callcenter.campaigns.models import Campaign
from callcenter.clock import utc_iso
from callcenter.customers.privacy import mobile_for
from callcenter.models import Call, Trunk, User
from callcenter.org.scope import Scope
from callcenter.queues.models import AgentPause, Queue, QueueSession
from callcenter.work.models import WorkItem

LIVE_WINDOW = dt.timedelta(hours=3)        # as the live socket's hello: older rows are not live
OWED_WINDOW = dt.timedelta(minutes=30)     # a disposition owed longer is the sweeper's, not the board's
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_QUEUE = re.compile(r"^[a-z0-9-]{1,40}$")


@dataclass(frozen=True)
class Filters:
    team: int | None = None
    store: int | None = None
    queue: str | None = None
    campaign: int | None = None
    language: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _id(query, key: str) -> int | None:
    raw = (query.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BoardFilterInvalid(f"the {key} filter must be a whole number id (got {raw[:20]!r})", field=key)
    return int(raw)


def parse_filters(query) -> Filters:
    """The board's filters from query parameters (``team``, ``store``,
    ``campaign``: ids; ``queue``: a queue's name; ``language``: an ISO 639 code)."""
    queue = (query.get("queue") or "").strip() or None
    language = (query.get("language") or "").strip().lower() or None
    if queue is not None and not _QUEUE.match(queue):
        raise BoardFilterInvalid("the queue filter must be a queue's name (a-z, 0-9, -)", field="queue")
    if language is not None and not _LANGUAGE.match(language):
        raise BoardFilterInvalid("the language filter must be a language code such as en or hi", field="language")
    return Filters(team=_id(query, "team"), store=_id(query, "store"), queue=queue,
                   campaign=_id(query, "campaign"), language=language)


async def _agents(session: AsyncSession, scope: Scope, filters: Filters) -> list:
    query = (select(User.id, User.name, User.display_name, User.team_id, User.store_id, User.languages)
             .where(User.role == "agent", User.active.is_(True), scope.users()).order_by(User.name))
    if filters.team is not None:
        query = query.where(User.team_id == filters.team)
    if filters.store is not None:
        query = query.where(User.store_id == filters.store)
    if filters.language is not None:
        query = query.where(or_(User.languages == filters.language,
                                User.languages.like(f"{filters.language},%"),
                                User.languages.like(f"%,{filters.language}"),
                                User.languages.like(f"%,{filters.language},%")))
    if filters.campaign is not None:
        query = query.where(User.id.in_(select(WorkItem.agent_id).where(WorkItem.campaign_id == filters.campaign)))
    return (await session.execute(query)).all()


async def _sessions_and_pauses(session: AsyncSession, scope: Scope) -> tuple[dict, dict]:
    in_scope = scope.agent_ids()
    queues: dict[int, list[str]] = {}
    rows = await session.execute(select(QueueSession.agent_id, Queue.name).join(Queue, Queue.id == QueueSession.queue_id)
                                 .where(QueueSession.logged_out_at.is_(None), QueueSession.agent_id.in_(in_scope))
                                 .order_by(Queue.name))
    for agent_id, name in rows.all():
        queues.setdefault(agent_id, []).append(name)
    pauses = {}
    rows = await session.execute(select(AgentPause.agent_id, AgentPause.reason, AgentPause.started_at)
                                 .where(AgentPause.ended_at.is_(None), AgentPause.agent_id.in_(in_scope))
                                 .order_by(AgentPause.id))
    for agent_id, reason, started_at in rows.all():
        pauses[agent_id] = {"reason": reason, "since": utc_iso(started_at)}
    return queues, pauses


async def _calls(session: AsyncSession, scope: Scope, now: dt.datetime) -> list:
    owed = and_(Call.state == "ended", Call.work_item_id.is_not(None), Call.disposed_at.is_(None),
                Call.ended_at >= now - OWED_WINDOW)
    query = (select(Call, User.name, Trunk.name, Campaign.name)
             .join(User, Call.agent_id == User.id).join(Trunk, Call.trunk_id == Trunk.id, isouter=True)
             .join(Campaign, Call.campaign_id == Campaign.id, isouter=True)
             .where(scope.calls(), Call.requested_at >= now - LIVE_WINDOW, or_(Call.state != "ended", owed))
             .order_by(Call.requested_at))
    return (await session.execute(query)).all()


@dataclass
class Live:
    """What the board reads of the live trackers (None when not running)."""
    calls: dict            # call id -> TrackedCall (callcenter.calls.tracker)
    queues: object | None  # callcenter.queues.live.QueueLive
    settings: object
    long_call_seconds: int
    monitors: list = field(default_factory=list)  # the monitor feature's session views in scope (none without it)


async def snapshot(session: AsyncSession, scope: Scope, filters: Filters, live: Live,
                   queue_names: list[str], now: dt.datetime | None = None) -> dict:
    """The board in ``scope`` (see the module's doc); ``queue_names``: the
    queues the viewer sees (the queue board's list)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    agents = await _agents(session, scope, filters)
    queues_of, pauses = await _sessions_and_pauses(session, scope)
    live_calls: dict[int, dict] = {}
    owed: dict[int, dict] = {}
    calls = []
    monitors = _monitors_by_call(live.monitors)
    for call, agent_name, trunk, campaign in await _calls(session, scope, now):
        tracked = live.calls.get(call.id)
        number = mobile_for(live.settings, scope.role, call.number)
        row = view.call_row(call, agent_name, trunk, campaign, number, tracked, live.long_call_seconds)
        row["monitors"] = monitors.get(call.id, [])
        if row["state"] == "ended":
            if call.work_item_id is not None and call.disposed_at is None:
                owed[call.agent_id] = row
            continue
        if filters.campaign is not None and call.campaign_id != filters.campaign:
            continue
        calls.append(row)
        live_calls[call.agent_id] = row
    member_states = _member_states(live.queues)
    if filters.queue is not None:
        agents = [a for a in agents if filters.queue in queues_of.get(a[0], ())]
    none = set()
    tiles = [view.agent_tile(a, live_calls.get(a[0]), owed.get(a[0]), pauses.get(a[0]), queues_of.get(a[0], []),
                             member_states.get(a[1], none)) for a in agents]
    shown = {a[0] for a in agents}
    calls = [c for c in calls if c["agent_id"] in shown]
    names = [n for n in queue_names if filters.queue in (None, n)]
    return {"now": utc_iso(now), "filters": filters.as_dict(), "counts": view.counts(tiles), "agents": tiles,
            "calls": calls, "long_call_seconds": live.long_call_seconds,
            "queues": [_counts_only(v) for v in live.queues.views(names)] if live.queues is not None else []}


def _monitors_by_call(sessions: list[dict]) -> dict[str, list[dict]]:
    """Call id -> who listens in on it: {id, supervisor, mode, state} of each session going on."""
    out: dict[str, list[dict]] = {}
    for s in sessions:
        if s.get("state") != "ended":
            out.setdefault(s["call_id"], []).append(view.monitor_badge(s))
    return out


def _counts_only(queue_view: dict) -> dict:
    """A queue board view without its members and callers (the board shows the
    agents itself; the live ``queue`` messages carry them)."""
    return {k: v for k, v in queue_view.items() if k not in ("members", "callers")}


def _member_states(queues) -> dict[str, set[str]]:
    """Agent name -> their states in the queues they are members of (the queue tracker's)."""
    if queues is None:
        return {}
    tracker = queues.tracker
    now = tracker.clock()
    out: dict[str, set[str]] = {}
    for q in tracker.queues.values():
        for member in q.members.values():
            out.setdefault(member.name, set()).add(member.state(now))
    return out
