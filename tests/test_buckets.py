"""The five buckets at the database level: counts, the order an agent works
each bucket, search, paging, masking, expired campaigns, and whose items."""
from __future__ import annotations

import datetime as dt

import pytest

from callcenter.models import utcnow
from callcenter.org.scope import Scope
from callcenter.work import buckets
from callcenter.work.exceptions import (AgentNotFound, UnknownBucket, WorkItemNotFound,
                                        WorkRequestInvalid)
from tests import factories as f

H = dt.timedelta(hours=1)


@pytest.fixture
async def org(sessions):
    async with sessions() as s:
        loc = await f.location(s)
        store = await f.store(s, loc, "S1")
        team = await f.team(s, loc)
        today = dt.date.today()
        o = {"loc": loc, "store": store, "team": team,
             "asha": await f.user(s, "asha", store=store, team=team),
             "bala": await f.user(s, "bala", store=store, team=team),
             "tl": await f.user(s, "tl", role="teamlead", team=team),
             "soon": await f.campaign(s, "ends-soon", loc=loc, expires_on=today + dt.timedelta(days=2)),
             "later": await f.campaign(s, "ends-later", loc=loc, expires_on=today + dt.timedelta(days=20)),
             "expired": await f.campaign(s, "expired", loc=loc, starts_on=today - dt.timedelta(days=30),
                                         expires_on=today - dt.timedelta(days=1))}
        await s.commit()
    o["asha_scope"] = Scope(role="agent", user_id=o["asha"].id, team_id=team.id, location_id=loc.id,
                            store_id=store.id)
    o["tl_scope"] = Scope(role="teamlead", user_id=o["tl"].id, team_id=team.id, location_id=loc.id)
    return o


async def add(sessions, org, camp="later", agent="asha", bucket="fresh", name=None, mobile=None, **fields):
    async with sessions() as s:
        cust = await f.customer(s, mobile=mobile, name=name, store=org["store"])
        row = await f.work_item(s, org[camp], cust, org[agent], bucket=bucket, **fields)
        await s.commit()
    return row


async def page(sessions, scope, bucket, **kw):
    kw.setdefault("now", utcnow())
    async with sessions() as s:
        return await buckets.list_items(s, scope, bucket, **kw)


async def test_counts_cover_the_five_buckets_and_skip_closed_and_expired_work(sessions, org):
    for bucket in ("fresh", "fresh", "non_contact", "appointment", "closed"):
        await add(sessions, org, bucket=bucket)
    await add(sessions, org, camp="expired")
    await add(sessions, org, agent="bala")
    async with sessions() as s:
        mine = await buckets.counts(s, org["asha_scope"])
        team = await buckets.counts(s, org["tl_scope"])
        asha_for_tl = await buckets.counts(s, org["tl_scope"], agent_id=org["asha"].id)
        per_agent = await buckets.counts_per_agent(s, org["tl_scope"])
    assert mine == {"fresh": 2, "non_contact": 1, "future_followup": 0, "pending_followup": 0, "appointment": 1}
    assert team["fresh"] == 3 and asha_for_tl == mine
    assert per_agent[org["bala"].id]["fresh"] == 1


async def test_fresh_is_ordered_by_campaign_expiry_then_id(sessions, org):
    late1 = await add(sessions, org, camp="later")
    soon1 = await add(sessions, org, camp="soon")
    late2 = await add(sessions, org, camp="later")
    soon2 = await add(sessions, org, camp="soon")
    got = await page(sessions, org["asha_scope"], "fresh")
    assert [i["id"] for i in got.items] == [soon1.id, soon2.id, late1.id, late2.id]


async def test_non_contact_due_ones_first_then_by_retry_time(sessions, org):
    now = utcnow()
    later = await add(sessions, org, bucket="non_contact", next_attempt_at=now + 2 * H)
    due = await add(sessions, org, bucket="non_contact", next_attempt_at=now - H)
    sooner = await add(sessions, org, bucket="non_contact", next_attempt_at=now + H)
    got = await page(sessions, org["asha_scope"], "non_contact", now=now)
    assert [i["id"] for i in got.items] == [due.id, sooner.id, later.id]
    assert [i["due"] for i in got.items] == [True, False, False]
    assert got.items[1]["due_at"] == sooner.next_attempt_at


async def test_followups_pending_and_appointments_orders(sessions, org):
    now = utcnow()
    f2 = await add(sessions, org, bucket="future_followup", followup_at=now + 3 * H)
    f1 = await add(sessions, org, bucket="future_followup", followup_at=now + H)
    p_recent = await add(sessions, org, bucket="pending_followup", followup_at=now - H)
    p_old = await add(sessions, org, bucket="pending_followup", followup_at=now - 30 * H)
    a2 = await add(sessions, org, bucket="appointment", appointment_at=now + 48 * H)
    a1 = await add(sessions, org, bucket="appointment", appointment_at=now + 2 * H)
    scope = org["asha_scope"]
    assert [i["id"] for i in (await page(sessions, scope, "future_followup")).items] == [f1.id, f2.id]
    pending = (await page(sessions, scope, "pending_followup")).items
    assert [i["id"] for i in pending] == [p_old.id, p_recent.id]  # most overdue first
    assert all(i["missed"] for i in pending)
    assert [i["id"] for i in (await page(sessions, scope, "appointment")).items] == [a1.id, a2.id]


async def test_search_by_name_or_last_digits_and_paging(sessions, org):
    meera = await add(sessions, org, name="Meera Iyer", mobile="+919812345678")
    await add(sessions, org, name="Ravi Kumar", mobile="+919800001111")
    for n in range(5):
        await add(sessions, org, name=f"Other {n}")
    scope = org["asha_scope"]
    assert [i["id"] for i in (await page(sessions, scope, "fresh", search="meera")).items] == [meera.id]
    assert [i["id"] for i in (await page(sessions, scope, "fresh", search="5678")).items] == [meera.id]
    assert [i["id"] for i in (await page(sessions, scope, "fresh", search="098123 45678")).items] == [meera.id]
    assert (await page(sessions, scope, "fresh", search="%")).total == 0  # no wildcard
    with pytest.raises(WorkRequestInvalid):
        await page(sessions, scope, "fresh", search="56")
    first = await page(sessions, scope, "fresh", per_page=3)
    third = await page(sessions, scope, "fresh", per_page=3, page=3)
    assert (first.total, first.pages, len(first.items), len(third.items)) == (7, 3, 3, 1)
    everything = {i["id"] for p in (1, 2, 3)
                  for i in (await page(sessions, scope, "fresh", per_page=3, page=p)).items}
    assert len(everything) == 7


async def test_bad_parameters(sessions, org):
    scope = org["asha_scope"]
    with pytest.raises(UnknownBucket):
        await page(sessions, scope, "closed")
    with pytest.raises(WorkRequestInvalid):
        await page(sessions, scope, "fresh", page=0)
    with pytest.raises(WorkRequestInvalid):
        await page(sessions, scope, "fresh", per_page=101)


async def test_mobile_masked_for_agents_and_shown_to_team_leads(sessions, org, settings):
    await add(sessions, org, mobile="+919812345678")
    mine = (await page(sessions, org["asha_scope"], "fresh", settings=settings)).items[0]
    lead = (await page(sessions, org["tl_scope"], "fresh", settings=settings)).items[0]
    assert mine["mobile"] == "+91 98xxxxxx78"
    assert lead["mobile"] == "+919812345678" and lead["agent"] == "Asha"
    assert mine["url"] == f"/customers/{mine['customer_id']}?item={mine['id']}"


async def test_an_agent_never_sees_another_agents_items(sessions, org):
    theirs = await add(sessions, org, agent="bala")
    expired = await add(sessions, org, camp="expired")
    scope = org["asha_scope"]
    assert (await page(sessions, scope, "fresh")).total == 0
    async with sessions() as s:
        with pytest.raises(WorkItemNotFound):
            await buckets.get_item(s, scope, theirs.id)
        with pytest.raises(AgentNotFound):
            await buckets.counts(s, scope, agent_id=org["bala"].id)
        with pytest.raises(AgentNotFound):
            await buckets.list_items(s, scope, "fresh", agent_id=org["bala"].id, now=utcnow())
        own_expired = await buckets.get_item(s, scope, expired.id)
    assert own_expired["callable"] is False  # readable by id, never listed as work
