"""Team lead / manager reports against a migrated SQLite database: the figures
(attempts, connected, talk time, dispositions, appointments, calls per hour,
contact and appointment rates, NPS), the hierarchy scope, and the local day
in Asia/Kolkata (UTC+05:30). Attempts, connected calls and contact rates are
outbound calls only: asha's answered inbound call counts as an inbound call
answered and as talk time, never as a call placed."""
from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from callcenter.campaigns.form_default import build as build_form
from callcenter.models import Call, Trunk
from callcenter.org.scope import Scope
from callcenter.period import InvalidDate, local_day, parse_date
from callcenter.reports import exceptions
from callcenter.reports.campaigns import campaign_report, nps, visible_campaigns
from callcenter.reports.service import Filters, daily, day_totals, me, overview, overview_totals
from callcenter.reports.stores import store_daily
from callcenter.work.models import Appointment, Disposition, SurveyAnswer
from tests import factories

ZONE = "Asia/Kolkata"
DAY = dt.date(2024, 11, 5)
_ids = itertools.count(1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


async def add_call(s, trunk, agent, item, at, *, talk=None, campaign=None, direction="outbound"):
    answered = at + dt.timedelta(seconds=5) if talk is not None else None
    call = Call(id=f"c{next(_ids):06d}", agent_id=agent.id, requested_by=agent.name, mode="mobile",
                number=f"+9198{next(_ids):08d}", trunk_id=trunk.id, caller_id="8062247000", channels=2,
                state="ended", requested_at=at, customer_answered_at=answered, talk_seconds=talk,
                work_item_id=item.id if item else None, customer_id=item.customer_id if item else None,
                campaign_id=campaign.id if campaign else (item.campaign_id if item else None),
                direction=direction, inbound_call_id=f"in{next(_ids)}" if direction == "inbound" else None)
    s.add(call)
    await s.flush()
    return call


async def add_disposition(s, item, agent, outcome, bucket_after, at):
    row = Disposition(work_item_id=item.id, agent_id=agent.id, campaign_id=item.campaign_id,
                      customer_id=item.customer_id, outcome=outcome, bucket_after=bucket_after,
                      answers={}, created_at=at)
    s.add(row)
    await s.flush()
    return row


async def build_world(sessions) -> SimpleNamespace:
    """Two locations; team A (a1, a2) and team B (b1) in the north, team C (c1)
    in the south; a survey campaign of the north with a1's five items and b1's one."""
    w = SimpleNamespace()
    async with sessions() as s, s.begin():
        w.trunk = (await s.execute(select(Trunk).limit(1))).scalar_one_or_none()
        if w.trunk is None:
            w.trunk = Trunk(name="t1", host="127.0.0.1", port=5060, max_channels=250,
                            did_start="8062247000", did_end="8062247749", pilot="8062247000")
            s.add(w.trunk)
        w.north = await factories.location(s, "north")
        w.south = await factories.location(s, "south")
        w.store1 = await factories.store(s, w.north, code="N001")
        w.store2 = await factories.store(s, w.north, code="N002")
        w.team_a = await factories.team(s, w.north, "team-a")
        w.team_b = await factories.team(s, w.north, "team-b")
        w.team_c = await factories.team(s, w.south, "team-c")
        w.admin = await factories.user(s, "root", "admin")
        w.mgr = await factories.user(s, "mgr-north", "manager", loc=w.north)
        w.tl_a = await factories.user(s, "lead-a", "teamlead", team=w.team_a)
        w.a1 = await factories.user(s, "asha", team=w.team_a, store=w.store1)
        w.a2 = await factories.user(s, "arjun", team=w.team_a, store=w.store1)
        w.b1 = await factories.user(s, "bala", team=w.team_b, store=w.store2)
        w.c1 = await factories.user(s, "chitra", team=w.team_c)
        w.camp = await factories.campaign(s, "walkin-nov", type="new_walkin_survey", loc=w.north,
                                          form=build_form(True))
        buckets = ["non_contact", "appointment", "closed", "fresh", "future_followup"]
        w.items = [await factories.work_item(s, w.camp, await factories.customer(s), w.a1, bucket=b)
                   for b in buckets]
        w.j1 = await factories.work_item(s, w.camp, await factories.customer(s), w.b1, bucket="closed")
        i1, i2, i3, i4, i5 = w.items
        # a1's calls; local day 2024-11-05 is 2024-11-04 18:30 UTC .. 2024-11-05 18:30 UTC
        await add_call(s, w.trunk, w.a1, i1, utc(2024, 11, 4, 19, 0))             # 00:30 local, the 5th
        await add_call(s, w.trunk, w.a1, i2, utc(2024, 11, 5, 4, 0), talk=60)     # 09:30
        await add_call(s, w.trunk, w.a1, i3, utc(2024, 11, 5, 4, 20), talk=90.5)  # 09:50
        await add_call(s, w.trunk, w.a1, i1, utc(2024, 11, 5, 18, 29))            # 23:59
        await add_call(s, w.trunk, w.a1, i4, utc(2024, 11, 5, 18, 30))            # 00:00 the 6th
        await add_call(s, w.trunk, w.a1, i5, utc(2024, 11, 4, 18, 29))            # 23:59 the 4th
        # the customer of i4 called in and asha answered: not an attempt, 2 min of talk
        await add_call(s, w.trunk, w.a1, i4, utc(2024, 11, 5, 7, 0), talk=120, direction="inbound")  # 12:30
        await add_call(s, w.trunk, w.b1, w.j1, utc(2024, 11, 5, 10, 0), talk=30)
        await add_call(s, w.trunk, w.c1, None, utc(2024, 11, 5, 10, 0), talk=45)
        day = utc(2024, 11, 5, 6, 0)
        await add_disposition(s, i1, w.a1, "not_talked", "non_contact", day)
        await add_disposition(s, i1, w.a1, "not_talked", "non_contact", utc(2024, 11, 4, 18, 0))  # the 4th
        await add_disposition(s, i2, w.a1, "appointment", "appointment", day)
        await add_disposition(s, i3, w.a1, "closed", "closed", day)
        await add_disposition(s, i4, w.a1, "closed", "closed", utc(2024, 11, 5, 18, 45))  # the 6th
        await add_disposition(s, w.j1, w.b1, "closed", "closed", day)
        s.add(Appointment(work_item_id=i2.id, customer_id=i2.customer_id, agent_id=w.a1.id,
                          store_id=w.store1.id, at=utc(2024, 11, 8, 6, 0), created_at=day))
        answers = [(w.a1, 10), (w.a1, 9), (w.a1, 9), (w.a1, 8), (w.b1, 3)]
        for agent, score in answers:  # 3 promoters, 1 passive, 1 detractor
            s.add(SurveyAnswer(agent_id=agent.id, campaign_id=w.camp.id, question="nps", score=score))
        for score in (4, 5):
            s.add(SurveyAnswer(agent_id=w.a1.id, campaign_id=w.camp.id, question="sp_greeting", score=score))
    return w


def scope_of(w, who: str) -> Scope:
    user = getattr(w, who)
    return Scope(role=user.role, user_id=user.id, team_id=user.team_id, location_id=user.location_id,
                 store_id=user.store_id)


@pytest.fixture
async def world(sessions):
    return await build_world(sessions)


def test_nps_is_promoters_minus_detractors():
    assert nps(3, 1, 1) == 40.0
    assert nps(0, 0, 4) == -100.0
    assert nps(2, 0, 0) == 100.0
    assert nps(0, 0, 0) is None


def test_local_day_of_kolkata_starts_at_1830_utc():
    day = local_day(DAY, ZONE)
    assert day.start == utc(2024, 11, 4, 18, 30) and day.end == utc(2024, 11, 5, 18, 30)
    assert day.contains(utc(2024, 11, 4, 19, 0))       # 19:00 UTC is already the next local day
    assert not day.contains(utc(2024, 11, 5, 18, 30))
    with pytest.raises(InvalidDate):
        parse_date("05/11/2024", ZONE)


async def test_daily_report_counts_the_local_day(sessions, world):
    w = world
    async with sessions() as s:
        rows = await daily(s, scope_of(w, "tl_a"), Filters(), local_day(DAY, ZONE))
    by_name = {r.agent.name: r for r in rows}
    assert set(by_name) == {"asha", "arjun"}
    asha = by_name["asha"]
    assert (asha.attempts, asha.connected, asha.talk_seconds) == (4, 2, 270.5)
    assert (asha.inbound_answered, asha.inbound_talk_seconds) == (1, 120)
    assert asha.hours == {0: 1, 9: 2, 23: 1}   # calls placed: the inbound call at 12:30 is none
    assert asha.dispositions == {"not_talked": 1, "appointment": 1, "closed": 1}
    assert asha.appointments == 1
    assert by_name["arjun"].attempts == 0 and by_name["arjun"].hours == {}
    totals = day_totals(rows)
    assert totals["attempts"] == 4 and totals["connected"] == 2 and totals["hours"] == {"0": 1, "9": 2, "23": 1}
    assert (totals["inbound_answered"], totals["inbound_talk_seconds"], totals["talk_seconds"]) == (1, 120, 270.5)


async def test_the_next_day_gets_the_calls_after_local_midnight(sessions, world):
    async with sessions() as s:
        rows = await daily(s, scope_of(world, "tl_a"), Filters(), local_day(DAY + dt.timedelta(days=1), ZONE))
    asha = next(r for r in rows if r.agent.name == "asha")
    assert (asha.attempts, asha.hours, asha.dispositions) == (1, {0: 1}, {"closed": 1})


async def test_overview_buckets_progress_and_today(sessions, world):
    w = world
    async with sessions() as s:
        rows = await overview(s, scope_of(w, "tl_a"), Filters(), local_day(DAY, ZONE))
    asha = next(r for r in rows if r.agent.name == "asha")
    assert asha.buckets == {"fresh": 1, "non_contact": 1, "future_followup": 1, "pending_followup": 0,
                            "appointment": 1}
    assert (asha.open_items, asha.closed, asha.allocated, asha.progress) == (4, 1, 5, 0.4)
    assert (asha.closed_today, asha.calls_today, asha.connected_today) == (1, 4, 2)
    totals = overview_totals(rows)
    assert totals["allocated"] == 5 and totals["agents"] == 2


async def test_scope_team_lead_manager_admin(sessions, world):
    w = world
    day = local_day(DAY, ZONE)
    async with sessions() as s:
        seen = {who: {r.agent.name for r in await overview(s, scope_of(w, who), Filters(), day)}
                for who in ("tl_a", "mgr", "admin", "a1")}
        assert seen["tl_a"] == {"asha", "arjun"}
        assert seen["mgr"] == {"asha", "arjun", "bala"}
        assert seen["admin"] == {"asha", "arjun", "bala", "chitra"}
        assert seen["a1"] == {"asha"}
        narrowed = await overview(s, scope_of(w, "mgr"), Filters(team_id=w.team_b.id), day)
        assert [r.agent.name for r in narrowed] == ["bala"]
        from callcenter.reports.service import check_filters
        with pytest.raises(exceptions.TeamNotFound):
            await check_filters(s, scope_of(w, "tl_a"), Filters(team_id=w.team_b.id))
        with pytest.raises(exceptions.LocationNotFound):
            await check_filters(s, scope_of(w, "mgr"), Filters(location_id=w.south.id))
        await check_filters(s, scope_of(w, "mgr"), Filters(team_id=w.team_a.id, store_id=w.store1.id))


async def test_campaign_report_rates_and_survey(sessions, world):
    w = world
    async with sessions() as s:
        everyone = await campaign_report(s, scope_of(w, "admin"), w.camp.id)
        team_a = await campaign_report(s, scope_of(w, "tl_a"), w.camp.id)
        one_day = await campaign_report(s, scope_of(w, "admin"), w.camp.id, local_day(DAY, ZONE))
    assert (everyone.items, everyone.attempted, everyone.contacted) == (6, 6, 3)
    assert everyone.contact_rate == 0.5 and everyone.appointments == 1
    assert everyone.appointment_rate == pytest.approx(0.3333)
    assert everyone.buckets["closed"] == 2 and everyone.calls == 7 and everyone.talk_seconds == 300.5
    assert (everyone.connected_calls, everyone.inbound_answered, everyone.inbound_talk_seconds) == (3, 1, 120)
    assert everyone.dispositions == {"not_talked": 2, "appointment": 1, "closed": 3}
    assert everyone.nps == {"score": 40.0, "promoters": 3, "passives": 1, "detractors": 1, "answers": 5}
    greeting = next(r for r in everyone.ratings if r["question"] == "sp_greeting")
    assert greeting["average"] == 4.5 and greeting["label"].startswith("How warmly")
    # the team lead sees their team's part only
    assert (team_a.items, team_a.attempted, team_a.contacted) == (5, 5, 2)
    assert team_a.contact_rate == 0.4 and team_a.appointment_rate == 0.5
    assert team_a.nps["score"] == 75.0  # 3 of 4: b1's detractor is another team's
    # one day: calls of the 5th only (i1 twice, i2, i3 and b1's j1); i4's inbound call reached
    # its customer but is no attempt
    assert (one_day.calls, one_day.attempted, one_day.contacted) == (5, 4, 3)
    assert one_day.inbound_answered == 1


async def test_campaign_outside_scope_is_not_found(sessions, world):
    w = world
    async with sessions() as s, s.begin():
        south = await factories.campaign(s, "south-only", loc=w.south, form={})
    async with sessions() as s:
        with pytest.raises(exceptions.CampaignNotFound):
            await campaign_report(s, scope_of(w, "tl_a"), south.id)
        with pytest.raises(exceptions.CampaignNotFound):
            await campaign_report(s, scope_of(w, "admin"), 99999)
        assert [c["name"] for c in await visible_campaigns(s, scope_of(w, "tl_a"))] == ["walkin-nov"]
        assert len(await visible_campaigns(s, scope_of(w, "admin"))) == 2


async def test_store_report_sums_executives(sessions, world):
    w = world
    async with sessions() as s:
        rows = await store_daily(s, scope_of(w, "mgr"), Filters(), local_day(DAY, ZONE))
    by_code = {r.code: r for r in rows}
    assert set(by_code) == {"N001", "N002"}
    n1 = by_code["N001"]
    assert (n1.executives, n1.attempts, n1.connected, n1.talk_seconds, n1.dispositions, n1.appointments) \
        == (2, 4, 2, 270.5, 3, 1)
    assert (n1.inbound_answered, n1.inbound_talk_seconds) == (1, 120)
    assert by_code["N002"].attempts == 1


async def test_me_is_the_callers_own_figures(sessions, world):
    async with sessions() as s:
        mine = await me(s, scope_of(world, "a1"), local_day(DAY, ZONE))
    assert mine["overview"]["agent"]["name"] == "asha"
    assert mine["overview"]["progress"] == 0.4
    assert mine["day"]["attempts"] == 4 and mine["day"]["hours"] == {"0": 1, "9": 2, "23": 1}
    assert mine["day"]["inbound_answered"] == 1 and mine["overview"]["calls_today"] == 4


async def test_many_agents_read_by_time_give_the_same_figures(sessions, world, monkeypatch):
    """Above WIDE agents the day's figures come through the time indexes and a
    subquery of the scope; they must equal the per-agent path's."""
    from callcenter.reports import selection

    day = local_day(DAY, ZONE)
    async with sessions() as s:
        narrow_daily = [r.as_dict() for r in await daily(s, scope_of(world, "admin"), Filters(), day)]
        narrow_overview = [r.as_dict() for r in await overview(s, scope_of(world, "admin"), Filters(), day)]
        monkeypatch.setattr(selection, "WIDE", 1)
        everyone = await selection.agents(s, scope_of(world, "admin"), Filters())
        wide = selection.members(everyone, scope_of(world, "admin"))
        assert wide.everyone is not None and wide.wide
        assert [r.as_dict() for r in await daily(s, scope_of(world, "admin"), Filters(), day)] == narrow_daily
        assert [r.as_dict() for r in await overview(s, scope_of(world, "admin"), Filters(), day)] == narrow_overview
    asha = next(r for r in narrow_daily if r["agent"]["name"] == "asha")
    assert (asha["attempts"], asha["inbound_answered"]) == (4, 1)


async def test_an_agent_who_left_later_is_still_in_that_days_report(sessions, world):
    from sqlalchemy import update

    from callcenter.models import User

    async with sessions() as s, s.begin():
        await s.execute(update(User).where(User.id == world.a1.id)
                        .values(active=False, updated_at=utc(2024, 11, 20, 6, 0)))
    async with sessions() as s:
        past = await daily(s, scope_of(world, "tl_a"), Filters(), local_day(DAY, ZONE))
        later = await daily(s, scope_of(world, "tl_a"), Filters(), local_day(dt.date(2024, 11, 21), ZONE))
        now = await overview(s, scope_of(world, "tl_a"), Filters(), local_day(DAY, ZONE))
    assert next(r for r in past if r.agent.name == "asha").attempts == 4
    assert [r.agent.name for r in later] == ["arjun"]
    assert [r.agent.name for r in now] == ["arjun"]
