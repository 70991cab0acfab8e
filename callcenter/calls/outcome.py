"""Why a click-to-call ended and who hung up, from what the tracker saw.

Pure functions of a :class:`~callcenter.calls.tracked.TrackedCall`; the
tracker calls :func:`outcome` once, when the call ends.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcenter.calls.tracked import TrackedCall

AGENT, CUSTOMER = "agent", "customer"
#: ``cause_txt`` of a leg that vanished from CoreShowChannels without a Hangup event
RECONCILED = "gone (reconciled)"
# OriginateResponse Reason codes (Asterisk's AST_CONTROL_* of the outgoing leg).
ORIGINATE_REASON = {"3": "agent_no_answer", "5": "agent_busy", "8": "agent_unreachable",
                    "1": "agent_hungup", "0": "agent_unreachable"}
AGENT_DOING = {"agent_no_answer", "agent_busy", "agent_hungup"}
DIAL_STATUS = {"BUSY": "customer_busy", "NOANSWER": "customer_no_answer",
               "CHANUNAVAIL": "customer_unreachable", "CANCEL": "agent_cancelled"}


def cause_reason(role: str, cause: int | None) -> str:
    if cause == 17:
        return f"{role}_busy"
    if cause in (18, 19):
        return f"{role}_no_answer"
    if cause == 21:
        return f"{role}_rejected"
    if role == CUSTOMER and cause in (1, 3, 28):
        return "invalid_number"
    return f"{role}_unreachable"


def first_to_leave(call: TrackedCall) -> str | None:
    """Who ended a connected call: the BridgeLeave order, else the earlier
    Hangup event.  Legs that merely vanished from a CoreShowChannels snapshot
    say nothing about who hung up; with no evidence the answer is None."""
    if call.left_first is not None:
        return call.left_first
    hung = [leg for leg in (call.agent, call.customer)
            if leg.hungup_at is not None and leg.cause_txt != RECONCILED]
    return min(hung, key=lambda leg: leg.hungup_at).role if hung else None


def outcome(call: TrackedCall) -> tuple[str, str | None]:
    """(end_reason, hangup_by) of a call that has just ended."""
    if call.cut_reason:
        return call.cut_reason, "system"
    if call.customer.answered_at is not None:
        return "completed", first_to_leave(call)
    # cc-c2c dials the customer only once the agent has answered: a customer
    # leg proves the agent answered even if we never saw it (mid-call start).
    if call.agent.answered_at is None and call.customer.uniqueid is None:
        if call.originate_reason:
            # the agent's phone did not answer, was busy or hung up: the agent's
            # doing, whether or not we saw the channel; anything else (no
            # channel, PBX down, no trunk capacity...) is the system's
            by = AGENT if call.originate_reason in AGENT_DOING else "system"
            return call.originate_reason, by
        return cause_reason(AGENT, call.agent.cause), AGENT
    if call.dial_status == "NOANSWER" and not call.customer.alerted:
        return "customer_unreachable", CUSTOMER  # never rang: the trunk or the network did not answer
    if call.dial_status in DIAL_STATUS:
        reason = DIAL_STATUS[call.dial_status]
        return reason, AGENT if reason == "agent_cancelled" else CUSTOMER
    if call.customer.uniqueid is None:
        return "agent_hungup", AGENT
    if call.customer.hungup_at is None or call.agent.hungup_at is not None and \
            call.agent.hungup_at < call.customer.hungup_at and call.customer.cause in (None, 0, 16):
        return "agent_cancelled", AGENT
    if call.customer.alerted and call.customer.cause == 0:
        # rang, then cancelled (cause 0) while the agent was still there: the
        # Dial's ring timeout, even when its DialEnd NOANSWER was not seen
        return "customer_no_answer", CUSTOMER
    return cause_reason(CUSTOMER, call.customer.cause), CUSTOMER
