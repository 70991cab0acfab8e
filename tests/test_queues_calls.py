"""Queues through the HTTP API against the real Asterisk: an admin creates a
queue (rendered and loaded without a restart), an agent logs in, pauses with
a reason, unpauses and logs out, each checked with Asterisk's own
QueueStatus; a caller put into the queue rings the logged-in desktop agent
(sipp answering on 127.0.0.10) and the tracker sees the join, the ring, the
answer and the end; a caller who hangs up while waiting counts as abandoned
with their wait; the figures reach /api/v1/queues/status and /metrics.

Callers are originated from the carrier into Asterisk's Queue() directly
(Originate with Application=Queue): the IVR reaches the same Queue() through
FastAGI."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select, update

from callcenter.auth.tokens import create_token
from callcenter.models import User
from callcenter.queues.models import AgentPause, QueueSession
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP, PHONE_IP = "127.0.0.2", "127.0.0.10"
QUEUE = "support-en"


async def clear_members(ami) -> None:
    """Leave Asterisk's queues empty (dynamic members outlive a test and app_queue reloads)."""
    if ami is None or not ami.connected:
        return
    for e in await ami.action_list("QueueStatus"):
        if e.get("Event") == "QueueMember":
            await ami.action("QueueRemove", {"Queue": e["Queue"], "Interface": e["Location"]})


@pytest.fixture
async def call_server(call_server):
    """The harness's call_server, leaving no queue member behind."""
    servers = []

    async def make(*args, **kw):
        server = await call_server(*args, **kw)
        servers.append(server)
        await clear_members(server.services.ami)
        return server

    yield make
    for server in servers:
        await clear_members(server.services.ami)


async def start(call_server, sipp, phone="uas_answer", carrier="uas_answer", phone_args=(), carrier_args=()):
    phone_sipp = sipp(phone, PHONE_IP, free_port(PHONE_IP, tcp=False), phone_args, timeout=60)
    carrier_sipp = sipp(carrier, CARRIER_IP, free_port(CARRIER_IP, tcp=False), carrier_args, timeout=60)
    server = await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone_sipp.port}")],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier_sipp.port)])
    s = server.services
    async with s.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == "asha").values(languages="hi,en",
                                                                              agent_kind="center"))
        server.admin = await create_token(session, "queue-admin", "admin", actor="test")
    resp = await server.client.post("/api/v1/queues", headers=server.headers(server.admin), json={
        "name": QUEUE, "language": "en", "strategy": "leastrecent", "wrapup_seconds": 2,
        "max_wait_seconds": 60, "service_level_seconds": 20})
    assert resp.status == 201, await resp.text()
    server.agent = server.headers(server.agent_tokens["asha"])
    return server


async def post(server, path, body=None, headers=None):
    resp = await server.client.post(f"/api/v1/queues/{path}", json=body or {}, headers=headers or server.agent)
    return resp.status, await resp.json()


async def asterisk_members(server) -> list[dict]:
    events = await server.services.ami.action_list("QueueStatus", {"Queue": QUEUE})
    return [e for e in events if e.get("Event") == "QueueMember"]


async def board(server) -> dict:
    resp = await server.client.get("/api/v1/queues/status", headers=server.headers(server.admin))
    assert resp.status == 200, await resp.text()
    return {q["name"]: q for q in (await resp.json())["queues"]}[QUEUE]


async def until(check, timeout: float = 20.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        await asyncio.sleep(0.1)


async def enqueue(server, number: str, wait: int = 30) -> None:
    resp = await server.services.ami.action("Originate", {
        "Channel": f"PJSIP/{number}@carrier", "Application": "Queue", "Data": f"{QUEUE},I,,,{wait}",
        "CallerID": f"<{number}>", "Async": "true"})
    assert resp["Response"] == "Success", resp


async def test_login_pause_unpause_logout_in_asterisk(call_server, sipp):
    server = await start(call_server, sipp)
    status, me = await post(server, "pause", {"reason": "break"})
    assert status == 409 and me["error"] == "not_logged_in"

    status, me = await post(server, "login")
    assert status == 200, me
    assert [q["name"] for q in me["logged_in"]] == [QUEUE] and me["changed"] == [QUEUE]
    [member] = await asterisk_members(server)
    assert member["Name"] == "asha" and member["Location"].startswith("PJSIP/")
    assert member["StateInterface"] == member["Location"]
    assert member["Penalty"] == "1" and member["Paused"] == "0"   # English is asha's second language

    status, me = await post(server, "pause", {"reason": "tea"})
    assert status == 422 and me["error"] == "invalid_pause_reason"
    status, me = await post(server, "pause", {"reason": "break"})
    assert status == 200 and me["paused"] and me["pause_reason"] == "break"
    [member] = await asterisk_members(server)
    assert (member["Paused"], member["PausedReason"]) == ("1", "break")
    seen = await until(lambda: _member_state(server, "paused"), what="the board showing the pause")
    assert seen["reason"] == "break"

    status, me = await post(server, "unpause")
    assert status == 200 and not me["paused"]
    [member] = await asterisk_members(server)
    assert member["Paused"] == "0"
    await until(lambda: _member_state(server, "available"), what="available again")

    status, me = await post(server, "logout")
    assert status == 200 and me["logged_in"] == [] and me["changed"] == [QUEUE]
    assert await asterisk_members(server) == []
    async with server.services.sessions() as session:
        sessions = (await session.scalars(select(QueueSession))).all()
        pauses = (await session.scalars(select(AgentPause))).all()
    assert len(sessions) == 1 and sessions[0].logged_out_at is not None
    assert [(p.reason, p.ended_at is not None) for p in pauses] == [("break", True)]
    assert (await board(server))["logged_in"] == 0


async def _member_state(server, state: str):
    members = (await board(server))["members"]
    return members[0] if members and members[0]["state"] == state else None


async def test_queue_call_rings_the_agent_and_is_answered(call_server, sipp):
    server = await start(call_server, sipp, phone="uas_answer_bye", phone_args=["-d", 3000])
    events = []
    server.services.queues.listen(lambda kind, info: events.append((kind, info)))
    assert (await post(server, "login"))[0] == 200
    await until(lambda: _member_state(server, "available"), what="logged in")

    await enqueue(server, "919876543210")
    await until(lambda: _figure(server, "answered", 1), what="the answer")
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["agent_called", "caller_done", "agent_connected"], kinds
    called = events[0][1]
    assert called["queue"] == QUEUE and called["agent"] == "asha" and called["caller_number"] == "919876543210"
    assert called["agent_id"] is not None and called["caller_uniqueid"]
    assert events[1][1]["outcome"] == "answered" and events[1][1]["wait"] <= 2
    assert (await board(server))["members"][0]["state"] == "in_call"

    await until(lambda: _member_state(server, "wrapup"), what="wrap-up after the agent hangs up")
    assert "agent_completed" in [k for k, _ in events]
    await until(lambda: _member_state(server, "available"), timeout=10, what="wrap-up over")
    today = (await board(server))["today"]
    assert today["answered"] == 1 and today["abandoned"] == 0 and today["service_level"] == 1.0
    metrics = await (await server.client.get("/metrics")).text()
    assert 'callcenter_queue_answered_total{queue="support-en"} 1.0' in metrics
    assert 'callcenter_queue_agents_logged_in{queue="support-en"} 1.0' in metrics
    assert 'callcenter_queue_callers_waiting{queue="support-en"} 0.0' in metrics


async def _figure(server, key: str, value):
    return (await board(server))["today"][key] == value


async def test_caller_hanging_up_while_waiting_is_abandoned(call_server, sipp):
    server = await start(call_server, sipp, phone="uas_ring", carrier="uas_answer_bye", carrier_args=["-d", 3000])
    assert (await post(server, "login"))[0] == 200
    await until(lambda: _member_state(server, "available"), what="logged in")
    await enqueue(server, "919876543211")
    waiting = await until(lambda: _waiting(server), what="the caller waiting")
    assert waiting["waiting"] == 1
    await until(lambda: _figure(server, "abandoned", 1), what="the abandon")
    today = (await board(server))["today"]
    assert today["answered"] == 0 and 2 <= today["abandon_average_wait"] <= 5
    assert (await board(server))["waiting"] == 0
    metrics = await (await server.client.get("/metrics")).text()
    assert 'callcenter_queue_abandoned_total{queue="support-en"} 1.0' in metrics
    assert 'callcenter_queue_abandon_wait_seconds_count{queue="support-en"} 1.0' in metrics


async def _waiting(server):
    view = await board(server)
    return view if view["waiting"] else None


async def test_agents_and_queues_out_of_reach(call_server, sipp):
    server = await start(call_server, sipp)
    status, body = await post(server, "login", {"queues": ["support-hi"]})
    assert status == 409 and body["error"] == "queue_not_offered"
    resp = await server.client.post("/api/v1/queues", headers=server.agent, json={"name": "x", "language": "en"})
    assert resp.status == 403
    resp = await server.client.post("/api/v1/queues", headers=server.headers(server.admin),
                                    json={"name": "Bad Name", "language": "en"})
    assert resp.status == 422 and (await resp.json())["field"] == "name"
    status, body = await post(server, "login", {"agent": "nobody"})
    assert status == 404 and body["error"] == "agent_not_found"
    # a supervisor logs the agent in and out
    status, me = await post(server, "login", {"agent": "asha"}, headers=server.headers(server.admin))
    assert status == 200 and me["agent"] == "asha" and len(me["logged_in"]) == 1
    status, me = await post(server, "logout", {"agent": "asha"}, headers=server.headers(server.admin))
    assert status == 200 and me["logged_in"] == []


async def test_after_a_reconnect_asterisk_is_put_back_in_line_with_the_sessions(call_server, sipp):
    server = await start(call_server, sipp)
    assert (await post(server, "login"))[0] == 200
    assert (await post(server, "pause", {"reason": "lunch"}))[0] == 200
    [member] = await asterisk_members(server)
    ami = server.services.ami
    # Asterisk restarted and lost its dynamic members; a user of ours is there without a session
    await ami.action("QueueRemove", {"Queue": QUEUE, "Interface": member["Location"]})
    async with server.services.sessions() as session, session.begin():
        session.add(User(name="ravi", role="agent", languages="en", active=True))
    await ami.action("QueueAdd", {"Queue": QUEUE, "Interface": "PJSIP/ravi-old", "MemberName": "ravi"})
    await ami.action("QueueAdd", {"Queue": QUEUE, "Interface": "PJSIP/not-ours", "MemberName": "visitor"})
    await server.services._on_ami_connected()
    found = {m["Name"]: m for m in await asterisk_members(server)}
    assert set(found) == {"asha", "visitor"}        # ravi had no session; a stranger is left alone
    assert (found["asha"]["Paused"], found["asha"]["PausedReason"]) == ("1", "lunch")
    assert found["asha"]["Location"] == member["Location"]
    view = await until(lambda: _member_state(server, "paused"), what="the board after the reconcile")
    assert view["reason"] == "lunch"
    await ami.action("QueueRemove", {"Queue": QUEUE, "Interface": "PJSIP/not-ours"})
