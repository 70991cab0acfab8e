"""Inbound calls through the real Asterisk into the FastAGI IVR: a sipp
carrier dials a DID and walks the menu with RFC 4733 DTMF; invalid and
missing digits follow the retry path; the DID picks the flow; a known caller
is looked up by caller ID; a hostile caller ID leaves the server healthy and
never reaches an AGI command. The path taken is read from the IVR's session
records and metrics."""
from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
import yaml

from callcenter.pbx.render import TrunkConf
from ivr import fastagi
from ivr.engine import Lookup
from ivr.metrics import IvrMetrics
from ivr.service import IvrService
from ivr.session import IvrHooks
from tests.sipp.inbound_caller import write_caller
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
MAIN_DID, QUICK_DID = "8062247000", "8062247001"
KNOWN = "+919876543210"

TEST_FLOW = {
    "start": "hello",
    "nodes": {
        "hello": {"kind": "prompt", "prompt": "test-hello", "next": "menu"},
        "menu": {"kind": "menu", "prompt": "vm-press", "options": {"1": "lookup", "2": "two"}, "timeout": 4,
                 "retries": 2, "invalid_prompt": "beep", "no_input_prompt": "please-try-again",
                 "on_failure": "bye"},
        "lookup": {"kind": "customer_lookup", "known": "known", "unknown": "bye"},
        "known": {"kind": "hangup", "prompt": "test-hello"},
        "two": {"kind": "hangup", "prompt": "auth-thankyou"},
        "bye": {"kind": "hangup", "prompt": "vm-goodbye"},
    },
}
QUICK_FLOW = {
    "start": "hello",
    "nodes": {
        "hello": {"kind": "prompt", "prompt": "beep", "next": "menu"},
        "menu": {"kind": "menu", "prompt": "beep", "options": {"1": "bye"}, "timeout": 1, "retries": 2,
                 "on_failure": "bye"},
        "bye": {"kind": "hangup", "prompt": "vm-goodbye"},
    },
}


class Hooks(IvrHooks):
    def __init__(self):
        self.looked_up = []

    async def lookup(self, caller):
        self.looked_up.append(caller)
        return Lookup(caller == KNOWN, "ta")


class Line:
    def __init__(self, service, sipp, tmp_path, sip):
        self.service, self.sipp, self.tmp_path, self.sip = service, sipp, tmp_path, sip
        self.calls = 0

    def refused(self) -> float:
        return self.service.metrics.value("callcenter_ivr_errors_total", kind="protocol")

    async def call(self, did, steps, end="wait_bye", caller="9876543210", display="", timeout=60.0):
        """Place one call and wait for sipp to finish; returns the IVR's session
        record, or None when the FastAGI server refused the AGI environment."""
        self.calls += 1
        before, refused = len(self.service.recent), self.refused()
        scenario = write_caller(self.tmp_path / f"call-{self.calls}", steps, end, caller, display)
        caller_sipp = self.sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                                [f"{self.sip.sip_host}:{self.sip.sip_port}", "-s", did, "-m", "1"],
                                timeout=timeout)
        deadline = time.monotonic() + timeout
        while caller_sipp.running:
            assert time.monotonic() < deadline, caller_sipp.log_tail()
            await asyncio.sleep(0.1)
        while len(self.service.recent) == before and self.refused() == refused:
            assert time.monotonic() < deadline + 5, "no IVR session was recorded"
            await asyncio.sleep(0.05)
        assert caller_sipp.proc.returncode == 0, caller_sipp.log_tail()
        return self.service.recent[-1] if len(self.service.recent) > before else None


@pytest.fixture
async def line(pbx_stack, sipp, tmp_path, monkeypatch):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "test.yaml").write_text(yaml.safe_dump(TEST_FLOW))
    (flows / "quick.yaml").write_text(yaml.safe_dump(QUICK_FLOW))
    (flows / "dids.yaml").write_text(yaml.safe_dump({"default": "test", "dids": {QUICK_DID: "quick"}}))
    (flows / "prompts.yaml").write_text(yaml.safe_dump({"test-hello": {"en": "Test line."}}))
    saved = pbx_stack.settings.ivr
    # a port of our own: other test sessions on this machine may hold 4573
    pbx_stack.settings.ivr = dataclasses.replace(saved, port=free_port("127.0.0.1", udp=False),
                                                 flows_dir=str(flows), prompts_dir=str(tmp_path / "cache"))
    sent = []
    real_send = fastagi.AgiConnection.send

    async def recording_send(self, command):
        sent.append((self.env.get("agi_callerid"), command.line))
        return await real_send(self, command)

    monkeypatch.setattr(fastagi.AgiConnection, "send", recording_send)
    service = IvrService(pbx_stack.settings, IvrMetrics(), Hooks())
    try:
        await service.start()
        pbx_stack.configure([TrunkConf("carrier", CARRIER_IP, 5099, 10)], [])
        [(resp, _)] = pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])
        assert resp["Response"] == "Success", resp
        result = Line(service, sipp, tmp_path, pbx_stack.settings.pbx)
        result.sent = sent
        yield result
    finally:
        await service.close()
        pbx_stack.settings.ivr = saved
        pbx_stack.configure([], [])
        pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])


async def test_a_caller_walks_the_menu_through_invalid_and_missing_input(line):
    record = await line.call(MAIN_DID, [("pause", 3000), ("dtmf", "9"), ("pause", 8000), ("dtmf", "2")])
    assert (record.did, record.flow, record.outcome) == (MAIN_DID, "test", "completed")
    assert record.path == [("hello", "next"), ("menu", "invalid"), ("menu", "no_input"), ("menu", "2"),
                           ("two", "hangup")]
    metrics = line.service.metrics
    assert metrics.value("callcenter_ivr_node_exits_total", flow="test", node="menu", exit="invalid") == 1
    assert metrics.value("callcenter_ivr_node_exits_total", flow="test", node="menu", exit="2") == 1
    assert metrics.value("callcenter_ivr_node_visits_total", flow="test", node="two") == 1
    assert metrics.value("callcenter_ivr_sessions_total", outcome="completed") == 1
    lines = [cmd for _, cmd in line.sent]
    instance = line.service.settings.pbx.instance_dir
    assert lines[:2] == ["ANSWER", f'STREAM FILE {instance}/prompts/en/test-hello ""'], lines
    assert lines[-1] == "HANGUP"


async def test_the_did_picks_the_flow_and_retries_run_out(line):
    record = await line.call(QUICK_DID, [("pause", 500)])
    assert record.flow == "quick" and record.outcome == "completed"
    assert record.path == [("hello", "next"), ("menu", "no_input"), ("menu", "no_input"), ("menu", "no_input"),
                           ("menu", "retries_exhausted"), ("bye", "hangup")]


async def test_a_known_caller_is_looked_up_by_caller_id(line):
    record = await line.call(MAIN_DID, [("pause", 2500), ("dtmf", "1")], caller=KNOWN)
    assert record.caller == KNOWN and line.service.hooks.looked_up == [KNOWN]
    assert record.path == [("hello", "next"), ("menu", "1"), ("lookup", "known"), ("known", "hangup")]
    assert record.language == "ta"
    assert "SET VARIABLE CHANNEL(language) ta" in [cmd for _, cmd in line.sent]


async def test_a_caller_who_hangs_up_mid_menu(line):
    record = await line.call(MAIN_DID, [("pause", 3000)], end="bye")
    assert record.outcome == "caller_hangup"
    assert record.path == [("hello", "next"), ("menu", "caller_hangup")]
    assert line.service.server.active == 0


HOSTILE_CALLERS = [
    # CR/LF escapes that would forge AGI environment lines or replies once unescaped
    ("98765%0d%0aagi_arg_1:%208062247000%0d%0a%0d%0a200%20result=49", "x"),
    ("$(reboot);EXEC%20System(id)", 'evil\\" ;EXEC System(touch /tmp/x)'),
    ("%22%3b%20HANGUP%3b%20", "'; DROP TABLE customers; --"),
]


@pytest.mark.parametrize("caller, display", HOSTILE_CALLERS)
async def test_a_hostile_caller_id_never_reaches_an_agi_command(line, caller, display):
    record = await line.call(QUICK_DID, [("pause", 500)], caller=caller, display=display)
    if record is None:  # line breaks reached the AGI environment: the session was refused
        assert line.refused() == 1 and not line.sent
    else:
        assert record.caller is None and record.outcome == "completed", record
        received = {raw for raw, _ in line.sent}
        assert received and not received & {"", None, "unknown"}, received  # Asterisk did pass it on
    for raw, command in line.sent:
        for fragment in ("EXEC System", "agi_arg", "result=49", "DROP", "reboot", "$(", ";", "%", "'"):
            assert fragment not in command, (raw, command)
    # and the server is healthy: the next caller goes through
    record = await line.call(MAIN_DID, [("pause", 2500), ("dtmf", "2")])
    assert record.outcome == "completed" and record.path[-1] == ("two", "hangup")


# A caller ID ending the AGI environment early with a blank line of its own
# and forging what Asterisk sends after it (the DID argument picks the flow).
FORGED_DID = "1%0d%0aagi_threadid%3a%201%0d%0aagi_arg_1%3a%20" + QUICK_DID + "%0d%0a%0d%0ay"


async def test_a_caller_id_with_a_blank_line_cannot_pick_another_flow(line):
    record = await line.call(MAIN_DID, [("pause", 500)], caller=FORGED_DID)
    assert record is None, record  # refused before any command: Asterisk plays its busy prompt
    assert line.refused() == 1 and not line.sent
    record = await line.call(MAIN_DID, [("pause", 2500), ("dtmf", "2")])
    assert (record.did, record.flow, record.outcome) == (MAIN_DID, "test", "completed")


async def test_with_the_ivr_down_the_caller_hears_the_busy_prompt(line, pbx_stack):
    await line.service.server.close()
    ami = await pbx_stack.ami(unfiltered=True)
    try:
        scenario = write_caller(line.tmp_path / "down", [("pause", 200)], "wait_bye")
        caller = line.sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                           [f"{line.sip.sip_host}:{line.sip.sip_port}", "-s", MAIN_DID, "-m", "1"], timeout=30)
        hangup = await ami.wait_event(lambda e: e.get("Event") == "Hangup" and e.get("Context") == "cc-ivr",
                                      timeout=20)
        assert hangup["Cause"] == "34"  # after the busy prompt: no circuit available
        while caller.running:
            await asyncio.sleep(0.1)
        assert caller.proc.returncode == 0, caller.log_tail()  # answered, then hung up by the PBX
    finally:
        await ami.close()
    assert not line.service.recent
