"""The shapes of queue state (callers waiting, members, today's figures) and
their JSON views, shared by the pure tracker (``state.py``), the API, the
board page and the metrics."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Asterisk device states (QueueMemberStatus Status)
UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = range(9)
MEMBER_STATES = ("available", "ringing", "in_call", "wrapup", "busy", "paused", "unavailable")
OUTCOMES = ("answered", "abandoned", "timeout", "exited")


@dataclass
class Caller:
    uniqueid: str
    channel: str
    joined_at: float
    position: int = 0
    left_at: float | None = None
    abandon_hold: float | None = None   # HoldTime of QueueCallerAbandon (abandon or timeout)
    agent: str | None = None            # member being rung / who answered


@dataclass
class Member:
    interface: str
    name: str
    paused: bool = False
    reason: str = ""
    device: int = NOT_INUSE
    logged_in_at: float | None = None
    ringing_for: str | None = None      # uniqueid of the caller ringing this member
    call: str | None = None             # uniqueid of the caller connected
    connected_at: float | None = None
    wrapup_until: float | None = None
    calls_taken: int = 0

    def state(self, now: float) -> str:
        if self.call is not None:
            return "in_call"
        if self.ringing_for is not None or self.device in (RINGING, RINGINUSE):
            return "ringing"
        if self.paused:
            return "paused"
        if self.device in (INVALID, UNAVAILABLE, UNKNOWN):
            return "unavailable"
        if self.wrapup_until is not None and now < self.wrapup_until:
            return "wrapup"
        if self.device in (INUSE, BUSY, ONHOLD):
            return "busy"  # on another call (a click-to-call, a direct call)
        return "available"


@dataclass
class Figures:
    day: dt.date
    answered: int = 0
    answered_in_time: int = 0       # within the service level
    abandoned: int = 0
    abandoned_late: int = 0         # abandoned after waiting longer than the service level
    abandon_wait: float = 0.0
    timed_out: int = 0
    exited: int = 0
    hold_total: float = 0.0
    talk_total: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Answered within N s ÷ (answered + abandoned after N s + timed out)."""
        offered = self.answered + self.abandoned_late + self.timed_out
        return round(self.answered_in_time / offered, 4) if offered else None


@dataclass
class QueueState:
    name: str
    wrapup_seconds: int = 0
    service_level_seconds: int = 20
    waiting: dict[str, Caller] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)   # by interface
    figures: Figures | None = None

    def longest_wait(self, now: float) -> float:
        return max((now - c.joined_at for c in self.waiting.values()), default=0.0)


def member_view(m: Member, now: float) -> dict:
    state = m.state(now)
    view = {"name": m.name, "state": state, "paused": m.paused, "reason": m.reason or None,
            "mobile": m.interface.startswith("Local/"), "calls_taken": m.calls_taken}
    if state == "in_call" and m.connected_at is not None:
        view["in_call_seconds"] = round(now - m.connected_at)
    if state == "wrapup" and m.wrapup_until is not None:
        view["wrapup_left_seconds"] = max(0, round(m.wrapup_until - now))
    return view


def figures_view(f: Figures | None) -> dict:
    f = f or Figures(dt.date.min)
    return {"answered": f.answered, "answered_in_time": f.answered_in_time, "abandoned": f.abandoned,
            "abandon_average_wait": round(f.abandon_wait / f.abandoned, 1) if f.abandoned else None,
            "timed_out": f.timed_out, "exited": f.exited,
            "average_hold": round(f.hold_total / f.answered, 1) if f.answered else None,
            "service_level": f.service_level}


def queue_view(q: QueueState, now: float) -> dict:
    """One queue as the board, the API and the hub message show it (no caller numbers)."""
    members = sorted((member_view(m, now) for m in q.members.values()), key=lambda v: v["name"])
    counts = {state: 0 for state in MEMBER_STATES}
    for v in members:
        counts[v["state"]] += 1
    waiting = sorted(q.waiting.values(), key=lambda c: c.joined_at)
    return {"name": q.name, "waiting": len(waiting), "longest_wait": round(q.longest_wait(now)),
            "callers": [{"position": i + 1, "wait": round(now - c.joined_at), "ringing": c.agent}
                        for i, c in enumerate(waiting)],
            "service_level_seconds": q.service_level_seconds, "wrapup_seconds": q.wrapup_seconds,
            "logged_in": len(members), "agents": counts, "members": members,
            "today": figures_view(q.figures)}
