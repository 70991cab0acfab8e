"""A real browser phone against the real Asterisk: headless Chromium with a
fake microphone runs JsSIP (web/static/vendor/jssip.min.js) on a tiny page,
registers straight to Asterisk's SIP WebSocket, is rung by an Originate into
the microphone test (cc-webphone,echo) and dials it itself; DTLS-SRTP is
set up and RTP flows both ways (the page's getStats).

ICE: Asterisk offers host candidates of its non-loopback interfaces only
(pjlib skips loopback), and Chromium ignores loopback too. In a private
network namespace with only ``lo`` (how PBX tests run here) the test adds a
veth pair with a private address first."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import pytest
from aiohttp import web

from callcenter.pbx.render import PhoneConf, TrunkConf
from tests.browser import CHROMIUM, CHROMIUM_ARGS, ensure_webrtc_address

pytestmark = pytest.mark.pbx

ENDPOINT = "wb-lena"
PASSWORD = "login-3c5e7a9b1d2f4068"
JSSIP = Path(__file__).resolve().parent.parent / "web" / "static" / "vendor" / "jssip.min.js"
MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]

PAGE = """<!doctype html><meta charset="utf-8"><title>phone</title>
<audio id="far-end" autoplay></audio>
<script src="/jssip.min.js"></script>
<script>
window.phone = {state: "new", events: [], session: null};
function startPhone(config) {
  const ua = new JsSIP.UA({sockets: [new JsSIP.WebSocketInterface(config.url)], uri: config.uri,
                           password: config.password, register: true, session_timers: false});
  const note = (what) => { phone.state = what; phone.events.push(what); };
  ua.on("registered", () => note("registered"));
  ua.on("registrationFailed", (e) => note("failed:" + e.cause));
  ua.on("newRTCSession", (e) => {
    phone.session = e.session;
    e.session.on("confirmed", () => {
      // play what arrives, as the phone bar does (Chromium measures audio energy at playout)
      const audio = document.getElementById("far-end");
      audio.srcObject = new MediaStream(e.session.connection.getReceivers().map((r) => r.track));
      audio.play();
      note("confirmed");
    });
    e.session.on("ended", (x) => note("ended:" + x.cause));
    e.session.on("failed", (x) => note("call-failed:" + x.cause));
    if (e.originator === "remote") { note("ringing"); e.session.answer({mediaConstraints: {audio: true, video: false}}); }
  });
  window.ua = ua;
  ua.start();
}
function dial(target) {
  ua.call(target, {mediaConstraints: {audio: true, video: false}});
}
async function mediaStats() {
  const pc = phone.session && phone.session.connection;
  if (!pc) return null;
  const stats = await pc.getStats();
  const out = {inbound: 0, outbound: 0, energy: 0, codec: null, dtls: null, srtp: null, pair: null};
  const all = {};
  stats.forEach((s) => { all[s.id] = s; });
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.inbound = s.packetsReceived; out.energy = s.totalAudioEnergy || 0;
      if (all[s.codecId]) out.codec = all[s.codecId].mimeType;
    }
    if (s.type === "outbound-rtp" && s.kind === "audio") out.outbound = s.packetsSent;
    if (s.type === "transport") {
      out.dtls = s.dtlsState; out.srtp = s.srtpCipher || null;
      const pair = all[s.selectedCandidatePairId];
      if (pair) out.pair = (all[pair.localCandidateId] || {}).address + " -> " + (all[pair.remoteCandidateId] || {}).address;
    }
  });
  return out;
}
</script>"""


@pytest.fixture(scope="module")
def media_interface():
    """A non-loopback IPv4 address for ICE (tests/browser.py: a veth pair in a private namespace)."""
    return ensure_webrtc_address()


@pytest.fixture(params=["alaw"])
def codec(request):
    return request.param


@pytest.fixture
def phone_config(pbx_stack, media_interface, codec):
    """wb-lena configured with ``codec`` first ([webphone] codec)."""
    saved = pbx_stack.settings.webphone
    pbx_stack.settings.webphone = dataclasses.replace(saved, codec=codec)
    md5 = hashlib.md5(f"{ENDPOINT}:{pbx_stack.settings.pbx.sip_realm}:{PASSWORD}".encode()).hexdigest()
    pbx_stack.configure([TrunkConf("carrier1", "127.0.0.2", 5060, 30)],
                        [PhoneConf(ENDPOINT, md5, None, browser=True)])
    yield {"url": f"ws://127.0.0.1:{pbx_stack.http_port}/ws", "password": PASSWORD,
           "uri": f"sip:{ENDPOINT}@{pbx_stack.settings.pbx.sip_realm}"}
    pbx_stack.settings.webphone = saved


@pytest.fixture
async def page_url():
    """The test page and JsSIP from 127.0.0.1 (a secure context: getUserMedia works)."""
    async def page(_):
        return web.Response(text=PAGE, content_type="text/html")

    async def jssip(_):
        return web.FileResponse(JSSIP)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/jssip.min.js", jssip)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@pytest.fixture
async def chromium_page(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + MEDIA_ARGS,
                                           headless=True)
        try:
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            await browser.close()


@pytest.fixture
async def ami(pbx_stack):
    client = await pbx_stack.ami()
    yield client
    await client.close()


async def registered_phone(page, page_url: str, config: dict):
    await page.goto(page_url)
    await page.evaluate(f"startPhone({json.dumps(config)})")
    await page.wait_for_function("phone.state !== 'new'")
    assert await page.evaluate("phone.state") == "registered"


async def media_flowing(page, seconds: float = 10.0) -> dict:
    """getStats once packets flow both ways and sound was heard (or the last
    stats after ``seconds``)."""
    stats = None
    for _ in range(int(seconds * 4)):
        stats = await page.evaluate("mediaStats()")
        if stats and stats["inbound"] > 100 and stats["outbound"] > 100 and stats["energy"] > 0:
            break
        await asyncio.sleep(0.25)
    return stats


@pytest.mark.parametrize("codec, mime", [("alaw", "audio/PCMA"), ("opus", "audio/opus")])
async def test_rung_by_originate_the_browser_answers_and_media_flows_over_dtls_srtp(
        codec, mime,
        pbx_stack, phone_config, page_url, chromium_page, ami):
    page = chromium_page
    await registered_phone(page, page_url, phone_config)
    await ami.wait_event(lambda e: e.get("Event") == "ContactStatus" and e.get("AOR") == ENDPOINT
                         and e.get("ContactStatus") == "Reachable", timeout=10)
    resp = await ami.action("Originate", Channel=f"PJSIP/{ENDPOINT}", Context="cc-webphone", Exten="echo",
                            Priority=1, Timeout=10000, Async="true")
    assert resp["Response"] == "Success", resp
    await page.wait_for_function("phone.events.includes('confirmed')")
    stats = await media_flowing(page)
    print("originate into echo:", stats)
    assert stats["dtls"] == "connected" and stats["srtp"]
    assert stats["inbound"] > 50 and stats["outbound"] > 50
    assert stats["codec"] == mime and stats["energy"] > 0   # Asterisk's first codec, heard
    await page.evaluate("phone.session.terminate()")
    await page.wait_for_function("phone.events.some(e => e.startsWith('ended'))")
    await _no_channels_left(ami)


async def test_the_page_dials_the_echo_test_and_hears_itself(pbx_stack, phone_config, page_url, chromium_page, ami):
    page = chromium_page
    await registered_phone(page, page_url, phone_config)
    await page.evaluate(f"dial('sip:echo@{pbx_stack.settings.pbx.sip_realm}')")
    await page.wait_for_function("phone.events.includes('confirmed') || phone.events.some(e => e.startsWith('call-failed'))")
    assert "confirmed" in await page.evaluate("phone.events")
    stats = await media_flowing(page)
    print("page dials echo:", stats)
    assert stats["dtls"] == "connected" and stats["inbound"] > 50 and stats["energy"] > 0
    await asyncio.sleep(2)   # the beep is long over: what is heard now is the page's own microphone
    assert (await page.evaluate("mediaStats()"))["energy"] > stats["energy"] + 0.01
    await page.evaluate("phone.session.terminate()")
    await _no_channels_left(ami)


async def _no_channels_left(ami, timeout: float = 10.0) -> None:
    for _ in range(int(timeout * 10)):
        _, channels = await ami.list_action("CoreShowChannels")
        if not channels:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"channels left: {[c['Channel'] for c in channels]}")


async def test_a_page_that_vanishes_mid_call_loses_its_contact_at_once_but_not_its_call(
        pbx_stack, phone_config, page_url, chromium_page, ami):
    """No BYE, the WebSocket just closes (a crash, a lost network): Asterisk
    removes the contact at once but keeps the channel up (until rtp_timeout,
    30 s, rendered as the backstop). So the server hangs the channel up when
    the contact goes: tests/test_webphone_e2e.py, the socket cut mid-call."""
    page = chromium_page
    await registered_phone(page, page_url, phone_config)
    resp = await ami.action("Originate", Channel=f"PJSIP/{ENDPOINT}", Context="cc-webphone", Exten="echo",
                            Priority=1, Timeout=10000, Async="true")
    assert resp["Response"] == "Success", resp
    await page.wait_for_function("phone.events.includes('confirmed')")
    assert (await media_flowing(page))["inbound"] > 50
    mark = len(ami.events)
    closed_at = time.monotonic()
    await page.close()
    await ami.wait_event(lambda e: e.get("ContactStatus") == "Removed" and e.get("AOR") == ENDPOINT,
                         start=mark, timeout=3)
    _, channels = await ami.list_action("CoreShowChannels")
    assert [c["ChannelStateDesc"] for c in channels if c["Channel"].startswith(f"PJSIP/{ENDPOINT}-")] == ["Up"]
    assert time.monotonic() - closed_at < 3
    await ami.action("Hangup", Channel=f"/^PJSIP/{ENDPOINT}-.*$/")
    await _no_channels_left(ami)
