"""The maximum call age and ring time: calls that never end are hung up.

A connected call whose BYE the carrier lost, or a channel stuck in Asterisk,
would hold its trunk channels for ever. Two fences end it:

* the server's (:class:`CallFence`, every second): a tracked call connected
  for longer than ``[calls] max_call_seconds`` (end reason ``max_call_age``),
  or a leg ringing for longer than ``max_ring_seconds`` (``max_ring_time``),
  is hung up through the AMI link (by :mod:`callcenter.calls.control`); its
  row says ``hangup_by = system``;
* Asterisk's (``cc-c2c`` in ``asterisk-conf/extensions.conf.j2``): the agent's
  leg carries ``TIMEOUT(absolute)`` = ring timeout + ``max_call_seconds`` +
  ``pbx_margin_seconds``, for when the server could not; when it fires the
  dialplan sends ``UserEvent: CallCut`` and :meth:`CallFence.on_event` records
  the reason.

Both are counted in ``callcenter_calls_cut_total{fence, reason}``. The reason
is the tracked call's ``cut_reason`` (as for ``pbx_restarted``): whichever
leg's Hangup comes first, :func:`~callcenter.calls.outcome.outcome` reports it.
"""
from __future__ import annotations

import logging

from callcenter.calls.control import CallControl
from callcenter.calls.tracked import TrackedCall, call_id_of

log = logging.getLogger(__name__)

MAX_CALL_AGE, MAX_RING_TIME = "max_call_age", "max_ring_time"
#: reasons the dialplan may report in a CallCut UserEvent
PBX_REASONS = frozenset({MAX_CALL_AGE})
#: seconds before the Hangup of a call already cut is sent again (its channels did not go)
RETRY_SECONDS = 5.0


def over_limit(call: TrackedCall, now: float, max_call_seconds: float, max_ring_seconds: float) -> str | None:
    """Why ``call`` must be hung up at ``now``, or None. Connected: for longer
    than ``max_call_seconds``. Not yet: the agent's leg ringing, or (once the
    agent answered) the customer's being dialled, longer than ``max_ring_seconds``.
    A call whose agent leg never appeared is the tracker's sweep's business."""
    if call.state in ("queued", "ended"):
        return None
    agent, customer = call.agent, call.customer
    if customer.answered_at is not None:
        return MAX_CALL_AGE if now - customer.answered_at > max_call_seconds else None
    if agent.answered_at is not None:
        ringing_since = customer.ringing_at or agent.answered_at
    elif agent.uniqueid is not None:
        ringing_since = agent.seen_at
    else:
        return None
    if ringing_since is not None and now - ringing_since > max_ring_seconds:
        return MAX_RING_TIME
    return None


def live_channels(call: TrackedCall) -> list[str]:
    """The ids Asterisk knows the call's legs still up by (uniqueids: the agent
    leg's is cc-<id>-a from the Originate, before its channel name is known)."""
    return [leg.uniqueid for leg in (call.agent, call.customer) if leg.uniqueid and leg.hungup_at is None]


class CallFence:
    """Enforces the limits on the tracker's calls through the one AMI link."""

    def __init__(self, tracker, ami, metrics, calls_settings, control: CallControl | None = None) -> None:
        self.tracker = tracker
        self.ami = ami
        self.control = control or CallControl(ami, tracker)  # services passes the process's one
        self.metrics = metrics
        self.settings = calls_settings
        self._cut: dict[str, float] = {}  # call id -> when its Hangup was last sent
        # Several Asterisks (callcenter/pbx/nodes.py): each call is hung up through
        # its node's link, by the owner of that node's call work only.
        self.nodes = None       # PbxNodes; None: the one link above
        self.owns = None        # node name -> bool (Ownership.holds); None: every call here

    def _control_for(self, call: TrackedCall) -> CallControl | None:
        """The control of the call's node if this process enforces there and its link is up."""
        if self.nodes is None:
            return self.control if self.ami.connected else None
        node_name = self.tracker.node_of(call)
        node = self.nodes.get(node_name)
        if node is None or not node.up or (self.owns is not None and not self.owns(node.name)):
            return None
        return node.control

    def overdue(self, now: float) -> list[tuple[TrackedCall, str]]:
        s = self.settings
        found = [(call, over_limit(call, now, s.max_call_seconds, s.max_ring_seconds))
                 for call in self.tracker.active_calls()]
        return [(call, reason) for call, reason in found if reason]

    async def enforce(self, now: float) -> int:
        """Hang up every call over a limit; returns how many were newly cut."""
        active = {call.call_id for call in self.tracker.active_calls()}
        for call_id in [c for c in self._cut if c not in active]:
            del self._cut[call_id]
        cut = 0
        for call, reason in self.overdue(now):
            control = self._control_for(call)
            if control is None:
                continue
            last = self._cut.get(call.call_id)
            if last is not None and now - last < RETRY_SECONDS:
                continue
            if last is None:
                if not call.cut_reason:  # a cut named by the PBX (or its loss) stands
                    call.cut_reason = reason
                    cut += 1
                    self.metrics.calls_cut.labels("server", reason).inc()
                    log.warning("call %s: %s (connected %s, ringing since %s): hanging it up",
                                call.call_id, reason, call.connected_at, call.customer.ringing_at)
            else:
                log.warning("call %s is still up %.0f s after it was hung up (%s): again",
                            call.call_id, now - last, call.cut_reason)
            self._cut[call.call_id] = now
            # a leg gone meanwhile, or the link dropped: the next pass sees
            await control.hang_up_legs(call.call_id, live_channels(call))
        return cut

    def on_event(self, event: dict[str, str]) -> None:
        """The dialplan's ``UserEvent: CallCut``: Asterisk's fence fired."""
        if event.get("Event") != "UserEvent" or event.get("UserEvent") != "CallCut":
            return
        reason = event.get("Reason", "")
        call = self.tracker.calls.get(call_id_of(event.get("Linkedid", "")) or "")
        if reason not in PBX_REASONS or call is None or call.state == "ended":
            log.info("CallCut about no call up (%s, %s)", event.get("Linkedid"), reason)
            return
        if not call.cut_reason:
            call.cut_reason = reason
        self.metrics.calls_cut.labels("pbx", reason).inc()
        log.warning("call %s: cut by Asterisk (%s): the server's fence did not end it in time",
                    call.call_id, reason)
