"""The maximum call age and ring time (callcenter/calls/fence.py), fed the
AMI streams recorded from Asterisk 22 (tests/ami_streams): which calls are
over a limit, what is sent to Asterisk, what the call's row will say and
what the metric counts. The real PBX test is in tests/test_call_limits.py."""
from __future__ import annotations

import pytest

from callcenter import config as cc_config
from callcenter.features import load_settings
from callcenter.ami import AmiError
from callcenter.calls.fence import CallFence, over_limit
from callcenter.config import CallSettings
from monitoring.metrics import Metrics
from tests.test_call_tracker import T0, events, find, make, raw, stream_call_id

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

MAX_CALL, MAX_RING = 600, 120


class Ami:
    """What the fence sends through the AMI link, and an Asterisk that may
    answer an error (a channel already gone)."""

    def __init__(self) -> None:
        self.connected = True
        self.actions: list[tuple[str, dict]] = []
        self.gone: set[str] = set()

    async def action(self, name: str, headers: dict) -> dict:
        self.actions.append((name, headers))
        if headers.get("Channel") in self.gone:
            raise AmiError("No such channel")
        return {"Response": "Success"}


def fenced(name: str, upto: str, **headers):
    """The tracker fed the stream ``name`` up to (and with) its first event
    ``upto`` matching ``headers``, one event a second from T0; a fence on it."""
    evs = events(name)
    stop = find(evs, upto, **headers)
    tracker, rec, clock = make()
    call_id = stream_call_id(raw(name))
    tracker.expect(call_id)
    for i, ev in enumerate(evs[:stop + 1]):
        clock.t = T0 + i
        tracker.on_event(dict(ev))
    metrics, ami = Metrics(), Ami()
    fence = CallFence(tracker, ami, metrics, CallSettings(max_call_seconds=MAX_CALL, max_ring_seconds=MAX_RING))
    return fence, tracker.calls[call_id], evs[stop + 1:], clock, ami, metrics


def cut_count(metrics: Metrics, fence: str, reason: str) -> float:
    return metrics.registry.get_sample_value("callcenter_calls_cut_total", {"fence": fence, "reason": reason}) or 0


def finish(fence, rest, clock) -> None:
    for ev in rest:
        clock.t += 1
        fence.tracker.on_event(dict(ev))


# ------------------------------------------------------------------ the rule
def test_connected_call_is_over_age_only_after_max_call_seconds_of_talk():
    fence, call, _, clock, _, _ = fenced("desktop_customer_hangup", "Newstate", ChannelState="6",
                                         Uniqueid="1795453135.3")
    assert call.state == "connected"
    connected = call.connected_at
    # a long ring before does not count: the age is the talk
    assert over_limit(call, connected + MAX_CALL, MAX_CALL, MAX_RING) is None
    assert over_limit(call, connected + MAX_CALL + 0.5, MAX_CALL, MAX_RING) == "max_call_age"
    assert [c.call_id for c, _ in fence.overdue(connected + MAX_CALL + 1)] == [call.call_id]
    assert fence.overdue(connected + 10) == []


@pytest.mark.parametrize("name, upto, headers, role", [
    ("agent_no_answer", "Newchannel", {}, "agent"),                                    # the agent's phone rings
    ("customer_no_answer", "Newchannel", {"Uniqueid": "1795453141.9"}, "customer"),    # the customer's rings
])
def test_a_leg_ringing_past_max_ring_seconds_is_over_its_ring_time(name, upto, headers, role):
    fence, call, _, _, _, _ = fenced(name, upto, **headers)
    assert call.connected_at is None
    since = call.agent.seen_at if role == "agent" else call.customer.ringing_at
    assert over_limit(call, since + MAX_RING, MAX_CALL, MAX_RING) is None
    assert over_limit(call, since + MAX_RING + 1, MAX_CALL, MAX_RING) == "max_ring_time"


def test_agent_answered_and_no_customer_leg_yet_counts_as_ringing():
    """Stuck between the agent's answer and the Dial: the ring limit, from the answer."""
    fence, call, _, _, _, _ = fenced("desktop_customer_hangup", "Newstate", ChannelState="6")
    assert call.agent.answered_at is not None and call.customer.uniqueid is None
    assert over_limit(call, call.agent.answered_at + MAX_RING + 1, MAX_CALL, MAX_RING) == "max_ring_time"


def test_calls_not_up_are_never_over_a_limit():
    tracker, _, clock = make()
    queued = tracker.expect("a" * 32)
    queued.state = "queued"
    originated = tracker.expect("b" * 32)  # Originate sent, no channel yet: the sweep's business
    later = clock.t + 10 * MAX_CALL
    assert over_limit(queued, later, MAX_CALL, MAX_RING) is None
    assert over_limit(originated, later, MAX_CALL, MAX_RING) is None
    fence, call, rest, clock, _, _ = fenced("desktop_customer_hangup", "Newstate", ChannelState="6",
                                            Uniqueid="1795453135.3")
    finish(fence, rest, clock)
    assert call.state == "ended" and over_limit(call, later, MAX_CALL, MAX_RING) is None


# ------------------------------------------------------------- the fences
async def test_server_fence_hangs_up_both_legs_and_the_row_says_max_call_age():
    fence, call, rest, clock, ami, metrics = fenced("desktop_customer_hangup", "BridgeEnter",
                                                    Uniqueid="1795453135.3")
    assert await fence.enforce(call.connected_at + MAX_CALL - 1) == 0 and ami.actions == []
    now = call.connected_at + MAX_CALL + 1
    assert await fence.enforce(now) == 1
    assert ami.actions == [("Hangup", {"Channel": f"cc-{call.call_id}-a", "Cause": "16"}),
                           ("Hangup", {"Channel": "1795453135.3", "Cause": "16"})]
    assert await fence.enforce(now + 1) == 0 and len(ami.actions) == 2  # not sent again at once
    clock.t = now
    finish(fence, rest, clock)  # Asterisk's BridgeLeave and Hangups
    assert call.state == "ended"
    assert (call.end_reason, call.hangup_by) == ("max_call_age", "system")
    assert cut_count(metrics, "server", "max_call_age") == 1
    assert await fence.enforce(now + 60) == 0 and fence._cut == {}


async def test_a_call_still_up_after_its_hangup_is_hung_up_again_and_counted_once():
    fence, call, _, _, ami, metrics = fenced("customer_no_answer", "Newchannel", Uniqueid="1795453141.9")
    now = call.customer.ringing_at + MAX_RING + 1
    ami.gone.add("1795453141.9")  # Asterisk answers an error for one leg: the other is still sent
    assert await fence.enforce(now) == 1
    assert [h["Channel"] for _, h in ami.actions] == [f"cc-{call.call_id}-a", "1795453141.9"]
    assert await fence.enforce(now + 2) == 0 and len(ami.actions) == 2
    assert await fence.enforce(now + 6) == 0 and len(ami.actions) == 4  # retried, not counted again
    assert cut_count(metrics, "server", "max_ring_time") == 1
    assert call.cut_reason == "max_ring_time"


async def test_nothing_is_sent_while_the_link_is_down():
    fence, call, _, _, ami, metrics = fenced("desktop_customer_hangup", "BridgeEnter", Uniqueid="1795453135.3")
    ami.connected = False
    assert await fence.enforce(call.connected_at + MAX_CALL + 1) == 0
    assert ami.actions == [] and call.cut_reason is None and cut_count(metrics, "server", "max_call_age") == 0


def call_cut(call_id: str, reason: str = "max_call_age") -> dict:
    """The UserEvent the cc-c2c dialplan's T extension sends (agent leg's channel fields)."""
    return {"Event": "UserEvent", "UserEvent": "CallCut", "Channel": "PJSIP/agent1-00000002",
            "Uniqueid": f"cc-{call_id}-a", "Linkedid": f"cc-{call_id}-a", "CallId": call_id, "Reason": reason}


def test_pbx_fence_callcut_names_the_reason_and_is_counted():
    fence, call, rest, clock, ami, metrics = fenced("desktop_customer_hangup", "BridgeEnter",
                                                    Uniqueid="1795453135.3")
    # Asterisk ends the bridge, one leg is hung up, then the T extension speaks
    first_hangup = find(rest, "Hangup")
    finish(fence, rest[:first_hangup + 1], clock)
    assert call.state != "ended"
    fence.on_event(call_cut(call.call_id))
    finish(fence, rest[first_hangup + 1:], clock)
    assert (call.state, call.end_reason, call.hangup_by) == ("ended", "max_call_age", "system")
    assert cut_count(metrics, "pbx", "max_call_age") == 1 and ami.actions == []


def test_callcut_about_no_live_call_or_an_unknown_reason_changes_nothing():
    fence, call, rest, clock, _, metrics = fenced("desktop_customer_hangup", "BridgeEnter",
                                                  Uniqueid="1795453135.3")
    fence.on_event(call_cut(call.call_id, "completed"))
    fence.on_event(call_cut("f" * 32))
    fence.on_event({**call_cut(call.call_id), "UserEvent": "Other"})
    finish(fence, rest, clock)
    assert (call.end_reason, call.hangup_by) == ("completed", "customer")
    fence.on_event(call_cut(call.call_id))  # late, after the call ended
    assert call.end_reason == "completed"
    assert metrics.registry.get_sample_value("callcenter_calls_cut_total",
                                             {"fence": "pbx", "reason": "max_call_age"}) is None


# ------------------------------------------------------------------ config
def write(tmp_path, **calls) -> str:
    path = tmp_path / "cc.toml"
    path.write_text(cc_config.render_new({"calls": calls}))
    return path


def test_config_defaults_and_checks(tmp_path):
    calls = load_settings(write(tmp_path)).calls
    assert (calls.max_call_seconds, calls.max_ring_seconds, calls.pbx_margin_seconds) == (14400, 120, 60)
    assert load_settings(write(tmp_path, max_call_seconds=3, pbx_margin_seconds=1)).calls.max_call_seconds == 3
    for bad in ({"max_ring_seconds": 45}, {"max_ring_seconds": 20, "agent_ring_timeout": 30},
                {"max_call_seconds": 0}, {"pbx_margin_seconds": 0}, {"max_call_seconds": 999_999}):
        with pytest.raises(cc_config.ConfigError, match=r"\[calls\]"):
            load_settings(write(tmp_path, **bad))
