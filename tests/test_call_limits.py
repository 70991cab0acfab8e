"""Calls that never end are hung up (issue 8, the maximum call age): against
the real Asterisk, with sipp as an agent's phone and a carrier that never
send their BYE. The server's fence cuts first; Asterisk's absolute timeout
cuts when the server does not. The rule itself: tests/test_call_fence.py."""
from __future__ import annotations

import time

import pytest

from tests.harness import Agent, TrunkSpec
from tests.stack import free_port
from tests.test_click_to_call import CARRIER_IP, CUSTOMER, PHONE_IP, trunk_channels

pytestmark = pytest.mark.pbx


async def server_with_stuck_call(call_server, sipp, carrier_scenario="uas_answer", **calls):
    """A desktop agent; phone and carrier answer and never hang up."""
    carrier = sipp(carrier_scenario, CARRIER_IP, free_port(CARRIER_IP, tcp=False))
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    return await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                             trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], **calls)


async def cuts(server, fence: str, reason: str) -> float:
    text = await (await server.client.get("/metrics")).text()
    line = f'callcenter_calls_cut_total{{fence="{fence}",reason="{reason}"}} '
    found = [ln for ln in text.splitlines() if ln.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


async def assert_trunk_free(server) -> None:
    assert await trunk_channels(server) == 0
    trunk = (await server.trunks())["carrier"]
    assert trunk["in_use"] == 0 and trunk["reserved"] == 0


async def test_server_hangs_up_a_call_connected_past_max_call_seconds(call_server, sipp):
    server = await server_with_stuck_call(call_server, sipp, max_call_seconds=3, pbx_margin_seconds=60)
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    assert await trunk_channels(server) == 1
    call = await server.wait_state(body["id"], "ended", timeout=15)
    assert (call["end_reason"], call["hangup_by"]) == ("max_call_age", "system"), call
    assert 3 <= call["talk_seconds"] < 6, call
    await assert_trunk_free(server)
    assert await cuts(server, "server", "max_call_age") == 1
    assert await cuts(server, "pbx", "max_call_age") == 0
    # the agent is free again
    assert (await server.place("asha", CUSTOMER)).status == 202


async def test_asterisk_cuts_the_call_when_the_server_does_not(call_server, sipp):
    """The server's fence is stuck: Asterisk's TIMEOUT(absolute) on the agent
    leg (ring timeout + max_call_seconds + margin from the agent's answer) ends
    the call, and its CallCut UserEvent gives the row its reason."""
    server = await server_with_stuck_call(call_server, sipp, max_call_seconds=3, pbx_margin_seconds=1,
                                          customer_ring_timeout=3)

    async def stuck(now: float) -> int:
        return 0
    server.services.fence.enforce = stuck

    body = await (await server.place("asha", CUSTOMER)).json()
    call = await server.wait_state(body["id"], "connected")
    started = time.monotonic()
    call = await server.wait_state(body["id"], "ended", timeout=20)
    assert (call["end_reason"], call["hangup_by"]) == ("max_call_age", "system"), call
    # cut 3 + 3 + 1 s after the agent answered (the customer answered at once)
    assert 3 + 1 <= call["talk_seconds"] <= 3 + 3 + 1 + 1, call
    assert time.monotonic() - started < 10
    await assert_trunk_free(server)
    assert await cuts(server, "pbx", "max_call_age") == 1
    assert await cuts(server, "server", "max_call_age") == 0


async def test_server_hangs_up_a_ring_that_outlives_max_ring_seconds(call_server, sipp):
    """A carrier that rings for ever; Dial's own timeout (60 s here) stands in
    for one that would never fire."""
    server = await server_with_stuck_call(call_server, sipp, "uas_ring", max_ring_seconds=2,
                                          customer_ring_timeout=60)
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "customer_ringing")
    call = await server.wait_state(body["id"], "ended", timeout=10)
    assert (call["end_reason"], call["hangup_by"]) == ("max_ring_time", "system"), call
    assert call["connected_at"] is None and 2 <= call["ring_seconds"] < 5, call
    await assert_trunk_free(server)
    assert await cuts(server, "server", "max_ring_time") == 1
