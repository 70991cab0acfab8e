"""The supervisor's leg of a monitor session: what it is and the AMI
``Originate`` that rings it into ``ChanSpy`` (context ``cc-monitor`` of
asterisk-conf/extensions.conf.j2), built from checked values only.

ChanSpy matches its first argument as a *prefix* of channel names. The spy
target is therefore the agent's exact channel name as the tracker saw it
(``PJSIP/ph-asha-0000001a``, or ``PJSIP/carrier-0000001b`` for an agent on a
mobile): it ends in Asterisk's 8-hex-digit channel counter, so it is a prefix
of no other channel, and the carrier leg (``PJSIP/carrier-...`` with its own
counter) can never be matched; and option ``u`` makes ChanSpy take it as a
fully specified channel name (an exact look-up, not a prefix scan). ``E`` ends ChanSpy when that channel hangs up
and ``S`` when nothing matches (the call ended before the supervisor
answered), so the leg never waits on another call.

Mode change: ChanSpy's ``d`` option (keys 4/5/6 switch listen/whisper/barge)
is deliberately *not* enabled: the server could neither audit the switch nor
tell the agent that a listener began to whisper. A new mode is a new request.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

MODES = {"listen": "quES", "whisper": "quwES", "barge": "quBES"}
CONTEXT = "cc-monitor"
_SPIED = re.compile(r"^PJSIP/[A-Za-z0-9_.+-]+-[0-9a-f]{8}$")
_LEG = re.compile(r"^cm-([0-9a-f]{32})-s$")


def leg_uniqueid(session_id: str) -> str:
    return f"cm-{session_id}-s"


def session_of(uniqueid: str) -> str | None:
    """The session id of a supervisor leg's uniqueid, else None."""
    match = _LEG.match(uniqueid or "")
    return match.group(1) if match else None


def checked_spied(channel: str | None) -> str:
    """The agent's exact channel name, or ValueError (never a bare prefix)."""
    if not isinstance(channel, str) or not _SPIED.match(channel):
        raise ValueError("not an exact channel name")
    return channel


@dataclass
class MonitorSession:
    """One supervisor on one call."""
    id: str
    call_id: str
    mode: str
    supervisor_id: int
    supervisor: str           # the supervisor's user name
    agent_id: int
    agent: str
    spied_channel: str        # the agent's exact channel
    phone: str                # the supervisor's dial string (PJSIP/<endpoint> or PJSIP/<digits>@<trunk>)
    trunk: str | None = None  # set for a supervisor on a mobile: the leg holds a channel of this trunk
    started_at: float = field(default_factory=time.time)
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    channel: str | None = None  # the supervisor leg's channel, once Asterisk made it
    seen_at: float | None = None  # when its Newchannel came

    @property
    def uniqueid(self) -> str:
        return leg_uniqueid(self.id)

    @property
    def trunk_leg(self) -> str:
        """Its reservation in the trunk accounting: keyed by the call, so
        reconciliation keeps it while the call lives and frees it after."""
        return f"{self.call_id}:monitor-{self.id}"

    def view(self) -> dict:
        return {"id": self.id, "call_id": self.call_id, "mode": self.mode,
                "supervisor": {"id": self.supervisor_id, "name": self.supervisor},
                "agent": {"id": self.agent_id, "name": self.agent},
                "state": "ended" if self.ended_at else ("connected" if self.answered_at else "ringing"),
                "started_at": self.started_at, "answered_at": self.answered_at, "ended_at": self.ended_at,
                "end_reason": self.end_reason}


def originate(session: MonitorSession, ring_timeout: float) -> tuple[dict, dict]:
    """(headers, variables) of the Originate ringing the supervisor into ChanSpy."""
    headers = {"Channel": session.phone, "Context": CONTEXT, "Exten": "s", "Priority": "1",
               "Timeout": str(int(ring_timeout * 1000)), "CallerID": "Monitor <0>",
               "ChannelId": session.uniqueid, "Async": "true"}
    variables = {"CC_MONITOR_ID": session.id, "CC_SPY": checked_spied(session.spied_channel),
                 "CC_SPY_OPTIONS": MODES[session.mode]}
    return headers, variables
