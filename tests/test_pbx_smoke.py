"""Smoke test of the PBX design with the real Asterisk and sipp on loopback:
two-leg click-to-call in desktop and mobile mode, busy and no-answer cases,
AMI rights and event filter, recordings.

Set CC_RECORD_AMI_STREAMS=1 to (re)write tests/ami_streams/<scenario>.raw."""
from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.pbx.render import PhoneConf, TrunkConf
from callcenter.pbx.sync import ADMIN_ACTIONS
from tests.stack import PbxStack, free_port

pytestmark = pytest.mark.pbx

HERE = Path(__file__).resolve().parent
STREAMS = HERE / "ami_streams"
_spec = importlib.util.spec_from_file_location("record_ami", HERE.parent / "scripts" / "record_ami.py")
record_ami = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_ami)

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
TRUNK = "carrier1"
PHONE = "agent1"
CUSTOMER = "919876543210"
AGENT_MOBILE = "919812345678"
DID = "8062247000"


@dataclass
class Lines:
    stack: PbxStack
    carrier_port: int
    phone_port: int


@pytest.fixture(scope="module")
def lines(pbx_stack):
    carrier_port = free_port(CARRIER_IP, tcp=False)
    phone_port = free_port(PHONE_IP, tcp=False)
    pbx_stack.configure([TrunkConf(TRUNK, CARRIER_IP, carrier_port, 250)],
                        [PhoneConf(PHONE, None, f"sip:{PHONE_IP}:{phone_port}")])
    return Lines(pbx_stack, carrier_port, phone_port)


class Recording:
    """Raw AMI streams of one scenario: the call-work user (filtered) and the
    unfiltered test user, for comparison."""

    def __init__(self, stack: PbxStack, name: str, tmp_path: Path):
        a = stack.settings.ami
        self.name = name
        self.path = tmp_path / f"{name}.raw"
        self.filtered = record_ami.AmiRecorder(a.host, a.port, a.username, a.secret, self.path)
        self.unfiltered = record_ami.AmiRecorder(a.host, a.port, "cc-test-unfiltered",
                                                 stack.unfiltered_secret, tmp_path / f"{name}.unfiltered.raw")

    async def __aenter__(self):
        await self.filtered.start()
        await self.unfiltered.start()
        return self

    async def __aexit__(self, *exc):
        await asyncio.sleep(0.3)  # trailing events
        await self.filtered.stop()
        await self.unfiltered.stop()
        if exc[0] is None and os.environ.get("CC_RECORD_AMI_STREAMS"):
            STREAMS.mkdir(exist_ok=True)
            shutil.copyfile(self.path, STREAMS / self.path.name)

    @staticmethod
    def count_events(path: Path) -> int:
        return path.read_bytes().count(b"Event: ")


async def click_to_call(ami, stack: PbxStack, channel: str, *, record: bool = True, ring_timeout: int = 10,
                        agent_timeout_ms: int = 10000, dial: str = CUSTOMER, extra: dict | None = None):
    call_id = uuid.uuid4().hex
    rel = time.strftime("%Y/%m/%d/") + f"{call_id}.wav"
    variables = {
        "CC_CALL_ID": call_id, "CC_DIAL": dial, "CC_TRUNK": TRUNK, "CC_CALLERID": DID,
        "CC_RECFILE": rel if record else "",
        "CC_RING_TIMEOUT": ring_timeout, "CC_MAX_SECONDS": 14460,
    }
    variables.update(extra or {})
    resp = await ami.action("Originate", Channel=channel, Context="cc-c2c", Exten="s", Priority=1,
                            Timeout=agent_timeout_ms, CallerID=f"<{DID}>", ChannelId=f"cc-{call_id}-a",
                            Async="true", variables=variables)
    assert resp["Response"] == "Success", resp
    return call_id, stack.recordings_dir / rel


async def trunk_channels(ami) -> list[dict]:
    resp, chans = await ami.list_action("CoreShowChannels")
    assert resp["Response"] == "Success", resp
    return [c for c in chans if c["Channel"].startswith(f"PJSIP/{TRUNK}-")]


async def wait_idle(ami, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        _, chans = await ami.list_action("CoreShowChannels")
        if not chans:
            return
        assert time.monotonic() < deadline, f"channels left: {[c['Channel'] for c in chans]}"
        await asyncio.sleep(0.1)


def hangup_of(uniqueid):
    return lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == uniqueid


def bridged(linkedid, n=2):
    """A predicate true on the n-th BridgeEnter of the call (tracked by side effect)."""
    seen = set()

    def pred(e):
        if e.get("Event") == "BridgeEnter" and e.get("Linkedid") == linkedid:
            seen.add(e["Uniqueid"])
        return len(seen) >= n
    return pred


@pytest.fixture
async def ami(lines):
    client = await lines.stack.ami()
    yield client
    await client.close()


async def test_ami_user_rights(lines, ami):
    assert (await ami.action("Ping"))["Response"] == "Success"
    for forbidden in ({"name": "Command", "Command": "core show version"},
                      {"name": "Reload", "Module": "res_pjsip.so"},
                      {"name": "GetConfig", "Filename": "manager.conf"}):
        resp = await ami.action(forbidden.pop("name"), **forbidden)
        assert resp["Response"] == "Error" and "ermission" in resp.get("Message", ""), resp
    resp, chans = await ami.list_action("CoreShowChannels")
    assert resp["Response"] == "Success" and chans == []


async def test_admin_user_rights(lines):
    """The admin user reloads (what the server sends it) and cannot write or
    create config files, run CLI commands or place calls."""
    admin = await lines.stack.ami(admin=True, events=False)
    try:
        listed = await admin.action("ListCommands")
        assert "Reload" in listed, listed
        for action in ADMIN_ACTIONS:
            assert action in listed, action
        assert not {"UpdateConfig", "CreateConfig", "Command", "Originate"} & set(listed), listed
        for forbidden in ({"name": "CreateConfig", "Filename": "cc-probe.conf"},
                          {"name": "UpdateConfig", "SrcFilename": "extensions.conf",
                           "DstFilename": "extensions.conf", "Reload": "no", "Action-000000": "NewCat",
                           "Cat-000000": "cc-probe"},
                          {"name": "Command", "Command": "core show version"}):
            resp = await admin.action(forbidden.pop("name"), **forbidden)
            assert resp["Response"] == "Error" and "ermission" in resp.get("Message", ""), resp
        resp = await admin.action("Reload", Module="res_pjsip.so")
        assert resp["Response"] == "Success", resp
    finally:
        await admin.close()


async def test_desktop_agent_hangs_up(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer_bye", PHONE_IP, lines.phone_port, ["-d", 4000], timeout=20)
    sipp("uas_answer", CARRIER_IP, lines.carrier_port, timeout=20)
    async with Recording(stack, "desktop_agent_hangup", tmp_path) as rec:
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{PHONE}")
        agent = f"cc-{call_id}-a"
        await ami.wait_event(bridged(agent), timeout=8)
        chans = await trunk_channels(ami)
        assert len(chans) == 1, chans
        assert chans[0]["Linkedid"] == agent
        agent_chan = (await ami.wait_event(lambda e: e.get("Event") == "Newchannel"
                                           and e.get("Uniqueid") == agent))["Channel"]
        getvar = await ami.action("Getvar", Channel=agent_chan, Variable="CC_CALL_ID")
        assert getvar.get("Value") == call_id, getvar
        await ami.wait_event(hangup_of(agent), timeout=10)
        await ami.wait_event(hangup_of(chans[0]["Uniqueid"]), timeout=5)
        await wait_idle(ami)
        assert await trunk_channels(ami) == []
    deadline = time.monotonic() + 5
    while not (wav.exists() and wav.stat().st_size > 20000) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert wav.exists(), wav
    assert wav.stat().st_size > 20000, wav.stat().st_size
    n_filtered = Recording.count_events(rec.path)
    n_all = Recording.count_events(tmp_path / "desktop_agent_hangup.unfiltered.raw")
    print(f"events: filtered {n_filtered}, unfiltered {n_all}; recording {wav.stat().st_size} bytes")
    assert n_filtered < 0.75 * n_all, (n_filtered, n_all)


async def _finish(ami, agent: str, timeout: float = 15.0) -> dict:
    """Wait for the agent leg's Hangup and for every channel to be gone."""
    ev = await ami.wait_event(hangup_of(agent), timeout=timeout)
    await wait_idle(ami)
    return ev


def _call_events(ami, agent: str) -> list[dict]:
    return [e for e in ami.events if e.get("Linkedid") == agent or e.get("Uniqueid") == agent
            or (e.get("Event") == "OriginateResponse" and e.get("Uniqueid") == agent)]


async def test_desktop_customer_hangs_up(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer", PHONE_IP, lines.phone_port, timeout=20)
    sipp("uas_answer_bye", CARRIER_IP, lines.carrier_port, ["-d", 3000], timeout=20)
    async with Recording(stack, "desktop_customer_hangup", tmp_path):
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{PHONE}")
        agent = f"cc-{call_id}-a"
        await ami.wait_event(bridged(agent), timeout=8)
        assert len(await trunk_channels(ami)) == 1
        hangup = await _finish(ami, agent)
    assert hangup["Cause"] == "16", hangup
    cust = [e for e in _call_events(ami, agent) if e["Event"] == "Hangup" and e["Uniqueid"] != agent]
    assert len(cust) == 1 and cust[0]["Cause"] == "16", cust
    assert wav.exists() and wav.stat().st_size > 15000, wav


async def test_mobile_mode_two_trunk_channels(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer", CARRIER_IP, lines.carrier_port, timeout=20)
    async with Recording(stack, "mobile_connected", tmp_path):
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{AGENT_MOBILE}@{TRUNK}")
        agent = f"cc-{call_id}-a"
        await ami.wait_event(bridged(agent), timeout=8)
        chans = await trunk_channels(ami)
        assert len(chans) == 2, chans
        assert {c["Linkedid"] for c in chans} == {agent}
        await asyncio.sleep(1.5)
        # the server ends a call with Hangup on the agent's leg (call-work user)
        resp = await ami.action("Hangup", Channel=next(c["Channel"] for c in chans if c["Uniqueid"] == agent))
        assert resp["Response"] == "Success", resp
        await _finish(ami, agent)
        assert await trunk_channels(ami) == []
    assert wav.exists() and wav.stat().st_size > 5000, wav


async def test_customer_busy(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer", PHONE_IP, lines.phone_port, timeout=20)
    sipp("uas_busy", CARRIER_IP, lines.carrier_port, timeout=20)
    async with Recording(stack, "customer_busy", tmp_path):
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{PHONE}")
        agent = f"cc-{call_id}-a"
        await _finish(ami, agent)
    events = _call_events(ami, agent)
    dialend = [e for e in events if e["Event"] == "DialEnd"]
    assert any(e["DialStatus"] == "BUSY" for e in dialend), dialend
    cust = [e for e in events if e["Event"] == "Hangup" and e["Uniqueid"] != agent]
    assert cust and cust[0]["Cause"] == "17", cust


async def test_customer_no_answer(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer", PHONE_IP, lines.phone_port, timeout=20)
    sipp("uas_ring", CARRIER_IP, lines.carrier_port, timeout=20)
    async with Recording(stack, "customer_no_answer", tmp_path):
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{PHONE}", ring_timeout=3)
        agent = f"cc-{call_id}-a"
        await _finish(ami, agent)
    events = _call_events(ami, agent)
    assert any(e["Event"] == "DialEnd" and e["DialStatus"] == "NOANSWER" for e in events), events


async def test_agent_no_answer(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_ring", PHONE_IP, lines.phone_port, timeout=20)
    sipp("uas_answer", CARRIER_IP, lines.carrier_port, timeout=20)
    async with Recording(stack, "agent_no_answer", tmp_path):
        call_id, wav = await click_to_call(ami, stack, f"PJSIP/{PHONE}", agent_timeout_ms=3000)
        agent = f"cc-{call_id}-a"
        resp = await ami.wait_event(lambda e: e.get("Event") == "OriginateResponse"
                                    and e.get("Uniqueid") == agent, timeout=10)
        await wait_idle(ami)
    assert resp["Response"] == "Failure", resp
    assert resp["Reason"] == "3", resp  # 3: timed out / no answer
    assert not wav.exists()


async def test_bad_variables_hang_up(lines, ami, sipp, tmp_path):
    stack = lines.stack
    sipp("uas_answer", PHONE_IP, lines.phone_port, timeout=20)
    for extra, cause in (({"CC_DIAL": "12345;x"}, "28"), ({"CC_TRUNK": "../x"}, "111"),
                         ({"CC_RECFILE": "/etc/passwd.wav"}, "111"),
                         ({"CC_RECFILE": "../../../etc/x/0123456789abcdef0123456789abcdef.wav"}, "111"), ({"CC_MAX_SECONDS": "0"}, "111"),
                         ({"CC_MAX_SECONDS": "9999999"}, "111")):
        start = len(ami.events)
        call_id, _ = await click_to_call(ami, stack, f"PJSIP/{PHONE}", extra=extra)
        agent = f"cc-{call_id}-a"
        ev = await ami.wait_event(hangup_of(agent), timeout=8, start=start)
        assert ev["Cause"] == cause, (extra, ev)
        assert not any(e.get("Event") == "DialBegin" and e.get("Uniqueid") == agent
                       for e in ami.events[start:])
    await wait_idle(ami)
