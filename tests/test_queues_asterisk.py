"""The rendered queues.conf in the real Asterisk 22, driven over AMI the way
the server drives it: members added, paused with a reason, removed; a caller
answered by a desktop agent, one who hangs up while the agent's phone rings,
one whose maximum wait runs out (the channel lives on, as in the IVR), one
refused by an empty queue, one answered by a mobile agent through the trunk.

Each scenario's raw AMI stream (the call-work user, with its event filter)
is what tests/test_queues_state.py replays; CC_RECORD_AMI_STREAMS=1 rewrites
tests/ami_streams/queue_*.raw.

Callers are originated from the carrier sipp into a small test-only context
appended to this test's rendered extensions.conf (Queue(), then a wait
standing for the IVR going on)."""
from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import time
from pathlib import Path

import pytest

from callcenter.pbx.render import PhoneConf, TrunkConf, write_config
from callcenter.queues import conf as queue_conf
from callcenter.queues.conf import QueueConf, desktop_interface, mobile_interface
from tests.stack import free_port

pytestmark = pytest.mark.pbx

HERE = Path(__file__).resolve().parent
STREAMS = HERE / "ami_streams"
_spec = importlib.util.spec_from_file_location("record_ami", HERE.parent / "scripts" / "record_ami.py")
record_ami = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_ami)

CARRIER_IP, PHONE_IP = "127.0.0.2", "127.0.0.10"
TRUNK, PHONE, QUEUE = "carrier1", "agent1", "support-en"
AGENT_MOBILE = "919812345678"
TEST_CONTEXT = """
; test stack only: a caller in a queue, then the IVR going on for a while
[cc-test-queue]
exten => _X.,1,Queue(${CC_QUEUE},I,,,${CC_WAIT})
 same => n,Set(CC_AFTER=${QUEUESTATUS})
 same => n,Wait(${CC_LINGER})
 same => n,Hangup()
"""


class Line:
    def __init__(self, stack, carrier_port: int, phone_port: int):
        self.stack, self.carrier_port, self.phone_port = stack, carrier_port, phone_port

    def render(self, queues) -> None:
        st = self.stack
        st.trunks = [TrunkConf(TRUNK, CARRIER_IP, self.carrier_port, 250)]
        st.phones = [PhoneConf(PHONE, None, f"sip:{PHONE_IP}:{self.phone_port}")]
        etc = write_config(st.settings, st.trunks, st.phones, queues)
        with open(etc / "extensions.conf", "a") as fh:
            fh.write(TEST_CONTEXT)
        for resp, _ in st.admin_actions([{"Action": "Reload", "Module": m} for m in
                                         ("res_pjsip.so", "app_queue.so", "pbx_config.so", "manager")]):
            assert resp.get("Response") == "Success", resp


@pytest.fixture(scope="module")
def line(pbx_stack):
    saved = queue_conf.RING_SECONDS
    queue_conf.RING_SECONDS = 3  # short rings keep the no-answer scenario short
    try:
        line = Line(pbx_stack, free_port(CARRIER_IP, tcp=False), free_port(PHONE_IP, tcp=False))
        line.render([QueueConf(QUEUE, "en", "leastrecent", 2, 60, 20, True),
                     QueueConf("support-hi", "hi", "rrmemory", 0, 60, 20, False)])
    finally:
        queue_conf.RING_SECONDS = saved
    return line


async def clear_members(ami) -> None:
    """Dynamic members outlive tests and app_queue reloads: none before or after each test."""
    _, events = await ami.list_action("QueueStatus")
    for e in events:
        if e.get("Event") == "QueueMember":
            await ami.action("QueueRemove", Queue=e["Queue"], Interface=e["Location"])


@pytest.fixture
async def ami(line):
    client = await line.stack.ami()
    await clear_members(client)
    yield client
    await wait_idle(client)
    await clear_members(client)
    await client.close()


class Recording:
    def __init__(self, stack, name: str, tmp_path: Path):
        a = stack.settings.ami
        self.path = tmp_path / f"{name}.raw"
        self.rec = record_ami.AmiRecorder(a.host, a.port, a.username, a.secret, self.path)

    async def __aenter__(self):
        await self.rec.start()
        return self

    async def __aexit__(self, *exc):
        await asyncio.sleep(0.3)
        await self.rec.stop()
        if exc[0] is None and os.environ.get("CC_RECORD_AMI_STREAMS"):
            shutil.copyfile(self.path, STREAMS / self.path.name)


async def wait_idle(ami, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (await ami.list_action("CoreShowChannels"))[1]:
        assert time.monotonic() < deadline, "channels left"
        await asyncio.sleep(0.1)


async def queue_status(ami, queue: str = QUEUE) -> tuple[dict, list[dict], list[dict]]:
    resp, events = await ami.list_action("QueueStatus", Queue=queue)
    assert resp["Response"] == "Success", resp
    params = [e for e in events if e["Event"] == "QueueParams"]
    assert len(params) == 1, events
    return (params[0], [e for e in events if e["Event"] == "QueueMember"],
            [e for e in events if e["Event"] == "QueueEntry"])


async def add(ami, interface: str, name: str = "asha", penalty: int = 0, state: str | None = None) -> None:
    headers = {"Queue": QUEUE, "Interface": interface, "MemberName": name, "Penalty": penalty}
    if state:
        headers["StateInterface"] = state
    resp = await ami.action("QueueAdd", **headers)
    assert resp["Response"] == "Success", resp


async def enqueue(ami, number: str, wait: int = 60, linger: int = 0) -> None:
    resp = await ami.action("Originate", Channel=f"PJSIP/{number}@{TRUNK}", Context="cc-test-queue",
                            Exten=number, Priority=1, CallerID=f"<{number}>", Async="true",
                            variables={"CC_QUEUE": QUEUE, "CC_WAIT": wait, "CC_LINGER": linger})
    assert resp["Response"] == "Success", resp


def of(ami, name: str, start: int = 0):
    return [e for e in ami.events[start:] if e.get("Event") == name]


async def test_rendered_queues_loaded(line, ami):
    params, members, entries = await queue_status(ami)
    assert params["Strategy"] == "leastrecent" and params["ServiceLevel"] == "20"
    assert members == [] and entries == []
    params, _, _ = await queue_status(ami, "support-hi")
    assert params["Strategy"] == "rrmemory"


async def test_login_pause_answer_logout(line, ami, sipp, tmp_path):
    sipp("uas_answer_bye", PHONE_IP, line.phone_port, ["-d", 2500], timeout=30)
    sipp("uas_answer", CARRIER_IP, line.carrier_port, timeout=30)
    async with Recording(line.stack, "queue_answered", tmp_path):
        await add(ami, desktop_interface(PHONE), state=desktop_interface(PHONE))
        resp = await ami.action("QueuePause", Interface=desktop_interface(PHONE), Paused="true", Reason="break")
        assert resp["Response"] == "Success", resp
        _, [member], _ = await queue_status(ami)
        assert (member["Name"], member["Paused"], member["PausedReason"]) == ("asha", "1", "break")
        assert member["Status"] == "1", member  # the static-contact phone counts as not in use
        await ami.action("QueuePause", Interface=desktop_interface(PHONE), Paused="false")
        await enqueue(ami, "919876543210")
        await ami.wait_event(lambda e: e.get("Event") == "AgentComplete", timeout=20)
        await ami.wait_event(lambda e: e.get("Event") == "Hangup" and e["Channel"].startswith("PJSIP/carrier1"))
        resp = await ami.action("QueueRemove", Queue=QUEUE, Interface=desktop_interface(PHONE))
        assert resp["Response"] == "Success", resp
    [connect] = of(ami, "AgentConnect")
    assert connect["MemberName"] == "asha" and int(connect["HoldTime"]) <= 2
    [complete] = of(ami, "AgentComplete")
    assert complete["Reason"] == "agent" and int(complete["TalkTime"]) >= 2
    _, members, _ = await queue_status(ami)
    assert members == []


async def test_caller_hangs_up_while_the_agent_rings(line, ami, sipp, tmp_path):
    sipp("uas_ring", PHONE_IP, line.phone_port, timeout=30)
    sipp("uas_answer_bye", CARRIER_IP, line.carrier_port, ["-d", 7000], timeout=30)
    await add(ami, desktop_interface(PHONE), state=desktop_interface(PHONE))
    async with Recording(line.stack, "queue_abandoned", tmp_path):
        await enqueue(ami, "919876543211")
        await ami.wait_event(lambda e: e.get("Event") == "QueueCallerAbandon", timeout=20)
        await wait_idle(ami)
    assert len(of(ami, "AgentRingNoAnswer")) >= 1      # rang 3 s, then again after the retry
    [abandon] = of(ami, "QueueCallerAbandon")
    assert 6 <= int(abandon["HoldTime"]) <= 9, abandon


async def test_max_wait_runs_out_and_the_caller_goes_on(line, ami, sipp, tmp_path):
    sipp("uas_answer", CARRIER_IP, line.carrier_port, timeout=30)
    await add(ami, desktop_interface(PHONE), state=desktop_interface(PHONE))
    await ami.action("QueuePause", Interface=desktop_interface(PHONE), Paused="true", Reason="training")
    async with Recording(line.stack, "queue_timeout", tmp_path):
        start = len(ami.events)
        await enqueue(ami, "919876543212", wait=3, linger=7)
        leave = await ami.wait_event(lambda e: e.get("Event") == "QueueCallerLeave", timeout=20, start=start)
        hangup = await ami.wait_event(lambda e: e.get("Event") == "Hangup"
                                      and e.get("Uniqueid") == leave["Uniqueid"], timeout=20, start=start)
    # Asterisk reports the timeout as an abandon; only the late hangup tells them apart
    assert of(ami, "QueueCallerAbandon", start)
    assert float(hangup["Uniqueid"].split(".")[0]) > 0 and ami.events.index(hangup) > ami.events.index(leave)


async def test_empty_queue_refuses_the_caller(line, ami, sipp):
    sipp("uas_answer", CARRIER_IP, line.carrier_port, timeout=30)
    start = len(ami.events)
    await enqueue(ami, "919876543213", linger=1)
    await asyncio.sleep(0.5)
    await wait_idle(ami)
    assert not of(ami, "QueueCallerJoin", start)  # JOINEMPTY: the IVR offers a call-back at once


async def test_mobile_agent_rings_through_the_trunk(line, ami, sipp, tmp_path):
    sipp("uas_answer", CARRIER_IP, line.carrier_port, timeout=30)   # the caller and the agent's mobile
    member = mobile_interface(AGENT_MOBILE, TRUNK, "8062247000")
    async with Recording(line.stack, "queue_mobile", tmp_path):
        await add(ami, member, name="ravi")
        _, [listed], _ = await queue_status(ami)
        assert listed["Status"] == "1", listed  # the Local channel's extension exists: not in use
        await enqueue(ami, "919876543214")
        connect = await ami.wait_event(lambda e: e.get("Event") == "AgentConnect", timeout=20)
        assert connect["MemberName"] == "ravi"
        channels = (await ami.list_action("CoreShowChannels"))[1]
        on_trunk = [c for c in channels if c["Channel"].startswith(f"PJSIP/{TRUNK}-")]
        assert len(on_trunk) == 2, channels   # the caller and the mobile leg
        dialled = [c for c in channels if c.get("ApplicationData", "").startswith(f"PJSIP/{AGENT_MOBILE}@{TRUNK}")]
        assert dialled, channels
        await ami.action("Hangup", Channel=connect["Channel"])
        await ami.wait_event(lambda e: e.get("Event") == "AgentComplete", timeout=10)
        await wait_idle(ami)
        await ami.action("QueueRemove", Queue=QUEUE, Interface=member)


async def test_queue_status_snapshot_recorded(line, ami, sipp, tmp_path):
    """A QueueStatus reply with a paused member and a waiting caller, kept as
    tests/ami_streams/queue_status.raw for the snapshot replay."""
    sipp("uas_answer", CARRIER_IP, line.carrier_port, timeout=30)
    await add(ami, desktop_interface(PHONE), state=desktop_interface(PHONE))
    await ami.action("QueuePause", Interface=desktop_interface(PHONE), Paused="true", Reason="lunch")
    await enqueue(ami, "919876543215", wait=30)
    await ami.wait_event(lambda e: e.get("Event") == "QueueCallerJoin", timeout=10)
    await asyncio.sleep(1.2)
    resp, events = await ami.list_action("QueueStatus")
    members = [e for e in events if e["Event"] == "QueueMember"]
    entries = [e for e in events if e["Event"] == "QueueEntry"]
    assert members[0]["PausedReason"] == "lunch" and int(entries[0]["Wait"]) >= 1
    text = "".join("".join(f"{k}: {v}\r\n" for k, v in e.items()) + "\r\n" for e in [resp, *events])
    if os.environ.get("CC_RECORD_AMI_STREAMS"):
        (STREAMS / "queue_status.raw").write_text(text)
    await ami.action("Hangup", Channel=entries[0]["Channel"])
