"""Call rows left open that no process follows any more: finished by the PBX
owner's reconciliation (callcenter/reconciliation.py).

A call's row is ended by the owner's writer once its tracker saw the call end
(dialer/effects.py). A row can still be left open when no tracker holds the
call: a process that stood by let an ended call go after its hand-over wait
while no owner wrote it, or a tracker lost sight of it. Such a row said
"connected" forever and its call stayed "up" on GET /api/v1/calls/{id}.

Here the owner, at each reconciliation, looks for outbound rows still ringing
or connected (ringing: requested longer ago than a call's set-up can take;
connected: answered before the channel list was asked for), that no
tracker of this process holds, this process did not place, and that have no
channel in Asterisk's ``CoreShowChannels``: such a call is over. Its row is
ended now (``ended_unseen``: how and when it ended was not seen; the time is
when it was found), through the call writer's fenced statement, with its
``call.ended`` event. Queued calls (no channel yet, waiting for one) are not
touched: the process that queued them owns their wait."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select

from callcenter.calls.tracked import call_id_of
from callcenter.models import Call, Trunk
from dialer import call_rows

log = logging.getLogger(__name__)
END_REASON = "ended_unseen"
OPEN_STATES = ("agent_ringing", "customer_ringing", "connected")
BATCH = 500
ANSWER_MARGIN_SECONDS = 5.0  # a call answered this long before the channel list was asked for is in it
_CALLS = Call.__table__


async def open_rows(engine, requested_before: dt.datetime, answered_before: dt.datetime,
                    node: str | None = None) -> list[str]:
    """Ids of outbound rows still ringing or connected (oldest first) that
    were requested before ``requested_before`` (past any set-up), or whose
    customer answered before ``answered_before`` (their channels were up
    before the channel list was asked for). ``node``: only calls through
    trunks homed on that PBX node (the channel list is that node's)."""
    query = select(_CALLS.c.id).where(
        _CALLS.c.state.in_(OPEN_STATES), _CALLS.c.direction == "outbound",
        or_(_CALLS.c.requested_at < requested_before, _CALLS.c.customer_answered_at < answered_before))
    if node is not None:
        query = query.where(_CALLS.c.trunk_id.in_(select(Trunk.id).where(Trunk.pbx_node == node)))
    async with engine.connect() as connection:
        rows = await connection.execute(query.order_by(_CALLS.c.requested_at).limit(BATCH))
        return [row.id for row in rows]


def row_ended_unseen(call_id: str, now: dt.datetime) -> dict:
    """The writer's update parameters: ended now, reason ``ended_unseen``, nothing else known."""
    row = {f"b_{name}": None for name in call_rows.KEPT}
    row.update(b_id=call_id, b_state="ended", b_end_reason=END_REASON, b_ended_at=now)
    return row


def live_ids(channels: list[dict]) -> set[str]:
    """The call ids that still have a channel in a CoreShowChannels answer."""
    return {call_id for entry in channels if (call_id := call_id_of(entry.get("Linkedid", "")))}


async def finish(engine, channels: list[dict], listed_at: float, followed: set[str], setup_seconds: float,
                 fence, node: str | None = None) -> list[str]:
    """End the open rows nobody follows (``followed``: the ids this process
    tracks or placed) whose calls have none of the ``channels`` Asterisk
    listed when asked at ``listed_at`` (epoch seconds); their ids."""
    now = dt.datetime.now(dt.timezone.utc)
    listed = dt.datetime.fromtimestamp(listed_at, dt.timezone.utc)
    candidates = await open_rows(engine, now - dt.timedelta(seconds=setup_seconds),
                                 listed - dt.timedelta(seconds=ANSWER_MARGIN_SECONDS), node)
    live = live_ids(channels)
    gone = [call_id for call_id in candidates if call_id not in followed and call_id not in live]
    if gone:
        await call_rows.write(engine, [row_ended_unseen(call_id, now) for call_id in gone], [], fence)
        log.warning("%d call row(s) left open with no channel and no process following them ended "
                    "(%s): %s", len(gone), END_REASON, ", ".join(gone[:10]))
    return gone
