"""AmiLink against tests/fake_ami.py (no real Asterisk needed)."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from callcenter.ami import AmiError, AmiLink, AmiNotConnected, AmiTimeout
from callcenter.config import AmiSettings

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

try:
    from fake_ami import FakeAmi, event
except ImportError:  # tests/ imported as a package
    from tests.fake_ami import FakeAmi, event

SECRET = "s3cret-s3cret-s3cret"


def settings(port: int, **kw) -> AmiSettings:
    # pings slow enough that a loaded machine's late loop never takes a healthy link for dead
    # (a reconnect mid-test lost the pushed events); the dead-peer test sets its own
    base = dict(host="127.0.0.1", port=port, username="cc", secret=SECRET, ping_interval=1.0,
                ping_timeout=3.0, action_timeout=1.0, reconnect_backoff_max=0.2)
    base.update(kw)
    return AmiSettings(**base)


@pytest.fixture
async def ami():
    fake = FakeAmi(secret=SECRET)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def make_link():
    links: list[AmiLink] = []

    async def make(port: int, *, start: bool = True, wait: bool = True, **kw) -> AmiLink:
        callbacks = {k: kw.pop(k) for k in ("on_event", "on_connected", "on_disconnected") if k in kw}
        link = AmiLink(settings(port, **kw), **callbacks)
        links.append(link)
        if start:
            await link.start()
            if wait:
                await link.wait_connected(3)
        return link

    yield make
    for link in links:
        await link.close()


async def test_login_and_events_as_plain_dicts(ami, make_link):
    got: list[dict] = []
    connected = asyncio.Event()
    link = await make_link(ami.port, on_event=got.append, on_connected=connected.set)
    await asyncio.wait_for(connected.wait(), 2)
    assert link.connected and link.reconnects == 0
    login = ami.last("Login")
    assert login["Username"] == "cc" and login["Secret"] == SECRET and login["Events"] == "on"
    await ami.push(event("Newchannel", Channel="PJSIP/trunk-00000001", Uniqueid="1.1")
                   + event("Hangup", Channel="PJSIP/trunk-00000001", Uniqueid="1.1", Cause="16"))
    await ami.wait_for(lambda: len(got) >= 3, 2)
    assert got[0]["Event"] == "FullyBooted"
    assert got[1] == {"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001", "Uniqueid": "1.1"}
    assert type(got[1]) is dict
    assert got[2]["Event"] == "Hangup" and got[2]["Cause"] == "16"
    assert link.events_received == 3


async def test_secret_is_never_logged(ami, make_link, caplog):
    caplog.set_level(logging.DEBUG)
    await make_link(ami.port)
    assert SECRET not in caplog.text


async def test_multibyte_names_split_byte_by_byte(ami, make_link):
    got: list[dict] = []
    await make_link(ami.port, on_event=got.append)
    data = event("Newchannel", CallerIDName="प्रिया", ConnectedLineName="ಪ್ರಿಯಾ", Uniqueid="2.1")
    await ami.push(data, chunk=1, delay=0.001)
    await ami.wait_for(lambda: any(e.get("Uniqueid") == "2.1" for e in got), 15)  # ~300 pauses, on a busy machine
    ev = [e for e in got if e.get("Uniqueid") == "2.1"][0]
    assert ev["CallerIDName"] == "प्रिया"
    assert ev["ConnectedLineName"] == "ಪ್ರಿಯಾ"


async def test_handler_exception_does_not_kill_the_link(ami, make_link, caplog):
    got: list[dict] = []

    def handler(ev):
        if ev["Event"] == "Boom":
            raise RuntimeError("handler bug")
        got.append(ev)

    link = await make_link(ami.port, on_event=handler)
    await ami.push(event("Boom") + event("After"))
    await ami.wait_for(lambda: any(e["Event"] == "After" for e in got), 2)
    assert link.connected and link.handler_errors == 1
    assert "handler bug" in caplog.text
    assert (await link.action("Ping"))["Ping"] == "Pong"


@pytest.mark.parametrize("headers, variables", [
    ({"Channel": "PJSIP/1\r\nAction: Originate"}, {}),
    ({"Channel": "PJSIP/1\nX"}, {}),
    ({"Channel": "PJSIP/1\rX"}, {}),
    ({"Channel": "PJSIP/1\0"}, {}),
    ({"Bad Name": "x"}, {}),
    ({"Bad:Name": "x"}, {}),
    ({"1Channel": "x"}, {}),
    ({"Channel\r\nX": "x"}, {}),
    ({"ActionID": "mine"}, {}),
    ({"Channel": "a", "channel": "b"}, {}),
    ({"Channel": "PJSIP/1"}, {"lower": "x"}),
    ({"Channel": "PJSIP/1"}, {"BAD-NAME": "x"}),
    ({"Channel": "PJSIP/1"}, {"NAME": "a\r\nAction: Hangup"}),
    ({"Channel": "PJSIP/1"}, {"NAME": "a\0"}),
    ({"Channel": "PJSIP/1"}, {"NAME=X": "a"}),
])
async def test_unsafe_headers_raise_before_anything_is_sent(ami, make_link, headers, variables):
    link = await make_link(ami.port)
    await asyncio.sleep(0.05)
    before = len(ami.raw)
    with pytest.raises(ValueError):
        await link.originate(headers, variables, timeout=1)
    with pytest.raises(ValueError):
        await link.action("Originate", headers, variables=variables)
    await asyncio.sleep(0.1)
    assert len(ami.raw) == before
    assert ami.count("Originate") == 0
    assert link.actions_sent == 1  # the Login


async def test_bad_action_name_raises(ami, make_link):
    link = await make_link(ami.port)
    with pytest.raises(ValueError):
        await link.action("Ping\r\nAction: Hangup")


async def test_originate_sends_variables_as_repeated_lines(ami, make_link):
    link = await make_link(ami.port)
    reply = await link.originate(
        {"Channel": "PJSIP/9198765@trunk", "Context": "out", "Exten": "s", "Priority": "1",
         "Async": "true", "CallerID": "प्रिया <100>"},
        {"CALL_ID": "42", "CAMPAIGN": "ಪ್ರಿಯಾ"}, timeout=2)
    assert reply["Response"] == "Success"
    sent = ami.last("Originate")
    assert sent["Variable"] == ["CALL_ID=42", "CAMPAIGN=ಪ್ರಿಯಾ"]
    assert sent["CallerID"] == "प्रिया <100>"
    assert sent["ActionID"] == reply["ActionID"]


async def test_error_response_raises_ami_error(ami, make_link):
    ami.originate = "error"
    link = await make_link(ami.port)
    with pytest.raises(AmiError) as info:
        await link.originate({"Channel": "PJSIP/1"}, {}, timeout=2)
    assert not isinstance(info.value, (AmiNotConnected, AmiTimeout))
    assert info.value.message == "Originate failed"
    assert info.value.response["Response"] == "Error"
    assert link.connected


async def test_pending_originate_fails_on_disconnect_and_is_never_resent(ami, make_link):
    ami.originate = "silent"
    disconnects = []
    link = await make_link(ami.port, action_timeout=5.0, on_disconnected=lambda: disconnects.append(1))
    task = asyncio.create_task(link.originate({"Channel": "PJSIP/1"}, {"X": "1"}, timeout=5))
    await ami.wait_for(lambda: ami.count("Originate") == 1, 2)
    await ami.drop()
    with pytest.raises(AmiNotConnected):
        await asyncio.wait_for(task, 2)
    assert disconnects == [1]
    # while down: immediate failure, nothing queued
    if not link.connected:
        with pytest.raises(AmiNotConnected):
            await link.originate({"Channel": "PJSIP/2"}, {}, timeout=5)
    await ami.wait_for(lambda: link.connected and link.reconnects == 1, 3)
    ami.originate = "success"
    await ami.push(event("FullyBooted", Status="Fully Booted"))  # panoramisk re-sends on this
    await asyncio.sleep(2.0)
    assert ami.count("Originate") == 1
    assert disconnects == [1]


async def test_originate_while_disconnected_fails_immediately():
    link = AmiLink(settings(1))
    t0 = time.monotonic()
    with pytest.raises(AmiNotConnected):
        await link.originate({"Channel": "PJSIP/1"}, {}, timeout=5)
    with pytest.raises(AmiNotConnected):
        await link.action("Ping")
    assert time.monotonic() - t0 < 0.1
    await link.close()


async def test_action_timeout_and_late_reply_ignored(ami, make_link):
    ami.originate = "silent"
    link = await make_link(ami.port)
    t0 = time.monotonic()
    with pytest.raises(AmiTimeout):
        await link.originate({"Channel": "PJSIP/1"}, {}, timeout=0.3)
    assert 0.25 < time.monotonic() - t0 < 3.0  # timed out, not hung (a loaded machine is late)
    late_id = ami.last("Originate")["ActionID"]
    assert link.action_timeouts == 1 and late_id not in link._pending
    await ami.push(f"Response: Success\r\nActionID: {late_id}\r\nMessage: late\r\n\r\n".encode())
    await asyncio.sleep(0.1)
    assert link.connected
    assert (await link.action("Ping"))["Ping"] == "Pong"


async def test_dead_peer_detected_and_reconnected(ami, make_link):
    s = dict(ping_interval=0.3, ping_timeout=0.4)
    link = await make_link(ami.port, **s)
    await asyncio.sleep(0.7)  # a few healthy pings
    assert link.connected and link.ping_failures == 0
    ami.answer_ping = False
    t0 = time.monotonic()
    await ami.wait_for(lambda: not link.connected, 3)
    detected = time.monotonic() - t0
    assert detected <= s["ping_interval"] + s["ping_timeout"] + 1
    ami.answer_ping = True
    await ami.wait_for(lambda: link.connected, 3)
    assert link.reconnects == 1 and ami.logins == 2 and link.ping_failures == 1


async def test_server_without_banner_is_retried(make_link):
    async with FakeAmi(banner=False) as fake:
        link = await make_link(fake.port, wait=False, action_timeout=0.3)
        await fake.wait_for(lambda: fake.connections >= 2, 3)
        assert not link.connected and link.connect_failures >= 1
        fake.banner = True
        await link.wait_connected(3)
        assert fake.logins == 1


async def test_server_never_answering_login_is_retried(make_link):
    async with FakeAmi(answer_login=False) as fake:
        link = await make_link(fake.port, wait=False, action_timeout=0.3)
        await fake.wait_for(lambda: fake.count("Login") >= 2, 3)
        assert not link.connected
        fake.answer_login = True
        await link.wait_connected(3)


async def test_refused_login_is_retried_and_wait_connected_times_out(make_link):
    async with FakeAmi(secret="another-secret-entirely") as fake:
        link = await make_link(fake.port, wait=False)
        with pytest.raises(AmiNotConnected):
            await link.wait_connected(0.5)
        assert fake.count("Login") >= 2
        fake.secret = SECRET
        await link.wait_connected(3)


async def test_nobody_listening_backs_off(make_link):
    fake = await FakeAmi().start()
    port = fake.port
    await fake.close()
    link = await make_link(port, wait=False, reconnect_backoff_max=0.1)
    await asyncio.sleep(0.5)
    assert link.connect_failures >= 2 and not link.connected


async def test_on_connected_runs_after_each_login_and_can_reconcile(ami, make_link):
    ami.channels = 3
    seen: list[int] = []
    link: AmiLink | None = None

    async def reconcile():
        seen.append(len(await link.action_list("CoreShowChannels")))

    link = await make_link(ami.port, wait=False, on_connected=reconcile)
    await ami.wait_for(lambda: seen == [3], 3)
    await ami.drop()
    await ami.wait_for(lambda: seen == [3, 3], 3)
    assert link.reconnects == 1


async def test_action_list_returns_all_entries(ami, make_link):
    ami.channels = 3000
    link = await make_link(ami.port)
    entries = await link.action_list("CoreShowChannels", timeout=5)
    assert len(entries) == 3000
    assert {e["Event"] for e in entries} == {"CoreShowChannel"}
    assert entries[0]["Channel"] == "PJSIP/trunk-00000000"
    assert entries[-1]["CallerIDName"] == "प्रिया 2999"
    ami.channels = 0
    assert await link.action_list("CoreShowChannels") == []


async def test_flood_does_not_stall_the_loop(ami, make_link):
    n = 50_000
    count = 0

    def on_event(ev):
        nonlocal count
        count += 1

    # pings far apart: this is about the events, and the fake server shares the busy loop
    link = await make_link(ami.port, on_event=on_event, ping_interval=5.0, ping_timeout=5.0)
    count = 0
    one = event("Newstate", Privilege="call,all", Channel="PJSIP/trunk-0000001a", ChannelState="5",
                ChannelStateDesc="Ringing", CallerIDNum="919876543210", CallerIDName="प्रिया",
                ConnectedLineNum="100", ConnectedLineName="Agent", Language="en", AccountCode="",
                Context="agents", Exten="s", Priority="1", Uniqueid="1700000000.1",
                Linkedid="1700000000.1")
    flood = one * n
    worst = 0.0
    stop = False

    async def ticker():
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not stop:
            t = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - t - 0.01)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    await ami.push(flood)
    await ami.wait_for(lambda: count >= n, 15)
    stop = True
    await tick
    assert count == n
    # reading 50,000 events in one go would stall it for seconds; the OS may
    # hold a process back some tens of ms when four test shards share two cores
    assert worst < 0.2, f"loop stalled {worst * 1000:.0f} ms"
    assert link.connected
    assert (await link.action("Ping"))["Ping"] == "Pong"


async def test_close_fails_pending_and_leaves_no_tasks(ami, make_link):
    ami.originate = "silent"
    disconnects = []
    link = await make_link(ami.port, on_disconnected=lambda: disconnects.append(1),
                           on_connected=lambda: None)
    task = asyncio.create_task(link.originate({"Channel": "PJSIP/1"}, {}, timeout=5))
    await ami.wait_for(lambda: ami.count("Originate") == 1, 2)
    await link.close()
    with pytest.raises(AmiNotConnected):
        await task
    assert not link.connected and disconnects == [1]
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await link.close()  # idempotent
    with pytest.raises(AmiNotConnected):
        await link.action("Ping")


async def test_close_while_connecting_leaves_no_tasks(make_link):
    async with FakeAmi(banner=False) as fake:
        link = await make_link(fake.port, wait=False, action_timeout=5)
        await fake.wait_for(lambda: fake.connections == 1, 2)
        await link.close()
        assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_one_huge_chunk_is_dispatched_in_slices(ami, make_link):
    """asyncio reads at most 256 kB at a time; feed a bigger chunk directly
    to check the slicing itself: at most SLICE messages per loop iteration,
    reading paused meanwhile, order kept, other tasks keep running."""
    from callcenter.ami.link import SLICE

    seen: list[str] = []
    link = await make_link(ami.port, on_event=lambda ev: seen.append(ev.get("N", "")))
    seen.clear()
    n = 20_000
    blob = b"".join(event("Newstate", N=str(i), CallerIDName="ಪ್ರಿಯಾ", Channel="PJSIP/x")
                    for i in range(n))
    proto = link._protocol
    ticks = 0

    async def ticker():
        nonlocal ticks
        while len(seen) < n:
            ticks += 1
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    proto.data_received(blob)
    assert 0 < len(seen) <= SLICE
    assert not proto.transport.is_reading()
    await ami.wait_for(lambda: len(seen) == n, 5)
    await tick
    assert seen == [str(i) for i in range(n)]
    assert ticks >= n // SLICE - 1
    assert proto.transport.is_reading()
    assert (await link.action("Ping"))["Ping"] == "Pong"
