"""Queue state from AMI events (plain dicts) in, per-queue state out. No I/O.

Per queue: the callers waiting (join times), the members (logged in, paused
with a reason, ringing, in a call, in wrap-up), and today's figures
(answered, answered within the service level, abandoned with their waits,
callers who left after the maximum wait). Changes go out through a
:class:`Reporter`; time comes from an injected clock; "today" is the day in
the injected time zone.

What Asterisk 22 sends (tests/ami_streams/queue_*.raw):
- answered: ``QueueCallerJoin`` · ``AgentCalled`` · ``QueueCallerLeave`` ·
  ``AgentConnect`` (HoldTime) · ... ``AgentComplete`` (TalkTime, Reason).
- caller hangs up while waiting: ``QueueCallerAbandon`` (HoldTime) ·
  ``QueueCallerLeave`` · ``Hangup`` of the caller's channel.
- Queue()'s timeout (the IVR's maximum wait): the same ``QueueCallerAbandon``
  · ``QueueCallerLeave``, but the channel lives on (the IVR offers a
  call-back). So an abandon counts only when the caller's ``Hangup`` follows
  within :data:`HANGUP_GRACE` seconds; otherwise the caller "timed out".
- nobody logged in: Queue() returns JOINEMPTY without any queue event."""
from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from typing import Callable, Protocol

from callcenter.queues.board import (BUSY, INUSE, INVALID, NOT_INUSE, ONHOLD, RINGING, RINGINUSE, UNAVAILABLE,
                                     UNKNOWN, Caller, Figures, Member, QueueState, queue_view)

HANGUP_GRACE = 5.0
DONE_KEPT = 5_000


class Reporter(Protocol):
    def queue_changed(self, queue: QueueState) -> None: ...
    def caller_done(self, queue: QueueState, caller: Caller, outcome: str, wait: float) -> None: ...
    def agent_event(self, kind: str, queue: QueueState, member: Member, event: dict) -> None: ...


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class QueueTracker:
    def __init__(self, reporter: Reporter | None = None, clock: Callable[[], float] | None = None,
                 tz: dt.tzinfo = dt.timezone.utc) -> None:
        self.reporter = reporter
        self.clock = clock or time.time
        self.tz = tz
        self.queues: dict[str, QueueState] = {}
        self.leaving: dict[str, tuple[str, Caller]] = {}   # uniqueid -> (queue, caller) just left
        # (queue, uniqueid, outcome) already counted: duplicate events count nothing twice
        self._counted: OrderedDict[tuple, None] = OrderedDict()
        self._handlers = {
            "QueueCallerJoin": self._on_join, "QueueCallerLeave": self._on_leave,
            "QueueCallerAbandon": self._on_abandon, "AgentCalled": self._on_called,
            "AgentRingNoAnswer": self._on_ring_no_answer, "AgentConnect": self._on_connect,
            "AgentComplete": self._on_complete, "AgentDump": self._on_complete,
            "QueueMemberStatus": self._on_member, "QueueMemberPause": self._on_member,
            "QueueMemberAdded": self._on_member, "QueueMemberRemoved": self._on_member_removed,
            "Hangup": self._on_hangup,
        }

    # -- configuration and reads ------------------------------------------------
    def configure(self, settings: dict[str, tuple[int, int]]) -> None:
        """Queue name -> (wrap-up seconds, service-level seconds), from the database."""
        for name, (wrapup, level) in settings.items():
            q = self.queue(name)
            q.wrapup_seconds, q.service_level_seconds = wrapup, level

    def queue(self, name: str) -> QueueState:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = QueueState(name)
        return q

    def figures(self, q: QueueState) -> Figures:
        today = dt.datetime.fromtimestamp(self.clock(), self.tz).date()
        if q.figures is None or q.figures.day != today:
            q.figures = Figures(today)
        return q.figures

    def view(self, name: str) -> dict:
        """The queue as the board and the API show it (today's figures rolled over)."""
        q = self.queue(name)
        self.figures(q)
        return queue_view(q, self.clock())

    def members_named(self, name: str) -> list[tuple[QueueState, Member]]:
        return [(q, m) for q in self.queues.values() for m in q.members.values() if m.name == name]

    def free_members(self, queue: str) -> list[str]:
        """Names of the members of ``queue`` who could take a call now."""
        q, now = self.queues.get(queue), self.clock()
        return [m.name for m in q.members.values() if m.state(now) == "available"] if q else []

    def snapshot(self, entries: list[dict]) -> None:
        """Asterisk is the truth after each (re)connect: the list events of
        ``QueueStatus`` (QueueParams, QueueMember, QueueEntry) replace every
        queue's members and waiting callers; today's figures stay."""
        now = self.clock()
        listed: dict[str, tuple[list, list]] = {}
        for e in entries:
            kind, name = e.get("Event"), e.get("Queue", "")
            if kind in ("QueueParams", "QueueMember", "QueueEntry"):
                members, callers = listed.setdefault(name, ([], []))
                (members if kind == "QueueMember" else callers if kind == "QueueEntry" else []).append(e)
        for name in set(self.queues) | set(listed):
            q = self.queue(name)
            members, callers = listed.get(name, ([], []))
            q.members = {m.interface: m for m in (self._listed_member(q, e, now) for e in members)}
            q.waiting = {}
            for e in callers:
                uid = e.get("Uniqueid", "")
                q.waiting[uid] = Caller(uid, e.get("Channel", ""), now - _float(e.get("Wait")),
                                        _int(e.get("Position")))
            self._changed(q)

    @staticmethod
    def _listed_member(q: QueueState, e: dict, now: float) -> Member:
        interface = e.get("Location") or e.get("Interface", "")
        m = q.members.get(interface) or Member(interface, e.get("Name", ""))
        m.name = e.get("Name") or m.name
        m.paused = e.get("Paused") == "1"
        m.reason = e.get("PausedReason", "") if m.paused else ""
        m.device = _int(e.get("Status"), m.device)
        m.logged_in_at = _float(e.get("LoginTime")) or m.logged_in_at or now
        m.calls_taken = _int(e.get("CallsTaken"), m.calls_taken)
        if e.get("InCall") != "1":
            m.call = m.connected_at = None
        elif m.call is None:
            m.call = "?"  # in a queue call that began while we were away
        if m.device not in (RINGING, RINGINUSE):
            m.ringing_for = None
        last = _float(e.get("LastCall"))
        if m.call is None and last and q.wrapup_seconds and last + q.wrapup_seconds > now:
            m.wrapup_until = last + q.wrapup_seconds
        return m

    # -- events ---------------------------------------------------------------------
    def on_event(self, event: dict[str, str]) -> None:
        handler = self._handlers.get(event.get("Event", ""))
        if handler is not None:
            handler(event)

    def _changed(self, q: QueueState) -> None:
        if self.reporter is not None:
            self.reporter.queue_changed(q)

    def _on_join(self, e: dict) -> None:
        q, uid = self.queue(e.get("Queue", "")), e.get("Uniqueid", "")
        self._finish_leaving(uid)  # the same caller again (e.g. declined the call-back offer)
        q.waiting[uid] = Caller(uid, e.get("Channel", ""), self.clock(), _int(e.get("Position")))
        self._changed(q)

    def _on_abandon(self, e: dict) -> None:
        q = self.queue(e.get("Queue", ""))
        caller = q.waiting.get(e.get("Uniqueid", ""))
        if caller is not None:
            caller.abandon_hold = _float(e.get("HoldTime"), self.clock() - caller.joined_at)

    def _on_leave(self, e: dict) -> None:
        q, uid = self.queue(e.get("Queue", "")), e.get("Uniqueid", "")
        caller = q.waiting.pop(uid, None)
        if caller is None:
            return
        caller.left_at = self.clock()
        self.leaving[uid] = (q.name, caller)
        for member in q.members.values():
            if member.ringing_for == uid:
                member.ringing_for = None
        self._changed(q)

    def _on_hangup(self, e: dict) -> None:
        uid = e.get("Uniqueid", "")
        if uid in self.leaving:
            name, caller = self.leaving.pop(uid)
            q = self.queue(name)
            if caller.abandon_hold is not None:
                self._done(q, caller, "abandoned", caller.abandon_hold)
            else:
                self._done(q, caller, "exited", caller.left_at - caller.joined_at)
            return
        for q in self.queues.values():  # a caller whose Leave never came
            caller = q.waiting.pop(uid, None)
            if caller is not None:
                caller.left_at = self.clock()
                self._done(q, caller, "abandoned", caller.abandon_hold or caller.left_at - caller.joined_at)
                self._changed(q)

    def _member_of(self, e: dict) -> tuple[QueueState, Member | None]:
        q = self.queue(e.get("Queue", ""))
        return q, q.members.get(e.get("Interface", ""))

    def _on_called(self, e: dict) -> None:
        q, member = self._member_of(e)
        if member is None:
            return
        member.ringing_for = e.get("Uniqueid")
        caller = q.waiting.get(e.get("Uniqueid", ""))
        if caller is not None:
            caller.agent = member.name
        self._agent_event("called", q, member, e)

    def _on_ring_no_answer(self, e: dict) -> None:
        q, member = self._member_of(e)
        if member is not None:
            member.ringing_for = None
            self._agent_event("ring_no_answer", q, member, e)

    def _on_connect(self, e: dict) -> None:
        q, member = self._member_of(e)
        uid = e.get("Uniqueid", "")
        caller = q.waiting.pop(uid, None)
        if caller is None and uid in self.leaving:
            caller = self.leaving.pop(uid)[1]
        if member is not None:
            member.ringing_for, member.call, member.connected_at = None, uid, self.clock()
            member.wrapup_until = None
        if caller is None:  # joined before we were listening
            hold = _float(e.get("HoldTime"))
            caller = Caller(uid, e.get("Channel", ""), self.clock() - hold, left_at=self.clock())
        caller.agent = e.get("MemberName") or caller.agent
        self._done(q, caller, "answered", _float(e.get("HoldTime"), self.clock() - caller.joined_at))
        if member is not None:
            self._agent_event("connected", q, member, e)

    def _first(self, key: tuple) -> bool:
        """True the first time ``key`` is seen (a bounded memory of counted things)."""
        if key in self._counted:
            return False
        self._counted[key] = None
        while len(self._counted) > DONE_KEPT:
            self._counted.popitem(last=False)
        return True

    def _on_complete(self, e: dict) -> None:
        q, member = self._member_of(e)
        if not self._first((q.name, e.get("Uniqueid", ""), e.get("Event"))):
            return
        if e.get("Event") == "AgentComplete":
            self.figures(q).talk_total += _float(e.get("TalkTime"))
        if member is not None:
            member.call, member.connected_at = None, None
            member.calls_taken += 1
            member.wrapup_until = self.clock() + q.wrapup_seconds if q.wrapup_seconds else None
            self._agent_event("completed", q, member, e)

    def _on_member(self, e: dict) -> None:
        q = self.queue(e.get("Queue", ""))
        interface = e.get("Interface") or e.get("Location", "")
        member = q.members.get(interface)
        if member is None:
            member = q.members[interface] = Member(interface, e.get("MemberName") or e.get("Name", ""),
                                                   logged_in_at=self.clock())
        member.name = e.get("MemberName") or e.get("Name") or member.name
        member.paused = e.get("Paused") == "1"
        member.reason = e.get("PausedReason", "") if member.paused else ""
        member.device = _int(e.get("Status"), member.device)
        if e.get("InCall") == "0" and member.call is not None and e.get("Event") != "QueueMemberPause" \
                and member.device in (NOT_INUSE, UNAVAILABLE, INVALID):
            member.call = None  # the call ended without an AgentComplete we saw
        self._changed(q)

    def _on_member_removed(self, e: dict) -> None:
        q = self.queue(e.get("Queue", ""))
        if q.members.pop(e.get("Interface", ""), None) is not None:
            self._changed(q)

    # -- outcomes, time ------------------------------------------------------------------
    def _done(self, q: QueueState, caller: Caller, outcome: str, wait: float) -> None:
        if outcome in ("answered", "abandoned") and not self._first((q.name, caller.uniqueid, outcome)):
            return
        f = self.figures(q)
        if outcome == "answered":
            f.answered += 1
            f.hold_total += wait
            f.answered_in_time += wait <= q.service_level_seconds
        elif outcome == "abandoned":
            f.abandoned += 1
            f.abandon_wait += wait
            f.abandoned_late += wait > q.service_level_seconds
        elif outcome == "timeout":
            f.timed_out += 1
        else:
            f.exited += 1
        if self.reporter is not None:
            self.reporter.caller_done(q, caller, outcome, wait)
        self._changed(q)

    def _finish_leaving(self, uid: str) -> None:
        entry = self.leaving.pop(uid, None)
        if entry is not None:
            name, caller = entry
            outcome = "timeout" if caller.abandon_hold is not None else "exited"
            self._done(self.queue(name), caller, outcome, caller.abandon_hold or caller.left_at - caller.joined_at)

    def tick(self) -> None:
        """Called every second or so: callers who left without hanging up
        (Queue()'s timeout, leave-when-empty) are settled after the grace;
        members whose wrap-up ran out are reported."""
        now = self.clock()
        for uid, (_name, caller) in list(self.leaving.items()):
            if now - caller.left_at >= HANGUP_GRACE:
                self._finish_leaving(uid)
        for q in self.queues.values():
            if any(m.wrapup_until is not None and now >= m.wrapup_until for m in q.members.values()):
                for m in q.members.values():
                    if m.wrapup_until is not None and now >= m.wrapup_until:
                        m.wrapup_until = None
                self._changed(q)

    def _agent_event(self, kind: str, q: QueueState, member: Member, e: dict) -> None:
        if self.reporter is not None:
            self.reporter.agent_event(kind, q, member, e)
        self._changed(q)
