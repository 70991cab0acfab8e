"""The pure queue tracker, fed the AMI byte streams recorded from Asterisk 22
by tests/test_queues_asterisk.py (tests/ami_streams/queue_*.raw), parsed
with the server's own framer. A fake clock stands in for time; the tests
assert what a supervisor would see on the board (callers waiting, longest
wait, members' states and pause reasons, answered/abandoned/timed out,
service level) and what the metrics are told (each caller's outcome, once).
Then the streams are mangled: every event twice, started mid-call, and a
QueueStatus snapshot after a reconnect."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from callcenter.ami.framing import Framer
from callcenter.queues.state import HANGUP_GRACE, QueueTracker

STREAMS = Path(__file__).parent / "ami_streams"
QUEUE = "support-en"
T0 = 1_800_000_000.0


def events(name: str) -> list[dict[str, str]]:
    framer = Framer()
    data = (STREAMS / f"{name}.raw").read_bytes()
    out = []
    for i in range(0, len(data), 700):
        framer.feed(data[i:i + 700])
        out += framer.pop(1000)
    return [m for m in out if "Event" in m]


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.changed: list[str] = []
        self.done: list[tuple[str, str, str, float]] = []
        self.agents: list[tuple[str, str, str]] = []

    def queue_changed(self, queue) -> None:
        self.changed.append(queue.name)

    def caller_done(self, queue, caller, outcome, wait) -> None:
        self.done.append((queue.name, caller.uniqueid, outcome, wait))

    def agent_event(self, kind, queue, member, event) -> None:
        self.agents.append((kind, queue.name, member.name))


def tracker(wrapup: int = 2, level: int = 20):
    clock, rec = Clock(), Recorder()
    t = QueueTracker(rec, clock, zoneinfo.ZoneInfo("Asia/Kolkata"))
    t.configure({QUEUE: (wrapup, level), "support-hi": (0, 20)})
    return t, clock, rec


def feed(t: QueueTracker, clock: Clock, evs, step: float = 0.0, until=None) -> list[dict]:
    """Feed events, advancing the clock ``step`` s each; stop after the first
    event matching ``until`` and return the rest."""
    for i, e in enumerate(evs):
        clock.t += step
        t.on_event(e)
        if until is not None and until(e):
            return evs[i + 1:]
    return []


def named(event: str):
    return lambda e: e.get("Event") == event


def view(t: QueueTracker, clock: Clock, name: str = QUEUE) -> dict:
    assert t.clock() == clock()
    return t.view(name)


def test_answered_call_step_by_step():
    t, clock, rec = tracker()
    rest = feed(t, clock, events("queue_answered"), until=named("QueueMemberAdded"))
    v = view(t, clock)
    assert v["logged_in"] == 1 and v["members"][0]["name"] == "asha" and v["members"][0]["state"] == "available"
    rest = feed(t, clock, rest, until=named("QueueMemberPause"))
    member = view(t, clock)["members"][0]
    assert (member["state"], member["reason"]) == ("paused", "break")
    assert t.free_members(QUEUE) == []
    rest = feed(t, clock, rest, until=named("QueueMemberPause"))
    assert view(t, clock)["members"][0]["state"] == "available" and t.free_members(QUEUE) == ["asha"]

    rest = feed(t, clock, rest, until=named("QueueCallerJoin"))
    clock.t += 4
    v = view(t, clock)
    assert v["waiting"] == 1 and v["longest_wait"] == 4 and v["callers"][0]["position"] == 1
    rest = feed(t, clock, rest, until=named("AgentCalled"))
    v = view(t, clock)
    assert v["members"][0]["state"] == "ringing" and v["callers"][0]["ringing"] == "asha"
    assert ("called", QUEUE, "asha") in rec.agents

    rest = feed(t, clock, rest, until=named("AgentConnect"))
    v = view(t, clock)
    assert v["waiting"] == 0 and v["longest_wait"] == 0
    assert v["members"][0]["state"] == "in_call"
    assert rec.done[-1][2:] == ("answered", 0.0)
    assert v["today"]["answered"] == 1 and v["today"]["service_level"] == 1.0

    rest = feed(t, clock, rest, until=named("AgentComplete"))
    v = view(t, clock)
    assert v["members"][0]["state"] == "wrapup" and v["members"][0]["wrapup_left_seconds"] == 2
    assert t.free_members(QUEUE) == []
    rest = feed(t, clock, rest, until=lambda e: e["Event"] == "QueueMemberStatus" and e["Status"] == "1")
    assert view(t, clock)["members"][0]["state"] == "wrapup"   # the phone hung up; wrap-up goes on
    clock.t += 2.1
    t.tick()
    assert view(t, clock)["members"][0]["state"] == "available" and t.free_members(QUEUE) == ["asha"]
    feed(t, clock, rest)
    v = view(t, clock)
    assert v["logged_in"] == 0 and v["members"] == []
    assert [d[2] for d in rec.done] == ["answered"]
    assert [a[0] for a in rec.agents] == ["called", "connected", "completed"]
    assert v["today"]["abandoned"] == 0 and t.figures(t.queue(QUEUE)).talk_total == 2


def test_caller_hanging_up_while_waiting_is_abandoned_with_the_wait():
    t, clock, rec = tracker()
    evs = events("queue_abandoned")
    member = {"Event": "QueueMemberAdded", "Queue": QUEUE, "MemberName": "asha", "Interface": "PJSIP/agent1",
              "Status": "1", "Paused": "0"}
    t.on_event(member)  # logged in before the recording started
    rest = feed(t, clock, evs, until=named("AgentRingNoAnswer"))
    assert view(t, clock)["members"][0]["state"] in ("ringing", "available")
    rest = feed(t, clock, rest, until=named("QueueCallerLeave"))
    assert view(t, clock)["waiting"] == 0 and rec.done == []   # abandon or timeout: the hangup decides
    feed(t, clock, rest)
    assert [(d[2], d[3]) for d in rec.done] == [("abandoned", 7.0)]
    today = view(t, clock)["today"]
    assert today["abandoned"] == 1 and today["abandon_average_wait"] == 7.0
    assert today["timed_out"] == 0 and today["service_level"] is None   # 7 s is within the 20 s level
    assert view(t, clock)["members"][0]["state"] == "available"
    t.tick()
    clock.t += 60
    t.tick()
    assert len(rec.done) == 1


def test_abandon_after_the_service_level_counts_against_it():
    t, clock, rec = tracker(level=5)
    feed(t, clock, events("queue_abandoned"))
    assert view(t, clock)["today"]["service_level"] == 0.0


def test_max_wait_running_out_is_a_timeout_not_an_abandon():
    t, clock, rec = tracker()
    rest = feed(t, clock, events("queue_timeout"), until=named("QueueCallerLeave"))
    assert rec.done == []
    clock.t += HANGUP_GRACE + 0.5
    t.tick()
    assert [d[2] for d in rec.done] == ["timeout"]
    feed(t, clock, rest)  # the IVR's call-back offer, then the caller hangs up
    today = view(t, clock)["today"]
    assert (today["timed_out"], today["abandoned"], today["answered"]) == (1, 0, 0)
    assert today["service_level"] == 0.0


def test_mobile_agent_answers_through_a_local_channel():
    t, clock, rec = tracker()
    rest = feed(t, clock, events("queue_mobile"), until=named("QueueMemberAdded"))
    assert view(t, clock)["members"][0]["mobile"] is True
    rest = feed(t, clock, rest, until=named("AgentCalled"))
    assert view(t, clock)["members"][0]["state"] == "ringing"
    rest = feed(t, clock, rest, until=named("AgentConnect"))
    assert view(t, clock)["members"][0]["state"] == "in_call"
    feed(t, clock, rest)
    assert [(d[2], d[3]) for d in rec.done] == [("answered", 0.0)]
    assert view(t, clock)["members"] == []


def test_every_event_twice_counts_once():
    t, clock, rec = tracker()
    for name in ("queue_answered", "queue_abandoned", "queue_mobile"):
        feed(t, clock, [e for e in events(name) for _ in (0, 1)])
    today = view(t, clock)["today"]
    assert (today["answered"], today["abandoned"]) == (2, 1)
    assert sorted(d[2] for d in rec.done) == ["abandoned", "answered", "answered"]
    assert t.figures(t.queue(QUEUE)).talk_total == 2


def test_started_mid_call_still_counts_the_answer():
    t, clock, rec = tracker()
    evs = events("queue_answered")
    start = next(i for i, e in enumerate(evs) if e["Event"] == "QueueCallerLeave") + 1
    feed(t, clock, evs[start:])
    assert [d[2] for d in rec.done] == ["answered"]
    assert view(t, clock)["waiting"] == 0


def test_snapshot_after_reconnect_replaces_members_and_callers():
    t, clock, rec = tracker()
    feed(t, clock, events("queue_answered"), until=named("QueueMemberAdded"))   # a stale member
    t.on_event({"Event": "QueueCallerJoin", "Queue": "old-queue", "Uniqueid": "1.1", "Channel": "x", "Position": "1"})
    answered = view(t, clock)["today"]
    t.snapshot(events("queue_status"))
    v = view(t, clock)
    assert v["waiting"] == 1 and v["longest_wait"] >= 1
    [member] = v["members"]
    assert (member["name"], member["state"], member["reason"]) == ("asha", "paused", "lunch")
    assert view(t, clock, "support-hi")["members"] == []
    assert view(t, clock, "old-queue")["waiting"] == 0       # Asterisk no longer has it
    assert v["today"] == answered                            # today's figures survive


def test_figures_start_again_each_local_day():
    t, clock, rec = tracker()
    clock.t = dt.datetime(2027, 3, 1, 23, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")).timestamp()
    feed(t, clock, events("queue_answered"))
    assert view(t, clock)["today"]["answered"] == 1
    clock.t += 3600  # past midnight in Kolkata
    assert view(t, clock)["today"]["answered"] == 0


def test_unrelated_events_change_nothing():
    t, clock, rec = tracker()
    for name in ("desktop_agent_hangup", "mobile_connected", "customer_busy"):
        feed(t, clock, events(name))
    assert rec.done == [] and rec.agents == [] and rec.changed == []
    assert all(not q.waiting and not q.members for q in t.queues.values())
