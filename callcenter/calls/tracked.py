"""What the call tracker knows of one click-to-call: its two legs
(:class:`Leg`), the call (:class:`TrackedCall`, with the timings and the
outcome the call effects write), its states in order (:data:`STATES`) and how
a call's id is read from Asterisk's channel ids. Data only; the tracker that
fills it from AMI events is :mod:`callcenter.calls.tracker`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from callcenter.calls.outcome import AGENT, CUSTOMER

_CALL_LINKEDID = re.compile(r"^cc-([0-9a-f]{32})-a$")
_CHANNEL_ENDPOINT = re.compile(r"^PJSIP/(.+)-[0-9a-f]{8}$")

STATES = ("queued", "agent_ringing", "customer_ringing", "connected", "ended")


def agent_uniqueid(call_id: str) -> str:
    return f"cc-{call_id}-a"


def call_id_of(linkedid: str) -> str | None:
    match = _CALL_LINKEDID.match(linkedid or "")
    return match.group(1) if match else None


def endpoint_of(channel: str) -> str | None:
    """'PJSIP/airtel-0000002a' -> 'airtel'."""
    match = _CHANNEL_ENDPOINT.match(channel or "")
    return match.group(1) if match else None


@dataclass
class Leg:
    role: str
    channel: str | None = None
    uniqueid: str | None = None
    trunk: str | None = None
    seen_at: float | None = None
    ringing_at: float | None = None
    # The far end said it is ringing (180/183): set apart "no answer" from "unreachable".
    alerted: bool = False
    answered_at: float | None = None
    hungup_at: float | None = None
    cause: int | None = None
    cause_txt: str | None = None


@dataclass
class TrackedCall:
    call_id: str
    state: str = "agent_ringing"
    agent: Leg = field(default_factory=lambda: Leg(AGENT))
    customer: Leg = field(default_factory=lambda: Leg(CUSTOMER))
    started_at: float | None = None
    ended_at: float | None = None
    dial_status: str | None = None
    originate_reason: str | None = None
    left_first: str | None = None
    end_reason: str | None = None
    hangup_by: str | None = None
    recovered: bool = False
    # the system ended the call (e.g. pbx_restarted: Asterisk died under it)
    cut_reason: str | None = None
    # the PBX node carrying the call (callcenter/pbx/nodes.py); None: the tracker's home node
    node: str | None = None

    def leg(self, role: str) -> Leg:
        return self.agent if role == AGENT else self.customer

    @property
    def connected_at(self) -> float | None:
        return self.customer.answered_at

    @property
    def ring_seconds(self) -> float | None:
        start = self.customer.ringing_at
        stop = self.customer.answered_at or self.customer.hungup_at or self.ended_at
        return round(stop - start, 3) if start is not None and stop is not None else None

    @property
    def talk_seconds(self) -> float | None:
        if self.connected_at is None or self.ended_at is None:
            return None
        return round(self.ended_at - self.connected_at, 3)

    @property
    def hangup_cause(self) -> tuple[int | None, str | None]:
        leg = self.leg(self.hangup_by) if self.hangup_by in (AGENT, CUSTOMER) else None
        if leg is None:
            leg = self.customer if self.customer.cause is not None else self.agent
        return leg.cause, leg.cause_txt
