"""Allocation (store-wise, language-wise, round-robin, manual) and
re-allocation, at the database level: balance, who may never get items, and
the caller's scope."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from callcenter.models import AuditEntry, utcnow
from callcenter.org.scope import Scope
from callcenter.work import allocation
from callcenter.work.balancing import write_plan
from callcenter.work.exceptions import (AgentNotFound, CampaignClosed, CampaignNotFound,
                                        InvalidAllocation, TeamNotFound, WorkItemNotFound)
from callcenter.work.models import WorkItem
from tests import factories as f

ADMIN = Scope(role="admin")


def utc(moment):
    """A stored moment as the aware UTC one written (SQLite gives it back naive)."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None and moment.tzinfo is None else moment


def manager_scope(user, loc):
    return Scope(role="manager", user_id=user.id, location_id=loc.id)


async def owners(session, campaign_id=None):
    query = select(WorkItem.id, WorkItem.agent_id)
    if campaign_id is not None:
        query = query.where(WorkItem.campaign_id == campaign_id)
    return dict((await session.execute(query)).all())


@pytest.fixture
async def org(sessions):
    """North: two stores (S1 with executives a1, a2 and inactive a3; S2 with b1),
    a manager, a call-centre team (hindi, tamil+english speakers). South: one
    store with an executive, a manager, a campaign."""
    async with sessions() as s:
        north, south = await f.location(s, "north"), await f.location(s, "south")
        s1, s2 = await f.store(s, north, "S1"), await f.store(s, north, "S2")
        s3 = await f.store(s, south, "S3", region="south")
        o = dict(north=north, south=south, s1=s1, s2=s2, s3=s3)
        o["a1"] = await f.user(s, "a1", store=s1)
        o["a2"] = await f.user(s, "a2", store=s1)
        o["a3"] = await f.user(s, "a3", store=s1, active=False)
        o["b1"] = await f.user(s, "b1", store=s2)
        o["c1"] = await f.user(s, "c1", store=s3)
        o["mgr"] = await f.user(s, "mgr", role="manager", loc=north)
        o["mgr_south"] = await f.user(s, "mgrs", role="manager", loc=south)
        o["team"] = await f.team(s, north, "callers")
        o["tl"] = await f.user(s, "tl", role="teamlead", team=o["team"])
        o["hi"] = await f.user(s, "hi", team=o["team"], languages="hi,en")
        o["ta"] = await f.user(s, "ta", team=o["team"], languages="ta")
        o["camp"] = await f.campaign(s, "north-bday", loc=north)
        o["camp_south"] = await f.campaign(s, "south-bday", loc=south)
        await s.commit()
    return o


async def add_items(sessions, camp, n, store=None, language="en"):
    async with sessions() as s:
        ids = []
        for _ in range(n):
            cust = await f.customer(s, store=store, language=language)
            ids.append((await f.work_item(s, camp, cust)).id)
        await s.commit()
    return ids


async def test_store_wise_balances_open_work_and_skips_inactive_and_other_stores(sessions, org):
    # a1 already has 3 open items and one closed one: a2 gets the first ones until they are even
    async with sessions() as s:
        for bucket in ("fresh", "non_contact", "future_followup", "closed"):
            await f.work_item(s, org["camp"], await f.customer(s, store=org["s1"]), org["a1"], bucket=bucket)
        await s.commit()
    s1_items = await add_items(sessions, org["camp"], 9, org["s1"])
    s2_items = await add_items(sessions, org["camp"], 2, org["s2"])
    await add_items(sessions, org["camp"], 1, None)  # no store
    async with sessions() as s:
        result = await allocation.allocate(s, manager_scope(org["mgr"], org["north"]), org["camp"].id,
                                           "store", actor="user:mgr")
        await s.commit()
        got = await owners(s)
        audits = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "work.allocate"))).all()
    assert result.allocated == 11 and result.unallocated == 1
    assert result.reasons == {"no_store": 1}
    assert {got[i] for i in s1_items} == {org["a1"].id, org["a2"].id}
    assert Counter(got[i] for i in s1_items) == {org["a2"].id: 6, org["a1"].id: 3}  # 3+3 open = 6 each
    assert {got[i] for i in s2_items} == {org["b1"].id}
    assert org["a3"].id not in got.values()
    assert result.per_agent == {org["a1"].id: 3, org["a2"].id: 6, org["b1"].id: 2}
    assert len(audits) == 1 and audits[0].details["allocated"] == 11
    assert (audits[0].entity, audits[0].entity_id) == ("campaign", str(org["camp"].id))
    async with sessions() as s:
        per_item = dict((await s.execute(select(AuditEntry.entity_id, AuditEntry.details["agent_after"])
                                         .where(AuditEntry.action == "work_item.assign"))).all())
    assert {int(k): v for k, v in per_item.items()} == {i: got[i] for i in s1_items + s2_items}


async def test_store_without_active_executive_stays_unallocated_and_is_counted(sessions, org):
    await add_items(sessions, org["camp"], 2, org["s3"])  # a south store: the north manager has no one there
    async with sessions() as s:
        result = await allocation.allocate(s, manager_scope(org["mgr"], org["north"]), org["camp"].id,
                                           "store", actor="user:mgr")
        await s.commit()
        assert set((await owners(s)).values()) == {None}
    assert result.allocated == 0 and result.reasons == {"no_active_executive": 2}


async def test_language_wise_matches_languages_and_counts_the_rest(sessions, org):
    hindi = await add_items(sessions, org["camp"], 4, org["s1"], language="hi")
    tamil = await add_items(sessions, org["camp"], 2, org["s1"], language="ta")
    english = await add_items(sessions, org["camp"], 2, org["s1"], language="en")
    await add_items(sessions, org["camp"], 1, org["s1"], language="kn")
    await add_items(sessions, org["camp"], 1, org["s1"], language=None)
    async with sessions() as s:
        result = await allocation.allocate(s, manager_scope(org["mgr"], org["north"]), org["camp"].id,
                                           "language", actor="user:mgr")
        await s.commit()
        got = await owners(s)
    assert {got[i] for i in hindi} == {org["hi"].id}
    assert {got[i] for i in tamil} == {org["ta"].id}
    assert {got[i] for i in english} == {org["hi"].id}  # only hi speaks en among call-centre agents
    assert result.reasons == {"no_agent_for_language": 1, "no_language": 1}
    # store executives speak English too, but language-wise is for the call centre
    assert not {org["a1"].id, org["a2"].id, org["b1"].id} & set(got.values())


async def test_language_wise_balances_agents_sharing_a_language(sessions, org):
    async with sessions() as s:
        other = await f.user(s, "hi2", team=org["team"], languages="hi")
        await s.commit()
    items = await add_items(sessions, org["camp"], 6, None, language="hi")
    async with sessions() as s:
        await allocation.allocate(s, ADMIN, org["camp"].id, "language", actor="admin")
        await s.commit()
        got = await owners(s)
    assert Counter(got[i] for i in items) == {org["hi"].id: 3, other.id: 3}


async def test_round_robin_over_a_team(sessions, org):
    items = await add_items(sessions, org["camp"], 5)
    async with sessions() as s:
        result = await allocation.allocate(s, manager_scope(org["mgr"], org["north"]), org["camp"].id,
                                           "round_robin", actor="user:mgr", team_id=org["team"].id)
        await s.commit()
        got = await owners(s)
    assert sorted(Counter(got[i] for i in items).values()) == [2, 3]
    assert set(result.per_agent) == {org["hi"].id, org["ta"].id}  # the team lead gets none


async def test_manual_moves_chosen_items_and_keeps_their_state(sessions, org):
    followup = dt.datetime(2030, 1, 2, 10, 30, tzinfo=dt.timezone.utc)
    async with sessions() as s:
        item = await f.work_item(s, org["camp"], await f.customer(s, store=org["s1"]), org["a1"],
                                 bucket="future_followup", followup_at=followup, attempts=2)
        await s.commit()
    tl_scope = Scope(role="manager", user_id=org["mgr"].id, location_id=org["north"].id)
    async with sessions() as s:
        result = await allocation.allocate(s, tl_scope, None, "manual", actor="user:mgr",
                                           item_ids=[item.id], agent_id=org["a2"].id)
        await s.commit()
        moved = await s.get(WorkItem, item.id)
    assert result.allocated == 1
    assert (moved.agent_id, moved.bucket, moved.attempts) == (org["a2"].id, "future_followup", 2)
    assert moved.followup_at.replace(tzinfo=dt.timezone.utc) == followup


async def test_a_team_leads_reallocation_of_one_item_is_found_by_the_items_id(sessions, org):
    async with sessions() as s:
        item = await f.work_item(s, org["camp"], await f.customer(s), org["hi"])
        other = await f.work_item(s, org["camp"], await f.customer(s), org["hi"])
        await s.commit()
    tl = Scope(role="teamlead", user_id=org["tl"].id, team_id=org["team"].id, location_id=org["north"].id)
    async with sessions() as s:
        await allocation.allocate(s, tl, None, "manual", actor="user:tl", item_ids=[item.id],
                                  agent_id=org["ta"].id)
        await s.commit()
        history = (await s.scalars(select(AuditEntry).where(AuditEntry.entity == "work_item",
                                                            AuditEntry.entity_id == str(item.id)))).all()
        untouched = await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "work_item", AuditEntry.entity_id == str(other.id)))
        (operation,) = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "work.allocate"))).all()
    assert [(e.actor, e.action, e.details["agent_before"], e.details["agent_after"]) for e in history] == [
        ("user:tl", "work_item.assign", org["hi"].id, org["ta"].id)]
    assert history[0].details["reason"] == "allocation (manual)" and untouched == 0
    assert (operation.entity, operation.entity_id, operation.details["allocated"]) == ("user", str(org["ta"].id), 1)


async def test_manual_refuses_items_or_agents_out_of_scope(sessions, org):
    south_items = await add_items(sessions, org["camp_south"], 1, org["s3"])
    north_items = await add_items(sessions, org["camp"], 1, org["s1"])
    scope = manager_scope(org["mgr"], org["north"])
    async with sessions() as s:
        with pytest.raises(WorkItemNotFound):
            await allocation.allocate(s, scope, None, "manual", actor="m", item_ids=south_items,
                                      agent_id=org["a1"].id)
        with pytest.raises(AgentNotFound):
            await allocation.allocate(s, scope, None, "manual", actor="m", item_ids=north_items,
                                      agent_id=org["c1"].id)
        with pytest.raises(AgentNotFound):  # inactive
            await allocation.allocate(s, scope, None, "manual", actor="m", item_ids=north_items,
                                      agent_id=org["a3"].id)
    # a team lead: only their team's items, only to their team's agents
    tl = Scope(role="teamlead", user_id=org["tl"].id, team_id=org["team"].id, location_id=org["north"].id)
    async with sessions() as s:
        with pytest.raises(WorkItemNotFound):  # unallocated items are not the team's
            await allocation.allocate(s, tl, None, "manual", actor="tl", item_ids=north_items,
                                      agent_id=org["hi"].id)
    assert set((await _all_owners(sessions)).values()) == {None}


async def _all_owners(sessions):
    async with sessions() as s:
        return await owners(s)


async def test_a_manager_cannot_allocate_another_locations_campaign_or_to_its_agents(sessions, org):
    await add_items(sessions, org["camp_south"], 2, org["s3"])
    north_items = await add_items(sessions, org["camp"], 2, org["s1"])
    scope = manager_scope(org["mgr"], org["north"])
    async with sessions() as s:
        with pytest.raises(CampaignNotFound):
            await allocation.allocate(s, scope, org["camp_south"].id, "store", actor="m")
        with pytest.raises(AgentNotFound):
            await allocation.allocate(s, scope, org["camp"].id, "round_robin", actor="m",
                                      agent_ids=[org["a1"].id, org["c1"].id])
        south_team = await f.team(s, org["south"], "south-callers")
        with pytest.raises(TeamNotFound):
            await allocation.allocate(s, scope, org["camp"].id, "round_robin", actor="m",
                                      team_id=south_team.id)
        with pytest.raises(InvalidAllocation):
            await allocation.allocate(s, scope, org["camp"].id, "everyone", actor="m")
        # a team lead allocates no campaign
        tl = Scope(role="teamlead", user_id=org["tl"].id, team_id=org["team"].id)
        with pytest.raises(CampaignNotFound):
            await allocation.allocate(s, tl, org["camp"].id, "store", actor="tl")
    assert all(v is None for v in (await _all_owners(sessions)).values())
    assert len(north_items) == 2


async def test_an_expired_campaign_is_not_allocated(sessions, org):
    async with sessions() as s:
        old = await f.campaign(s, "old", loc=org["north"], starts_on=dt.date(2020, 1, 1),
                               expires_on=dt.date(2020, 2, 1))
        await s.commit()
    await add_items(sessions, old, 1, org["s1"])
    async with sessions() as s:
        with pytest.raises(CampaignClosed):
            await allocation.allocate(s, ADMIN, old.id, "store", actor="admin")


async def test_reallocate_keeps_buckets_times_and_attempts(sessions, org):
    at = dt.datetime(2030, 5, 1, 6, 0, tzinfo=dt.timezone.utc)
    async with sessions() as s:
        items = []
        for bucket, fields in (("fresh", {}), ("non_contact", {"attempts": 1, "next_attempt_at": at}),
                               ("future_followup", {"followup_at": at}),
                               ("appointment", {"appointment_at": at})):
            cust = await f.customer(s, store=org["s1"])
            items.append(await f.work_item(s, org["camp"], cust, org["a1"], bucket=bucket, **fields))
        closed = await f.work_item(s, org["camp"], await f.customer(s, store=org["s1"]), org["a1"],
                                   bucket="closed")
        await s.commit()
    async with sessions() as s:
        moved = await allocation.reallocate(s, manager_scope(org["mgr"], org["north"]), org["a1"].id,
                                            "store", actor="user:mgr")
        await s.commit()
        after = {i.id: await s.get(WorkItem, i.id) for i in items + [closed]}
    assert moved == 4
    for before in items:
        row = after[before.id]
        assert row.agent_id == org["a2"].id  # the only other active executive of S1
        assert (row.bucket, row.attempts, utc(row.followup_at), utc(row.next_attempt_at),
                utc(row.appointment_at)) == \
            (before.bucket, before.attempts, before.followup_at, before.next_attempt_at, before.appointment_at)
    assert after[closed.id].agent_id == org["a1"].id  # closed work is history, it stays


async def test_reallocate_to_named_agents_and_scope(sessions, org):
    async with sessions() as s:
        for _ in range(4):
            await f.work_item(s, org["camp"], await f.customer(s, language="hi"), org["hi"])
        await s.commit()
    tl = Scope(role="teamlead", user_id=org["tl"].id, team_id=org["team"].id, location_id=org["north"].id)
    async with sessions() as s:
        with pytest.raises(AgentNotFound):  # a1 is not in the team lead's team
            await allocation.reallocate(s, tl, org["hi"].id, "round_robin", actor="tl",
                                        to_agent_ids=[org["a1"].id])
        with pytest.raises(AgentNotFound):
            await allocation.reallocate(s, tl, org["a1"].id, "round_robin", actor="tl",
                                        to_agent_ids=[org["ta"].id])
        with pytest.raises(InvalidAllocation):
            await allocation.reallocate(s, tl, org["hi"].id, "round_robin", actor="tl",
                                        to_agent_ids=[org["hi"].id])
        moved = await allocation.reallocate(s, tl, org["hi"].id, "balanced", actor="tl",
                                            to_agent_ids=[org["ta"].id])
        await s.commit()
        assert moved == 4
        assert set((await owners(s)).values()) == {org["ta"].id}


async def test_reallocate_from_agents_who_left(sessions, org):
    async with sessions() as s:
        s1_items = [await f.work_item(s, org["camp"], await f.customer(s, store=org["s1"]), org["a1"])
                    for _ in range(3)]
        s2_items = [await f.work_item(s, org["camp"], await f.customer(s, store=org["s2"]), org["b1"])
                    for _ in range(2)]
        await s.commit()
    async with sessions() as s:  # a1 and b1 left: S1 still has a2, S2 has nobody
        result = await allocation.reallocate_from_agents_result(s, [org["a1"].id, org["b1"].id],
                                                                actor="headcount")
        await s.commit()
        got = await owners(s)
        per_agent = {e.entity_id: e.details for e in (await s.scalars(
            select(AuditEntry).where(AuditEntry.action == "work.reallocate"))).all()}
        per_item = {int(e.entity_id): (e.details["agent_before"], e.details["agent_after"]) for e in (
            await s.scalars(select(AuditEntry).where(AuditEntry.entity == "work_item"))).all()}
    assert (result.allocated, result.unallocated) == (3, 2)
    assert {got[i.id] for i in s1_items} == {org["a2"].id}
    assert {got[i.id] for i in s2_items} == {None}
    # one row per agent who left (on the agent), one per item that changed hands (on the item)
    assert per_agent == {str(org["a1"].id): {"how": "headcount", "moved": 3, "unallocated": 0, "reasons": {}},
                         str(org["b1"].id): {"how": "headcount", "moved": 0, "unallocated": 2,
                                             "reasons": {"no_active_executive": 2}}}
    assert per_item == {**{i.id: (org["a1"].id, org["a2"].id) for i in s1_items},
                        **{i.id: (org["b1"].id, None) for i in s2_items}}


async def test_an_item_taken_meanwhile_is_left_to_the_other_allocation(sessions, org):
    async with sessions() as s:
        item = await f.work_item(s, org["camp"], await f.customer(s, store=org["s1"]), org["a1"])
        await s.commit()
    async with sessions() as s:  # a plan made when the item was still unallocated
        written = await write_plan(s, [{"b_id": item.id, "b_agent": org["a2"].id, "b_from": None}], utcnow())
        await s.commit()
        assert written == (0, 0)
        assert (await s.get(WorkItem, item.id)).agent_id == org["a1"].id
