"""Allocation: who calls which customer.

Four ways to hand a campaign's unallocated open items to agents:
- ``store``: each item to an active executive (agent_kind 'store') of the
  customer's store, the one with the least open work first;
- ``language``: to call-centre agents (agent_kind 'center') who speak the
  customer's language, balanced the same way;
- ``round_robin``: in turn over the active agents of a team or a list;
- ``manual``: chosen items to one agent.
And re-allocation: one agent's open items to others, keeping bucket, times
and attempts. Everything stays inside the caller's scope. Each item that
changes hands leaves its own audit row (``work_item.assign`` on the item:
agent before and after, why), so the item's history finds it; the operation
leaves one more with its counts and reasons, on the campaign (or, for chosen
items outside a campaign, the agent given them) or on the agent whose work
moved. Built for 100,000 items at once: the plan is made in memory and
written with chunked UPDATEs by id (balancing.write_plan), the audit rows in batches."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns.models import Campaign
from callcenter.models import User, utcnow
from callcenter.org.models import Team
from callcenter.org.scope import Scope
from callcenter.work.balancing import (CHUNK, AllocationResult, Candidate, active_agents, assign,
                                       balanced_chooser, language_chooser, open_loads,
                                       round_robin_chooser, skip_closed, store_chooser, write_plan)
from callcenter.work.buckets import callable_campaigns, local_today
from callcenter.work.exceptions import (AgentNotFound, CampaignClosed, CampaignNotFound,
                                        InvalidAllocation, TeamNotFound, WorkItemNotFound)
from callcenter.work.models import BUCKETS, WorkItem
from callcenter.work.scope import items_in

__all__ = ["AllocationResult", "MODES", "REALLOCATE_MODES", "allocate", "reallocate",
           "reallocate_result", "reallocate_from_agents", "reallocate_from_agents_result"]
log = logging.getLogger(__name__)
MODES = ("store", "language", "round_robin", "manual")
REALLOCATE_MODES = ("store", "language", "round_robin", "balanced")
MAX_ITEM_IDS = 10_000
_ITEM_COLS = (WorkItem.id, WorkItem.store_id, WorkItem.language, WorkItem.bucket,
              WorkItem.campaign_id, WorkItem.agent_id)


async def _campaign_in_scope(session: AsyncSession, scope: Scope, campaign_id: int,
                             today: dt.date) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    visible = campaign is not None and (
        scope.sees_all or (scope.role == "manager" and scope.location_id is not None
                           and campaign.location_id == scope.location_id))
    if not visible:
        raise CampaignNotFound("no such campaign", campaign_id=campaign_id)
    if campaign.status == "closed" or campaign.expires_on < today:
        raise CampaignClosed("the campaign has expired or is closed", campaign_id=campaign_id)
    return campaign


async def _items(session: AsyncSession, scope: Scope, campaign_id: int | None,
                 item_ids: list[int] | None):
    """(id, store_id, language, bucket) of the items to allocate: the campaign's
    unallocated open items, or exactly ``item_ids`` (each must be in scope)."""
    cols = _ITEM_COLS
    if item_ids is None:
        query = select(*cols).where(WorkItem.campaign_id == campaign_id, WorkItem.agent_id.is_(None),
                                    WorkItem.bucket.in_(BUCKETS)).order_by(WorkItem.id)
        return (await session.execute(query)).all()
    ids = sorted(set(item_ids))
    if len(ids) > MAX_ITEM_IDS:
        raise InvalidAllocation(f"at most {MAX_ITEM_IDS} items at once", field="item_ids")
    found = []
    for start in range(0, len(ids), CHUNK):
        query = select(*cols).where(WorkItem.id.in_(ids[start:start + CHUNK]), items_in(scope))
        if campaign_id is not None:
            query = query.where(WorkItem.campaign_id == campaign_id)
        found.extend((await session.execute(query.order_by(WorkItem.id))).all())
    missing = sorted(set(ids) - {row.id for row in found})
    if missing:
        raise WorkItemNotFound("no such work item", item_ids=missing[:20])
    return found


async def _chosen_agents(session: AsyncSession, scope: Scope, *, team_id=None, agent_ids=None,
                         exclude=()) -> list[Candidate]:
    """The agents of ``team_id`` or exactly ``agent_ids``, each active and in scope."""
    if team_id is not None:
        team = await session.get(Team, team_id)
        in_scope = team is not None and (
            scope.sees_all or (scope.role == "manager" and team.location_id == scope.location_id)
            or (scope.role == "teamlead" and scope.team_id == team_id))
        if not in_scope:
            raise TeamNotFound("no such team", team_id=team_id)
        members = await active_agents(session, scope, User.team_id == team_id)
        return [a for a in members if a.id not in exclude]
    if not agent_ids:
        raise InvalidAllocation("name a team or the agents", field="agent_ids")
    wanted = sorted(set(agent_ids))
    if set(wanted) & set(exclude):
        raise InvalidAllocation("an agent cannot take their own work", field="agent_ids")
    agents = await active_agents(session, scope, User.id.in_(wanted))
    missing = sorted(set(wanted) - {a.id for a in agents})
    if missing:
        raise AgentNotFound("no such active agent", agent_ids=missing[:20])
    return agents


async def _candidates(session: AsyncSession, scope: Scope, how: str, team_id, agent_ids):
    if how == "store":
        return await active_agents(session, scope, User.agent_kind == "store", User.store_id.isnot(None))
    if how == "language" and team_id is None and not agent_ids:
        return await active_agents(session, scope, User.agent_kind == "center")
    agents = await _chosen_agents(session, scope, team_id=team_id, agent_ids=agent_ids)
    if not agents:
        raise AgentNotFound("the team has no active agent", team_id=team_id)
    return agents


async def allocate(session: AsyncSession, scope: Scope, campaign_id: int | None, how: str, *,
                   actor: str, team_id: int | None = None, agent_ids: list[int] | None = None,
                   item_ids: list[int] | None = None, agent_id: int | None = None,
                   today: dt.date | None = None, timezone: str = "Asia/Kolkata") -> AllocationResult:
    """Allocate ``campaign_id``'s unallocated open items (or ``item_ids``) ``how``
    ('store', 'language', 'round_robin' with ``team_id``/``agent_ids``, 'manual'
    with ``item_ids`` and ``agent_id``; 'manual' may leave ``campaign_id`` None)."""
    if how not in MODES:
        raise InvalidAllocation(f"how must be one of {', '.join(MODES)}", field="how")
    today = today or local_today(timezone)
    now = utcnow()
    if how == "manual":
        if not item_ids or agent_id is None:
            raise InvalidAllocation("manual allocation needs item_ids and agent_id", field="item_ids")
        if campaign_id is not None:
            await _campaign_in_scope(session, scope, campaign_id, today)
        agents = await _chosen_agents(session, scope, agent_ids=[agent_id])
        choose = balanced_chooser(agents, {})
    else:
        await _campaign_in_scope(session, scope, campaign_id, today)
        agents = await _candidates(session, scope, how, team_id, agent_ids)
        loads = await open_loads(session, [a.id for a in agents], today)
        choose = {"store": store_chooser, "language": language_chooser,
                  "round_robin": round_robin_chooser}[how](agents, loads)
    items = await _items(session, scope, campaign_id, item_ids)
    callable_ids = None
    if item_ids is not None:
        callable_ids = set((await session.scalars(callable_campaigns(today))).all())
    result = AllocationResult()
    plan = assign(items, skip_closed(choose, callable_ids), result)
    _audit_items(session, actor, await _write(session, plan, result, now), f"allocation ({how})")
    on = ("campaign", campaign_id) if campaign_id else ("user", agent_id)  # chosen items: the agent given them
    audit.record(session, actor, "work.allocate", *on,
                 how=how, allocated=result.allocated, unallocated=result.unallocated,
                 agents=len(result.per_agent), reasons=result.reasons, team_id=team_id,
                 agent_id=agent_id, item_ids=sorted(item_ids)[:200] if item_ids else None)
    log.info("allocated %d items of campaign %s %s (%d left)", result.allocated, campaign_id, how,
             result.unallocated)
    return result


async def _write(session: AsyncSession, plan: list[dict], result: AllocationResult, now) -> list[dict]:
    """Write the plan; items another allocation took meanwhile are not counted.
    The plan's rows written."""
    given, released = await write_plan(session, plan, now)
    if given < result.allocated:
        lost = result.allocated - given
        log.warning("%d items changed hands during the allocation; left to the other one", lost)
        result.reasons["changed_meanwhile"] = result.reasons.get("changed_meanwhile", 0) + lost
        result.allocated = max(0, result.allocated - lost)
    if given + released == len(plan):
        return plan
    ids, holders = [row["b_id"] for row in plan], {}
    for start in range(0, len(ids), CHUNK):  # rare: which ones did the other allocation take?
        holders.update((await session.execute(select(WorkItem.id, WorkItem.agent_id)
                                              .where(WorkItem.id.in_(ids[start:start + CHUNK])))).all())
    return [row for row in plan if holders.get(row["b_id"], row["b_from"]) == row["b_agent"]]


def _audit_items(session: AsyncSession, actor: str, written: list[dict], reason: str) -> None:
    """One row per item that changed hands, on the item."""
    audit.record_many(session, actor, (("work_item.assign", "work_item", row["b_id"],
                                        {"agent_before": row["b_from"], "agent_after": row["b_agent"],
                                         "reason": reason}) for row in written))


async def _source_agent(session: AsyncSession, scope: Scope, agent_id: int):
    row = (await session.execute(select(User.id, User.agent_kind)
                                 .where(User.id == agent_id, scope.users()))).first()
    if row is None:
        raise AgentNotFound("no such agent", agent_id=agent_id)
    return row


async def reallocate_result(session: AsyncSession, scope: Scope, from_agent_id: int, how: str, *,
                            actor: str, to_agent_ids: list[int] | None = None,
                            today: dt.date | None = None,
                            timezone: str = "Asia/Kolkata") -> AllocationResult:
    """Move ``from_agent_id``'s open items to others, keeping bucket, times and
    attempts: 'store' (the active executives of each customer's store),
    'language' (call-centre agents speaking the customer's language), or over
    ``to_agent_ids`` ('round_robin' in turn, 'balanced' least work first).
    Items no one can take stay where they are (counted in ``unallocated``)."""
    if how not in REALLOCATE_MODES:
        raise InvalidAllocation(f"how must be one of {', '.join(REALLOCATE_MODES)}", field="how")
    await _source_agent(session, scope, from_agent_id)
    today = today or local_today(timezone)
    others = User.id != from_agent_id
    if how == "store":
        agents = await active_agents(session, scope, others, User.agent_kind == "store",
                                     User.store_id.isnot(None))
    elif how == "language":
        agents = await active_agents(session, scope, others, User.agent_kind == "center")
    else:
        agents = await _chosen_agents(session, scope, agent_ids=to_agent_ids, exclude={from_agent_id})
    loads = await open_loads(session, [a.id for a in agents], today)
    choose = {"store": store_chooser, "language": language_chooser, "round_robin": round_robin_chooser,
              "balanced": balanced_chooser}[how](agents, loads)
    items = (await session.execute(
        select(*_ITEM_COLS).where(WorkItem.agent_id == from_agent_id, WorkItem.bucket.in_(BUCKETS),
                                  items_in(scope)).order_by(WorkItem.id))).all()
    result = AllocationResult()
    _audit_items(session, actor, await _write(session, assign(items, choose, result), result, utcnow()),
                 f"re-allocation ({how})")
    audit.record(session, actor, "work.reallocate", "user", from_agent_id, how=how,
                 moved=result.allocated, stayed=result.unallocated, reasons=result.reasons,
                 to_agent_ids=sorted(to_agent_ids)[:200] if to_agent_ids else None)
    return result


async def reallocate(session: AsyncSession, scope: Scope, from_agent_id: int, how: str, *,
                     actor: str, to_agent_ids: list[int] | None = None, **kwargs) -> int:
    """``reallocate_result`` answering only how many items moved."""
    return (await reallocate_result(session, scope, from_agent_id, how, actor=actor,
                                    to_agent_ids=to_agent_ids, **kwargs)).allocated


async def reallocate_from_agents_result(session: AsyncSession, agent_ids, *, actor: str,
                                        today: dt.date | None = None,
                                        timezone: str = "Asia/Kolkata") -> AllocationResult:
    """The open items of agents who left or moved: an executive's go store-wise
    to the active executives of each customer's store, a call-centre agent's
    language-wise to the active call-centre agents of the same location; items
    no one can take become unallocated (``unallocated``, with reasons)."""
    gone = sorted(set(agent_ids))
    result = AllocationResult()
    if not gone:
        return result
    everyone = Scope(role="admin")
    today = today or local_today(timezone)
    kinds, items = {}, []
    for start in range(0, len(gone), CHUNK):
        chunk = gone[start:start + CHUNK]
        rows = await session.execute(select(User.id, User.agent_kind, User.location_id)
                                     .where(User.id.in_(chunk)))
        kinds.update({r.id: (r.agent_kind, r.location_id) for r in rows})
        items.extend((await session.execute(
            select(*_ITEM_COLS).where(WorkItem.agent_id.in_(chunk), WorkItem.bucket.in_(BUCKETS))
            .order_by(WorkItem.id))).all())
    if not items:
        return result
    agents = await active_agents(session, everyone, User.id.notin_(gone))
    loads = await open_loads(session, [a.id for a in agents], today)
    by_store = store_chooser(agents, loads)
    by_language, unplaced = {}, Counter()

    def choose(item):
        kind, location_id = kinds.get(item.agent_id, (None, None))
        if kind != "center":
            agent_id, reason = by_store(item)
        else:
            if location_id not in by_language:
                by_language[location_id] = language_chooser(
                    [a for a in agents if a.location_id == location_id], loads)
            agent_id, reason = by_language[location_id](item)
        if agent_id is None:
            unplaced[item.agent_id, reason] += 1
        return agent_id, reason

    left: list = []
    plan = assign(items, choose, result, left)
    plan.extend({"b_id": item.id, "b_agent": None, "b_from": item.agent_id} for item in left)
    _audit_handover(session, actor, await _write(session, plan, result, utcnow()), unplaced)
    log.info("head count: %d items moved from %d agents, %d left unallocated",
             result.allocated, len(gone), result.unallocated)
    return result


def _audit_handover(session: AsyncSession, actor: str, written: list[dict], unplaced: Counter) -> None:
    """The items' rows, and one per agent who left: how many of their items
    moved, how many no one could take and why."""
    _audit_items(session, actor, written, "head count: the agent left or moved")
    moved = Counter(row["b_from"] for row in written if row["b_agent"] is not None)
    left_alone = Counter(row["b_from"] for row in written if row["b_agent"] is None)
    audit.record_many(session, actor, (("work.reallocate", "user", agent_id, {
        "how": "headcount", "moved": moved[agent_id], "unallocated": left_alone[agent_id],
        "reasons": {reason: n for (whose, reason), n in sorted(unplaced.items()) if whose == agent_id}})
        for agent_id in sorted(set(moved) | set(left_alone))))


async def reallocate_from_agents(session: AsyncSession, agent_ids, *, actor: str, **kwargs) -> int:
    """How many of the leaving agents' open items went to another agent (the
    rest became unallocated; ``reallocate_from_agents_result`` has both)."""
    return (await reallocate_from_agents_result(session, agent_ids, actor=actor, **kwargs)).allocated
