"""The call control (callcenter/calls/control.py): what reaches Asterisk when
a call is hung up or an agent joins, leaves or pauses in a queue. The header
building against a recording fake link; what Asterisk answers (a leg gone, a
queue not loaded) against the real one."""
from __future__ import annotations

import datetime as dt

import pytest

from callcenter.ami import AmiError, AmiLink
from callcenter.calls import control as control_module
from callcenter.calls.control import CallControl
from callcenter.calls.tracker import TrackedCall
from callcenter.inbound.exceptions import CallNotLive
from callcenter.inbound.models import InboundCall
from callcenter.inbound.service import LiveCall
from callcenter.queues.exceptions import QueueNotLoaded
from tests import factories as f
from tests.light_app import call, light_app

CALL_ID = "0123456789abcdef" * 2


class Link:
    """Records the actions sent; answers each with the next of ``answers``
    (an exception is raised), then Success."""

    def __init__(self, *answers) -> None:
        self.connected = True
        self.actions: list[tuple[str, dict]] = []
        self.answers = list(answers)

    async def action(self, name: str, headers: dict, timeout: float | None = None) -> dict:
        self.actions.append((name, dict(headers)))
        if self.answers:
            raise self.answers.pop(0)
        return {"Response": "Success"}


class Tracker:
    def __init__(self, *calls: TrackedCall) -> None:
        self.calls = {c.call_id: c for c in calls}


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch):
    monkeypatch.setattr(control_module, "HANGUP_RETRY_SECONDS", 0)


@pytest.mark.parametrize("call_id", [CALL_ID[:31] + "\r\nAction: Originate", CALL_ID + "\n", "", None,
                                     CALL_ID.upper()])
async def test_a_call_id_that_is_not_one_never_reaches_asterisk(call_id):
    link = Link()
    with pytest.raises(ValueError):
        await CallControl(link, Tracker()).hang_up_outbound(call_id)
    assert link.actions == []


async def test_an_outbound_hang_up_ends_the_agent_leg_and_retries_until_asterisk_has_it():
    link = Link(AmiError("No such channel"), AmiError("No such channel"))
    await CallControl(link, Tracker(TrackedCall(CALL_ID))).hang_up_outbound(CALL_ID)
    assert link.actions == [("Hangup", {"Channel": f"cc-{CALL_ID}-a", "Cause": "16"})] * 3


async def test_an_outbound_hang_up_stops_once_the_call_is_over():
    ended = TrackedCall(CALL_ID, state="ended")
    link = Link(AmiError("No such channel"), AmiError("No such channel"))
    await CallControl(link, Tracker(ended)).hang_up_outbound(CALL_ID)
    assert len(link.actions) == 1


@pytest.mark.parametrize("channel", ["PJSIP/asha-0000002a\r\nAction: Originate", "", None, "PJSIP/a\x00"])
async def test_an_inbound_hang_up_of_a_bad_channel_name_is_not_live_and_sends_nothing(channel):
    link = Link()
    with pytest.raises(CallNotLive):
        await CallControl(link).hang_up_inbound(channel)
    assert link.actions == []


async def test_only_the_channels_of_abandoned_originates_are_hung_up():
    other = "f" * 32
    channels = [{"Channel": "PJSIP/asha-00000001", "Linkedid": f"cc-{CALL_ID}-a"},
                {"Channel": "PJSIP/airtel-00000002", "Linkedid": f"cc-{CALL_ID}-a"},
                {"Channel": "PJSIP/ravi-00000003", "Linkedid": f"cc-{other}-a"},
                {"Channel": "PJSIP/airtel-00000004", "Linkedid": "1712345678.4"},
                {"Channel": "PJSIP/x\nAction: Originate", "Linkedid": f"cc-{CALL_ID}-a"}]
    link = Link(AmiError("No such channel"))  # the first gone meanwhile: the others still go
    await CallControl(link).hang_up_abandoned(channels, {CALL_ID: 0.0})
    assert link.actions == [("Hangup", {"Channel": "PJSIP/asha-00000001"}),
                            ("Hangup", {"Channel": "PJSIP/airtel-00000002"})]


async def test_queue_member_headers_are_built_from_checked_values():
    link = Link()
    control = CallControl(link)
    await control.add_member("support-en", "PJSIP/asha", "asha", 1, "PJSIP/asha", paused_reason="lunch")
    await control.pause_member("PJSIP/asha", False, "ignored when unpausing")
    assert link.actions == [
        ("QueueAdd", {"Queue": "support-en", "Interface": "PJSIP/asha", "MemberName": "asha", "Penalty": "1",
                      "Paused": "true", "Reason": "lunch", "StateInterface": "PJSIP/asha"}),
        ("QueuePause", {"Interface": "PJSIP/asha", "Paused": "false"})]
    for bad in ("support-en\r\nAction: Originate", "Support", ""):
        with pytest.raises(ValueError):
            await control.add_member(bad, "PJSIP/asha", "asha", 0)
        with pytest.raises(ValueError):
            await control.remove_member(bad, "PJSIP/asha")
    with pytest.raises(ValueError):
        await control.pause_member("PJSIP/asha\r\nAction: Originate", True, "lunch")
    with pytest.raises(ValueError):
        await control.add_member("support-en", "PJSIP/asha", "asha", 0, paused_reason="lunch\nAction: Originate")
    assert len(link.actions) == 2


# -- against the real Asterisk ------------------------------------------------------------

@pytest.fixture
async def link(pbx_stack):
    link = AmiLink(pbx_stack.settings.ami)
    await link.start()
    try:
        await link.wait_connected(10)
        yield link
    finally:
        await link.close()


@pytest.mark.pbx
async def test_an_inbound_hang_up_whose_agent_leg_is_gone_is_call_not_live(link, settings, sessions):
    """The panel's Hang up on an inbound call whose agent channel Asterisk no
    longer has: 409 call_not_live, Asterisk's reason in the message."""
    app = await light_app(settings, sessions)
    try:
        now = dt.datetime.now(dt.timezone.utc)
        async with sessions() as s, s.begin():
            s.add(InboundCall(id="100.1", did="8062247000", caller="+919812300005", agent_id=app.rows["agent_n"],
                              started_at=now, answered_at=now, flow="main", trunk_id=(await f.trunk(s)).id))
        entry = LiveCall(id="100.1", call_id=CALL_ID, did="8062247000", caller="+919812300005", flow="main",
                         agent_channel="PJSIP/agent-0000beef", answered_at=now)
        app.services.inbound = type("Inbound", (), {"get": staticmethod({"100.1": entry}.get)})()
        app.services.control = CallControl(link)
        status, body = await call(app, "POST", "/api/v1/inbound/calls/100.1/hangup", "agent_n")
        assert (status, body["error"]) == (409, "call_not_live"), body
        assert body["message"].startswith("the phone system did not hang up: ") and "channel" in body["message"]
        assert link.actions_by_name.get("Hangup") == 1
    finally:
        await app.client.close()


@pytest.mark.pbx
async def test_an_outbound_hang_up_of_a_call_asterisk_never_had_gives_up_at_once(link):
    await CallControl(link, Tracker()).hang_up_outbound(CALL_ID)
    assert link.actions_by_name.get("Hangup") == 1


@pytest.mark.pbx
async def test_queue_members_of_a_queue_not_loaded(link):
    """Joining a queue Asterisk has not loaded yet is 503 queue_not_loaded;
    leaving it, or unpausing an agent in no queue, is already done."""
    control = CallControl(link)
    with pytest.raises(QueueNotLoaded):
        await control.add_member("not-loaded-yet", "PJSIP/asha", "asha", 0)
    await control.remove_member("not-loaded-yet", "PJSIP/asha")
    await control.pause_member("PJSIP/nobody-here", False)
    assert isinstance(await control.queue_status(), list)
