"""The IVR inside the whole server (as `callcenter serve` runs it) with the
shipped main flow and prompts: a caller from a known customer's number picks
Hindi, waits for a queue nobody serves and takes the call-back offer; the
path shows in the session record and on /metrics."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import pytest

from callcenter.customers.models import Customer
from tests.harness import TrunkSpec
from tests.sipp.inbound_caller import write_caller
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.3"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def own_ivr_port(pbx_stack):
    """The server under test listens on a port of its own (other test runs on
    this machine may hold 4573) and the dialplan is reloaded to match."""
    saved = pbx_stack.settings.ivr
    pbx_stack.settings.ivr = dataclasses.replace(saved, port=free_port("127.0.0.1", udp=False))
    yield pbx_stack.settings.ivr.port
    pbx_stack.settings.ivr = saved
    pbx_stack.configure([], [])
    pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])


async def test_the_main_flow_in_the_server(call_server, pbx_stack, sipp, tmp_path, own_ivr_port):
    server = await call_server(trunks=[TrunkSpec("carrier", CARRIER_IP, 5099)])
    ivr = server.services.ivr
    assert ivr is not None and ivr.server.port == own_ivr_port
    [(resp, _)] = pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])
    assert resp["Response"] == "Success"
    ivr.clock = lambda: dt.datetime(2026, 11, 23, 12, 0, tzinfo=IST)  # open hours
    async with server.services.sessions() as session, session.begin():
        session.add(Customer(mobile="+919876543210", name="Asha", language="ta"))

    # welcome (4.6 s), the language menu: 2 (Hindi) at 7 s; welcome-back (4.6 s),
    # please-hold (5.2 s), the queue nobody serves, the call-back offer (4.7 s
    # + 6 s to answer, from about 17 s): 1 at 21 s; thanks; hang-up
    scenario = write_caller(tmp_path / "call", [("pause", 7000), ("dtmf", "2"), ("pause", 14000), ("dtmf", "1")],
                            end="wait_bye", caller="+919876543210")
    sip = server.settings.pbx
    caller = sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                  [f"{sip.sip_host}:{sip.sip_port}", "-s", "8062247005", "-m", "1"], timeout=60)
    deadline = time.monotonic() + 50
    while caller.running or not ivr.recent:
        assert time.monotonic() < deadline, caller.log_tail()
        await asyncio.sleep(0.2)
    assert caller.proc.returncode == 0, caller.log_tail()
    record = ivr.recent[-1]
    assert (record.flow, record.caller, record.outcome, record.callback_requested) == \
        ("main", "+919876543210", "completed", True)
    assert record.path == [("welcome", "next"), ("language", "2"), ("hindi", "next"), ("lookup", "known"),
                           ("welcome_back", "next"), ("hours", "open"), ("queue", "unavailable"),
                           ("offer_callback_closed", "accepted"), ("callback_booked", "hangup")], record.path
    metrics = await (await server.client.get("/metrics")).text()
    assert 'callcenter_ivr_node_exits_total{exit="2",flow="main",node="language"} 1.0' in metrics
    assert 'callcenter_ivr_sessions_total{outcome="completed"} 1.0' in metrics
