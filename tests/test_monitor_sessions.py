"""Monitor sessions without Asterisk: the spy target is only ever an exact
channel name, the agent is told or not as [monitor] says, the audit holds
start and end, and legs nobody owns are hung up."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from callcenter.auth.tokens import Principal
from callcenter.calls.tracker import TrackedCall
from callcenter.models import AuditEntry, User
from callcenter.monitor import exceptions as exc
from callcenter.monitor.legs import MonitorSession, checked_spied, originate
from callcenter.monitor.service import Monitoring
from callcenter.monitor.settings import MonitorSettings, notice

CALL = "a" * 32


@pytest.mark.parametrize("channel", ["PJSIP/ph-asha-0000001a", "PJSIP/carrier-000000ff"])
def test_an_exact_channel_is_a_spy_target(channel):
    assert checked_spied(channel) == channel


@pytest.mark.parametrize("channel", ["PJSIP/ph-asha", "PJSIP/carrier-", "PJSIP/", "PJSIP/ph-asha-0000001",
                                     "PJSIP/ph-asha-0000001a,qB", "Local/x-0000001a;1", None, ""])
def test_a_prefix_or_anything_else_is_refused(channel):
    with pytest.raises(ValueError):
        checked_spied(channel)


@pytest.mark.parametrize("mode, options", [("listen", "quES"), ("whisper", "quwES"), ("barge", "quBES")])
def test_the_originate_rings_the_supervisor_into_chanspy(mode, options):
    session = MonitorSession("b" * 32, CALL, mode, 7, "lead", 3, "asha", "PJSIP/ph-asha-0000001a",
                             "PJSIP/ph-lead")
    headers, variables = originate(session, 25)
    assert headers["Channel"] == "PJSIP/ph-lead" and headers["Context"] == "cc-monitor"
    assert headers["ChannelId"] == f"cm-{'b' * 32}-s" and headers["Timeout"] == "25000"
    assert variables == {"CC_MONITOR_ID": "b" * 32, "CC_SPY": "PJSIP/ph-asha-0000001a", "CC_SPY_OPTIONS": options}


def test_the_notice_defaults_tell_the_agent_of_whisper_and_barge_only():
    section = MonitorSettings()
    assert [notice(section, m) for m in ("listen", "whisper", "barge")] == [False, True, True]
    assert notice(MonitorSettings(notice_listen=True), "listen")


class FakeAmi:
    connected = True

    def __init__(self, channels=()):
        self.channels = list(channels)
        self.sent = []

    async def originate(self, headers, variables, timeout):
        self.sent.append(("Originate", headers, variables))
        return {"Response": "Success"}

    async def action(self, name, headers=None, **_kw):
        self.sent.append((name, headers))
        return {}

    async def action_list(self, name, headers=None, **_kw):
        return self.channels


class FakeLive:
    def __init__(self):
        self.published = []

    async def publish(self, event, user_ids=None, *, agent_id=None, everyone=False, supervisors_only=False):
        self.published.append((event["step"], event["session"]["mode"], agent_id, user_ids, supervisors_only))


@pytest.fixture
async def monitoring(sessions):
    from callcenter.models import User

    async with sessions() as db, db.begin():
        db.add(User(id=7, name="lead", role="teamlead", sip_endpoint="ph-lead", phone_mode="desktop"))
        db.add(User(id=8, name="ghost", role="manager"))
        db.add(User(id=9, name="kiran", role="manager", sip_endpoint="ph-kiran", phone_mode="desktop"))
    tracker = SimpleNamespace(calls={CALL: TrackedCall(CALL, state="connected")})
    tracker.calls[CALL].agent.channel = "PJSIP/ph-asha-0000001a"
    settings = SimpleNamespace(monitor=MonitorSettings(), calls=SimpleNamespace(originate_timeout=5.0))
    return Monitoring(settings, sessions, FakeAmi(), tracker, accounting=None, live=FakeLive())


CALL_ROW = SimpleNamespace(id=CALL, state="connected")
AGENT = SimpleNamespace(id=3, name="asha")
TRUNK = SimpleNamespace(name="carrier")
LEAD = Principal("lead", "teamlead", 7)


async def test_whisper_tells_the_agent_listen_does_not_and_both_are_audited(monitoring, sessions):
    whisper = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "whisper")
    listen = await monitoring.start(Principal("kiran", "manager", 9), CALL_ROW, AGENT, TRUNK, True, "listen")
    assert [s["id"] for s in monitoring.active(CALL)] == [whisper.id, listen.id]
    assert monitoring.ami.sent[0][2]["CC_SPY"] == "PJSIP/ph-asha-0000001a"
    monitoring.on_event({"Event": "Hangup", "Uniqueid": whisper.uniqueid})
    for _ in range(100):  # the Hangup's end runs in a task of its own
        if len(monitoring.live.published) == 3:
            break
        await asyncio.sleep(0.01)
    await monitoring.end(listen, "completed")
    assert monitoring.live.published == [
        ("start", "whisper", 3, None, False), ("start", "listen", 3, [9], True),
        ("end", "whisper", 3, None, False), ("end", "listen", 3, [9], True)]
    async with sessions() as db:
        rows = (await db.scalars(select(AuditEntry).where(AuditEntry.action.like("monitor.%")))).all()
    assert sorted((r.action, r.details["mode"]) for r in rows) == [
        ("monitor.end", "listen"), ("monitor.end", "whisper"), ("monitor.start", "listen"),
        ("monitor.start", "whisper")]
    assert not monitoring.active()


async def test_who_may_not_and_what_cannot_be_monitored(monitoring):
    with pytest.raises(exc.MayNotMonitor):
        await monitoring.start(Principal("asha", "agent", 3), CALL_ROW, AGENT, TRUNK, True, "listen")
    with pytest.raises(exc.MayNotMonitor):
        await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, False, "listen")
    with pytest.raises(exc.InvalidMode):
        await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "shout")
    with pytest.raises(exc.SupervisorHasNoPhone):
        await monitoring.start(Principal("ghost", "manager", 8), CALL_ROW, AGENT, TRUNK, True, "listen")
    monitoring.tracker.calls[CALL].state = "agent_ringing"
    with pytest.raises(exc.NotMonitorable):
        await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "listen")
    assert monitoring.ami.sent == []


async def test_legs_nobody_owns_are_hung_up_and_lost_sessions_ended(monitoring):
    session = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "barge")
    session.channel, session.seen_at = "PJSIP/ph-lead-00000002", 1.0   # it was up, and is gone from the list
    monitoring.ami.channels = [{"Uniqueid": f"cm-{'c' * 32}-s", "Channel": "PJSIP/ph-lead-00000003"},
                               {"Uniqueid": "cc-" + CALL + "-a", "Channel": "PJSIP/ph-asha-0000001a"}]
    await monitoring.check()
    assert ("Hangup", {"Channel": "PJSIP/ph-lead-00000003", "Cause": "16"}) in monitoring.ami.sent
    assert not [s for s in monitoring.ami.sent if s[0] == "Hangup" and "asha" in s[1]["Channel"]]
    assert not monitoring.active()


async def test_a_mode_change_ends_the_supervisors_earlier_session(monitoring, sessions):
    listen = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "listen")
    barge = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "barge")
    assert [s["id"] for s in monitoring.active()] == [barge.id]
    assert ("Hangup", {"Channel": listen.uniqueid, "Cause": "16"}) in monitoring.ami.sent
    assert listen.end_reason == "replaced by barge"


async def test_a_leg_made_after_the_channel_list_was_asked_for_is_not_taken_for_gone(monitoring):
    session = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "listen")
    session.channel, session.seen_at = "PJSIP/ph-lead-00000004", time.time() + 60  # its Newchannel came late
    await monitoring.check()
    assert [s["id"] for s in monitoring.active()] == [session.id]


async def test_the_sessions_listed_are_those_of_agents_in_reach(monitoring, sessions):
    from callcenter.org.scope import Scope

    async with sessions() as db, db.begin():
        db.add(User(id=3, name="asha", role="agent"))
    session = await monitoring.start(LEAD, CALL_ROW, AGENT, TRUNK, True, "listen")
    assert [s["id"] for s in await monitoring.active_in(Scope(role="admin"))] == [session.id]
    assert await monitoring.active_in(Scope(role="teamlead", user_id=7, team_id=None)) == []


def test_a_silent_listen_reaches_the_agents_supervisors_and_never_the_agent():
    from callcenter.live import sees
    from callcenter.org.scope import Scope

    message = {"event": {"type": "monitor"}, "users": [9], "everyone": False, "supervisors_only": True,
               "agent": {"id": 3, "team_id": 1, "location_id": 2}}
    assert not sees(Scope("agent", user_id=3, team_id=1, location_id=2), message)
    assert sees(Scope("teamlead", user_id=7, team_id=1), message)        # the agent's team lead
    assert sees(Scope("manager", user_id=10, location_id=2), message)    # their location's manager
    assert sees(Scope("admin", user_id=1), message)
    assert sees(Scope("manager", user_id=9, location_id=5), message)     # the supervisor listening
    assert not sees(Scope("teamlead", user_id=11, team_id=4), message)   # another team's lead
    assert sees(Scope("agent", user_id=3, team_id=1), {**message, "supervisors_only": False})


async def test_a_supervisor_whose_web_phone_is_offline_is_told_and_nothing_rings(monitoring, sessions):
    """The web phone's own check (callcenter/webphone, through the dialer's
    AgentPhones) decides: offline -> 409 agent_phone_offline, no Originate;
    registered -> the supervisor's browser endpoint is rung."""
    from callcenter.models import User
    from callcenter.webphone.exceptions import AgentPhoneOffline
    from dialer.phones import AgentPhones

    async with sessions() as db, db.begin():
        db.add(User(id=10, name="meera", role="manager", sip_endpoint="wb-meera", phone_mode="browser"))
    registered: set[str] = set()

    def check(user):
        if user.sip_endpoint not in registered:
            raise AgentPhoneOffline(f"{user.name}'s web phone is offline")
    monitoring.phones = AgentPhones()
    monitoring.phones.checks["browser"] = check
    meera = Principal("meera", "manager", 10)
    with pytest.raises(AgentPhoneOffline):
        await monitoring.start(meera, CALL_ROW, AGENT, TRUNK, True, "listen")
    assert monitoring.ami.sent == []
    registered.add("wb-meera")
    await monitoring.start(meera, CALL_ROW, AGENT, TRUNK, True, "listen")
    assert monitoring.ami.sent[0][1]["Channel"] == "PJSIP/wb-meera"
