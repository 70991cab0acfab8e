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

