"""The one JSON shape of a call, and the once-per-step rule of its live messages.

:func:`call_view` makes the shape every call takes in the pages' live
messages (``{"type": "call", "call": {...}}``, ``callcenter/calls/live.py`` and
``callcenter/inbound/live.py``), in the live socket's hello and, with more
fields, in the API (``dialer/http.py``)::

    {"id", "state", "agent", "agent_id", "work_item_id", "customer_id",
     "requested_at", "agent_answered_at", "connected_at", "ended_at",
     "end_reason", "talk_seconds"}

The owner fields (agent .. requested_at) come from the call row
(:func:`owner_of_row`) or from what the dialer keeps of a call it placed
(:func:`owner_of_placed`); the rest from the tracker's live call
(:func:`tracked_view`) or from the row (:func:`row_view`, the tracker's state
winning, as :func:`said_state` says it). Each view carries the call's
``direction`` (:func:`direction_view`: outbound, inbound with its own hang-up
route).

One notion of "ended": :func:`said_state` never calls a call ended before
its row does, because a disposition (on any server) checks the row; the
request that would say it waits for the row first (dialer/ended_rows.py).

:class:`CallSteps` is the rule that each step of a call (agent ringing →
customer ringing → connected → ended) goes out once, in order."""
from __future__ import annotations

from collections import OrderedDict
from urllib.parse import quote

from callcenter.calls.tracked import STATES, TrackedCall
from callcenter.clock import utc_iso
from callcenter.models import Call

OWNER_FIELDS = ("agent", "agent_id", "work_item_id", "customer_id", "requested_at")
STEPS_KEPT = 20_000
_PHASE = {state: index for index, state in enumerate(STATES)}


def call_view(call_id: str, state: str, owner: dict, *, agent_answered_at=None, connected_at=None,
              ended_at=None, end_reason: str | None = None, talk_seconds: float | None = None) -> dict:
    """The shape of a call (see the module's doc); moments are Unix times or
    datetimes, written as ISO 8601 UTC; owner fields missing from ``owner`` are None."""
    return {"id": call_id, "state": state, **{name: owner.get(name) for name in OWNER_FIELDS},
            "agent_answered_at": utc_iso(agent_answered_at), "connected_at": utc_iso(connected_at),
            "ended_at": utc_iso(ended_at), "end_reason": end_reason, "talk_seconds": talk_seconds}


def owner_of_row(call: Call, agent_name: str) -> dict:
    return {"agent": agent_name, "agent_id": call.agent_id, "work_item_id": call.work_item_id,
            "customer_id": call.customer_id, "requested_at": utc_iso(call.requested_at)}


def owner_of_placed(placed) -> dict:
    """The owner of a call this process placed (a :class:`dialer.service.PlacedCall`)."""
    return {"agent": placed.agent_name, "agent_id": placed.agent_id,
            "work_item_id": getattr(placed, "work_item_id", None),
            "customer_id": getattr(placed, "customer_id", None),
            "requested_at": utc_iso(placed.requested_at)}


def tracked_view(call: TrackedCall, owner: dict) -> dict:
    """A call as the tracker follows it live (a click-to-call: outbound)."""
    return {**call_view(call.call_id, call.state, owner, agent_answered_at=call.agent.answered_at,
                        connected_at=call.connected_at, ended_at=call.ended_at, end_reason=call.end_reason,
                        talk_seconds=call.talk_seconds), **direction_view("outbound")}


def stored_view(call: Call, owner: dict, state: str | None = None) -> dict:
    """A call as its row has it (``state``: :func:`said_state`, when the tracker follows the call)."""
    return {**call_view(call.id, state or call.state, owner, agent_answered_at=call.agent_answered_at,
                        connected_at=call.customer_answered_at, ended_at=call.ended_at,
                        end_reason=call.end_reason, talk_seconds=call.talk_seconds),
            **direction_view(call.direction, call.inbound_call_id)}


def said_state(row_state: str, tracked: TrackedCall | None) -> str:
    """The state an answer gives of a call: the furthest step of the row and
    of the tracker's live call, but "ended" only once the row says so (until
    then the tracker's last step before the end). Never a step back from an
    earlier answer, whichever server gave it."""
    if tracked is None:
        return row_state
    live = tracked.state
    if live == "ended":
        live = ("connected" if tracked.customer.answered_at is not None
                else "customer_ringing" if tracked.customer.ringing_at is not None
                else "agent_ringing" if tracked.agent.uniqueid is not None else "queued")
    return max(live, row_state, key=lambda state: _PHASE.get(state, -1))


def direction_view(direction: str | None, inbound_call_id: str | None = None) -> dict:
    """The call's direction; an inbound call also its IVR/queue record and its
    own hang-up route (``POST /api/v1/inbound/calls/{id}/hangup``), which the
    panel's Hang up button posts to instead of the click-to-call route."""
    if direction == "inbound" and inbound_call_id:
        return {"direction": "inbound", "inbound_call_id": inbound_call_id,
                "hangup_url": f"/api/v1/inbound/calls/{quote(inbound_call_id, safe='')}/hangup"}
    return {"direction": direction or "outbound"}


def row_view(call: Call, agent_name: str, tracked: TrackedCall | None = None) -> dict:
    """A call row as the live socket's hello shows it (the tracker's live call
    wins, but says "ended" only once the row does: :func:`said_state`)."""
    owner = owner_of_row(call, agent_name)
    if tracked is not None and said_state(call.state, tracked) == tracked.state:
        view = tracked_view(tracked, owner)
    else:
        view = stored_view(call, owner, said_state(call.state, tracked))
    return {**view, **direction_view(call.direction, call.inbound_call_id)}


class CallSteps:
    """The furthest step sent of each call (the last :data:`STEPS_KEPT` calls):
    :meth:`advances` says whether a call's state is a step not sent yet, and
    remembers it. A state that is not a step (unknown) never advances."""

    def __init__(self, kept: int = STEPS_KEPT) -> None:
        self.kept = kept
        self._phases: OrderedDict[str, int] = OrderedDict()

    def advances(self, call_id: str | None, state: str | None) -> bool:
        phase = _PHASE.get(state, -1)
        if self._phases.get(call_id, -1) >= phase:
            return False
        self._phases[call_id] = phase
        self._phases.move_to_end(call_id)
        while len(self._phases) > self.kept:
            self._phases.popitem(last=False)
        return True
