"""Call rows the server could not write (the database away at shutdown, or
too many waiting) are kept on disk and written first when the database
answers again, at the next start: no call record is lost."""
from __future__ import annotations

import datetime as dt
import types
import uuid

from callcenter.models import Call
from dialer.effects import CallEffects
from dialer.unwritten import UnwrittenCalls
from monitoring.metrics import Metrics
from tests import factories as f

ENDED = dt.datetime(2026, 12, 5, 10, 30, 5, tzinfo=dt.timezone.utc)


def ended_row(call_id: str) -> dict:
    return {"b_id": call_id, "b_state": "ended", "b_end_reason": "completed",
            "b_agent_channel": "PJSIP/asha-0001", "b_customer_channel": "PJSIP/carrier-0002",
            "b_originated_at": ENDED - dt.timedelta(seconds=40), "b_agent_answered_at": None,
            "b_customer_answered_at": ENDED - dt.timedelta(seconds=30), "b_ended_at": ENDED,
            "b_ring_seconds": 4.0, "b_talk_seconds": 30.0, "b_hangup_by": "customer",
            "b_hangup_cause": 16, "b_hangup_cause_txt": "Normal Clearing"}


def test_the_file_gives_back_what_was_kept_and_skips_a_torn_last_line(tmp_path):
    kept = UnwrittenCalls(tmp_path)
    assert not kept
    kept.add([ended_row("a" * 32)], [{"call_id": "a" * 32, "path": "2026/12/05/a.wav", "size_bytes": 9}])
    with open(kept.path, "a") as fh:
        fh.write('{"b_id": "torn')  # the power went mid-line
    rows, recordings = UnwrittenCalls(tmp_path).read()
    assert rows == [ended_row("a" * 32)]  # timestamps come back as timestamps
    assert recordings == [{"call_id": "a" * 32, "path": "2026/12/05/a.wav", "size_bytes": 9}]
    kept.done()
    assert not kept


async def test_rows_left_by_the_last_run_are_written_at_the_next_start(settings, sessions):
    call_id = uuid.uuid4().hex
    async with sessions() as s, s.begin():
        agent = await f.user(s, "asha")
        trunk = await f.trunk(s)
        s.add(Call(id=call_id, agent_id=agent.id, requested_by="asha", mode="desktop", number="+919876543210",
                   trunk_id=trunk.id, caller_id="8062247000", channels=1, state="connected",
                   requested_at=ENDED - dt.timedelta(minutes=1)))
    UnwrittenCalls(settings.state_dir).add([ended_row(call_id)])  # what the last run could not write

    dialer = types.SimpleNamespace(placed={}, tracker=None)
    effects = CallEffects(dialer, sessions, accounting=None, metrics=Metrics(), settings=settings)
    assert effects.backlog["spilled"] == 1
    assert await effects._write_pending()
    async with sessions() as s:
        call = await s.get(Call, call_id)
    assert (call.state, call.end_reason, call.talk_seconds, call.hangup_by) == ("ended", "completed", 30.0,
                                                                                 "customer")
    assert not effects.unwritten and effects.backlog["spilled"] == 0
