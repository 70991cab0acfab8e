"""The one shape of a call (callcenter/calls/view.py), the rule that each
step of a call goes out once, whichever process reports it, and the one
notion of "ended" (said once the row says it: dialer/ended_rows.py)."""
from __future__ import annotations

import asyncio
import datetime as dt
import types

from callcenter.calls.live import LiveCallReporter
from callcenter.calls.tracker import TrackedCall
from callcenter.calls.view import CallSteps, row_view, said_state
from callcenter.models import Call
from dialer.ended_rows import EndedRows

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.timezone.utc)


def test_each_step_of_a_call_goes_out_once_and_never_backwards():
    steps = CallSteps()
    sent = [state for state in ("agent_ringing", "agent_ringing", "connected", "customer_ringing", "ended",
                                "connected", "ended") if steps.advances("c1", state)]
    assert sent == ["agent_ringing", "connected", "ended"]
    assert not steps.advances("c2", "on_hold")  # not a step
    assert steps.advances("c2", "queued")


def test_the_steps_remembered_are_bounded():
    steps = CallSteps(kept=2)
    for call_id in ("a", "b", "c"):
        assert steps.advances(call_id, "ended")
    assert not steps.advances("c", "ended")
    assert steps.advances("a", "ended")  # forgotten: the oldest goes first


def test_a_row_shows_the_trackers_live_state_and_an_inbound_calls_own_hang_up():
    row = Call(id="a" * 32, agent_id=7, work_item_id=3, customer_id=5, state="agent_ringing", requested_at=NOW,
               direction="inbound", inbound_call_id="1712345678.42")
    stored = row_view(row, "asha")
    assert (stored["state"], stored["agent"], stored["requested_at"]) == ("agent_ringing", "asha",
                                                                         "2026-03-02T10:30:00+00:00")
    assert stored["hangup_url"] == "/api/v1/inbound/calls/1712345678.42/hangup"
    tracked = TrackedCall("a" * 32, state="connected")
    tracked.customer.answered_at = NOW.timestamp() + 5
    live = row_view(row, "asha", tracked)
    assert (live["state"], live["connected_at"], live["customer_id"]) == ("connected", "2026-03-02T10:30:05+00:00", 5)
    assert set(live) == set(stored)


def test_ended_is_said_only_once_the_row_says_it_and_never_a_step_back():
    row = Call(id="b" * 32, agent_id=7, state="customer_ringing", requested_at=NOW, direction="outbound")
    tracked = TrackedCall("b" * 32, state="ended")
    tracked.customer.ringing_at, tracked.customer.answered_at = NOW.timestamp() + 2, NOW.timestamp() + 5
    tracked.ended_at = NOW.timestamp() + 9
    assert said_state(row.state, tracked) == "connected"  # the row is behind: the step before the end
    view = row_view(row, "asha", tracked)
    assert (view["state"], view["ended_at"], view["direction"]) == ("connected", None, "outbound")
    row.state = "ended"
    assert said_state(row.state, tracked) == "ended" and row_view(row, "asha", tracked)["state"] == "ended"
    assert said_state("queued", None) == "queued"
    behind = TrackedCall("b" * 32, state="customer_ringing")  # another server's tracker, a few events behind
    assert said_state("ended", behind) == "ended" and said_state("connected", behind) == "connected"
    never_rang = TrackedCall("b" * 32, state="ended")  # queued for a channel, then the wait ran out
    assert said_state("queued", never_rang) == "queued"


class _Inner:
    """The call effects as the live reporter sees them: reports and the rows' news."""

    def __init__(self, tracker_calls):
        self.ended = EndedRows(lambda: tracker_calls)

    def call_changed(self, call):
        pass


async def test_the_ended_step_goes_live_and_a_waiting_request_returns_once_the_row_is_written():
    calls: dict[str, TrackedCall] = {}
    inner = _Inner(calls)
    placed = types.SimpleNamespace(agent_name="asha", agent_id=7, work_item_id=3, customer_id=5,
                                   requested_at=NOW.timestamp(), trunk="carrier", dial="919876543210")
    reporter = LiveCallReporter(inner, live=None, dialer=types.SimpleNamespace(placed={"c" * 32: placed}),
                                sessions_factory=None)
    call = calls["c" * 32] = TrackedCall("c" * 32, state="connected")
    reporter.call_changed(call)
    call.state = "ended"
    reporter.call_changed(call)
    queued = [reporter._queue.get_nowait()[0] for _ in range(reporter._queue.qsize())]
    assert [v["state"] for v in queued] == ["connected"] and queued[0]["direction"] == "outbound"

    waiting = asyncio.create_task(inner.ended.wait(call.call_id, timeout=5))
    await asyncio.sleep(0.01)
    assert not waiting.done() and inner.ended.hurry.is_set()  # the writer is hurried
    del calls[call.call_id]  # the writer wrote the row and the tracker forgot the call
    inner.ended.stored(call)
    assert await waiting is True
    assert reporter._queue.get_nowait()[0]["state"] == "ended"
    assert await inner.ended.wait(call.call_id) is True  # nothing to wait for any more
