"""The PBX owner's fencing token, checked by the database
(callcenter/ownership/fencing.py), and the call writer of a process that does
not own the PBX (dialer/standby.py): a stale owner can never write a call
row after a newer one did; a standing-by process writes nothing, lets an
ended call go once the owner's row says ended, and writes the calls it
tracked when it takes over."""
from __future__ import annotations

import datetime as dt
import time
import types
import uuid

import pytest
from sqlalchemy import func, select

from callcenter.calls.tracked import Leg, TrackedCall
from callcenter.models import Call, Event, PbxOwner
from callcenter.ownership.fencing import Fence, StaleOwner
from dialer import call_rows
from dialer.effects import CallEffects
from dialer.service import PlacedCall
from dialer.standby import HANDOVER_SECONDS
from monitoring.metrics import Metrics
from tests import factories as f
from tests.test_unwritten_calls import ENDED, ended_row


async def a_call(sessions, state: str = "agent_ringing") -> str:
    call_id = uuid.uuid4().hex
    async with sessions() as s, s.begin():
        agent = await f.user(s, f"a{call_id[:6]}")
        trunk = await f.trunk(s, name=f"t{call_id[:6]}")
        s.add(Call(id=call_id, agent_id=agent.id, requested_by="asha", mode="desktop", number="+919876543210",
                   trunk_id=trunk.id, caller_id="8062247000", channels=1, state=state,
                   requested_at=ENDED - dt.timedelta(minutes=1)))
    return call_id


async def row(sessions, call_id: str) -> Call:
    async with sessions() as s:
        return await s.get(Call, call_id)


async def ended_events(sessions, call_id: str) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(Event).where(Event.entity_id == call_id))


async def test_a_stale_owners_write_is_refused_once_a_newer_owner_wrote(sessions):
    call_id = await a_call(sessions)
    engine = sessions.kw["bind"]
    connected = {**ended_row(call_id), "b_state": "connected", "b_end_reason": None, "b_ended_at": None}

    await call_rows.write(engine, [connected], [], Fence("main", 1, "host:1:a"))  # the first owner
    await call_rows.write(engine, [connected], [], Fence("main", 2, "host:2:b"))  # a newer one took over
    with pytest.raises(StaleOwner):  # the old owner, paused past its lease, wakes up and ends the call
        await call_rows.write(engine, [ended_row(call_id)], [], Fence("main", 1, "host:1:a"))
    assert (await row(sessions, call_id)).state == "connected"  # its transaction rolled back whole
    assert await ended_events(sessions, call_id) == 0
    async with sessions() as s:
        owner = await s.get(PbxOwner, "main")
    assert (owner.token, owner.holder) == (2, "host:2:b")

    await call_rows.write(engine, [ended_row(call_id)], [], Fence("main", 2, "host:2:b"))  # the owner may
    assert (await row(sessions, call_id)).state == "ended"
    assert await ended_events(sessions, call_id) == 1
    # another PBX node has its own owner and tokens
    await call_rows.write(engine, [ended_row(call_id)], [], Fence("second", 1, "host:1:a"))


class Owner:
    """A PBX lease as the writer sees it: a fence while held."""

    node = "main"

    def __init__(self, token: int | None) -> None:
        self.token = token
        self.refusals = 0

    async def refused(self, engine, token, node=None) -> None:
        self.refusals += 1

    def fence(self, node=None) -> Fence | None:
        return Fence("main", self.token, f"host:{self.token}") if self.token else None

    def owns_any(self) -> bool:
        return self.fence() is not None


def effects_of(sessions, settings, owner: Owner, calls: dict) -> CallEffects:
    tracker = types.SimpleNamespace(calls=calls, forget=lambda call_id: calls.pop(call_id, None))
    effects = CallEffects(types.SimpleNamespace(placed={}, tracker=tracker), sessions, accounting=None,
                          metrics=Metrics(), settings=settings)
    effects.owner = owner
    effects._settle_owed = _nothing_owed  # no Redis here: the releases are not what is tested
    return effects


async def _nothing_owed() -> bool:
    return True


def tracked(call_id: str, state: str) -> TrackedCall:
    now = time.time()
    call = TrackedCall(call_id, state=state, agent=Leg("agent", channel="PJSIP/ph-asha-1", answered_at=now - 20),
                       customer=Leg("customer", channel="PJSIP/carrier-2", answered_at=now - 10))
    if state == "ended":
        call.ended_at, call.end_reason, call.hangup_by = now, "completed", "customer"
    return call


async def test_a_process_that_does_not_own_the_pbx_writes_nothing_and_writes_what_it_tracked_on_taking_over(
        sessions, settings):
    up_id, ending_id = await a_call(sessions), await a_call(sessions)
    a_calls = {i: tracked(i, "connected") for i in (up_id, ending_id)}
    b_calls = {i: tracked(i, "connected") for i in (up_id, ending_id)}
    a = effects_of(sessions, settings, Owner(1), a_calls)      # the owner
    b = effects_of(sessions, settings, Owner(None), b_calls)   # standing by
    stored = []
    b.ended.listen(lambda call: stored.append(call.call_id))

    for call in b_calls.values():
        b.call_changed(call)
    assert await b._write_pending()
    assert (await row(sessions, up_id)).state == "agent_ringing"  # B wrote nothing

    # one call ends; B sees it first and waits for the owner's row
    b_calls[ending_id] = tracked(ending_id, "ended")
    b.call_changed(b_calls[ending_id])
    await b._write_pending()
    assert ending_id in b_calls and stored == [] and not b.idle.is_set()
    a.call_changed(tracked(ending_id, "ended"))
    await a._write_pending()  # the owner writes it
    await b._write_pending()
    assert stored == [ending_id] and ending_id not in b_calls  # B lets it go, written once
    assert await ended_events(sessions, ending_id) == 1

    # A dies; B takes the lease with a larger token and writes the call it tracked
    b.owner.token = 2
    b.take_over()
    await b._write_pending()
    assert (await row(sessions, up_id)).state == "connected"
    b_calls[up_id] = tracked(up_id, "ended")
    b.call_changed(b_calls[up_id])
    await b._write_pending()
    assert (await row(sessions, up_id)).state == "ended" and await ended_events(sessions, up_id) == 1

    # A wakes up, still believing it owns the PBX: its write is refused, nothing changes
    a_calls[up_id].state = "connected"
    a.call_changed(a_calls[up_id])
    await a._write_pending()
    assert (await row(sessions, up_id)).state == "ended" and await ended_events(sessions, up_id) == 1
    assert a.owner.refusals == 1 and b.owner.refusals == 0


async def test_an_ended_call_no_owner_writes_is_let_go_after_the_handover_time(sessions, settings):
    call_id = await a_call(sessions, state="connected")
    calls = {call_id: tracked(call_id, "ended")}
    b = effects_of(sessions, settings, Owner(None), calls)
    now = [1000.0]
    b.standby.clock = lambda: now[0]
    b.call_changed(calls[call_id])
    await b._write_pending()
    now[0] += HANDOVER_SECONDS - 1  # an owner being replaced: it keeps waiting
    await b._write_pending()
    assert call_id in calls and b.backlog["rows"] == 1
    now[0] += 2
    await b._write_pending()
    assert call_id not in calls and b.backlog["rows"] == 0
    assert (await row(sessions, call_id)).state == "connected"  # never written by a process not owning it


async def test_a_call_that_ends_while_its_previous_row_is_written_is_finished_once(sessions, settings):
    """The writer builds a batch's rows, then awaits the database; a call that
    ends meanwhile is finished by the next batch (its row says ended, its
    channels and agent are released with its trunk), once, in its own mode."""
    call_id = await a_call(sessions)
    call = tracked(call_id, "connected")
    effects = effects_of(sessions, settings, Owner(1), {call_id: call})
    effects.dialer.placed[call_id] = PlacedCall(call_id, 1, "asha", "carrier", "desktop", "PJSIP/ph-asha",
                                                "PJSIP/+919876543210@carrier", "8062247000", time.time() - 30)
    effects.dialer._legs = lambda placed: [f"{call_id}:customer"]
    write = effects._execute

    async def ends_meanwhile(rows, recordings, fence=None):
        await write(rows, recordings, fence)
        if call.state != "ended":  # the customer hangs up while the connected row is written
            call.state, call.ended_at, call.end_reason, call.hangup_by = "ended", time.time(), "completed", "customer"
            effects.call_changed(call)
    effects._execute = ends_meanwhile

    effects.call_changed(call)
    assert await effects._write_pending()
    assert call_id in effects.dialer.placed  # not finished on a row that said connected
    assert await effects._write_pending()
    assert (await row(sessions, call_id)).state == "ended"
    assert effects.releases.owed[call_id].trunk == "carrier"  # released with what the dialer knew
    samples = {s.labels["mode"]: s.value for m in effects.metrics.registry.collect()
               if m.name == "callcenter_calls_connected" for s in m.samples if s.name.endswith("_total")}
    assert samples == {"desktop": 1.0}, samples
