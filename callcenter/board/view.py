"""The board's shapes, pure (no I/O): an agent's tile, a call in progress,
the counts per state. The snapshot (service.py) fills them from the database
rows and the trackers; web/static/board.js redraws the same shapes from the
live messages (``call``, ``queue``) without asking the server again.

An agent's state, first match wins:

- ``on_call``: a call of theirs is connected or ringing the customer (they
  answered), or a queue call is connected to them;
- ``ringing``: their phone rings for a call (click-to-call or queue);
- ``wrapup``: a call from a work item ended and owes its disposition, or a
  queue's wrap-up time runs;
- ``paused``: a pause is open (reason, since);
- ``available``: logged in to at least one queue;
- ``logged_out``: otherwise."""
from __future__ import annotations

from callcenter.calls.tracked import TrackedCall
from callcenter.calls.view import said_state
from callcenter.clock import utc_iso

AGENT_STATES = ("available", "ringing", "on_call", "wrapup", "paused", "logged_out")
RINGING_CALL = ("queued", "agent_ringing")
TALKING_CALL = ("customer_ringing", "connected")
_MEMBER_STATE = {"ringing": "ringing", "in_call": "on_call", "wrapup": "wrapup"}


def leg_state(leg, call_state: str) -> str:
    """One leg as the board shows it: dialing, ringing, up, down."""
    if leg.hungup_at is not None or call_state == "ended":
        return "down"
    if leg.answered_at is not None:
        return "up"
    if leg.ringing_at is not None or leg.alerted:
        return "ringing"
    return "dialing"


def legs_of_row(state: str, agent_answered: bool, customer_answered: bool) -> tuple[str, str]:
    """Both legs' states from the call row alone (no tracker following the call here)."""
    if state == "ended":
        return "down", "down"
    agent = "up" if agent_answered else ("ringing" if state in RINGING_CALL else "dialing")
    customer = "up" if customer_answered else ("ringing" if state == "customer_ringing" else "dialing")
    return agent, customer


def call_row(call, agent_name: str, trunk: str | None, campaign: str | None, number: str | None,
             tracked: TrackedCall | None, long_after: int) -> dict:
    """A call in progress (or owing its disposition) on the board; ``call`` is its row."""
    state = said_state(call.state, tracked)  # "ended" once the row says it, as everywhere
    if tracked is not None:
        agent_leg, customer_leg = leg_state(tracked.agent, state), leg_state(tracked.customer, state)
        connected_at = tracked.connected_at or call.customer_answered_at
    else:
        agent_leg, customer_leg = legs_of_row(state, call.agent_answered_at is not None,
                                              call.customer_answered_at is not None)
        connected_at = call.customer_answered_at
    return {"id": call.id, "state": state, "agent": agent_name, "agent_id": call.agent_id,
            "direction": call.direction or "outbound", "number": number, "trunk": trunk,
            "campaign": campaign, "campaign_id": call.campaign_id, "work_item_id": call.work_item_id,
            "agent_leg": agent_leg, "customer_leg": customer_leg,
            "requested_at": utc_iso(call.requested_at), "connected_at": utc_iso(connected_at),
            "ended_at": utc_iso(call.ended_at), "long_after_seconds": long_after,
            "mos": call.mos,  # the agent's web phone's MOS estimate so far (None: not measured)
            "monitors": []}  # who listens in: the snapshot fills it from the monitor feature


def monitor_badge(session: dict) -> dict:
    """A monitor session (the monitor feature's view) as the board shows it on a call."""
    return {"id": session["id"], "supervisor": session["supervisor"]["name"], "mode": session["mode"],
            "state": session["state"]}


def agent_state(call: dict | None, owed: bool, pause: dict | None, queues: list[str],
                member_states: set[str]) -> str:
    """The state of an agent's tile (see the module's doc)."""
    if call is not None and call["state"] in TALKING_CALL or "in_call" in member_states:
        return "on_call"
    if call is not None and call["state"] in RINGING_CALL or "ringing" in member_states:
        return "ringing"
    if owed or "wrapup" in member_states:
        return "wrapup"
    if pause is not None:
        return "paused"
    return "available" if queues else "logged_out"


def agent_tile(user: tuple, call: dict | None, owed: dict | None, pause: dict | None, queues: list[str],
               member_states: set[str]) -> dict:
    """One agent's tile: who (``user``: id, name, display name, team id, store
    id, languages as "en,hi"), their state, and what the state is about."""
    state = agent_state(call, owed is not None, pause, queues, member_states)
    agent_id, name, display_name, team_id, store_id, languages = user
    tile = {"id": agent_id, "name": name, "display_name": display_name or name, "team_id": team_id,
            "store_id": store_id, "languages": languages or "", "state": state, "queues": queues,
            "call": None, "pause": None, "owed_call_id": None}
    if state in ("on_call", "ringing") and call is not None:
        tile["call"] = {"id": call["id"], "number": call["number"], "direction": call["direction"],
                        "campaign": call["campaign"], "queue": call.get("queue"),
                        "since": call["connected_at"] or call["requested_at"]}
    if state == "wrapup" and owed is not None:
        tile["owed_call_id"] = owed["id"]
        tile["since"] = owed["ended_at"]
    if state == "paused":
        tile["pause"] = pause
    return tile


def counts(tiles: list[dict]) -> dict[str, int]:
    out = {state: 0 for state in AGENT_STATES}
    for tile in tiles:
        out[tile["state"]] += 1
    return out
