"""Two ``serve`` processes on one Asterisk, one Redis and one database are one
system (callcenter/ownership): a loop of the system's runs on one of them,
and when the holder of the leases dies (no release, as after a SIGKILL), the
other takes its duties and the PBX's call work over within seconds: a call
placed through the dead one is followed to its end, its row finished once,
its channels freed."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from callcenter.models import Call, Event, PbxOwner
from callcenter.ownership.fencing import StaleOwner
from dialer import call_rows
from tests.harness import eventually
from tests.test_ownership_lease import kill
from tests.test_click_to_call import CUSTOMER, desktop_server, lines  # noqa: F401 - a fixture

pytestmark = pytest.mark.pbx
TTL = 3.0  # the leases' lifetime: 1.5 s was lost to a loaded CI's event-loop stalls while B started
TAKEOVER = TTL + 1.5  # seconds from the holder's death to the other holding


async def kill_duties(server) -> None:
    """What a SIGKILL leaves behind: the leases' renewals stop, nothing is
    released (the keys expire by themselves), the AMI link is gone."""
    loops = server.services.loops
    await kill(*[t for t in loops.tasks if t.get_name().startswith("loop:lease:")])
    await server.services.ami.close()


async def health(server) -> dict:
    resp = await server.client.get("/healthz")
    return (await resp.json())["leases"]


def holder_first(servers: list, lease: str) -> list:
    """The servers, the one holding ``lease`` first; exactly one holds it. Usually the
    first started, but a loop stalled past the lease's life on a loaded machine (the
    second server starting in the same process) may have let the other take it."""
    holding = [s for s in servers if getattr(s.services.ownership, lease).held]
    assert len(holding) == 1, f"{len(holding)} servers hold the {lease} lease"
    return holding + [s for s in servers if s is not holding[0]]


async def test_a_loop_of_the_system_runs_on_one_server_then_moves_when_it_dies(call_server):
    a = await call_server(lease_seconds=TTL)
    b = await call_server(share=a, lease_seconds=TTL)
    runs = {id(a): 0, id(b): 0}

    def counting(server):
        async def iteration():
            runs[id(server)] += 1
        return iteration
    for server in (a, b):
        server.services.loops.every("test.once", 0.05, counting(server), once=True)
    await eventually(lambda: sum(runs.values()) > 5, "a server running the loop", timeout=10)
    first, second = holder_first([a, b], "duties")
    idle_count = runs[id(second)]
    await asyncio.sleep(0.3)
    assert runs[id(second)] == idle_count and runs[id(first)] > 5  # one server runs it, not both
    assert (await health(first))["duties"]["held"] and not (await health(second))["duties"]["held"]
    metrics = await (await second.client.get("/metrics")).text()
    assert 'callcenter_lease_held{lease="duties"} 0.0' in metrics
    assert 'callcenter_lease_held{lease="pbx:main"} 0.0' in metrics

    await kill_duties(first)
    died = time.monotonic()
    await eventually(lambda: runs[id(second)] > idle_count, "the other server running the loop",
                     timeout=TAKEOVER)
    assert time.monotonic() - died <= TAKEOVER
    stopped_at = runs[id(first)]
    await asyncio.sleep(0.5)
    assert runs[id(first)] == stopped_at  # the dead one's clock ended its duties too
    async def both_held():  # each lease renews on its own ttl/3 beat: the PBX's may come a beat later
        leases = await health(second)
        return leases if leases["duties"]["held"] and leases["pbx:main"]["held"] else None
    leases = await eventually(both_held, "the other server holding the PBX too", timeout=TAKEOVER)
    assert leases["duties"]["token"] > first.services.ownership.duties.token


async def test_a_call_placed_through_a_server_that_dies_is_finished_once_by_the_other(call_server, lines):
    carrier, phone = lines("uas_answer_bye", "uas_answer", carrier_args=["-d", 8000])
    first = await desktop_server(call_server, carrier, phone, lease_seconds=TTL)
    a, b = holder_first([first, await call_server(share=first, lease_seconds=TTL)], "pbx")  # A owns the PBX

    resp = await a.place("asha", CUSTOMER)
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]
    await a.wait_state(call_id, "connected")
    assert (await b.call(call_id))["state"] == "connected"  # B follows the call too
    assert (await b.trunks())["carrier"]["in_use"] == 1
    async def connected_row():  # A writes the call's rows, under its token
        async with a.services.sessions() as s:
            return (await s.get(Call, call_id)).state == "connected" and await s.get(PbxOwner, "main")
    owner = await eventually(connected_row, "A writing the connected row", timeout=5)
    assert (owner.token, owner.holder) == (a.services.ownership.pbx.token, a.services.ownership.holder)

    await kill_duties(a)
    died = time.monotonic()
    await eventually(lambda: b.services.ownership.pbx.held, "B owning the PBX", timeout=TAKEOVER)
    assert time.monotonic() - died <= TAKEOVER
    took_at = time.time()  # B asks Asterisk at once, not at its next reconciliation (every 5 s)
    await eventually(lambda: (b.services.reconciled_at or 0) >= took_at - 0.2, "B reconciling", timeout=1.0)

    # the carrier hangs up; B, not A, sees the end and writes it
    call = await b.wait_state(call_id, "ended", timeout=20)
    assert call["end_reason"] == "completed" and call["hangup_by"] == "customer"
    async with b.services.sessions() as s:
        row = await s.get(Call, call_id)
        ends = await s.scalar(select(func.count()).select_from(Event)
                              .where(Event.kind == "call.ended", Event.entity_id == call_id))
        owner = await s.get(PbxOwner, "main")
    assert row.state == "ended" and row.ended_at is not None and ends == 1
    assert (owner.token, owner.holder) == (b.services.ownership.pbx.token, b.services.ownership.holder)
    assert owner.token > a.services.ownership.pbx.token
    trunk = (await b.trunks())["carrier"]
    assert trunk["in_use"] == 0 and trunk["reserved"] == 0

    # had A been paused rather than killed, it would still hold a token and its
    # view of the call (connected): the database refuses what it writes
    stale = a.services.ownership.fence()
    assert stale is not None and a.services.tracker.calls[call_id].state == "connected"
    with pytest.raises(StaleOwner):
        await call_rows.write(a.services.sessions.kw["bind"],
                              [call_rows.row_of(a.services.tracker.calls[call_id], None)], [], stale)
    async with b.services.sessions() as s:
        assert (await s.get(Call, call_id)).state == "ended"
