"""Two-leg click-to-call through the HTTP API against the real Asterisk, with
sipp playing the agent's phone and the carrier."""
from __future__ import annotations

import asyncio
import wave

import pytest

from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
CUSTOMER = "+91 98765 43210"
CUSTOMER_E164 = "+919876543210"


async def trunk_channels(server, trunk: str = "carrier") -> int:
    """Channels Asterisk itself lists on the trunk (the truth)."""
    channels = await server.services.ami.action_list("CoreShowChannels")
    return sum(1 for c in channels if c.get("Channel", "").startswith(f"PJSIP/{trunk}-"))


@pytest.fixture
def lines(sipp):
    """Start a carrier and a phone sipp with the given scenarios; return their ports."""
    def start(carrier="uas_answer", phone="uas_answer", carrier_args=(), phone_args=()):
        carrier_sipp = sipp(carrier, CARRIER_IP, free_port(CARRIER_IP, tcp=False), carrier_args) if carrier else None
        phone_sipp = sipp(phone, PHONE_IP, free_port(PHONE_IP, tcp=False), phone_args) if phone else None
        return carrier_sipp, phone_sipp
    return start


async def desktop_server(call_server, carrier, phone, **calls):
    return await call_server(
        agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
        trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], **calls)


async def test_desktop_call_connects_bridges_records_and_uses_one_channel(call_server, lines):
    carrier, phone = lines("uas_answer_bye", "uas_answer", carrier_args=["-d", 4000])
    server = await desktop_server(call_server, carrier, phone)

    resp = await server.place("asha", CUSTOMER)
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert body["state"] in ("agent_ringing", "customer_ringing", "connected")
    assert body["number"] == CUSTOMER_E164 and body["mode"] == "desktop" and body["channels"] == 1
    assert body["caller_id"] == "8062247000"

    call = await server.wait_state(body["id"], "connected")
    assert call["legs"]["agent"]["channel"].startswith("PJSIP/ph-asha-")
    assert call["legs"]["customer"]["channel"].startswith("PJSIP/carrier-")
    assert await trunk_channels(server) == 1
    assert (await server.trunks())["carrier"]["in_use"] == 1

    call = await server.wait_state(body["id"], "ended")
    assert call["end_reason"] == "completed" and call["hangup_by"] == "customer"
    assert call["talk_seconds"] >= 3
    assert call["connected_at"] and call["agent_answered_at"] and call["ended_at"]
    assert await trunk_channels(server) == 0
    trunk = (await server.trunks())["carrier"]
    assert trunk["in_use"] == 0 and trunk["reserved"] == 0

    # the recording holds both legs' audio, served to the manager
    for _ in range(50):
        call = await server.call(body["id"])
        if call["recording_url"]:
            break
        await asyncio.sleep(0.1)
    assert call["recording_url"], call
    resp = await server.client.get(call["recording_url"], headers=server.headers())
    assert resp.status == 200
    data = await resp.read()
    assert len(data) > 20_000
    path = server.settings.pbx.recordings_dir / f"{body['requested_at'][:10].replace('-', '/')}/{body['id']}.wav"
    with wave.open(str(path)) as wav:
        assert wav.getnframes() / wav.getframerate() >= 3



async def test_mobile_call_uses_two_trunk_channels(call_server, lines):
    carrier, _ = lines("uas_answer_bye", None, carrier_args=["-d", 3000])
    server = await call_server(agents=[Agent("ravi", mobile="+91 98123 45678")],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    resp = await server.place("ravi", "09876543210")
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert body["mode"] == "mobile" and body["channels"] == 2
    call = await server.wait_state(body["id"], "connected")
    assert call["legs"]["agent"]["channel"].startswith("PJSIP/carrier-")
    assert await trunk_channels(server) == 2
    assert (await server.trunks())["carrier"]["in_use"] == 2
    call = await server.wait_state(body["id"], "ended")
    assert call["end_reason"] == "completed"
    assert await trunk_channels(server) == 0
    assert (await server.trunks())["carrier"]["reserved"] == 0


async def test_agent_hanging_up_ends_both_legs(call_server, lines):
    carrier, phone = lines("uas_answer", "uas_answer_bye", phone_args=["-d", 3000])
    server = await desktop_server(call_server, carrier, phone)
    body = await (await server.place("asha", CUSTOMER)).json()
    call = await server.wait_state(body["id"], "ended", timeout=30)
    assert call["end_reason"] == "completed" and call["hangup_by"] == "agent"
    assert await trunk_channels(server) == 0
    assert (await server.trunks())["carrier"]["reserved"] == 0


async def test_api_hangup_ends_a_connected_call(call_server, lines):
    carrier, phone = lines("uas_answer", "uas_answer")
    server = await desktop_server(call_server, carrier, phone)
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    resp = await server.client.post(f"/api/v1/calls/{body['id']}/hangup", headers=server.headers())
    assert resp.status == 202
    call = await server.wait_state(body["id"], "ended")
    assert call["end_reason"] == "completed"
    assert await trunk_channels(server) == 0
    resp = await server.client.post(f"/api/v1/calls/{body['id']}/hangup", headers=server.headers())
    assert resp.status == 409 and (await resp.json())["error"] == "call_ended"


@pytest.mark.parametrize("carrier_scenario, reason, cause", [
    ("uas_busy", "customer_busy", 17),
    ("uas_ring", "customer_no_answer", None),
])
async def test_customer_not_reached(call_server, lines, carrier_scenario, reason, cause):
    carrier, phone = lines(carrier_scenario, "uas_answer")
    server = await desktop_server(call_server, carrier, phone, customer_ring_timeout=3)
    body = await (await server.place("asha", CUSTOMER)).json()
    call = await server.wait_state(body["id"], "ended")
    assert call["end_reason"] == reason, call
    assert call["hangup_by"] == "customer"
    if cause is not None:
        assert call["hangup_cause"] == cause
    assert call["connected_at"] is None and call["talk_seconds"] is None
    assert await trunk_channels(server) == 0
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0


async def test_agent_no_answer(call_server, lines):
    carrier, phone = lines("uas_answer", "uas_ring")
    server = await desktop_server(call_server, carrier, phone, agent_ring_timeout=2)
    body = await (await server.place("asha", CUSTOMER)).json()
    call = await server.wait_state(body["id"], "ended")
    assert call["end_reason"] == "agent_no_answer", call
    assert call["legs"]["customer"]["channel"] is None
    assert (await server.trunks())["carrier"]["reserved"] == 0
    # the agent is free again
    resp = await server.place("asha", CUSTOMER)
    assert resp.status == 202


async def test_trunk_down_is_customer_unreachable(call_server, lines):
    _, phone = lines(None, "uas_answer")
    dead_port = free_port(CARRIER_IP, tcp=False)  # nothing listens there
    server = await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, dead_port)], customer_ring_timeout=5)
    body = await (await server.place("asha", CUSTOMER)).json()
    call = await server.wait_state(body["id"], "ended", timeout=40)
    assert call["end_reason"] == "customer_unreachable", call
    assert (await server.trunks())["carrier"]["reserved"] == 0


async def test_second_call_for_a_busy_agent_is_409(call_server, lines):
    carrier, phone = lines("uas_answer", "uas_answer")
    server = await desktop_server(call_server, carrier, phone)
    first = await (await server.place("asha", CUSTOMER)).json()
    resp = await server.place("asha", "+91 99000 11223")
    assert resp.status == 409
    error = await resp.json()
    assert error["error"] == "agent_busy" and error["call"] == first["id"]
    await server.wait_state(first["id"], "connected")
    await server.client.post(f"/api/v1/calls/{first['id']}/hangup", headers=server.headers())
    await server.wait_state(first["id"], "ended")


async def test_hangups_and_recording_downloads_are_audited(call_server, lines):
    from sqlalchemy import select

    from callcenter.models import AuditEntry

    carrier, phone = lines("uas_answer", "uas_answer")
    server = await desktop_server(call_server, carrier, phone)
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    await asyncio.sleep(1.5)
    await server.client.post(f"/api/v1/calls/{body['id']}/hangup", headers=server.headers())
    await server.wait_state(body["id"], "ended")
    for _ in range(50):
        call = await server.call(body["id"])
        if call["recording_url"]:
            break
        await asyncio.sleep(0.1)
    resp = await server.client.get(call["recording_url"], headers={**server.headers(), "Range": "bytes=0-99"})
    assert resp.status == 206 and len(await resp.read()) == 100
    async with server.services.sessions() as session:
        rows = (await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == body["id"])
                                      .order_by(AuditEntry.id))).all()  # PostgreSQL keeps no order unasked
    assert [(r.action, r.actor) for r in rows] == [("call.hangup", "token:ops"), ("recording.listen", "token:ops")]
