"""Listen, whisper, barge against the real Asterisk: sipp plays the agent's
phone (a 700 Hz tone), the carrier (500 Hz) and the team lead's desk phone
(1400 Hz); the RTP Asterisk sends to each phone is captured on loopback and
the tones are looked for with a Goertzel filter (tests/rtp_tones.py)."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from sqlalchemy import select

from callcenter.live import sees
from callcenter.models import AuditEntry, User
from callcenter.org.scope import Scope
from tests.harness import Agent, TrunkSpec, eventually
from tests.rtp_tones import RtpCapture, frames_with, tone_scenario, write_tone_pcap
from tests.stack import SIPP_DIR, free_port
from tests.test_pbx_faults import kill_ami_connection

pytestmark = pytest.mark.pbx

CARRIER_IP, PHONE_IP, LEAD_IP, OTHER_LEAD_IP = "127.0.0.2", "127.0.0.10", "127.0.0.11", "127.0.0.12"
AWAY_LEAD_IP = "127.0.0.13"   # a team lead whose phone rings and is never answered
TONES = {CARRIER_IP: 500, PHONE_IP: 700, LEAD_IP: 1400}


@pytest.fixture
async def stack(call_server, sipp, tmp_path):
    """A connected call asha <-> customer; a team lead of asha's team (lead) and one of another (rohan)."""
    phones = {}
    for ip, tone in TONES.items():
        scenario = tone_scenario(SIPP_DIR / "uas_answer.xml", write_tone_pcap(tmp_path / f"{tone}.pcap", tone),
                                 tmp_path / f"uas_{tone}.xml")
        phones[ip] = sipp(str(scenario), ip, free_port(ip, tcp=False))
    other = sipp("uas_answer", OTHER_LEAD_IP, free_port(OTHER_LEAD_IP, tcp=False))
    away = sipp("uas_ring", AWAY_LEAD_IP, free_port(AWAY_LEAD_IP, tcp=False))
    server = await call_server(
        teams=("North", "South"),
        agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phones[PHONE_IP].port}", team="North"),
                Agent("lead", contact=f"sip:{LEAD_IP}:{phones[LEAD_IP].port}", role="teamlead", team="North"),
                Agent("rohan", contact=f"sip:{OTHER_LEAD_IP}:{other.port}", role="teamlead", team="South"),
                Agent("noor", contact=f"sip:{AWAY_LEAD_IP}:{away.port}", role="teamlead", team="North"),
                Agent("meera", mobile="+91 98111 22233", role="teamlead", team="North")],
        trunks=[TrunkSpec("carrier", CARRIER_IP, phones[CARRIER_IP].port)])
    body = await (await server.place("asha", "+91 98765 43210")).json()
    await server.wait_state(body["id"], "connected")
    return server, body["id"]


async def monitor(server, call_id, mode, who="lead"):
    token = server.agent_tokens.get(who, who)
    return await server.client.post(f"/api/v1/calls/{call_id}/monitor", json={"mode": mode},
                                    headers=server.headers(token))


async def spy_channels(server) -> list[dict]:
    channels = await server.services.ami.action_list("CoreShowChannels")
    return [c for c in channels if c.get("Uniqueid", "").startswith("cm-")]


async def connected_session(server, session_id):
    async def check():
        sessions = [s for s in server.services.monitor.active() if s["id"] == session_id]
        spying = [c for c in await spy_channels(server) if c.get("Application") == "ChanSpy"]
        return sessions and sessions[0]["state"] == "connected" and spying and (sessions[0], spying[0])
    return await eventually(check, "the supervisor's phone answered and in ChanSpy")


@pytest.mark.parametrize("mode, agent_hears, customer_hears", [
    ("listen", False, False), ("whisper", True, False), ("barge", True, True)])
async def test_supervisor_is_heard_as_the_mode_says_and_the_leg_ends_with_the_call(
        stack, mode, agent_hears, customer_hears):
    server, call_id = stack
    call = await server.call(call_id)
    resp = await monitor(server, call_id, mode)
    assert resp.status == 202, await resp.text()
    session, spying = await connected_session(server, (await resp.json())["id"])
    assert session["mode"] == mode and session["supervisor"]["name"] == "lead"
    # ChanSpy got the agent's exact channel, never a prefix that could match the carrier leg
    assert spying["ApplicationData"].split(",")[0] == call["legs"]["agent"]["channel"]

    capture = RtpCapture([PHONE_IP, CARRIER_IP])
    await asyncio.sleep(3)  # a capture window, not a timing assertion
    heard = capture.stop()
    assert len(heard[PHONE_IP]) > 50 and len(heard[CARRIER_IP]) > 50
    assert frames_with(heard[CARRIER_IP], TONES[PHONE_IP]) > 50      # the call itself is audible
    assert frames_with(heard[PHONE_IP], TONES[CARRIER_IP]) > 50
    assert (frames_with(heard[PHONE_IP], TONES[LEAD_IP]) > 50) is agent_hears
    assert (frames_with(heard[CARRIER_IP], TONES[LEAD_IP]) > 50) is customer_hears
    if not customer_hears:
        assert frames_with(heard[CARRIER_IP], TONES[LEAD_IP]) == 0
    if not agent_hears:
        assert frames_with(heard[PHONE_IP], TONES[LEAD_IP]) == 0

    resp = await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    assert resp.status == 202
    await server.wait_state(call_id, "ended")
    await eventually(lambda: _none(spy_channels(server)), "the supervisor's leg hung up")
    await eventually(lambda: _true(not server.services.monitor.active()), "the session ended")
    async with server.services.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).where(AuditEntry.action.like("monitor.%"))
                                    .order_by(AuditEntry.id))).all()
    assert [e.action for e in entries] == ["monitor.start", "monitor.end"]
    assert entries[1].actor == "lead" and entries[1].entity_id == call_id
    assert entries[1].details["mode"] == mode and entries[1].details["agent"] == "asha"
    assert entries[1].details["started_at"] and entries[1].details["ended_at"]


async def _none(awaitable):
    return not await awaitable


async def _true(value):
    return value


async def test_who_may_monitor_and_the_errors(stack):
    server, call_id = stack
    resp = await monitor(server, call_id, "listen", who="rohan")     # a team lead of another team
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    resp = await monitor(server, call_id, "listen", who="asha")      # agents never
    assert resp.status == 403
    resp = await monitor(server, call_id, "shout")
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_mode"
    resp = await monitor(server, call_id, "listen", who=server.token)  # a service token has no phone
    assert resp.status == 409
    error = await resp.json()
    assert error["error"] == "supervisor_has_no_phone" and "mobile" in error["message"]
    assert not await spy_channels(server) and not server.services.monitor.active()

    await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    await server.wait_state(call_id, "ended")
    resp = await monitor(server, call_id, "listen")
    assert resp.status == 409 and (await resp.json())["error"] == "call_not_connected"


async def test_two_supervisors_on_one_call_and_a_mode_change(stack):
    server, call_id = stack
    first = await (await monitor(server, call_id, "listen")).json()
    await connected_session(server, first["id"])
    other = await monitor(server, call_id, "listen", who="meera")    # a second supervisor: allowed
    assert other.status == 202, await other.text()
    await connected_session(server, (await other.json())["id"])
    # lead switches to whisper: a new request, which ends lead's listening session first
    second = await (await monitor(server, call_id, "whisper")).json()
    session, _ = await connected_session(server, second["id"])
    active = server.services.monitor.active(call_id)
    assert sorted((s["supervisor"]["name"], s["mode"]) for s in active) == [("lead", "whisper"), ("meera", "listen")]
    assert len(await spy_channels(server)) == 2
    for who, seen in (("lead", 2), ("rohan", 0)):    # the board's list, in the caller's reach
        resp = await server.client.get("/api/v1/monitor", headers=server.headers(server.agent_tokens[who]))
        assert resp.status == 200 and len((await resp.json())["sessions"]) == seen
    resp = await server.client.get("/api/v1/monitor", headers=server.headers(server.agent_tokens["asha"]))
    assert resp.status == 403
    async with server.services.sessions() as db:
        ends = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "monitor.end"))).all()
    assert [(e.details["monitor_session"], e.details["end_reason"]) for e in ends] == [
        (first["id"], "replaced by whisper")]


async def test_an_ami_drop_mid_session_leaks_nothing(stack, pbx_stack):
    """The call ends while the server's AMI link is down: the Hangup events are
    lost, yet after the reconnect no supervisor leg, session or channel is left."""
    server, call_id = stack
    agent_channel = (await server.call(call_id))["legs"]["agent"]["channel"]
    resp = await monitor(server, call_id, "barge")
    await connected_session(server, (await resp.json())["id"])
    outsider = await pbx_stack.ami()
    try:
        kill_ami_connection(server)
        await outsider.action("Hangup", Channel=agent_channel)
    finally:
        await outsider.close()
    await server.services.ami.wait_connected(10)
    await server.wait_state(call_id, "ended")
    await eventually(lambda: _none(spy_channels(server)), "the supervisor's leg hung up")
    await eventually(lambda: _true(not server.services.monitor.active()), "the session ended")
    assert (await server.trunks())["carrier"]["reserved"] == 0
    async with server.services.sessions() as db:
        ends = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "monitor.end"))).all()
    assert len(ends) == 1


async def test_a_supervisor_on_a_mobile_holds_a_trunk_channel_until_the_call_ends(stack):
    server, call_id = stack
    assert (await server.trunks())["carrier"]["reserved"] == 1
    resp = await monitor(server, call_id, "listen", who="meera")
    assert resp.status == 202, await resp.text()
    await connected_session(server, (await resp.json())["id"])
    spying = await spy_channels(server)
    assert spying[0]["Channel"].startswith("PJSIP/carrier-")     # rung through the trunk
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 2 and trunk["in_use"] == 2   # counted once, like a click-to-call leg
    await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    await server.wait_state(call_id, "ended")
    await eventually(lambda: _none(spy_channels(server)), "the supervisor's leg hung up")
    await eventually(lambda: _true(not server.services.monitor.active()), "the session ended")
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0


async def test_a_supervisor_who_does_not_answer_leaves_nothing_behind(stack):
    server, call_id = stack
    monitoring = server.services.monitor
    monitoring.section = dataclasses.replace(monitoring.section, ring_timeout=2)
    resp = await monitor(server, call_id, "whisper", who="noor")
    assert resp.status == 202, await resp.text()
    session_id = (await resp.json())["id"]
    await eventually(lambda: _true(not monitoring.active()), "the unanswered session ended")
    await eventually(lambda: _none(spy_channels(server)), "the ringing leg hung up")
    async with server.services.sessions() as db:
        end = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "monitor.end"))).one()
    assert end.details["monitor_session"] == session_id and end.details["end_reason"] == "no_answer"
    assert (await server.call(call_id))["state"] == "connected"   # the call itself goes on


async def test_the_agent_is_told_of_a_whisper_not_of_a_listen(stack):
    """The live ``monitor`` messages as the bus delivers them: with the default
    [monitor] notice_*, asha's pages get the whisper and never the listen; the
    supervisor's pages get both."""
    server, call_id = stack
    published = []
    server.services.live.receive(lambda raw: published.append(json.loads(raw)))
    async with server.services.sessions() as db:
        users = {u.name: u for u in (await db.scalars(select(User))).all()}
    scopes = {name: Scope(role=users[name].role, user_id=users[name].id, team_id=users[name].team_id)
              for name in ("asha", "lead")}
    for mode in ("listen", "whisper"):
        resp = await monitor(server, call_id, mode)
        await connected_session(server, (await resp.json())["id"])
    await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    await eventually(lambda: _true(len([m for m in published if m["event"]["type"] == "monitor"
                                        and m["event"]["step"] == "end"]) == 2), "both sessions' end messages")

    def heard(name):
        return [(m["event"]["session"]["mode"], m["event"]["step"]) for m in published
                if m["event"]["type"] == "monitor" and sees(scopes[name], m)]
    assert heard("asha") == [("whisper", "start"), ("whisper", "connected"), ("whisper", "end")]
    assert [s for s in heard("lead") if s[0] == "listen"] == [
        ("listen", "start"), ("listen", "connected"), ("listen", "end")]
    assert all(m["event"]["notice"] == (m["event"]["session"]["mode"] == "whisper")
               for m in published if m["event"]["type"] == "monitor")


async def test_a_second_server_leaves_the_first_ones_session_alone(stack, call_server):
    """Two servers on one Asterisk: each looks for orphaned supervisor legs, and
    a leg of the other's session is not one (it is marked in Redis)."""
    server, call_id = stack
    other = await call_server(share=server)
    resp = await monitor(server, call_id, "listen")
    session_id = (await resp.json())["id"]
    await connected_session(server, session_id)
    for _ in range(3):
        await other.services.monitor.check()
    assert len(await spy_channels(server)) == 1
    assert [s["state"] for s in server.services.monitor.active()] == ["connected"]
    # the first server gone without ending it: its mark runs out and the other hangs the leg up
    await server.services.accounting.redis.delete(server.services.monitor._key(session_id))
    await other.services.monitor.check()
    await eventually(lambda: _none(spy_channels(server)), "the orphaned leg hung up by the other server")
