"""The pure call tracker, fed the AMI byte streams recorded from Asterisk 22.

In the style of cacofonisk: each ``tests/ami_streams/*.raw`` is parsed with the
server's own framer and replayed into a :class:`CallTracker`; the tests assert
what a user of the API would notice (states in order, end reason, who hung up,
the hangup cause, ring/talk seconds from a fake clock, channel names, trunk)
and what the trunk accounting relies on (every leg released exactly once).
Then the same streams are mangled: started mid-call, duplicated, reordered,
cut short and reconciled with a CoreShowChannels snapshot.

The recordings use the server's id convention already (agent leg
``Uniqueid``/``Linkedid`` = ``cc-<32 hex>-a``); :func:`rewrite` gives a
stream a different call id (and customer uniqueids) when a test needs two
distinct calls from one recording.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from callcenter.ami.framing import Framer
from callcenter.calls.tracker import AGENT, CUSTOMER, CallTracker, TrackedCall, call_id_of

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

STREAMS = Path(__file__).parent / "ami_streams"
TRUNK = "carrier1"
T0 = 1_800_000_000.0
_CALL_ID = re.compile(rb"cc-([0-9a-f]{32})-a")


# ------------------------------------------------------------------ helpers
def raw(name: str) -> bytes:
    return (STREAMS / f"{name}.raw").read_bytes()


def parse(data: bytes, chunk: int = 1000) -> list[dict[str, str]]:
    """Bytes -> events as the server's AMI link delivers them (responses to
    actions such as the recorder's Login/Logoff never reach the tracker)."""
    framer = Framer()
    out: list[dict[str, str]] = []
    for i in range(0, len(data), chunk):
        framer.feed(data[i:i + chunk])
        out += framer.pop(1000)
    assert framer.buffered == 0
    return [m for m in out if "Event" in m]


def events(name: str) -> list[dict[str, str]]:
    return parse(raw(name))


def stream_call_id(data: bytes) -> str:
    ids = set(_CALL_ID.findall(data))
    assert len(ids) == 1, ids
    return ids.pop().decode()


def rewrite(data: bytes, call_id: str, uid_prefix: str) -> bytes:
    """The same recording as another call: new call id, new customer uniqueids."""
    data = data.replace(stream_call_id(data).encode(), call_id.encode())
    return re.sub(rb"Uniqueid: (\d+)\.(\d+)", lambda m: b"Uniqueid: " + uid_prefix.encode() + b"." + m[2], data)


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder:
    """A Reporter that remembers everything it was told."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []
        self.released: list[tuple[str, str]] = []
        self.foreign: list[tuple[str, int]] = []
        self.log: list[tuple] = []

    def call_changed(self, call: TrackedCall) -> None:
        self.changes.append((call.call_id, call.state))
        self.log.append(("changed", call.call_id, call.state))

    def leg_released(self, call: TrackedCall, role: str) -> None:
        self.released.append((call.call_id, role))
        self.log.append(("released", call.call_id, role))

    def foreign_channels(self, trunk: str, count: int) -> None:
        self.foreign.append((trunk, count))
        self.log.append(("foreign", trunk, count))

    def states(self, call_id: str) -> list[str]:
        out: list[str] = []
        for cid, state in self.changes:
            if cid == call_id and (not out or out[-1] != state):
                out.append(state)
        return out

    def releases(self, call_id: str) -> Counter:
        return Counter(role for cid, role in self.released if cid == call_id)


def make(clock: Clock | None = None) -> tuple[CallTracker, Recorder, Clock]:
    rec, clock = Recorder(), clock or Clock()
    return CallTracker(rec, {TRUNK}, clock), rec, clock


def feed(tracker: CallTracker, clock: Clock, evs: list[dict[str, str]], times: list[float] | None = None) -> None:
    """One event per second of the fake clock, unless ``times`` says otherwise."""
    for i, ev in enumerate(evs):
        clock.t = times[i] if times is not None else T0 + i
        tracker.on_event(dict(ev))


def find(evs: list[dict[str, str]], event: str, **headers: str) -> int:
    for i, ev in enumerate(evs):
        if ev.get("Event") == event and all(ev.get(k) == v for k, v in headers.items()):
            return i
    raise LookupError((event, headers))


def assert_ended_cleanly(tracker: CallTracker, rec: Recorder, call_id: str) -> TrackedCall:
    """Ended; each leg (reservation) released exactly once; 'ended' reported
    once, last, after the releases; nothing reported about the call since."""
    call = tracker.calls[call_id]
    assert call.state == "ended"
    assert rec.releases(call_id) == Counter({AGENT: 1, CUSTOMER: 1}), rec.log
    mine = [entry for entry in rec.log if entry[1] == call_id]
    ended = [i for i, entry in enumerate(mine) if entry == ("changed", call_id, "ended")]
    assert ended == [len(mine) - 1], mine
    assert call.end_reason
    assert tracker.active_calls() == [] or call not in tracker.active_calls()
    return call


# -------------------------------------------------------------- scenarios
# What a user sees for each recording (README.md in tests/ami_streams).
SCENARIOS = {
    "desktop_agent_hangup": dict(
        states=["agent_ringing", "customer_ringing", "connected", "ended"], reason="completed", by=AGENT,
        cause=(16, "Normal Clearing"), agent_channel="PJSIP/agent1-00000000",
        customer_channel="PJSIP/carrier1-00000001", customer_uid="1795453131.1", agent_trunk=None),
    "desktop_customer_hangup": dict(
        states=["agent_ringing", "customer_ringing", "connected", "ended"], reason="completed", by=CUSTOMER,
        cause=(16, "Normal Clearing"), agent_channel="PJSIP/agent1-00000002",
        customer_channel="PJSIP/carrier1-00000003", customer_uid="1795453135.3", agent_trunk=None),
    "mobile_connected": dict(
        states=["agent_ringing", "customer_ringing", "connected", "ended"], reason="completed", by=AGENT,
        cause=(16, "Normal Clearing"), agent_channel="PJSIP/carrier1-00000004",
        customer_channel="PJSIP/carrier1-00000005", customer_uid="1795453139.5", agent_trunk=TRUNK),
    "customer_busy": dict(
        states=["agent_ringing", "customer_ringing", "ended"], reason="customer_busy", by=CUSTOMER,
        cause=(17, "User busy"), agent_channel="PJSIP/agent1-00000006",
        customer_channel="PJSIP/carrier1-00000007", customer_uid="1795453141.7", agent_trunk=None),
    "customer_no_answer": dict(
        states=["agent_ringing", "customer_ringing", "ended"], reason="customer_no_answer", by=CUSTOMER,
        cause=(0, "Unknown"), agent_channel="PJSIP/agent1-00000008",
        customer_channel="PJSIP/carrier1-00000009", customer_uid="1795453141.9", agent_trunk=None),
    "agent_no_answer": dict(
        states=["agent_ringing", "ended"], reason="agent_no_answer", by=AGENT,
        cause=(19, "User alerting, no answer"), agent_channel="PJSIP/agent1-0000000a",
        customer_channel=None, customer_uid=None, agent_trunk=None),
}
CONNECTED = [n for n, s in SCENARIOS.items() if s["reason"] == "completed"]
TWO_LEGS = [n for n, s in SCENARIOS.items() if s["customer_uid"]]


def expected_seconds(name: str, evs: list[dict[str, str]], times: list[float]) -> tuple[float | None, float | None]:
    """(ring, talk) seconds a user should see, from the events' clock times."""
    spec = SCENARIOS[name]
    if spec["customer_uid"] is None:
        return None, None
    uid = spec["customer_uid"]
    rang = times[find(evs, "Newchannel", Uniqueid=uid)]
    if spec["reason"] != "completed":
        return times[find(evs, "Hangup", Uniqueid=uid)] - rang, None
    answered = times[find(evs, "Newstate", Uniqueid=uid, ChannelState="6")]
    ended = max(times[i] for i, ev in enumerate(evs) if ev["Event"] == "Hangup")
    return answered - rang, ended - answered


def replay(name: str, *, expect: bool = True) -> tuple[CallTracker, Recorder, TrackedCall]:
    evs = events(name)
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    if expect:
        tracker.expect(call_id)
    feed(tracker, clock, evs)
    return tracker, rec, tracker.calls[call_id]


def test_recordings_use_the_server_id_convention():
    """Every channel of a recorded call is linked to ``cc-<32 hex>-a``, the
    agent leg's uniqueid (ChannelId of the Originate): no id mapping needed."""
    for name in SCENARIOS:
        evs = events(name)
        call_id = stream_call_id(raw(name))
        linked = {ev.get(p + "Linkedid") for ev in evs for p in ("", "Dest") if ev.get(p + "Linkedid")}
        assert linked == {f"cc-{call_id}-a"}, name
        assert call_id_of(f"cc-{call_id}-a") == call_id


@pytest.mark.parametrize("name", SCENARIOS)
def test_replay(name):
    spec = SCENARIOS[name]
    evs = events(name)
    tracker, rec, call = replay(name)
    assert rec.states(call.call_id) == spec["states"]
    assert_ended_cleanly(tracker, rec, call.call_id)
    assert (call.end_reason, call.hangup_by) == (spec["reason"], spec["by"])
    assert call.hangup_cause == spec["cause"]
    assert call.recovered is False
    ring, talk = expected_seconds(name, evs, [T0 + i for i in range(len(evs))])
    assert call.ring_seconds == ring and call.talk_seconds == talk
    assert call.agent.channel == spec["agent_channel"]
    assert call.agent.uniqueid == f"cc-{call.call_id}-a"
    assert call.customer.channel == spec["customer_channel"]
    assert call.customer.uniqueid == spec["customer_uid"]
    assert call.agent.trunk == spec["agent_trunk"]
    assert call.customer.trunk == (TRUNK if spec["customer_uid"] else None)
    assert (call.agent.answered_at is not None) == (name != "agent_no_answer")
    assert rec.foreign == []  # the call's own trunk channels are not foreign


def test_talk_and_ring_seconds_follow_the_clock():
    """Uneven gaps between events: seconds come from the injected clock."""
    name = "desktop_customer_hangup"
    evs = events(name)
    times, t = [], T0
    for i, _ in enumerate(evs):
        t += 0.25 + (i % 5) * 1.5
        times.append(t)
    tracker, rec, clock = make()
    feed(tracker, clock, evs, times)
    call = tracker.calls[stream_call_id(raw(name))]
    ring, talk = expected_seconds(name, evs, times)
    assert call.ring_seconds == pytest.approx(ring) and call.talk_seconds == pytest.approx(talk)
    assert talk > 0 and ring > 0


def test_two_calls_from_one_recording_interleaved():
    """Rewritten call ids make two distinct concurrent calls; events alternate."""
    base = raw("desktop_agent_hangup")
    ids = ["1" * 32, "2" * 32]
    a, b = (parse(rewrite(base, cid, f"170000000{n}")) for n, cid in enumerate(ids))
    mixed = [ev for pair in zip(a, b) for ev in pair]
    tracker, rec, clock = make()
    feed(tracker, clock, mixed)
    for cid in ids:
        call = assert_ended_cleanly(tracker, rec, cid)
        assert (call.end_reason, call.hangup_by) == ("completed", AGENT)
        assert rec.states(cid) == ["agent_ringing", "customer_ringing", "connected", "ended"]
    assert tracker.calls[ids[0]].customer.uniqueid != tracker.calls[ids[1]].customer.uniqueid


# ------------------------------------------------------------- robustness
def evidence_index(name: str, evs: list[dict[str, str]]) -> int:
    """The last event a late start may skip to and still have the evidence
    for the exact outcome: who left the bridge first; the Dial's status."""
    if name in CONNECTED:
        return find(evs, "BridgeLeave")
    if name == "agent_no_answer":
        return len(evs) - 1
    if name == "customer_no_answer":  # the customer leg's Hangup (cause 0, state Ringing) says it too
        return find(evs, "Hangup")
    return next(i for i, ev in enumerate(evs) if ev.get("DialStatus") not in (None, "ANSWER"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_tracker_started_mid_call(name):
    """A server (re)started mid-call sees only the tail of the stream: it
    still ends the call, releases each leg once and marks it recovered."""
    spec = SCENARIOS[name]
    evs = events(name)
    call_id = stream_call_id(raw(name))
    exact = evidence_index(name, evs)
    for k in range(1, len(evs)):
        tracker, rec, clock = make()
        feed(tracker, clock, evs[k:])
        assert list(tracker.calls) == [call_id], k
        call = assert_ended_cleanly(tracker, rec, call_id)
        assert call.recovered, k
        if k <= exact:
            assert (call.end_reason, call.hangup_by) == (spec["reason"], spec["by"]), (k, call)
        agent_hangup = find(evs, "Hangup", Uniqueid=f"cc-{call_id}-a")
        if name in CONNECTED and k > find(evs, "Newstate", Uniqueid=spec["customer_uid"]) and any(
                ev.get("Uniqueid") == spec["customer_uid"] for ev in evs[k:agent_hangup]):
            # joined while connected, saw the customer leg before the agent's
            # Hangup: still a completed call.  (Seeing only the Hangups, the
            # agent's comes first and ends a call with no known customer leg
            # as agent_hungup: nothing in the stream says otherwise.)
            assert call.end_reason == "completed", (k, call)
        assert call.state == "ended"


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_event_duplicated(name):
    spec = SCENARIOS[name]
    evs = events(name)
    doubled = [ev for ev in evs for _ in range(2)]
    times = [T0 + i // 2 for i in range(len(doubled))]
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    tracker.expect(call_id)
    feed(tracker, clock, doubled, times)
    call = assert_ended_cleanly(tracker, rec, call_id)
    assert rec.states(call_id) == spec["states"]
    assert (call.end_reason, call.hangup_by, call.hangup_cause) == (spec["reason"], spec["by"], spec["cause"])
    ring, talk = expected_seconds(name, evs, [T0 + i for i in range(len(evs))])
    assert call.ring_seconds == ring and call.talk_seconds == talk


@pytest.mark.parametrize("name", TWO_LEGS)
def test_hangups_of_the_two_legs_swapped(name):
    spec = SCENARIOS[name]
    evs = events(name)
    i, j = [n for n, ev in enumerate(evs) if ev["Event"] == "Hangup"]
    evs[i], evs[j] = evs[j], evs[i]
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    tracker.expect(call_id)
    feed(tracker, clock, evs)
    call = assert_ended_cleanly(tracker, rec, call_id)
    assert (call.end_reason, call.hangup_by, call.hangup_cause) == (spec["reason"], spec["by"], spec["cause"])
    assert rec.states(call_id) == spec["states"]


@pytest.mark.parametrize("name", CONNECTED)
@pytest.mark.parametrize("cut_after", ["BridgeEnter", "BridgeLeave"])
def test_stream_cut_then_snapshot_without_the_call(name, cut_after):
    """The AMI link drops mid-call; the call hangs up meanwhile; the
    reconciliation's CoreShowChannels no longer lists its channels."""
    spec = SCENARIOS[name]
    evs = events(name)
    cut = max(i for i, ev in enumerate(evs) if ev["Event"] == cut_after) if cut_after == "BridgeEnter" \
        else find(evs, "BridgeLeave")
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    tracker.expect(call_id)
    feed(tracker, clock, evs[:cut + 1])
    assert tracker.calls[call_id].state == "connected"
    clock.t += 60
    tracker.snapshot([], requested_at=clock.t - 0.5)
    call = assert_ended_cleanly(tracker, rec, call_id)
    assert call.end_reason == "completed"
    assert call.talk_seconds is not None and call.talk_seconds > 60
    if cut_after == "BridgeLeave":  # the first BridgeLeave tells who left
        assert call.hangup_by == spec["by"]
    else:  # nobody is known to have hung up: no guess
        assert call.hangup_by is None
        assert call.hangup_cause == (None, "gone (reconciled)")
    # the late Hangup events, if they still arrive, change nothing
    before = list(rec.log)
    feed(tracker, clock, [ev for ev in evs if ev["Event"] == "Hangup"])
    assert rec.log == before


def test_snapshot_spares_legs_seen_after_it_was_requested():
    name = "desktop_agent_hangup"
    evs = events(name)
    call_id = stream_call_id(raw(name))
    tracker, rec, clock = make()
    tracker.expect(call_id)
    upto = find(evs, "Newchannel", Uniqueid=SCENARIOS[name]["customer_uid"])
    feed(tracker, clock, evs[:upto + 1])
    agent = {"Event": "CoreShowChannel", "Channel": SCENARIOS[name]["agent_channel"], "ChannelState": "6",
             "Uniqueid": f"cc-{call_id}-a", "Linkedid": f"cc-{call_id}-a"}
    # asked for before the customer leg appeared: its absence proves nothing
    tracker.snapshot([agent], requested_at=T0 + upto - 0.5)
    call = tracker.calls[call_id]
    assert call.state == "customer_ringing" and call.customer.hungup_at is None
    assert rec.released == []
    feed(tracker, clock, evs[upto + 1:], [T0 + i for i in range(upto + 1, len(evs))])
    assert_ended_cleanly(tracker, rec, call_id)
    assert (call.end_reason, call.hangup_by) == ("completed", AGENT)


def core_show_channels(name: str, state: str = "6") -> list[dict[str, str]]:
    spec, call_id = SCENARIOS[name], stream_call_id(raw(name))
    linked = f"cc-{call_id}-a"
    return [{"Event": "CoreShowChannel", "Channel": spec["agent_channel"], "ChannelState": state,
             "Uniqueid": linked, "Linkedid": linked, "Context": "cc-c2c"},
            {"Event": "CoreShowChannel", "Channel": spec["customer_channel"], "ChannelState": state,
             "Uniqueid": spec["customer_uid"], "Linkedid": linked, "Context": "cc-inbound"}]


@pytest.mark.parametrize("name", CONNECTED)
def test_snapshot_of_a_call_never_seen(name):
    """After a restart, CoreShowChannels lists a connected call: it is
    recovered, connected, on the right trunk(s); its Hangups then end it."""
    spec = SCENARIOS[name]
    evs = events(name)
    call_id = stream_call_id(raw(name))
    tracker, rec, clock = make()
    tracker.snapshot(core_show_channels(name), requested_at=clock.t - 1)
    call = tracker.calls[call_id]
    assert call.recovered and call.state == "connected"
    assert call.agent.trunk == spec["agent_trunk"] and call.customer.trunk == TRUNK
    assert rec.foreign == []
    hangups = [ev for ev in evs if ev["Event"] == "Hangup"]
    clock.t += 42
    feed(tracker, clock, hangups, [clock.t, clock.t + 1])
    call = assert_ended_cleanly(tracker, rec, call_id)
    assert call.end_reason == "completed" and call.hangup_by in (AGENT, CUSTOMER)
    assert call.talk_seconds == 43
    assert call.hangup_cause == (16, "Normal Clearing")


def foreign_event(event: str, n: int, endpoint: str = TRUNK, **extra: str) -> dict[str, str]:
    uid = f"1795460000.{n}"
    return {"Event": event, "Channel": f"PJSIP/{endpoint}-{n:08x}", "ChannelState": "0",
            "Uniqueid": uid, "Linkedid": uid, "Context": "cc-inbound", **extra}


def test_foreign_channels_on_a_trunk():
    """Channels on a trunk that are not ours (inbound calls...) are counted
    up by Newchannel, down by Hangup, and corrected by a snapshot."""
    tracker, rec, clock = make()
    tracker.on_event(foreign_event("Newchannel", 1))
    tracker.on_event(foreign_event("Newchannel", 2))
    tracker.on_event(foreign_event("Newchannel", 3, endpoint="agent7"))  # a phone, not a trunk
    tracker.on_event(foreign_event("Newstate", 2, ChannelState="6"))
    assert rec.foreign == [(TRUNK, 1), (TRUNK, 2)]
    tracker.on_event(foreign_event("Hangup", 1, Cause="16"))
    tracker.on_event(foreign_event("Hangup", 1, Cause="16"))  # duplicate: no change
    assert rec.foreign[-1] == (TRUNK, 1) and len(rec.foreign) == 3
    # one of our calls runs on the same trunk meanwhile: not foreign
    feed(tracker, clock, events("mobile_connected"))
    assert len(rec.foreign) == 3
    # Asterisk says: #2 is gone (Hangup missed), #4 and #5 exist (Newchannel missed)
    tracker.snapshot([foreign_event("CoreShowChannel", 4), foreign_event("CoreShowChannel", 5),
                      foreign_event("CoreShowChannel", 6, endpoint="agent7")], requested_at=clock.t)
    assert rec.foreign[-1] == (TRUNK, 2)
    tracker.on_event(foreign_event("Hangup", 2, Cause="16"))  # already gone: no report
    tracker.on_event(foreign_event("Hangup", 4, Cause="16"))
    assert rec.foreign[-1] == (TRUNK, 1) and len(rec.foreign) == 5
    tracker.snapshot([foreign_event("CoreShowChannel", 5)], requested_at=clock.t)  # agrees: silent
    assert len(rec.foreign) == 5


def test_forgotten_calls_channels_in_a_snapshot_are_not_foreign():
    """A call ended and forgotten while Asterisk still lists its channels
    (hangup in progress): neither recreated nor counted as foreign."""
    name = "mobile_connected"
    call_id = stream_call_id(raw(name))
    tracker, rec, clock = make()
    feed(tracker, clock, events(name))
    tracker.forget(call_id)
    tracker.snapshot(core_show_channels(name), requested_at=clock.t)
    assert tracker.calls == {} and rec.foreign == []


def test_sweep_ends_a_call_whose_agent_leg_never_appeared():
    tracker, rec, clock = make()
    stuck, fine = "a" * 32, "b" * 32
    tracker.expect(stuck)
    tracker.expect(fine)
    clock.t += 1
    tracker.on_event({"Event": "Newchannel", "Channel": "PJSIP/agent1-000000ff", "ChannelState": "0",
                      "Uniqueid": f"cc-{fine}-a", "Linkedid": f"cc-{fine}-a"})
    tracker.sweep(T0 + 29, max_setup_seconds=30)
    assert rec.released == [] and tracker.calls[stuck].state == "agent_ringing"
    clock.t = T0 + 31
    tracker.sweep(T0 + 31, max_setup_seconds=30)
    call = assert_ended_cleanly(tracker, rec, stuck)
    assert (call.end_reason, call.hangup_by) == ("originate_timeout", "system")
    assert tracker.calls[fine].state == "agent_ringing" and rec.releases(fine) == Counter()
    tracker.sweep(T0 + 100, max_setup_seconds=30)  # already ended: nothing more
    assert rec.releases(stuck) == Counter({AGENT: 1, CUSTOMER: 1})


@pytest.mark.parametrize("name", SCENARIOS)
def test_forget_then_late_duplicates_ignored(name):
    evs = events(name)
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    feed(tracker, clock, evs)
    tracker.forget(call_id)
    before = list(rec.log)
    feed(tracker, clock, evs)
    feed(tracker, clock, evs[len(evs) // 2:])
    assert rec.log == before and tracker.calls == {}


def test_non_call_events_ignored():
    tracker, rec, clock = make()
    noise = [
        {"Event": "FullyBooted", "Status": "Fully Booted"},
        {"Event": "PeerStatus", "Peer": "PJSIP/carrier1", "PeerStatus": "Reachable"},
        {"Event": "Newexten", "Channel": "PJSIP/agent1-00000001", "Uniqueid": "1.1", "Linkedid": "1.1"},
        {"Event": "VarSet", "Channel": "PJSIP/carrier1-00000001", "Variable": "X", "Value": "1",
         "Uniqueid": f"cc-{'c' * 32}-a", "Linkedid": f"cc-{'c' * 32}-a"},
        {"Event": "Hangup", "Channel": "PJSIP/agent1-00000001", "Uniqueid": "1.1", "Linkedid": "1.1"},
        {"Event": "Newchannel", "Channel": "PJSIP/agent1-00000002", "Uniqueid": "cc-XYZ-a", "Linkedid": "cc-XYZ-a"},
        {"Event": "Newchannel", "Channel": "PJSIP/agent1-00000003", "Uniqueid": f"cc-{'C' * 32}-a",
         "Linkedid": f"cc-{'C' * 32}-a"},  # not lower-case hex: not ours
        {"Event": "Newchannel", "Channel": "PJSIP/agent1-00000004", "Uniqueid": f"cc-{'d' * 32}-b",
         "Linkedid": f"cc-{'d' * 32}-b"},
        {"Response": "Success", "ActionID": "x", "Message": "Authentication accepted"},
        {},
    ]
    feed(tracker, clock, noise)
    assert tracker.calls == {} and rec.log == []


def test_fail_before_any_channel_releases_both_reservations():
    tracker, rec, clock = make()
    call_id = "e" * 32
    tracker.expect(call_id)
    tracker.fail(call_id, "pbx_disconnected")
    call = assert_ended_cleanly(tracker, rec, call_id)
    assert (call.end_reason, call.hangup_by) == ("pbx_disconnected", "system")
    tracker.fail(call_id, "originate_timeout")  # a second failure changes nothing
    assert call.end_reason == "pbx_disconnected" and rec.releases(call_id)[AGENT] == 1


def test_a_supervisors_monitor_leg_on_a_trunk_is_live_but_not_foreign():
    """A supervisor rung on a mobile (callcenter/monitor, uniqueid cm-...-s)
    holds its own reservation: counted among the trunk's live channels, never
    as foreign (which would count it twice against the trunk's capacity)."""
    tracker, rec, _clock = make()
    leg = {"Event": "Newchannel", "Channel": f"PJSIP/{TRUNK}-0000000a", "ChannelState": "0",
           "Uniqueid": f"cm-{'b' * 32}-s", "Linkedid": f"cm-{'b' * 32}-s", "Context": "cc-monitor"}
    tracker.on_event(leg)
    assert rec.foreign == [] and tracker.trunk_channels()[TRUNK] == 1
    tracker.snapshot([{**leg, "Event": "CoreShowChannel"}], requested_at=0)
    assert rec.foreign == [] and tracker.trunk_channels()[TRUNK] == 1
    tracker.on_event({**leg, "Event": "Hangup", "Cause": "16"})
    assert rec.foreign == [] and tracker.trunk_channels()[TRUNK] == 0
