"""The call writer's statements: a tracker report as a call-row update, the
recordings of connected calls, and the ``call.ended`` business event of each
call whose row turns ended (callcenter/event_log.py), written in one
transaction per batch."""
from __future__ import annotations

from sqlalchemy import DateTime, String, bindparam, func, insert, literal, select, update

from callcenter.calls.tracker import TrackedCall
from callcenter.clock import utc_iso
from callcenter.models import Call, Event, Recording, utcnow
from callcenter.ownership import fencing
from callcenter.ownership.fencing import Fence
from dialer.service import to_datetime

CALLS = Call.__table__
# Columns a tracker report may fill in: a None keeps what the row holds
# (coalesce), so a later report never erases an earlier one. end_reason is set
# as is. One fixed statement, compiled once, run as executemany per batch.
KEPT = ("agent_channel", "customer_channel", "originated_at", "agent_answered_at",
         "customer_answered_at", "ended_at", "ring_seconds", "talk_seconds", "hangup_by",
         "hangup_cause", "hangup_cause_txt")
UPDATE_CALL = update(CALLS).where(CALLS.c.id == bindparam("b_id")).values(
    state=bindparam("b_state", type_=CALLS.c.state.type),
    end_reason=bindparam("b_end_reason", type_=CALLS.c.end_reason.type),
    **{name: func.coalesce(bindparam(f"b_{name}", type_=CALLS.c[name].type), CALLS.c[name])
       for name in KEPT})
INSERT_RECORDING = insert(Recording.__table__)
RECORDINGS = Recording.__table__
LINK_RECORDING = update(CALLS).where(CALLS.c.id == bindparam("b_id")).values(
    recording_id=select(RECORDINGS.c.id).where(RECORDINGS.c.call_id == bindparam("b_id"))
    .scalar_subquery())

# The event of a call whose row is not ended yet (so a report written twice,
# e.g. again from the unwritten-calls file, records it once): run before the
# update, in its transaction. Its payload holds what the writer knows; the
# webhooks feature completes it (agent, customer, campaign, queue) as it
# hands the event on, off the call path (callcenter/webhooks/call_facts.py).
EVENTS = Event.__table__
RECORD_END = insert(EVENTS).from_select(
    ["kind", "entity_id", "at", "payload"],
    select(literal("call.ended", String(40)), CALLS.c.id, bindparam("e_at", type_=DateTime(timezone=True)),
           bindparam("e_payload", type_=EVENTS.c.payload.type))
    .where(CALLS.c.id == bindparam("e_id"), CALLS.c.state != "ended"))


def ended_event(row: dict, now) -> dict:
    """RECORD_END's parameters for an ended call's update parameters ``row``."""
    return {"e_id": row["b_id"], "e_at": row["b_ended_at"] or now, "e_payload": {
        "call_id": row["b_id"], "ended_at": utc_iso(row["b_ended_at"]), "end_reason": row["b_end_reason"],
        "talk_seconds": row["b_talk_seconds"], "ring_seconds": row["b_ring_seconds"],
        "hangup_by": row["b_hangup_by"]}}


def row_of(call: TrackedCall, placed) -> dict:
    """The update's parameters for ``call`` (``placed``: the dialer's record of it, if here)."""
    ended = call.state == "ended"
    cause, cause_txt = call.hangup_cause if ended else (None, None)
    return {
        "b_id": call.call_id, "b_state": call.state, "b_end_reason": call.end_reason,
        "b_agent_channel": call.agent.channel, "b_customer_channel": call.customer.channel,
        "b_originated_at": to_datetime(placed.originated_at) if placed is not None else None,
        "b_agent_answered_at": to_datetime(call.agent.answered_at),
        "b_customer_answered_at": to_datetime(call.customer.answered_at),
        "b_ended_at": to_datetime(call.ended_at),
        "b_ring_seconds": call.ring_seconds, "b_talk_seconds": call.talk_seconds,
        "b_hangup_by": call.hangup_by, "b_hangup_cause": cause, "b_hangup_cause_txt": cause_txt,
    }


async def write(engine, rows: list[dict], recordings: list[dict], fence: Fence | None = None) -> None:
    """One transaction: the call rows' updates (executemany), then the recordings and their links.
    With ``fence`` (the PBX owner's token), rows are written only while no newer
    owner has written: :class:`~callcenter.ownership.fencing.StaleOwner` otherwise, nothing written."""
    if not rows and not recordings:
        return
    async with engine.begin() as connection:
        if fence is not None and rows:
            await fencing.claim(connection, fence)
        ended = [ended_event(row, utcnow()) for row in rows if row["b_state"] == "ended"]
        if ended:
            await connection.execute(RECORD_END, ended)
        if rows:
            await connection.execute(UPDATE_CALL, rows)
        if recordings:
            await connection.execute(INSERT_RECORDING, recordings)
            await connection.execute(LINK_RECORDING, [{"b_id": r["call_id"]} for r in recordings])
