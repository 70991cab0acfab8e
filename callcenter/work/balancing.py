"""The arithmetic of allocation: candidate agents, their open work, choosing
the least-loaded agent per pool (a store, a language...), and writing a plan
of (item, agent) pairs with chunked UPDATEs by id (no ORM object per row). Used by callcenter/work/allocation.py."""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Integer, bindparam, func, select, update
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
    the agent read with the item}]) agent by agent (neighbouring entries of
    the agent index). A row whose agent changed meanwhile (another allocation
    got there first) is left alone. Returns the rows written (given to an
    agent, released).

    Where the driver counts the rows an executemany changed (SQLite), chunked
    executemany UPDATEs by id, the fastest there; where it does not (asyncpg
    reports no count), one UPDATE ... WHERE id IN (...) RETURNING id per new
    agent, agent read and chunk of ids."""
    if session.get_bind().dialect.supports_sane_multi_rowcount:
        return await _write_by_executemany(session, plan, now)
    return await _write_by_groups(session, plan, now)


async def _write_by_executemany(session: AsyncSession, plan: list[dict], now) -> tuple[int, int]:
    given = sorted((row for row in plan if row["b_agent"] is not None),
                   key=lambda row: (row["b_agent"], row["b_id"]))
    released = [{"b_id": r["b_id"], "b_from": r["b_from"]} for r in plan if r["b_agent"] is None]
    unchanged = (_W.c.id == bindparam("b_id")) & _W.c.agent_id.is_not_distinct_from(bindparam("b_from"))
    to_agent = update(_W).where(unchanged).values(agent_id=bindparam("b_agent"), allocated_at=now,
                                                  updated_at=now)
    to_nobody = update(_W).where(unchanged).values(agent_id=None, allocated_at=None, updated_at=now)
    written = [0, 0]
    for n, (stmt, rows) in enumerate(((to_agent, given), (to_nobody, released))):
        for start in range(0, len(rows), CHUNK):
            written[n] += (await session.execute(stmt, rows[start:start + CHUNK])).rowcount
    return written[0], written[1]


async def _write_by_groups(session: AsyncSession, plan: list[dict], now) -> tuple[int, int]:
    groups: dict[tuple, list[int]] = {}
    for row in plan:
        groups.setdefault((row["b_agent"], row["b_from"]), []).append(row["b_id"])
    written = [0, 0]
    for (agent, read), ids in sorted(groups.items(), key=lambda g: (g[0][0] is None, g[0][0] or 0, g[0][1] or 0)):
        ids.sort()
        stmt = _GIVE if agent is not None else _RELEASE
        for start in range(0, len(ids), CHUNK):
            changed = await session.execute(stmt, {"b_ids": ids[start:start + CHUNK], "b_from": read,
                                                   "b_agent": agent, "b_now": now})
            written[agent is None] += len(changed.all())
    return written[0], written[1]


# The agent read compared through coalesce (0: nobody; ids start at 1) so the
# rows are found by the ids' primary key, never by an agent index (where
# every unallocated item has agent NULL).
_UNCHANGED = (_W.c.id.in_(bindparam("b_ids", expanding=True))
              & (func.coalesce(_W.c.agent_id, 0) == func.coalesce(bindparam("b_from", type_=Integer), 0)))
_NOW = bindparam("b_now", type_=_W.c.updated_at.type)
_GIVE = (update(_W).where(_UNCHANGED).returning(_W.c.id)
         .values(agent_id=bindparam("b_agent", type_=Integer), allocated_at=_NOW, updated_at=_NOW))
_RELEASE = update(_W).where(_UNCHANGED).returning(_W.c.id).values(agent_id=None, allocated_at=None,
                                                                   updated_at=_NOW)


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
