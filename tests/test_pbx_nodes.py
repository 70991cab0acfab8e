"""Two Asterisks, one system (callcenter/pbx/nodes.py): trunks and agents'
phones are homed on a PBX node, a call goes out through its trunk's node and
rings the agent there, both servers follow both nodes' calls, and a node
that stops fails only its own calls: the other node's go on, its trunks show
as down, calls for it are refused with 503, and when it is back its calls'
rows are finished from its channel list.

Real parts: the test stack's Asterisk (node ``main``) and a second one started
here (node ``b``) from the same root on its own ports; two ``serve`` apps
sharing the database and Redis, each linked to both nodes; sipp carriers and
phones on their own loopback addresses."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import uuid

import pytest
from sqlalchemy import func, select

from callcenter.models import Event
from callcenter.pbx.homes import home_phone, home_trunk
from callcenter.pbx.process import AsteriskProcess
from callcenter.pbx.render import write_config
from tests.harness import Agent, TrunkSpec, eventually
from tests.stack import ami_sync_actions, free_port

pytestmark = pytest.mark.pbx

CARRIER_A, CARRIER_B = "127.0.0.2", "127.0.0.3"
PHONE_ASHA, PHONE_RAVI = "127.0.0.10", "127.0.0.11"
CUSTOMER = "+91 98765 43210"
TTL = 3.0  # leases of a few seconds, as test_ownership_servers: a loaded loop renews 2 s ones late


@pytest.fixture
async def node_b(pbx_stack):
    """A second Asterisk, node ``b``, beside the test stack's, on its own ports,
    instance and RTP range; stopped (and its files removed) at the end."""
    base = pbx_stack.settings
    rtp = base.pbx.rtp_end + 2 if base.pbx.rtp_end < 60000 else base.pbx.rtp_start - 1000
    settings = dataclasses.replace(
        base, pbx=dataclasses.replace(
            base.pbx, node="b", instance=f"node-b-{uuid.uuid4().hex[:8]}", sip_port=free_port(tcp=False),
            http_port=free_port(udp=False), rtp_start=rtp, rtp_end=rtp + 998,
            peers=[f"main=127.0.0.1:{base.ami.port}"]),
        ami=dataclasses.replace(base.ami, port=free_port(udp=False)))
    write_config(settings, [], [])  # the AMI users; its server renders the trunks and phones homed on it
    asterisk = AsteriskProcess(settings)
    await asterisk.start()
    yield settings, asterisk
    await asterisk.stop()
    shutil.rmtree(settings.pbx.host_path(settings.pbx.instance_dir), ignore_errors=True)


def endpoints(settings) -> set[str]:
    ami = settings.ami
    [(_resp, events)] = ami_sync_actions(ami.host, ami.port, ami.admin_username, ami.admin_secret,
                                         [{"Action": "PJSIPShowEndpoints"}])
    return {e["ObjectName"] for e in events if e.get("Event") == "EndpointList"}


async def channels_on(link, trunk: str) -> int:
    return sum(1 for c in await link.action_list("CoreShowChannels") if c.get("Channel", "").startswith(f"PJSIP/{trunk}-"))


async def two_nodes(call_server, pbx_stack, node_b, sipp, carrier_seconds: int):
    """Server A (node main) and server B (node b), each linked to both
    Asterisks; carrier-a and asha on main, carrier-b and ravi on b."""
    settings_b, _ = node_b
    carrier_a = sipp("uas_answer_bye", CARRIER_A, free_port(CARRIER_A, tcp=False), ["-d", str(carrier_seconds * 1000)])
    carrier_b = sipp("uas_answer_bye", CARRIER_B, free_port(CARRIER_B, tcp=False), ["-d", str(carrier_seconds * 1000)])
    asha = sipp("uas_answer", PHONE_ASHA, free_port(PHONE_ASHA, tcp=False))
    ravi = sipp("uas_answer", PHONE_RAVI, free_port(PHONE_RAVI, tcp=False))
    a = await call_server(
        agents=[Agent("asha", contact=f"sip:{PHONE_ASHA}:{asha.port}"),
                Agent("ravi", contact=f"sip:{PHONE_RAVI}:{ravi.port}")],
        trunks=[TrunkSpec("carrier-a", CARRIER_A, carrier_a.port),
                TrunkSpec("carrier-b", CARRIER_B, carrier_b.port, dids="8062248000-8062248749")],
        pbx={"peers": [f"b=127.0.0.1:{settings_b.ami.port}"]}, lease_seconds=TTL)
    async with a.services.sessions() as session, session.begin():
        await home_trunk(session, "carrier-b", "b", actor="test")
        await home_phone(session, "ravi", "b", actor="test")
    a.services.pbx_sync.poke()
    await a.services.directory.refresh()
    pbx_b = settings_b.pbx
    b = await call_server(share=a, lease_seconds=TTL, ami={"port": settings_b.ami.port}, pbx={
        "node": "b", "instance": pbx_b.instance, "sip_port": pbx_b.sip_port, "http_port": pbx_b.http_port,
        "rtp_start": pbx_b.rtp_start, "rtp_end": pbx_b.rtp_end, "peers": list(pbx_b.peers)})
    # each Asterisk loads only what is homed on it
    await eventually(lambda: endpoints(pbx_stack.settings) >= {"carrier-a", "ph-asha"}
                     and not endpoints(pbx_stack.settings) & {"carrier-b", "ph-ravi"},
                     "node main holding carrier-a and asha's phone only", timeout=20, every=0.5)
    await eventually(lambda: endpoints(settings_b) == {"carrier-b", "ph-ravi"},
                     "node b holding carrier-b and ravi's phone", timeout=20, every=0.5)
    await eventually(lambda: all(n.up for s in (a, b) for n in s.services.nodes), "both servers linked to both nodes")
    return a, b


async def test_calls_go_out_through_their_nodes_and_a_stopped_node_fails_only_its_own(
        call_server, pbx_stack, node_b, sipp):
    settings_b, asterisk_b = node_b
    a, b = await two_nodes(call_server, pbx_stack, node_b, sipp, carrier_seconds=25)
    link_main = a.services.nodes.get("main").ami
    link_b = a.services.nodes.get("b").ami

    # each agent's call goes out through the trunk of their own node, whichever server takes the request
    resp = await b.place("asha", CUSTOMER)
    assert resp.status == 202, await resp.text()
    call_main = await resp.json()
    resp = await a.place("ravi", CUSTOMER)
    assert resp.status == 202, await resp.text()
    call_b = await resp.json()
    assert (call_main["trunk"], call_b["trunk"]) == ("carrier-a", "carrier-b")
    for server in (a, b):
        assert (await server.wait_state(call_main["id"], "connected"))["legs"]["agent"]["channel"].startswith(
            "PJSIP/ph-asha-")
        assert (await server.wait_state(call_b["id"], "connected"))["legs"]["customer"]["channel"].startswith(
            "PJSIP/carrier-b-")
    assert await channels_on(link_main, "carrier-a") == 1 and await channels_on(link_main, "carrier-b") == 0
    assert await channels_on(link_b, "carrier-b") == 1 and await channels_on(link_b, "carrier-a") == 0
    trunks = await a.trunks()
    assert (trunks["carrier-a"]["pbx_node"], trunks["carrier-b"]["pbx_node"]) == ("main", "b")
    assert trunks["carrier-a"]["in_use"] == trunks["carrier-b"]["in_use"] == 1
    assert trunks["carrier-a"]["pbx_up"] and trunks["carrier-b"]["pbx_up"]

    # a trunk of the other node is refused for a phone that lives on this one
    resp = await a.place("asha", CUSTOMER, trunk="carrier-b")
    assert resp.status == 422 and (await resp.json())["error"] == "trunk_on_other_node"

    # node b dies (SIGKILL: no hang-up, no event): its trunks show down, calls for it are
    # refused; node main's call goes on
    os.kill(asterisk_b.pid, signal.SIGKILL)
    for server in (a, b):
        await eventually(lambda s=server: not s.services.nodes.get("b").up, "the link to node b down")
    # nobody holds node b's call work while no link reaches it
    await eventually(lambda: not any(s.services.ownership.holds("b") for s in (a, b)), "node b's lease let go",
                     timeout=TTL * 2)
    # node main's call work stays held (a renewal a busy loop makes late may drop it for a beat: re-taken)
    await eventually(lambda: any(s.services.ownership.holds("main") for s in (a, b)), "node main owned",
                     timeout=TTL * 2)
    for server in (a, b):
        trunks = await server.trunks()
        assert not trunks["carrier-b"]["pbx_up"] and trunks["carrier-a"]["pbx_up"]
    resp = await b.place("ravi", CUSTOMER)
    assert resp.status == 503 and (await resp.json())["error"] == "pbx_unavailable", await resp.text()
    assert resp.headers["Retry-After"] == "5"
    await asyncio.sleep(3)
    assert (await a.call(call_main["id"]))["state"] == "connected"
    assert await channels_on(link_main, "carrier-a") == 1
    resp = await a.place("asha", CUSTOMER)  # asha is busy on her call: the node is not what refuses
    assert resp.status == 409 and (await resp.json())["error"] == "agent_busy"

    # node b back: its call that died with it is finished from its channel list, once
    await eventually(lambda: not asterisk_b.running, "node b's Asterisk gone")
    await asterisk_b.start()
    await eventually(lambda: any(s.services.ownership.holds("b") for s in (a, b)), "node b owned again")
    for server in (a, b):
        ended = await server.wait_state(call_b["id"], "ended", timeout=40)
    assert ended["ended_at"] and ended["talk_seconds"] is not None
    async with a.services.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "call.ended", Event.entity_id == call_b["id"]))
    assert count == 1

    # node main's call ended as its customer hung up, untouched by node b's outage
    done = await a.wait_state(call_main["id"], "ended", timeout=40)
    assert done["end_reason"] == "completed" and done["hangup_by"] == "customer" and done["talk_seconds"] >= 20
    trunks = await b.trunks()
    assert trunks["carrier-a"]["in_use"] == 0 and trunks["carrier-a"]["reserved"] == 0
    assert trunks["carrier-b"]["reserved"] == 0
