"""Redis emptied under two servers (restarted without its append-only file,
or a new one): the first server to notice rebuilds the call accounting from
what it sees on Asterisk; the other adds what only it knows (a call it
queued for a channel), so no agent on a call is given a second one and no
trunk channel in use is offered again; a call queued for a channel while
Redis was empty goes on waiting and is put through."""
from __future__ import annotations

import asyncio

import pytest

from tests.harness import Agent, TrunkSpec, eventually
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"


async def _empty_redis(server) -> None:
    redis, prefix = server.services.redis, server.settings.redis.key_prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
    await redis.delete(*keys)


async def test_redis_emptied_under_two_servers_keeps_every_call_booked(call_server, sipp):
    carrier = sipp("uas_answer", CARRIER_IP, free_port(CARRIER_IP, tcp=False), timeout=120)
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), timeout=120)
    contact = f"sip:{PHONE_IP}:{phone.port}"
    a = await call_server(agents=[Agent("asha", contact=contact), Agent("ravi", contact=contact)],
                          trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port, channels=1)], queue_wait=60)
    b = await call_server(share=a, queue_wait=60)
    first = await (await a.place("asha", "9876543210")).json()
    await a.wait_state(first["id"], "connected")
    resp = await b.place("ravi", "9876543211")  # the trunk is full: B queues it for the channel
    assert resp.status == 202, await resp.text()
    queued = await resp.json()
    assert (await b.call(queued["id"]))["state"] == "queued"

    await _empty_redis(a)
    await asyncio.sleep(0.3)  # B's queued call looks for a channel (every 0.25 s) in the empty Redis
    await a.services._watch()  # A notices first and rebuilds from Asterisk: asha's call, not ravi's wait

    async def both_claimed():
        claims = await a.services.accounting.claims()
        return {call_id for call_id, _ in claims.values()} == {first["id"], queued["id"]}
    await eventually(both_claimed, "both agents' calls booked again (B adds its queued one)", timeout=5)
    trunk = (await a.trunks())["carrier"]
    assert trunk["reserved"] == 1 and trunk["in_use"] == 1 and trunk["queued"] == 1, trunk
    for server in (a, b):  # ravi is on a call (waiting for a channel): not given a second one
        resp = await server.place("ravi", "9876543212")
        assert resp.status == 409 and (await resp.json())["error"] == "agent_busy", await resp.text()
        resp = await server.place("asha", "9876543213")
        assert resp.status == 409 and (await resp.json())["error"] == "agent_busy", await resp.text()

    # asha's call ends: ravi's queued call gets the channel; then everything is free again
    assert (await a.client.post(f"/api/v1/calls/{first['id']}/hangup", headers=a.headers())).status == 202
    await b.wait_state(queued["id"], "connected", timeout=30)
    assert (await b.client.post(f"/api/v1/calls/{queued['id']}/hangup", headers=b.headers())).status == 202
    await b.wait_state(queued["id"], "ended", timeout=20)
    await a.wait_state(first["id"], "ended", timeout=20)

    async def all_free():
        trunk = (await a.trunks())["carrier"]
        return (trunk["reserved"] == 0 and trunk["in_use"] == 0 and trunk["queued"] == 0
                and not await a.services.accounting.claims())
    await eventually(all_free, "no channel and no agent booked", timeout=20)
