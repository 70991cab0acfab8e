"""The arithmetic of allocation: candidate agents, their open work, choosing
the least-loaded agent per pool (a store, a language...), and writing a plan
of (item, agent) pairs with chunked UPDATEs by id (no ORM object per row).
Used by callcenter/work/allocation.py."""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import User
from callcenter.org.scope import Scope
from callcenter.work.buckets import callable_campaigns
from callcenter.work.models import BUCKETS, WorkItem

CHUNK = 5000
_W = WorkItem.__table__


@dataclass
class AllocationResult:
    allocated: int = 0
    unallocated: int = 0
    per_agent: dict[int, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"allocated": self.allocated, "unallocated": self.unallocated,
                "per_agent": {str(k): v for k, v in sorted(self.per_agent.items())},
                "reasons": dict(self.reasons)}


@dataclass
class Candidate:
    id: int
    store_id: int | None
    languages: frozenset[str]
    kind: str | None
    location_id: int | None = None


class Balancer:
    """Hands out agents from pools (a store, a language...), always the one
    with the least open work; an agent in several pools shares one load."""

    def __init__(self, loads: dict[int, int]) -> None:
        self.loads = loads
        self.pools: dict[object, list[tuple[int, int]]] = {}

    def add(self, key, agent_id: int) -> None:
        self.loads.setdefault(agent_id, 0)
        heapq.heappush(self.pools.setdefault(key, []), (self.loads[agent_id], agent_id))

    def take(self, key) -> int | None:
        heap = self.pools.get(key)
        while heap:
            load, agent_id = heap[0]
            if load != self.loads[agent_id]:  # stale: the agent got work from another pool
                heapq.heapreplace(heap, (self.loads[agent_id], agent_id))
                continue
            self.loads[agent_id] = load + 1
            heapq.heapreplace(heap, (load + 1, agent_id))
            return agent_id
        return None


def languages_of(text: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (text or "").split(",") if part.strip())


async def active_agents(session: AsyncSession, scope: Scope, *clauses) -> list[Candidate]:
    """Active agents (role 'agent') in scope, narrowed by ``clauses``."""
    rows = await session.execute(
        select(User.id, User.store_id, User.languages, User.agent_kind, User.location_id)
        .where(User.active.is_(True), User.role == "agent", scope.users(), *clauses).order_by(User.id))
    return [Candidate(r.id, r.store_id, languages_of(r.languages), r.agent_kind, r.location_id) for r in rows]


async def open_loads(session: AsyncSession, agent_ids, today: dt.date) -> dict[int, int]:
    """Open items per agent in callable campaigns (the work they have now)."""
    ids = list(agent_ids)
    loads = dict.fromkeys(ids, 0)
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(WorkItem.agent_id, func.count())
            .where(WorkItem.agent_id.in_(ids[start:start + CHUNK]), WorkItem.bucket.in_(BUCKETS),
                   WorkItem.campaign_id.in_(callable_campaigns(today)))
            .group_by(WorkItem.agent_id))
        loads.update({agent_id: n for agent_id, n in rows})
    return loads


async def write_plan(session: AsyncSession, plan: list[dict], now: dt.datetime) -> tuple[int, int]:
    """Write ``plan`` ([{"b_id": item, "b_agent": new agent or None, "b_from":
    the agent read with the item}]): one chunked UPDATE ... WHERE id IN (...)
    per (new agent, agent read) pair, so the rows of an agent stay together
    (neighbouring entries of the agent index). A row whose agent changed
    meanwhile (another allocation got there first) is left alone. Returns the
    rows written (given to an agent, released).

    Not an executemany: its rowcount is the sum of the rows matched on SQLite
    but -1 on PostgreSQL (asyncpg), and the counts are what callers report."""
    pairs: dict[tuple, list[int]] = {}
    for row in sorted(plan, key=lambda row: (row["b_agent"] is None, row["b_agent"] or 0, row["b_id"])):
        pairs.setdefault((row["b_agent"], row["b_from"]), []).append(row["b_id"])
    written = [0, 0]
    for (agent, read), ids in pairs.items():
        values = (dict(agent_id=agent, allocated_at=now, updated_at=now) if agent is not None
                  else dict(agent_id=None, allocated_at=None, updated_at=now))
        for start in range(0, len(ids), CHUNK):
            stmt = (update(_W).where(_W.c.id.in_(ids[start:start + CHUNK]),
                                     _W.c.agent_id.is_not_distinct_from(read)).values(**values))
            written[agent is None] += (await session.execute(stmt)).rowcount
    return written[0], written[1]


def assign(items, choose, result: AllocationResult, left: list | None = None) -> list[dict]:
    """Run ``choose(item) -> (agent id | None, reason)`` over items; count.
    The items no one took are appended to ``left`` when given."""
    plan, per_agent, reasons = [], Counter(), Counter()
    for item in items:
        agent_id, reason = choose(item)
        if agent_id is None:
            reasons[reason] += 1
            if left is not None:
                left.append(item)
        else:
            plan.append({"b_id": item.id, "b_agent": agent_id, "b_from": item.agent_id})
            per_agent[agent_id] += 1
    result.allocated += len(plan)
    result.unallocated += sum(reasons.values())
    for agent_id, n in per_agent.items():
        result.per_agent[agent_id] = result.per_agent.get(agent_id, 0) + n
    for reason, n in reasons.items():
        result.reasons[reason] = result.reasons.get(reason, 0) + n
    return plan


def store_chooser(agents: list[Candidate], loads: dict[int, int]):
    balancer = Balancer(loads)
    for agent in agents:
        if agent.kind == "store" and agent.store_id is not None:
            balancer.add(agent.store_id, agent.id)

    def choose(item):
        if item.store_id is None:
            return None, "no_store"
        agent_id = balancer.take(item.store_id)
        return (agent_id, None) if agent_id else (None, "no_active_executive")
    return choose


def language_chooser(agents: list[Candidate], loads: dict[int, int]):
    balancer = Balancer(loads)
    for agent in agents:
        if agent.kind == "center":
            for language in agent.languages:
                balancer.add(language, agent.id)

    def choose(item):
        language = (item.language or "").strip().lower()
        if not language:
            return None, "no_language"
        agent_id = balancer.take(language)
        return (agent_id, None) if agent_id else (None, "no_agent_for_language")
    return choose


def round_robin_chooser(agents: list[Candidate], loads: dict[int, int]):
    turn = itertools.cycle(sorted((a.id for a in agents), key=lambda i: (loads.get(i, 0), i)))
    return lambda _item: (next(turn), None)


def balanced_chooser(agents: list[Candidate], loads: dict[int, int]):
    balancer = Balancer(loads)
    for agent in agents:
        balancer.add("all", agent.id)
    return lambda _item: (balancer.take("all"), None)


def skip_closed(choose, today_ids: set[int] | None):
    """Skip closed items and (when known) items of campaigns no longer callable."""
    def wrapped(item):
        if item.bucket not in BUCKETS:
            return None, "closed"
        if today_ids is not None and item.campaign_id not in today_ids:
            return None, "campaign_closed"
        return choose(item)
    return wrapped
