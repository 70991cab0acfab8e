"""Faults a call center meets: the AMI connection dies mid-call, Asterisk
restarts mid-call. No reservation leaks, no Originate is ever replayed."""
from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from sqlalchemy import func, select

from callcenter.models import Call, Event
from dialer import unseen_ends
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"


def kill_ami_connection(server) -> None:
    """Abort the server's AMI TCP connection from outside, as a network fault would."""
    sock = server.services.ami._protocol.transport.get_extra_info("sockname")
    port = sock[1]
    subprocess.run(["ss", "-K", "(", "sport", "=", f":{port}", "or", "dport", "=", f":{port}", ")"],
                   check=True, capture_output=True)


async def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def originates_seen(watcher) -> int:
    """Agent legs Asterisk created (one per Originate it executed)."""
    return sum(1 for e in watcher.events if e.get("Event") == "Newchannel"
               and e.get("Uniqueid", "").startswith("cc-") and e.get("Uniqueid", "").endswith("-a"))


@pytest.fixture
async def setup(call_server, sipp, pbx_stack):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 5000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    contact = f"sip:{PHONE_IP}:{phone.port}"
    server = await call_server(agents=[Agent("asha", contact=contact), Agent("bala", contact=contact)],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    watcher = await pbx_stack.ami()
    yield server, watcher
    await watcher.close()


async def test_ami_connection_killed_mid_call(setup):
    server, watcher = setup
    body = await (await server.place("asha", "9876543210")).json()
    await server.wait_state(body["id"], "connected")
    reconnects = server.services.ami.reconnects

    kill_ami_connection(server)
    await wait_for(lambda: _false(server.services.ami.connected), 5, "the link to notice")
    resp = await server.client.get("/healthz")
    assert resp.status == 503 and (await resp.json())["checks"]["ami"] is False
    resp = await server.place("bala", "9876543211")
    assert resp.status == 503 and (await resp.json())["error"] == "pbx_unavailable"

    await server.services.ami.wait_connected(10)
    assert server.services.ami.reconnects == reconnects + 1
    call = await server.wait_state(body["id"], "ended", timeout=20)
    assert call["end_reason"] == "completed" and call["hangup_by"] == "customer"
    assert (await server.trunks())["carrier"]["reserved"] == 0
    # asha is free again; exactly the two calls placed were originated, nothing replayed
    second = await (await server.place("asha", "9876543212")).json()
    await server.wait_state(second["id"], "ended", timeout=20)
    await asyncio.sleep(1.0)
    assert await originates_seen(watcher) == 2
    assert (await server.trunks())["carrier"]["reserved"] == 0
    metrics = await (await server.client.get("/metrics")).text()
    assert "callcenter_ami_reconnects_total 1.0" in metrics


async def test_originate_pending_when_the_link_dies_is_failed_not_replayed(setup):
    server, watcher = setup
    original = server.services.ami.originate

    async def originate_then_cut(*args, **kwargs):
        task = asyncio.ensure_future(original(*args, **kwargs))
        await asyncio.sleep(0)  # the action is written; kill before the reply is read
        kill_ami_connection(server)
        return await task

    server.services.ami.originate = originate_then_cut
    resp = await server.place("asha", "9876543210")
    server.services.ami.originate = original
    assert resp.status == 202
    call_id = (await resp.json())["id"]
    call = await server.wait_state(call_id, "ended", timeout=20)
    assert call["end_reason"] in ("pbx_disconnected", "completed"), call
    await server.services.ami.wait_connected(10)
    await asyncio.sleep(2.5)  # long enough for a replay after reconnect to show
    assert await originates_seen(watcher) <= 1
    await server.services.reconcile()
    await wait_for(lambda: _channels_gone(server), 10, "abandoned channels hung up")
    assert (await server.trunks())["carrier"]["reserved"] == 0
    assert (await server.place("asha", "9876543210")).status == 202


async def test_asterisk_restart_mid_call(setup, pbx_stack):
    server, watcher = setup
    body = await (await server.place("asha", "9876543210")).json()
    await server.wait_state(body["id"], "connected")
    assert (await server.trunks())["carrier"]["reserved"] == 1
    await pbx_stack.asterisk.restart()
    await server.services.ami.wait_connected(15)
    call = await server.wait_state(body["id"], "ended", timeout=20)
    assert call["state"] == "ended"
    assert (await server.trunks())["carrier"]["reserved"] == 0
    # the agent and the trunk work again after the restart
    second = await (await server.place("asha", "9876543211")).json()
    call = await server.wait_state(second["id"], "ended", timeout=25)
    assert call["end_reason"] == "completed", call


async def _false(value) -> bool:
    return not value


async def _channels_gone(server) -> bool:
    return not await server.services.ami.action_list("CoreShowChannels")


async def test_a_call_no_tracker_follows_is_ended_by_the_owner_once_its_channels_are_gone(setup, monkeypatch):
    """A row left "connected" that no process follows (its tracker lost sight
    of it: seen under load with two servers) is ended by the PBX owner's
    reconciliation once Asterisk has no channel of it, not before; its
    reservation is freed and its call.ended event written once."""
    server, _ = setup
    call_id = (await (await server.place("asha", "9876543210")).json())["id"]
    await server.wait_state(call_id, "connected")
    await asyncio.wait_for(server.services.effects.idle.wait(), 5)   # its "connected" row written
    server.services.dialer.tracker.forget(call_id)          # nobody follows it any more
    server.services.dialer.placed.pop(call_id, None)
    sessions = server.services.sessions
    monkeypatch.setattr(unseen_ends, "ANSWER_MARGIN_SECONDS", 0.0)   # no wait for a list's age

    async def row():
        async with sessions() as session:
            return await session.get(Call, call_id)

    await server.services.reconcile()
    assert (await row()).state == "connected"                # its channels are still up: left alone

    async def ended():                                       # the carrier hangs up after 5 s
        await server.services.reconcile()
        return (await row()).state == "ended"
    await wait_for(ended, 30, "the owner ending the row")
    call = await row()
    assert call.end_reason == "ended_unseen" and call.ended_at is not None
    assert call.customer_answered_at is not None             # what was written before is kept
    assert (await server.call(call_id))["state"] == "ended"
    await server.services.reconcile()
    async with sessions() as session:
        events = await session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "call.ended", Event.entity_id == call_id))
    assert events == 1
    await wait_for(lambda: _nothing_reserved(server), 15, "the reservation freed")


async def _nothing_reserved(server) -> bool:
    trunk = (await server.trunks())["carrier"]
    return trunk["reserved"] == 0 and trunk["in_use"] == 0
