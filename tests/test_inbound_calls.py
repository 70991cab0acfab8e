"""Inbound calls end to end against the real Asterisk and sipp: a carrier
sipp dials a DID and walks a short flow with RFC 4733 DTMF (language menu,
look-up, hours, queue, post-call survey); an agent's sipp phone, logged in to
the queue through the API, rings and answers. Checked: the screen pop reaches
the agent's socket before the answer, the InboundCall and Call rows, the
recording file and its link, the survey answers against the call and the
agent, the disposition owed and accepted; a caller hanging up while waiting
is abandoned, and listed as waiting (queue, language, wait so far) while
they wait; with nobody logged in the call-back offer books items in the
right buckets; a customer's last agent, free, is rung before the queue when
they speak the language the caller chose, and passed over for the queue of
that language (here empty: its call-back offer) when they do not."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from sqlalchemy import select

from callcenter.auth.tokens import create_token
from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, Recording, Trunk, User
from callcenter.org.models import Team
from callcenter.queues.models import Queue
from callcenter.work.models import SurveyAnswer, WorkItem
from tests import factories
from tests.harness import Agent, TrunkSpec
from tests.sipp.inbound_caller import write_caller
from tests.stack import SIPP_DIR, free_port

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(150)]

CARRIER_IP, ASHA_IP, BALA_IP = "127.0.0.4", "127.0.0.12", "127.0.0.13"
DID = "8062247005"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
KNOWN = "+919876543210"
FLOW = {
    "start": "hello",
    "nodes": {
        "hello": {"kind": "prompt", "prompt": "beep", "next": "language"},
        "language": {"kind": "menu", "prompt": "beep", "options": {"1": "english", "2": "hindi", "3": "tamil"},
                     "timeout": 5, "retries": 1, "on_failure": "english"},
        "english": {"kind": "set_language", "language": "en", "next": "lookup"},
        "hindi": {"kind": "set_language", "language": "hi", "next": "lookup"},
        "tamil": {"kind": "set_language", "language": "ta", "next": "lookup"},
        "lookup": {"kind": "customer_lookup", "known": "hours", "unknown": "hours"},
        "hours": {"kind": "hours_check", "windows": [{"days": "daily", "from": "10:00", "to": "20:00"}],
                  "open": "queue", "closed": "bye"},
        "queue": {"kind": "queue", "queue": "support-{language}", "max_wait": 20, "on_timeout": "offer",
                  "on_unavailable": "offer", "on_answered": "nps"},
        "offer": {"kind": "callback_offer", "prompt": "beep", "timeout": 5, "accepted": "booked",
                  "declined": "bye"},
        "booked": {"kind": "hangup", "prompt": "beep"},
        "nps": {"kind": "survey_question", "question": "nps", "scale": "nps", "prompt": "beep", "timeout": 8,
                "retries": 1, "next": "rating"},
        "rating": {"kind": "survey_question", "question": "agent_rating", "scale": "rating", "prompt": "beep",
                   "timeout": 8, "retries": 1, "next": "thanks"},
        "thanks": {"kind": "hangup", "prompt": "vm-goodbye"},
        "bye": {"kind": "hangup", "prompt": "vm-goodbye"},
    },
}


@pytest.fixture
def inbound_ivr(pbx_stack, tmp_path):
    """The server under test: the IVR on a port of its own, with the short flow above."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "inbound.yaml").write_text(yaml.safe_dump(FLOW))
    (flows / "dids.yaml").write_text(yaml.safe_dump({"default": "inbound"}))
    saved = pbx_stack.settings.ivr
    pbx_stack.settings.ivr = dataclasses.replace(saved, port=free_port("127.0.0.1", udp=False),
                                                 flows_dir=str(flows), prompts_dir=str(tmp_path / "cache"))
    yield
    pbx_stack.settings.ivr = saved
    pbx_stack.configure([], [])
    pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])


def ringing_phone(tmp_path: Path, ring_ms: int) -> str:
    """uas_answer_bye that rings ``ring_ms`` before answering (a person reaching for the phone)."""
    text = (SIPP_DIR / "uas_answer_bye.xml").read_text()
    marker = "  <send retrans=\"500\">\n    <![CDATA[\n\n      SIP/2.0 200 OK"
    assert marker in text
    path = tmp_path / "uas_ring_answer_bye.xml"
    path.write_text(text.replace(marker, f'  <pause milliseconds="{ring_ms}"/>\n' + marker, 1))
    return str(path)


class Line:
    def __init__(self, server, sipp, tmp_path):
        self.server, self.sipp, self.tmp_path = server, sipp, tmp_path
        self.services = server.services
        self.calls = 0

    async def call(self, steps, caller=KNOWN, end="wait_bye", timeout=60.0):
        """Place one inbound call and wait until its InboundCall row is finished."""
        self.calls += 1
        scenario = write_caller(self.tmp_path / f"call-{self.calls}", steps, end, caller)
        sip = self.server.settings.pbx
        proc = self.sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                         [f"{sip.sip_host}:{sip.sip_port}", "-s", DID, "-m", "1"], timeout=timeout)
        deadline = time.monotonic() + timeout
        while proc.running:
            assert time.monotonic() < deadline, proc.log_tail()
            await asyncio.sleep(0.1)
        assert proc.proc.returncode == 0, proc.log_tail()
        while True:
            async with self.services.sessions() as session:
                rows = (await session.scalars(select(InboundCall).order_by(InboundCall.started_at))).all()
            if len(rows) >= self.calls and rows[-1].ended_at is not None:
                await asyncio.sleep(RECORDING_WAIT)
                return rows[-1]
            assert time.monotonic() < deadline + 10, "the inbound call was never finished"
            await asyncio.sleep(0.1)

    def metric(self, name: str, **labels) -> float:
        return self.services.metrics.registry.get_sample_value(name, labels or None) or 0.0


RECORDING_WAIT = 1.5  # the recording row is written a second after the talk ends


async def open_line(call_server, pbx_stack, sipp, tmp_path, agents=()) -> Line:
    server = await call_server(agents=agents, trunks=[TrunkSpec("carrier", CARRIER_IP, 5099)])
    services = server.services
    [(resp, _)] = pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])
    assert resp["Response"] == "Success", resp
    services.ivr.clock = lambda: dt.datetime(2026, 11, 23, 12, 0, tzinfo=IST)  # open hours
    return Line(server, sipp, tmp_path)


async def organise(services, agents=(), languages=("en",)) -> dict:
    """North location with a store and a team; the agents speak English in the call centre;
    the queue support-en (and support-<language> for the other ``languages``) serves north;
    the known customer belongs to the store."""
    async with services.sessions() as session, session.begin():
        north = await factories.location(session, "north")
        store = await factories.store(session, north, code="DEL01", region="north")
        team = await factories.team(session, north, "north-1")
        queue = Queue(name="support-en", language="en", location_id=north.id, region="north", strategy="leastrecent",
                      wrapup_seconds=0, max_wait_seconds=60, service_level_seconds=20, announce_position=False)
        session.add(queue)
        others = [Queue(name=f"support-{code}", language=code, location_id=north.id, region="north",
                        strategy="leastrecent", wrapup_seconds=0, max_wait_seconds=60, service_level_seconds=20,
                        announce_position=False) for code in languages if code != "en"]
        session.add_all(others)
        customer = await factories.customer(session, KNOWN, "Asha Customer", store=store)
        for name in agents:
            user = (await session.scalars(select(User).where(User.name == name))).one()
            user.languages, user.agent_kind, user.location_id, user.team_id = "en", "center", north.id, team.id
        await session.flush()
        out = {"north": north.id, "store": store.id, "team": team.id, "queue": queue.id, "customer": customer.id,
               **{q.name: q.id for q in others}}
    sync = services.pbx_sync  # Asterisk loads the queues (queues.conf rendered, app_queue reloaded)
    deadline = time.monotonic() + 10
    while not {f"support-{code}" for code in languages} <= set(sync.queue_names):
        assert time.monotonic() < deadline, "the queue was never loaded"
        sync.poke()
        await asyncio.sleep(0.2)
    return out


async def log_in(line: Line, agent: str, pause: str | None = None, queue: str = "support-en") -> None:
    server = line.server
    headers = server.headers(server.agent_tokens[agent])
    resp = await server.client.post("/api/v1/queues/login", json={"queues": [queue]}, headers=headers)
    assert resp.status == 200, await resp.text()
    if pause:
        resp = await server.client.post("/api/v1/queues/pause", json={"reason": pause}, headers=headers)
        assert resp.status == 200, await resp.text()
    deadline = time.monotonic() + 10
    while agent not in line.services.queues.logged_in(queue):  # QueueMemberAdded seen
        assert time.monotonic() < deadline, "the agent never showed in the queue"
        await asyncio.sleep(0.1)


async def socket_of(line: Line, agent: str):
    server = line.server
    ws = await server.client.ws_connect("/ws", headers=server.headers(server.agent_tokens[agent]), heartbeat=None)
    hello = json.loads((await ws.receive(timeout=10)).data)
    assert hello["type"] == "hello"
    return ws


async def messages(ws, until, timeout: float = 30.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while not seen or not until(seen[-1]):
        msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        seen.append(json.loads(msg.data))
    return seen


async def test_a_caller_is_answered_recorded_and_surveyed(call_server, pbx_stack, sipp, tmp_path, inbound_ivr):
    asha_phone = sipp(ringing_phone(tmp_path, 1500), ASHA_IP, free_port(ASHA_IP, tcp=False), ["-d", 3000],
                      timeout=60)
    line = await open_line(call_server, pbx_stack, sipp, tmp_path,
                           agents=[Agent("asha", contact=f"sip:{ASHA_IP}:{asha_phone.port}")])
    ids = await organise(line.services, ["asha"])
    await log_in(line, "asha")
    ws = await socket_of(line, "asha")

    # hello beep, the language menu: 1 (English) at 1.5 s; the queue rings asha (1.5 s), she talks 3 s
    # and hangs up; the survey: NPS 9# and the rating 4
    call_task = asyncio.create_task(line.call(
        [("pause", 1500), ("dtmf", "1"), ("pause", 9000), ("dtmf", "9"), ("pause", 300), ("dtmf", "#"),
         ("pause", 2500), ("dtmf", "4")]))
    seen = await messages(ws, lambda m: m["type"] == "call" and m["call"]["state"] == "ended")
    row = await call_task

    pops = [m for m in seen if m["type"] == "screen_pop"]
    calls = [m["call"] for m in seen if m["type"] == "call"]
    assert len(pops) == 1, seen
    pop = pops[0]
    assert seen.index(pop) < next(i for i, m in enumerate(seen) if m["type"] == "call"), seen  # before the answer
    assert pop["inbound_call_id"] == row.id and pop["customer_id"] == ids["customer"]
    assert pop["number"] == "+91 98xxxxxx10" and pop["queue"] == "support-en" and pop["language"] == "en"
    assert pop["url"] == f"/customers/{ids['customer']}?item={pop['work_item_id']}"
    assert [c["state"] for c in calls] == ["connected", "ended"] and calls[-1]["direction"] == "inbound"

    async with line.services.sessions() as session:
        asha = (await session.scalars(select(User).where(User.name == "asha"))).one()
        call = await session.get(Call, row.call_id)
        recording = await session.get(Recording, call.recording_id) if call.recording_id else None
        item = await session.get(WorkItem, call.work_item_id)
        campaign = await session.get(Campaign, item.campaign_id)
        answers = {a.question: a for a in (await session.scalars(select(SurveyAnswer))).all()}
    assert (row.outcome, row.agent_id, row.queue_id, row.customer_id, row.language) == \
        ("answered", asha.id, ids["queue"], ids["customer"], "en")
    assert 1.0 <= row.wait_seconds <= 6 and 2.0 <= row.talk_seconds <= 6, (row.wait_seconds, row.talk_seconds)
    assert (call.direction, call.inbound_call_id, call.agent_id, call.customer_id, call.state, call.number) == \
        ("inbound", row.id, asha.id, ids["customer"], "ended", KNOWN)
    assert call.hangup_by == "agent" and call.caller_id == DID
    assert (campaign.type, campaign.location_id, item.agent_id, item.id) == \
        ("inbound_callback", ids["north"], asha.id, pop["work_item_id"])
    assert recording is not None, "the inbound call has no recording row"
    path = line.services.settings.pbx.recordings_dir / recording.path
    assert path.name == f"{call.id}.wav" and path.stat().st_size > 10_000, path
    assert {q: (a.score, a.call_id, a.agent_id, a.customer_id, a.source) for q, a in answers.items()} == {
        "nps": (9, call.id, asha.id, ids["customer"], "ivr"),
        "agent_rating": (4, call.id, asha.id, ids["customer"], "ivr")}
    record = line.services.ivr.recent[-1]
    assert ("queue", "answered") in record.path and ("nps", "9") in record.path and ("rating", "4") in record.path

    # the disposition is owed like a click-to-call's, and taken for the inbound item
    server = line.server
    headers = server.headers(server.agent_tokens["asha"])
    owed = await (await server.client.get("/api/v1/dispositions/owed", headers=headers)).json()
    assert owed["call"]["id"] == call.id, owed
    resp = await server.client.post(f"/api/v1/work/{item.id}/dispositions", headers=headers, json={
        "call_id": call.id, "answers": {"talked": "yes", "wished": "yes", "visit": "no"}})
    assert resp.status == 201, await resp.text()
    profile = await (await server.client.get(f"/api/v1/customers/{ids['customer']}", headers=headers)).json()
    assert profile["calls"][0]["id"] == call.id and profile["calls"][0]["recording_url"]
    assert profile["calls"][0]["direction"] == "inbound"
    api_call = await (await server.client.get(f"/api/v1/calls/{call.id}", headers=headers)).json()
    assert (api_call["direction"], api_call["inbound_call_id"], api_call["state"]) == ("inbound", row.id, "ended")
    listed = await (await server.client.get("/api/v1/inbound/calls", headers=headers)).json()
    assert [(c["direction"], c["state"], c["call_id"]) for c in listed["calls"]] == [("inbound", "ended", call.id)]

    assert line.metric("callcenter_queue_answered_total", queue="support-en") == 1
    assert line.metric("callcenter_inbound_calls_total", outcome="answered") == 1
    assert line.metric("callcenter_inbound_survey_answers_total", question="nps") == 1
    assert line.metric("callcenter_inbound_screen_pops_total") == 1
    await ws.close()


async def team_lead(line: Line) -> dict:
    """Headers of the north team's lead (who sees the calls of the location's queues)."""
    async with line.services.sessions() as session, session.begin():
        team = (await session.scalars(select(Team).where(Team.name == "north-1"))).one()
        lead = await factories.user(session, "lead-n", "teamlead", team=team)
        token = await create_token(session, "tok-lead-n", user_id=lead.id, actor="test")
    return line.server.headers(token)


async def eventually_listed(line: Line, headers: dict, check, timeout: float = 15.0) -> dict:
    """The first inbound call of the day's list (GET /api/v1/inbound/calls) that passes ``check``."""
    deadline = time.monotonic() + timeout
    while True:
        resp = await line.server.client.get("/api/v1/inbound/calls", headers=headers)
        assert resp.status == 200, await resp.text()
        found = [c for c in (await resp.json())["calls"] if check(c)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, await resp.text()
        await asyncio.sleep(0.2)


async def test_a_caller_hanging_up_while_waiting_is_abandoned(call_server, pbx_stack, sipp, tmp_path,
                                                             inbound_ivr):
    line = await open_line(call_server, pbx_stack, sipp, tmp_path,
                           agents=[Agent("asha", contact=f"sip:{ASHA_IP}:5999")])
    await organise(line.services, ["asha"])
    await log_in(line, "asha", pause="break")  # logged in but on a break: the caller waits
    lead = await team_lead(line)
    calling = asyncio.create_task(line.call([("pause", 1500), ("dtmf", "1"), ("pause", 4000)], end="bye"))
    # while they wait, the day's list shows them waiting: queue, language, wait so far
    waiting = await eventually_listed(line, lead, lambda c: c["state"] == "waiting" and c["wait_seconds"] >= 1)
    assert (waiting["queue"], waiting["language"], waiting["direction"]) == ("support-en", "en", "inbound")
    assert waiting["answered_at"] is None and waiting["outcome"] is None
    row = await calling
    assert row.outcome == "abandoned" and row.answered_at is None and row.entered_queue_at is not None
    [ended] = (await (await line.server.client.get("/api/v1/inbound/calls", headers=lead)).json())["calls"]
    assert (ended["state"], ended["queue"], ended["wait_seconds"]) == ("ended", "support-en", row.wait_seconds)
    assert 2.5 <= row.wait_seconds <= 6, row.wait_seconds
    deadline = time.monotonic() + 5
    while line.metric("callcenter_queue_abandoned_total", queue="support-en") != 1:
        assert time.monotonic() < deadline, "the queue tracker did not count the abandon"
        await asyncio.sleep(0.1)
    assert line.metric("callcenter_inbound_calls_total", outcome="abandoned") == 1
    async with line.services.sessions() as session:
        assert (await session.scalars(select(Call))).all() == []


async def test_with_nobody_logged_in_the_call_back_offer_books_items(call_server, pbx_stack, sipp, tmp_path,
                                                                    inbound_ivr):
    line = await open_line(call_server, pbx_stack, sipp, tmp_path,
                           agents=[Agent("asha", contact=f"sip:{ASHA_IP}:5999")])
    ids = await organise(line.services, ["asha"])
    async with line.services.sessions() as session, session.begin():
        asha = (await session.scalars(select(User).where(User.name == "asha"))).one()
        trunk = (await session.scalars(select(Trunk))).one()
        now = dt.datetime.now(dt.timezone.utc)
        session.add(Call(id="a" * 32, agent_id=asha.id, requested_by="asha", mode="desktop", number=KNOWN,
                         trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended",
                         requested_at=now, customer_answered_at=now, ended_at=now, customer_id=ids["customer"]))

    # an unknown caller: made a customer, their call-back unallocated in north's inbound campaign
    stranger = "+919812300001"
    row = await line.call([("pause", 1500), ("dtmf", "1"), ("pause", 1500), ("dtmf", "1")], caller=stranger)
    assert row.outcome == "callback" and row.queue_id == ids["queue"] and row.entered_queue_at is None
    # the known customer: back to asha, who spoke with them last
    row2 = await line.call([("pause", 1500), ("dtmf", "1"), ("pause", 1500), ("dtmf", "1")])
    assert row2.outcome == "callback"

    async with line.services.sessions() as session:
        items = {i.customer_id: i for i in (await session.scalars(select(WorkItem))).all()}
        new = (await session.scalars(select(Customer).where(Customer.mobile == stranger))).one()
        campaigns = {c.id: c for c in (await session.scalars(select(Campaign))).all()}
    first, second = items[new.id], items[ids["customer"]]
    assert (first.agent_id, first.bucket, first.outcome) == (None, "future_followup", "callback_requested")
    assert campaigns[first.campaign_id].location_id == ids["north"] and row.customer_id == new.id
    assert (second.agent_id, second.bucket) == (asha.id, "future_followup")
    assert first.followup_at is not None and campaigns[second.campaign_id].type == "inbound_callback"
    assert line.metric("callcenter_inbound_callbacks_offered_total") == 2
    assert line.metric("callcenter_inbound_callbacks_taken_total") == 2
    path = line.services.ivr.recent[-1].path
    assert ("queue", "joinempty") in path and ("offer", "accepted") in path, path


async def test_the_customers_last_agent_is_rung_first_in_a_language_they_speak(call_server, pbx_stack, sipp,
                                                                               tmp_path, inbound_ivr):
    text = (SIPP_DIR / "uas_answer.xml").read_text()  # answers after half a second, never hangs up itself
    phone = tmp_path / "uas_ring_answer.xml"
    phone.write_text(text.replace("  <send retrans=\"500\">\n    <![CDATA[\n\n      SIP/2.0 200 OK",
                                  "  <pause milliseconds=\"500\"/>\n  <send retrans=\"500\">\n    <![CDATA[\n\n"
                                  "      SIP/2.0 200 OK", 1))
    asha_phone = sipp(str(phone), ASHA_IP, free_port(ASHA_IP, tcp=False), timeout=90)
    line = await open_line(call_server, pbx_stack, sipp, tmp_path,
                           agents=[Agent("asha", contact=f"sip:{ASHA_IP}:{asha_phone.port}"),
                                   Agent("bala", contact=f"sip:{BALA_IP}:5999")])
    ids = await organise(line.services, ["asha", "bala"], languages=("en", "hi", "ta"))
    async with line.services.sessions() as session, session.begin():
        asha = (await session.scalars(select(User).where(User.name == "asha"))).one()
        bala = (await session.scalars(select(User).where(User.name == "bala"))).one()
        asha.languages, bala.languages = "hi", "en,hi"  # asha speaks only Hindi; nobody Tamil
        trunk = (await session.scalars(select(Trunk))).one()
        now = dt.datetime.now(dt.timezone.utc)
        session.add(Call(id="b" * 32, agent_id=asha.id, requested_by="asha", mode="desktop", number=KNOWN,
                         trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended",
                         requested_at=now, customer_answered_at=now, ended_at=now, customer_id=ids["customer"]))
    await log_in(line, "asha", queue="support-hi")
    await log_in(line, "bala", pause="meeting", queue="support-hi")  # in the queue too, but the call goes to asha
    ws = await socket_of(line, "asha")

    # the caller picks Tamil (3): asha, free, is not rung; the Tamil queue has nobody, so its
    # call-back offer (1): booked for the queue's location to allocate, not in asha's buckets
    tamil = await line.call([("pause", 1500), ("dtmf", "3"), ("pause", 1500), ("dtmf", "1")])
    assert (tamil.outcome, tamil.language, tamil.queue_id, tamil.agent_id) == ("callback", "ta", ids["support-ta"],
                                                                               None)
    path = line.services.ivr.recent[-1].path
    assert ("language", "3") in path and ("queue", "joinempty") in path and ("offer", "accepted") in path, path
    assert line.metric("callcenter_inbound_routed_total", route="last_agent_other_language") == 1
    assert line.metric("callcenter_inbound_routed_total", route="last_agent") == 0
    async with line.services.sessions() as session:
        item = (await session.scalars(select(WorkItem).where(WorkItem.customer_id == ids["customer"]))).one()
        campaign = await session.get(Campaign, item.campaign_id)
    assert (item.agent_id, item.bucket, item.outcome) == (None, "future_followup", "callback_requested")
    assert campaign.location_id == ids["north"]

    # the caller picks Hindi (2), which asha speaks: she is rung first, before the queue
    call_task = asyncio.create_task(line.call([("pause", 1500), ("dtmf", "2"), ("pause", 7000)], end="bye"))
    seen = await messages(ws, lambda m: m["type"] == "call" and m["call"]["state"] == "connected")
    connected = seen[-1]["call"]
    # the panel's hang-up button for an inbound call: the agent's leg ends, the caller goes on to the survey
    server = line.server
    resp = await server.client.post(connected["hangup_url"], headers=server.headers(server.agent_tokens["asha"]))
    assert resp.status == 202, await resp.text()
    seen += await messages(ws, lambda m: m["type"] == "call" and m["call"]["state"] == "ended", timeout=10)
    row = await call_task
    pops = [m for m in seen if m["type"] == "screen_pop"]
    assert [m["type"] for m in seen if m["type"] in ("screen_pop", "call")] == ["screen_pop", "call", "call"], seen
    assert pops[0]["inbound_call_id"] == row.id and pops[0]["language"] == "hi"  # none for the Tamil call
    assert (row.outcome, row.agent_id, row.language) == ("answered", asha.id, "hi")
    assert line.metric("callcenter_inbound_routed_total", route="last_agent") == 1
    assert line.metric("callcenter_queue_answered_total", queue="support-hi") == 0  # not through the queue
    async with line.services.sessions() as session:
        call = await session.get(Call, row.call_id)
    assert (call.direction, call.agent_id, call.hangup_by) == ("inbound", asha.id, "agent")
    assert call.recording_id is not None
    path = line.services.ivr.recent[-1].path
    assert ("queue", "answered") in path and path[-1] == ("nps", "caller_hangup"), path  # in the survey
    await ws.close()
