"""Inbound calls without the PBX: routing, the inbound campaign and its items,
call-backs, survey answers and the NPS report in scope, the unknown caller
made a customer, outcomes, and the IVR hooks' AGI conversation against a
scripted fake Asterisk (recording, queue options, a withheld caller never
offered a call-back)."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import deque
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from callcenter.campaigns.models import Campaign
from ivr.settings import IvrSettings
from callcenter.customers.models import Customer
from callcenter.inbound import callbacks, customers, items, routing, survey
from callcenter.inbound.exceptions import CustomerInvalid, InboundCallNotFound, NoCallerNumber
from callcenter.inbound.hooks import InboundHooks
from callcenter.inbound.live import InboundClients, InboundLive
from callcenter.inbound.metrics import InboundMetrics
from callcenter.inbound.models import InboundCall
from callcenter.inbound.service import LiveCall, outcome_of
from callcenter.models import Call
from callcenter.org.scope import Scope
from callcenter.period import ReportInvalid
from callcenter.queues.models import Queue
from callcenter.reports import nps
from callcenter.work.models import SurveyAnswer, WorkItem
from callcenter.work.scope import customers_in
from callcenter.work.sweeper import nudge
from ivr.dids import parse_dids
from ivr.fastagi import FastAgiServer
from ivr.flows import parse_flow
from ivr.metrics import IvrMetrics
from ivr.prompts import PromptBook
from ivr.session import IvrSession, SessionRecord
from monitoring.metrics import Metrics
from tests import factories as f
from tests.test_ivr_fastagi import ENV
from tests.test_ivr_session import converse

NOW = dt.datetime(2026, 11, 23, 6, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
async def org(sessions):
    async with sessions() as session, session.begin():
        north, south = await f.location(session, "north"), await f.location(session, "south")
        del01 = await f.store(session, north, code="DEL01", region="north")
        blr01 = await f.store(session, south, code="BLR01", region="south", language="kn")
        team_a, team_b = await f.team(session, north, "north-a"), await f.team(session, north, "north-b")
        asha = await f.user(session, "asha", team=team_a, languages="en,hi")
        bala = await f.user(session, "bala", team=team_b, languages="en")
        lead = await f.user(session, "lead", role="teamlead", team=team_a)
        trunk = await f.trunk(session, "carrier", host="127.0.0.2")
        for name, lang, loc, region in (("support-en", "en", None, ""), ("north-en", "en", north.id, "north"),
                                        ("south-kn", "kn", south.id, "south")):
            session.add(Queue(name=name, language=lang, location_id=loc, region=region))
        known = await f.customer(session, "+919876543210", "Known", store=del01)
        southern = await f.customer(session, "+919876543211", "Southern", store=blr01, language="kn")
        await session.flush()
        return SimpleNamespace(**{k: v.id for k, v in dict(
            north=north, south=south, del01=del01, team_a=team_a, asha=asha, bala=bala, lead=lead, trunk=trunk,
            known=known, southern=southern).items()})


def talked(call_id: str, agent: int, customer: int, trunk: int, at: dt.datetime) -> Call:
    return Call(id=call_id, agent_id=agent, requested_by="x", mode="desktop", number="+919876543210",
                trunk_id=trunk, caller_id="8062247000", channels=1, state="ended", requested_at=at,
                customer_answered_at=at, ended_at=at, customer_id=customer)


# -- routing ------------------------------------------------------------------------------
def test_the_customers_store_picks_the_queue_of_its_location_and_region():
    q = lambda name, lang, loc, region: SimpleNamespace(name=name, language=lang, location_id=loc,  # noqa: E731
                                                        region=region, active=True)
    queues = [q("a-en", "en", 1, ""), q("b-en", "en", 1, "north"), q("c-en", "en", None, "north"),
              q("d-hi", "hi", 1, "north")]
    store = SimpleNamespace(location_id=1, region="North")
    assert routing.pick_queue(queues, "en", store).name == "b-en"      # location and region
    assert routing.pick_queue(queues[:1] + queues[2:], "en", store).name == "a-en"  # location beats region
    assert routing.pick_queue(queues[2:3], "en", store).name == "c-en"
    assert routing.pick_queue(queues, "ta", store) is None
    assert routing.pick_queue(queues, "en", None) is None


async def test_route_by_customer_and_the_last_agent_only_when_free(sessions, org):
    free = set()
    live = SimpleNamespace(is_free=lambda name: name in free,
                           agents=SimpleNamespace(interface=lambda user: _interface(user)))
    async with sessions() as session:
        r = await routing.route(session, live, "support-en", "en", org.known)
        assert (r.queue, r.reason, r.direct) == ("north-en", "customer_queue", None)
        assert (await routing.route(session, live, "support-en", "en", None)).queue == "support-en"
        assert (await routing.route(session, live, "support-kn", "kn", org.southern)).queue == "south-kn"
        assert (await routing.route(session, live, "nowhere-en", "en", None)).queue_id is None
    async with sessions() as session, session.begin():
        session.add(talked("1" * 32, org.bala, org.known, org.trunk, NOW - dt.timedelta(days=2)))
        session.add(talked("2" * 32, org.asha, org.known, org.trunk, NOW - dt.timedelta(days=1)))
    async with sessions() as session:
        assert (await routing.route(session, live, "support-en", "en", org.known)).direct is None  # not free
        free.add("asha")
        direct = (await routing.route(session, live, "support-en", "en", org.known)).direct
        assert (direct.name, direct.interface) == ("asha", "PJSIP/asha")
        assert (await routing.route(session, live, "support-en", "en", org.known, try_direct=False)).direct is None


def test_the_last_agent_suits_a_caller_who_chose_a_language_only_if_they_speak_it():
    agent = lambda languages: SimpleNamespace(languages=languages)  # noqa: E731
    tamil = routing.CallerLanguage("ta", chosen=True)
    assert tamil.suits(agent("ta")) and tamil.suits(agent("hi,ta"))
    assert not tamil.suits(agent("hi")) and not tamil.suits(agent("te,tam"))
    assert not tamil.suits(agent("")) and not tamil.suits(agent(None))  # nothing recorded: speaks none
    for nobody_chose in (routing.CallerLanguage("ta"), routing.CallerLanguage(None, chosen=True)):
        assert nobody_chose.suits(agent("hi")) and nobody_chose.suits(agent(""))


async def test_a_chosen_language_the_last_agent_does_not_speak_passes_them_over(sessions, org):
    live = SimpleNamespace(is_free=lambda name: True, agents=SimpleNamespace(interface=_interface))
    async with sessions() as session, session.begin():
        session.add(talked("4" * 32, org.asha, org.known, org.trunk, NOW))  # asha speaks en,hi
        session.add(Queue(name="support-ta", language="ta"))
    async with sessions() as session:
        hindi = await routing.route(session, live, "support-hi", "hi", org.known, language_chosen=True)
        assert (hindi.direct.name, hindi.passed_over) == ("asha", None)
        tamil = await routing.route(session, live, "support-ta", "ta", org.known, language_chosen=True)
        assert (tamil.queue, tamil.direct, tamil.passed_over) == ("support-ta", None, "asha")
        unchosen = await routing.route(session, live, "support-ta", "ta", org.known)  # e.g. the stored language
        assert (unchosen.direct.name, unchosen.passed_over) == ("asha", None)


async def _interface(user):
    return f"PJSIP/{user.name}", None


# -- items, call-backs ------------------------------------------------------------------
async def test_one_inbound_campaign_per_location_and_one_item_per_customer(sessions, settings, org):
    async with sessions() as session, session.begin():
        north = await items.inbound_campaign(session, org.north, settings)
        assert (await items.inbound_campaign(session, org.north, settings)).id == north.id
        everyone = await items.inbound_campaign(session, None, settings)
        assert (north.name, north.type, north.location_id, north.status) == \
            ("Inbound · north", "inbound_callback", org.north, "active")
        assert everyone.name == "Inbound · all locations" and everyone.expires_on.year >= 2035
        customer = await session.get(Customer, org.known)
        item = await items.customer_item(session, north, customer, org.asha, reason="test")
        assert (item.agent_id, item.bucket, item.store_id) == (org.asha, "fresh", org.del01)
        item.bucket = "closed"
        again = await items.customer_item(session, north, customer, org.bala, reason="test", keep_agent=True)
        assert again.id == item.id and (again.agent_id, again.bucket) == (org.asha, "fresh")  # reopened, kept
        assert (await items.customer_item(session, north, customer, org.bala, reason="x")).agent_id == org.bala


async def test_a_call_back_goes_to_the_last_agent_else_unallocated_in_the_queues_location(sessions, settings, org):
    entry = LiveCall(id="1.1", call_id="c" * 32, did="8062247000", caller="+919812300001", flow="main",
                     language="hi", queue_location_id=org.north)
    item_id, agent = await callbacks.request(sessions, settings, entry, NOW)
    async with sessions() as session:
        item = await session.get(WorkItem, item_id)
        campaign = await session.get(Campaign, item.campaign_id)
        stranger = await session.get(Customer, entry.customer_id)
    assert agent is None and (item.agent_id, item.bucket, item.outcome) == (None, "future_followup",
                                                                           "callback_requested")
    assert item.followup_at.replace(tzinfo=dt.timezone.utc) == NOW + dt.timedelta(minutes=callbacks.CALLBACK_DUE_MINUTES)
    assert campaign.location_id == org.north and item.language == "hi"
    assert (stranger.mobile, stranger.name, stranger.language) == ("+919812300001", "", "hi")

    async with sessions() as session, session.begin():
        session.add(talked("3" * 32, org.bala, org.known, org.trunk, NOW))
    known = LiveCall(id="1.2", call_id="d" * 32, did="8062247000", caller="+919876543210", flow="main",
                     customer_id=org.known)
    item_id, agent = await callbacks.request(sessions, settings, known, NOW)
    async with sessions() as session:
        item = await session.get(WorkItem, item_id)
    assert agent == org.bala and (item.agent_id, item.bucket) == (org.bala, "future_followup")
    withheld = LiveCall(id="1.3", call_id="e" * 32, did="8062247000", caller=None, flow="main")
    assert await callbacks.request(sessions, settings, withheld, NOW) is None


async def test_a_call_back_in_a_chosen_language_is_not_left_with_an_agent_who_does_not_speak_it(
        sessions, settings, org):
    async with sessions() as session, session.begin():
        session.add(talked("5" * 32, org.bala, org.known, org.trunk, NOW))  # bala speaks en only
    entry = lambda n: LiveCall(id=f"2.{n}", call_id=f"{n}" * 32, did="8062247000",  # noqa: E731
                               caller="+919876543210", flow="main", customer_id=org.known, language="hi",
                               queue_location_id=org.north)
    item_id, agent = await callbacks.request(sessions, settings, entry(6), NOW)  # Hindi, chosen by nobody
    assert agent == org.bala
    item_id, agent = await callbacks.request(sessions, settings, entry(7), NOW, language_chosen=True)
    async with sessions() as session:
        item = await session.get(WorkItem, item_id)
        campaign = await session.get(Campaign, item.campaign_id)
    assert agent is None and (item.agent_id, item.allocated_at, item.bucket) == (None, None, "future_followup")
    assert campaign.location_id == org.north  # the queue's location allocates it

    async with sessions() as session, session.begin():  # asha (en,hi) holds it: she keeps it
        (await session.get(WorkItem, item_id)).agent_id = org.asha
    item_id, agent = await callbacks.request(sessions, settings, entry(8), NOW, language_chosen=True)
    async with sessions() as session:
        assert (await session.get(WorkItem, item_id)).agent_id == org.asha


# -- outcomes ----------------------------------------------------------------------------
@pytest.mark.parametrize("answered, callback, entered, path, ended, want", [
    (True, False, True, [], "completed", "answered"),
    (False, True, True, [], "completed", "callback"),
    (False, False, True, [], "caller_hangup", "abandoned"),
    (False, False, False, [("hours", "closed")], "completed", "closed"),
    (False, False, False, [("language", "1")], "caller_hangup", "ivr_only"),
    (False, False, False, [], "error", "failed"),
])
def test_outcomes(answered, callback, entered, path, ended, want):
    entry = LiveCall(id="1.1", call_id="f" * 32, did="1", caller=None, flow="main",
                     answered_at=NOW if answered else None, entered_at=NOW if entered else None)
    record = SessionRecord("1.1", "1", None, path=path, callback_requested=callback, outcome=ended)
    assert outcome_of(entry, record) == want


# -- the survey and NPS ----------------------------------------------------------------------
async def test_survey_answers_and_nps_by_agent_team_and_queue_in_scope(sessions, org):
    async with sessions() as session, session.begin():
        q = (await session.scalars(select(Queue).where(Queue.name == "north-en"))).one()
        for n, (agent, scores) in enumerate([(org.asha, [10, 9, 3]), (org.bala, [7, 8, 0, 0])]):
            for m, score in enumerate(scores):
                call_id = f"{n}{m}".ljust(32, "0")
                session.add(InboundCall(id=f"{n}.{m}", did="1", queue_id=q.id, call_id=call_id))
                call = talked(call_id, agent, org.known, org.trunk, NOW)
                call.inbound_call_id = f"{n}.{m}"
                session.add(call)
    for n, (agent, scores) in enumerate([(org.asha, [10, 9, 3]), (org.bala, [7, 8, 0, 0])]):
        for m, score in enumerate(scores):
            entry = LiveCall(id=f"{n}.{m}", call_id=f"{n}{m}".ljust(32, "0"), did="1", caller=None, flow="x",
                             customer_id=org.known, agent_id=agent, answered_at=NOW)
            assert await survey.store_answer(sessions, entry, "nps", score)
            assert await survey.store_answer(sessions, entry, "agent_rating", 5 if agent == org.asha else 2)
    entry = LiveCall(id="0.0", call_id="00".ljust(32, "0"), did="1", caller=None, flow="x", answered_at=NOW)
    assert not await survey.store_answer(sessions, entry, "nps", 1)     # once per call and question
    assert not await survey.store_answer(sessions, entry, "nps", 11)    # off the scale
    assert not await survey.store_answer(sessions, entry, "mood", 3)    # not a question of ours
    async with sessions() as session:
        rows = (await session.scalars(select(SurveyAnswer))).all()
        assert {r.source for r in rows} == {"ivr"} and len(rows) == 14
        now = dt.datetime.now(dt.timezone.utc)
        start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=1)
        admin = Scope("admin")
        by_agent = await nps.nps_report(session, admin, "agent", start, end)
        by_team = await nps.nps_report(session, admin, "team", start, end)
        by_queue = await nps.nps_report(session, admin, "queue", start, end)
        lead = await nps.nps_report(session, Scope("teamlead", org.lead, org.team_a, org.north), "agent",
                                       start, end)
        with pytest.raises(ReportInvalid):
            await nps.nps_report(session, admin, "store", start, end)
    asha = {"answers": 3, "promoters": 2, "passives": 0, "detractors": 1, "nps": 33.3, "average_rating": 5.0}
    bala = {"answers": 4, "promoters": 0, "passives": 2, "detractors": 2, "nps": -50.0, "average_rating": 2.0}
    assert [{k: r[k] for k in asha} for r in by_agent["rows"]] == [asha, bala]
    assert [r["name"] for r in by_team["rows"]] == ["north-a", "north-b"]
    assert [(r["name"], r["answers"], r["nps"]) for r in by_queue["rows"]] == [("north-en", 7, -14.3)]
    assert by_agent["total"]["nps"] == -14.3 and by_agent["total"]["ratings"] == 7
    assert [r["key"] for r in lead["rows"]] == [org.asha] and lead["total"]["answers"] == 3


# -- the unknown caller made a customer ------------------------------------------------------------
async def test_an_unknown_caller_becomes_a_customer_of_the_agent_the_call_rang(sessions, settings, org):
    async with sessions() as session, session.begin():
        session.add(InboundCall(id="9.1", did="8062247000", caller="+919812300002", agent_id=org.asha))
        session.add(InboundCall(id="9.2", did="8062247000", caller=None, agent_id=org.asha))
        call = talked("9" * 32, org.asha, org.known, org.trunk, NOW)
        call.customer_id, call.number, call.inbound_call_id, call.direction = None, "+919812300002", "9.1", "inbound"
        session.add(call)
    asha = Scope("agent", org.asha, org.team_a, org.north)
    bala = Scope("agent", org.bala, None, org.north)
    async with sessions() as session, session.begin():
        with pytest.raises(InboundCallNotFound):
            await customers.create_from_call(session, bala, settings, "9.1", {"name": "X"}, actor="bala")
        with pytest.raises(InboundCallNotFound):
            await customers.create_from_call(session, asha, settings, "../1", {"name": "X"}, actor="asha")
        with pytest.raises(NoCallerNumber):
            await customers.create_from_call(session, asha, settings, "9.2", {"name": "X"}, actor="asha")
        for bad in ({"name": " "}, {"name": "A", "email": "nope"}, {"name": "A", "language": "xx"},
                    {"name": "A", "store_id": "12x"}, {"name": "A", "store_id": "999"}):
            with pytest.raises(CustomerInvalid):
                await customers.create_from_call(session, asha, settings, "9.1", bad, actor="asha")
        customer, item_id, created = await customers.create_from_call(
            session, asha, settings, "9.1", {"name": " Ravi ", "language": "Hindi", "store_id": str(org.del01),
                                             "email": "ravi@example.com"}, actor="asha")
    assert created and (customer.name, customer.language, customer.store_id) == ("Ravi", "hi", org.del01)
    async with sessions() as session:
        call = await session.get(Call, "9" * 32)
        item = await session.get(WorkItem, item_id)
        row = await session.get(InboundCall, "9.1")
        assert (call.customer_id, call.work_item_id, row.customer_id) == (customer.id, item_id, customer.id)
        assert item.agent_id == org.asha and item.bucket == "fresh"
        visible = (await session.scalars(select(Customer.id).where(customers_in(asha)))).all()
        assert customer.id in visible
    async with sessions() as session, session.begin():
        again, _, created = await customers.create_from_call(session, asha, settings, "9.1", {"name": "Other"},
                                                             actor="asha")
    assert not created and again.id == customer.id and again.name == "Ravi"


# -- the IVR hooks on the wire --------------------------------------------------------------------
FLOW = parse_flow("t", {
    "start": "queue",
    "nodes": {
        "queue": {"kind": "queue", "queue": "support-{language}", "max_wait": 30, "on_timeout": "offer",
                  "on_unavailable": "offer", "on_answered": "bye"},
        "offer": {"kind": "callback_offer", "prompt": "beep", "accepted": "bye", "declined": "bye"},
        "bye": {"kind": "hangup"},
    },
})


async def finished_row(sessions, inbound_id: str = "1700000000.1") -> InboundCall:
    for _ in range(100):
        async with sessions() as session:
            row = await session.get(InboundCall, inbound_id)
        if row is not None and row.ended_at is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("the inbound call was never finished")


@pytest.fixture
async def hooked_ivr(sessions, settings, org):
    clients = InboundClients(settings, sessions, live=None, queues=SimpleNamespace(is_free=lambda name: False))
    live = InboundLive(clients, InboundMetrics(Metrics().registry))
    hooks = InboundHooks(clients, live, nudge)
    recent = deque()

    async def handler(conn):
        await IvrSession(conn, {"t": FLOW}, parse_dids({"default": "t"}, {"t"}), PromptBook(core={"beep"}),
                         hooks, IvrMetrics(), recent).run()

    server = FastAgiServer(dataclasses.replace(IvrSettings(port=0, command_timeout=2.0)), handler, IvrMetrics())
    await server.start()
    yield server, live, recent
    await server.close()


async def test_the_queue_node_records_and_queues_with_continue(hooked_ivr, sessions, org):
    server, live, recent = hooked_ivr
    seen = await converse(server.port, {"GOSUB": "100 result=0 Trying...\n200 result=0 Gosub complete",
                                        "GET VARIABLE QUEUESTATUS": "200 result=1 (TIMEOUT)",
                                        "STREAM FILE beep": "200 result=50"})
    call_id = seen[1].split('"')[1]
    assert seen[:6] == ["ANSWER", f'SET VARIABLE CC_CALL_ID "{call_id}"', seen[2], "GOSUB cc-inbound-record s 1",
                        "EXEC Queue north-en,cI,,,30", "GET VARIABLE QUEUESTATUS"]  # the customer's store's queue
    assert seen[2].startswith('SET VARIABLE CC_REC_DAY "20') and len(call_id) == 32
    row = await finished_row(sessions)
    assert (row.did, row.caller, row.flow, row.trunk_id, row.outcome) == \
        ("8062247000", "+919876543210", "t", org.trunk, "abandoned")
    assert row.entered_queue_at is not None and row.queue_id is not None and row.ended_at is not None
    assert recent[-1].path[:2] == [("queue", "timeout"), ("offer", "declined")] and not live.calls


async def test_a_withheld_caller_is_not_offered_a_call_back(hooked_ivr, sessions):
    server, live, recent = hooked_ivr
    env = ENV.replace(b"agi_callerid: 9876543210", b"agi_callerid: anonymous")
    seen = await converse(server.port, {"GOSUB": "200 result=0 Gosub complete",
                                        "GET VARIABLE QUEUESTATUS": "200 result=1 (JOINEMPTY)"}, env=env)
    assert not any(line.startswith("STREAM FILE beep") for line in seen), seen
    assert recent[-1].path == [("queue", "joinempty"), ("offer", "no_input"), ("bye", "hangup")]
    row = await finished_row(sessions)
    assert (row.caller, row.outcome, row.entered_queue_at) == (None, "ivr_only", None)


# -- the IVR pieces inbound calls rely on ------------------------------------------------------------
def test_commands_for_the_queue_node_refuse_anything_but_our_own_values():
    from ivr import commands
    from ivr.commands import UnsafeArgument

    assert commands.queue("north-en", 60, continue_after=True).line == "EXEC Queue north-en,cI,,,60"
    assert commands.dial("PJSIP/asha", 15).line == "EXEC Dial PJSIP/asha,15,I"
    mobile = "Local/919812345678.carrier.8062247000@cc-queue-mobile/n"
    assert commands.dial(mobile, 15).line == f"EXEC Dial {mobile},15,I"
    assert commands.gosub("cc-inbound-record").line == "GOSUB cc-inbound-record s 1"
    for bad in ("PJSIP/asha&PJSIP/bala", "SIP/asha", "Local/1@other/n", "PJSIP/asha,30,G(x)", "PJSIP/ASHA"):
        with pytest.raises(UnsafeArgument):
            commands.dial(bad, 15)
    for bad in ("default", "cc-c2c,s,1", "cc-x s 1", "CC-X"):
        with pytest.raises(UnsafeArgument):
            commands.gosub(bad)
    assert commands.set_variable("CC_REC_DAY", "20261123").line == 'SET VARIABLE CC_REC_DAY "20261123"'


def test_an_hours_check_without_a_time_zone_uses_the_default_one():
    from ivr.engine import CheckTime, Clock, Walk

    flow = parse_flow("h", {"start": "hours", "nodes": {
        "hours": {"kind": "hours_check", "windows": [{"days": "daily", "from": "10:00", "to": "20:00"}],
                  "open": "open", "closed": "closed"},
        "open": {"kind": "hangup", "prompt": "beep"}, "closed": {"kind": "hangup"}}})
    walk = Walk(flow)
    assert walk.start() == [CheckTime()]
    walk.feed(Clock(dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc)))  # 11:30 in Asia/Kolkata
    assert walk.path == [("hours", "open"), ("open", "hangup")]
