"""The one shape of a call (callcenter/calls/view.py) and the rule that each
step of a call goes out once, whichever process reports it."""
from __future__ import annotations

import datetime as dt

from callcenter.calls.tracker import TrackedCall
from callcenter.calls.view import CallSteps, row_view
from callcenter.models import Call

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
