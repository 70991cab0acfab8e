"""The call writer's statements: a tracker report as a call-row update, the
recordings of connected calls, written in one transaction per batch."""
from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, update

from callcenter.calls.tracker import TrackedCall
from callcenter.models import Call, Recording
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


async def write(engine, rows: list[dict], recordings: list[dict]) -> None:
    """One transaction: the call rows' updates (executemany), then the recordings and their links."""
    if not rows and not recordings:
        return
    async with engine.begin() as connection:
        if rows:
            await connection.execute(UPDATE_CALL, rows)
        if recordings:
            await connection.execute(INSERT_RECORDING, recordings)
            await connection.execute(LINK_RECORDING, [{"b_id": r["call_id"]} for r in recordings])
