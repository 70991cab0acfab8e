"""Call tracking: AMI events (plain dicts) in, call state out. No I/O.

A click-to-call's agent leg is originated with ``ChannelId: cc-<call id>-a``;
every channel of the call (the customer leg dialled from the dialplan) carries
that uniqueid as its ``Linkedid``.  That is all the tracker needs to tie
events to calls, so it can pick up calls it did not start (a restart mid-call)
and shrug off duplicate or out-of-order events.

Changes go out through a :class:`Reporter`; time comes from an injected clock.
The call and its legs (data only) are in :mod:`callcenter.calls.tracked`,
re-exported here.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Protocol

from callcenter.calls.outcome import AGENT, CUSTOMER, ORIGINATE_REASON, RECONCILED, outcome
from callcenter.calls.reconciled import Reconciled
from callcenter.calls.tracked import STATES, Leg, TrackedCall, agent_uniqueid, call_id_of, endpoint_of

__all__ = ["AGENT", "CUSTOMER", "FORGOTTEN_KEPT", "STATES", "CallTracker", "Leg", "Reporter", "TrackedCall",
           "agent_uniqueid", "call_id_of", "endpoint_of"]

FORGOTTEN_KEPT = 10_000


class Reporter(Protocol):
    def call_changed(self, call: TrackedCall) -> None: ...
    def leg_released(self, call: TrackedCall, role: str) -> None: ...
    def foreign_channels(self, trunk: str, count: int) -> None: ...


class CallTracker(Reconciled):
    def __init__(self, reporter: Reporter, trunks: set[str] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        import time

        self.reporter = reporter
        self.trunks = set(trunks or ())
        self.clock = clock or time.time
        self.calls: dict[str, TrackedCall] = {}
        # Several Asterisks (callcenter/pbx/nodes.py): each call and trunk is on
        # one node; events come tagged with theirs (on_node_event), and a node's
        # CoreShowChannels speaks for its own calls and trunks only.
        self.home = "main"
        self.trunk_nodes: dict[str, str] = {}
        self._source: str | None = None
        # Calls already ended and forgotten: late or duplicate events about them are ignored.
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self._foreign: dict[str, set[str]] = {}
        self._monitor_legs: dict[str, set[str]] = {}
        self._handlers = {
            "Newchannel": self._on_newchannel, "Newstate": self._on_newstate,
            "DialBegin": self._on_dial_begin, "DialEnd": self._on_dial_end,
            "BridgeEnter": self._on_bridge_enter, "BridgeLeave": self._on_bridge_leave,
            "Hangup": self._on_hangup, "OriginateResponse": self._on_originate_response,
        }

    # -- the dialer's side ------------------------------------------------
    def expect(self, call_id: str, node: str | None = None) -> TrackedCall:
        """A call the dialer is about to originate (on ``node``; None: the home node)."""
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = TrackedCall(call_id, started_at=self.clock(), node=node)
        return call

    def node_of(self, call: TrackedCall) -> str:
        return call.node or self.home

    def _on_node(self, call: TrackedCall, node: str | None) -> bool:
        return node is None or self.node_of(call) == node

    def _trunks_on(self, node: str | None) -> set[str]:
        if node is None:
            return set(self.trunks)
        return {t for t in self.trunks if self.trunk_nodes.get(t, self.home) == node}

    def fail(self, call_id: str, reason: str) -> None:
        """The Originate never got through (timeout, AMI down, refused)."""
        call = self.expect(call_id)
        if call.state != "ended" and call.agent.channel is None:
            call.originate_reason = reason
            self._end(call)

    def forget(self, call_id: str) -> None:
        if self.calls.pop(call_id, None) is not None:
            self._forgotten[call_id] = None
            while len(self._forgotten) > FORGOTTEN_KEPT:
                self._forgotten.popitem(last=False)

    def active_calls(self) -> list[TrackedCall]:
        return [c for c in self.calls.values() if c.state != "ended"]

    def foreign_counts(self) -> dict[str, int]:
        """Channels on each trunk that are not our calls' legs (inbound, other)."""
        return {trunk: len(self._foreign.get(trunk, ())) for trunk in self.trunks}

    def trunk_channels(self) -> dict[str, int]:
        """Live channels on each trunk: our calls' legs plus foreign channels."""
        counts = {trunk: len(self._foreign.get(trunk, ())) + len(self._monitor_legs.get(trunk, ()))
                  for trunk in self.trunks}
        for call in self.active_calls():
            for leg in (call.agent, call.customer):
                if leg.trunk in counts and leg.uniqueid and leg.hungup_at is None:
                    counts[leg.trunk] += 1
        return counts

    # -- events -------------------------------------------------------------
    def on_event(self, event: dict[str, str]) -> None:
        handler = self._handlers.get(event.get("Event", ""))
        if handler is not None:
            handler(event)

    def on_node_event(self, node: str, event: dict[str, str]) -> None:
        """An event of another node's AMI link: calls first seen here are on ``node``."""
        self._source = node
        try:
            self.on_event(event)
        finally:
            self._source = None

    def _call_for(self, linkedid: str) -> TrackedCall | None:
        call_id = call_id_of(linkedid)
        if call_id is None:
            return None
        call = self.calls.get(call_id)
        if call is None and call_id in self._forgotten:
            return None
        if call is None:  # a call already under way when we started listening
            call = self.calls[call_id] = TrackedCall(call_id, started_at=self.clock(), recovered=True,
                                                     node=self._source)
        return call

    def _leg_for(self, call: TrackedCall, uniqueid: str, channel: str) -> Leg:
        role = AGENT if uniqueid == agent_uniqueid(call.call_id) else CUSTOMER
        leg = call.leg(role)
        if leg.uniqueid is None:
            leg.uniqueid, leg.channel, leg.seen_at = uniqueid, channel, self.clock()
            endpoint = endpoint_of(channel)
            leg.trunk = endpoint if endpoint in self.trunks else None
        return leg

    def _track(self, event: dict[str, str], prefix: str = "") -> tuple[TrackedCall, Leg] | None:
        linkedid = event.get(prefix + "Linkedid", "")
        call = self._call_for(linkedid)
        if call is None:
            if call_id_of(linkedid) is None:
                self._track_foreign(event, prefix)
            return None
        leg = self._leg_for(call, event.get(prefix + "Uniqueid", ""), event.get(prefix + "Channel", ""))
        # The channel state, whatever the event: how a tracker that joined
        # mid-call (or missed the Newstate) learns that a leg rang or answered.
        state = event.get(prefix + "ChannelState")
        if state == "6":  # Up
            self._answered(call, leg)
        elif state == "5":  # Ringing: the far end said so (180/183)
            leg.alerted = True
        return call, leg

    def _track_foreign(self, event: dict[str, str], prefix: str) -> None:
        trunk = endpoint_of(event.get(prefix + "Channel", ""))
        if trunk not in self.trunks:
            return
        # a supervisor's monitor leg (callcenter/monitor) holds its own reservation: live, not foreign
        monitor = event.get(prefix + "Uniqueid", "").startswith("cm-")
        ids = (self._monitor_legs if monitor else self._foreign).setdefault(trunk, set())
        before = len(ids)
        if event.get("Event") == "Hangup":
            ids.discard(event.get("Uniqueid", ""))
        else:
            ids.add(event.get(prefix + "Uniqueid", ""))
        if len(ids) != before and not monitor:
            self.reporter.foreign_channels(trunk, len(ids))

    def _on_newchannel(self, event: dict[str, str]) -> None:
        found = self._track(event)
        if found:
            call, leg = found
            if leg.role == CUSTOMER and leg.ringing_at is None and call.state != "ended":
                leg.ringing_at = self.clock()
                self._set_state(call, "customer_ringing")
            elif call.state == "queued":
                self._set_state(call, "agent_ringing")
            elif call.state != "ended":  # an ended call is reported once, by _end
                self.reporter.call_changed(call)

    def _on_newstate(self, event: dict[str, str]) -> None:
        self._track(event)  # Up (6) and Ringing (5) are handled there

    def _answered(self, call: TrackedCall, leg: Leg) -> None:
        if leg.answered_at is not None or call.state == "ended":
            return
        leg.answered_at = self.clock()
        if leg.role == CUSTOMER:
            self._set_state(call, "connected")
        else:
            self.reporter.call_changed(call)

    def _on_dial_begin(self, event: dict[str, str]) -> None:
        if "Channel" in event:  # the dialplan's Dial: Channel is the agent leg
            self._track(event)
        found = self._track(event, "Dest")
        if found:
            call, leg = found
            if leg.role == CUSTOMER and leg.ringing_at is None and call.state != "ended":
                leg.ringing_at = self.clock()
                self._set_state(call, "customer_ringing")

    def _on_dial_end(self, event: dict[str, str]) -> None:
        if "Channel" in event:
            self._track(event)
        found = self._track(event, "Dest")
        if found:
            call, leg = found
            call.dial_status = event.get("DialStatus") or call.dial_status
            if call.dial_status == "ANSWER":
                self._answered(call, leg)

    def _on_bridge_enter(self, event: dict[str, str]) -> None:
        found = self._track(event)
        if found and found[1].role == CUSTOMER:
            self._answered(*found)

    def _on_bridge_leave(self, event: dict[str, str]) -> None:
        found = self._track(event)
        # The first to leave a bridge someone is still in hung up first (the
        # bridge's channel count, not our state: a tracker that joined mid-call
        # may learn that the call is connected only from the second leave).
        if found and found[0].left_first is None and found[0].state != "ended" \
                and event.get("BridgeNumChannels", "1") != "0":
            found[0].left_first = found[1].role

    def _on_hangup(self, event: dict[str, str]) -> None:
        found = self._track(event)
        if not found:
            return
        call, leg = found
        if leg.hungup_at is not None:
            return  # duplicate
        try:
            leg.cause = int(event.get("Cause", ""))
        except ValueError:
            leg.cause = None
        leg.cause_txt = event.get("Cause-txt") or None
        self._leg_gone(call, leg)

    def _leg_gone(self, call: TrackedCall, leg: Leg) -> None:
        leg.hungup_at = self.clock()
        if call.state == "ended":
            return  # _end released every leg still up (or never seen) already
        if call.left_first is None and call.state == "connected" and leg.cause_txt != RECONCILED:
            call.left_first = leg.role
        self.reporter.leg_released(call, leg.role)
        other = call.customer if leg.role == AGENT else call.agent
        if other.uniqueid is None or other.hungup_at is not None:
            self._end(call)

    def _on_originate_response(self, event: dict[str, str]) -> None:
        call = self._call_for(event.get("Uniqueid", ""))
        if call is None or event.get("Response") == "Success":
            return
        call.originate_reason = ORIGINATE_REASON.get(event.get("Reason", ""), "agent_unreachable")
        if call.agent.uniqueid is None or call.agent.hungup_at is not None:
            self._end(call)

    # -- state ---------------------------------------------------------------
    def _set_state(self, call: TrackedCall, state: str) -> None:
        if STATES.index(state) > STATES.index(call.state):
            call.state = state
        self.reporter.call_changed(call)

    def _end(self, call: TrackedCall) -> None:
        if call.state == "ended":
            return
        call.ended_at = self.clock()
        call.end_reason, call.hangup_by = self._outcome(call)
        call.state = "ended"
        for leg in (call.agent, call.customer):
            if leg.hungup_at is None:
                self.reporter.leg_released(call, leg.role)
        self.reporter.call_changed(call)

    @staticmethod
    def _outcome(call: TrackedCall) -> tuple[str, str | None]:
        return outcome(call)
