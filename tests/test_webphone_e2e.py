"""The web phone end to end, nothing stood in for: the real server (its
/api/v1/phone, the /sip relay), the real Asterisk, a sipp customer and the
desk in Debian's headless chromium whose fake microphone plays a 700 Hz tone
(``--use-file-for-fake-audio-capture``); the customer (sipp, A-law) plays
500 Hz.

- A browser-mode agent logs in, lands on the desk, the phone registers
  (Asterisk lists the contact); click-to-call from the page's own session
  rings the page, which answers by itself; the customer is bridged, the call
  connects, the page's quality reports give the call row a MOS, the customer
  hears the browser's tone (RTP captured on lo) and the recording holds both
  tones; "Hang up" on the bar ends both legs (sipp gets its BYE) and frees the
  trunk channel.
- Mute and Hold on the bar silence the agent for the customer and give the
  voice back; the keypad's digits reach the customer (RFC 4733, in order).
- "Test my headset" calls the real echo extension: the page hears itself.
- A queue call rings the desk with Answer / Decline and is answered by a
  click; the queue member is then in a call.
- The server closes the phone's socket (as a restart would): the bar says it
  is reconnecting, and the phone is registered again within 10 s. Cut in the
  middle of a call, the call ends on both sides at once (the customer gets
  a BYE) and the trunk channel is free.
- Logout from the desk revokes the credentials: a REGISTER with the password
  the page was given, sent straight to Asterisk, is refused.

The microphone's tone comes in beeps (0.3 s on, 0.2 s off), as speech does:
the page's noise suppression fades a steady tone out within 2 s.
ICE needs a non-loopback address: tests/browser.py ``webrtc_address``.
Screenshot: docs/screenshots/webphone.png with CC_DOCS_SCREENSHOTS=1."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from callcenter.ami import AmiError
from callcenter.auth.tokens import create_token
from callcenter.calls.recordings import recording_path
from callcenter.models import Call
from callcenter.pbx.sync import admin_list
from tests.browser import CHROMIUM, CHROMIUM_ARGS, WebUser, login, screenshot, watch_console
from tests.harness import TrunkSpec, eventually
from tests.rtp_tones import RtpCapture, frames_with, tone_scenario, wav_tones, write_tone_pcap, write_tone_wav
from tests.sip_ws import SipWsClient
from tests.stack import SIPP_DIR, free_port

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(120)]

DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "webphone.png"
CARRIER_IP = "127.0.0.2"
BROWSER_TONE, CUSTOMER_TONE = 700, 500
CUSTOMER = "+91 98765 43210"
ENDPOINT = "wb-lena"
LENA = WebUser("lena", "agent", password="lena-password-1", display_name="Lena Iyer",
               fields={"phone_mode": "browser", "sip_endpoint": ENDPOINT, "agent_kind": "center"})
QUEUE = "care"
LAPTOP = {"width": 1280, "height": 720}
FAST_QUALITY = {"quality_interval": 1.0}    # [webphone]: a report every second of a call


@pytest.fixture
async def desk_page(tmp_path, webrtc_address):
    """Chromium whose microphone (granted) plays a 700 Hz tone, sound played without a click."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    from playwright.async_api import async_playwright

    tone = write_tone_wav(tmp_path / f"mic-{BROWSER_TONE}.wav", BROWSER_TONE, beeps=(0.3, 0.2))
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={tone}", "--autoplay-policy=no-user-gesture-required"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + args, headless=True)
        try:
            page = await browser.new_page(viewport=LAPTOP)
            page.set_default_timeout(15_000)
            yield page
        finally:
            await browser.close()


@pytest.fixture
def customer(sipp, tmp_path):
    """The customer's (or queue caller's) side at the carrier: answers, plays 500 Hz, one call, then exits."""
    scenario = tone_scenario(SIPP_DIR / "uas_answer.xml",
                             write_tone_pcap(tmp_path / f"{CUSTOMER_TONE}.pcap", CUSTOMER_TONE),
                             tmp_path / "uas_customer.xml")
    return sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-m", "1"], timeout=90)


async def open_desk(page, server) -> dict:
    """Log in as lena: the desk, the phone registered; the GET /api/v1/phone answer the page got."""
    phone = {}

    async def keep(response):
        if response.url == server.base_url + "/api/v1/phone" and response.request.method == "GET" and response.ok:
            phone.update(await response.json())

    page.on("response", keep)
    await login(page, LENA.name, LENA.password, server.base_url)
    await page.wait_for_url(server.base_url + "/desk?page=%2Fbuckets")
    await expect(page.locator("#phone-bar")).to_have_attribute("data-state", "registered")
    await expect(page.locator("#phone-state")).to_have_text("Phone ready")
    await eventually(lambda: phone, "the page's GET /api/v1/phone")
    assert phone["endpoint"] == ENDPOINT and phone["password"]
    return phone


async def asterisk_contacts(server) -> list[dict]:
    """Asterisk's own list of wb-lena's registered contacts (admin AMI user)."""
    try:
        events = await admin_list(server.settings, "PJSIPShowContacts")
    except AmiError as error:   # "No Contacts found" comes as an error
        if "no contacts found" in str(error).lower():
            return []
        raise
    return [e for e in events if e.get("Event") == "ContactList" and e.get("Endpoint") == ENDPOINT
            and e.get("Status") not in ("Removed", "Unreachable", "Unavailable")]


async def page_api(page, method: str, path: str, body=None) -> tuple[int, dict]:
    """A request from the desk, with its session cookie and CSRF token (as the page's own code sends)."""
    return await page.evaluate("""async ([method, path, body]) => {
        const resp = await window.ccPhone.api(method, path, body === null ? undefined : body);
        const text = await resp.text();
        return [resp.status, text ? JSON.parse(text) : {}];
    }""", [method, path, body])


async def call_row(server, call_id: str) -> Call:
    async with server.services.sessions() as session:
        return (await session.scalars(select(Call).where(Call.id == call_id))).one()


async def test_click_to_call_rings_the_desk_it_answers_both_sides_are_recorded_and_hang_up_frees_all(
        web_server, desk_page, customer):
    page = desk_page
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", CARRIER_IP, customer.port)],
                              webphone=FAST_QUALITY)
    problems = watch_console(page)
    await open_desk(page, server)
    [contact] = await eventually(lambda: asterisk_contacts(server), "Asterisk listing the page's contact")
    assert "transport=ws" in contact["Uri"], contact
    assert server.services.webphone.registrations.is_online(ENDPOINT)

    # the agent clicks "Call" (the page's own session): the page rings and answers by itself
    status, placed = await page_api(page, "POST", "/api/v1/calls", {"agent": "lena", "number": CUSTOMER})
    assert status == 202, placed
    bar = page.locator("#phone-bar")
    await expect(bar).to_have_attribute("data-call", "answering")
    await expect(bar).to_have_attribute("data-call", "talking")
    call = await server.wait_state(placed["id"], "connected", timeout=20)
    assert call["legs"]["agent"]["channel"].startswith(f"PJSIP/{ENDPOINT}-"), call["legs"]
    await expect(page.locator("#phone-hangup")).to_be_visible()
    await expect(page.locator("#phone-peer")).to_contain_text("9876543210")   # whom the page is calling
    await expect(page.locator("#phone-timer")).not_to_have_text("0:00", timeout=5000)

    # the customer hears the browser's microphone (A-law to 127.0.0.2, captured on lo)
    capture = RtpCapture([CARRIER_IP])
    try:  # 100 frames (2 s of audio; a loaded run sends them slower: 45 in 2 s was seen)
        await eventually(lambda: len(capture.frames[CARRIER_IP]) >= 100, "2 s of audio at the customer", 15)
    finally:
        heard = capture.stop()[CARRIER_IP]
    with_tone = frames_with(heard, BROWSER_TONE)
    print(f"customer heard {len(heard)} frames, {with_tone} with the browser's {BROWSER_TONE} Hz")
    assert len(heard) > 50 and with_tone > 0.4 * len(heard)   # beeps: 0.3 s on, 0.2 s off

    # the page reports its call quality: the call row has a MOS, the bar shows it
    await eventually(lambda: _mos(server, placed["id"]), "a MOS on the call row", timeout=10)
    await page.wait_for_selector("#phone-quality[data-mos]")
    mos = float(await page.get_attribute("#phone-quality", "data-mos"))
    assert 1.0 <= mos <= 4.5
    await expect(page.locator("#phone-quality")).to_have_text(f"Call quality: good ({mos:.1f})")  # loopback: no loss
    await page.wait_for_function("() => Number(document.getElementById('phone-level').value) > 0")  # the mic's level
    if os.environ.get("CC_DOCS_SCREENSHOTS") == "1":  # the README's picture, refreshed on request only
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS_SCREENSHOT), full_page=False)
    await screenshot(page, "webphone-e2e-call", full_page=False)

    # hang up on the bar: both legs end, sipp got its BYE (one call done: it exits 0), the channel is free
    await page.click("#phone-hangup")
    await expect(bar).to_have_attribute("data-call", "none")
    await expect(page.locator("#phone-peer")).to_have_text("Call ended")
    await expect(page.locator("#phone-mute")).to_be_hidden()
    ended = await server.wait_state(placed["id"], "ended", timeout=15)
    assert ended["talk_seconds"] and ended["talk_seconds"] >= 2, ended
    await eventually(lambda: customer.proc.poll() is not None, "sipp's customer done after the BYE", timeout=10)
    assert customer.proc.returncode == 0, customer.log_tail()
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk
    assert not await server.services.ami.action_list("CoreShowChannels")

    # the recording holds both sides: the browser's tone and the customer's
    row = await call_row(server, placed["id"])
    assert row.mos is not None and row.quality_samples >= 1
    wav = await eventually(lambda: _recording(server, placed["id"]), "the recording's row and file", timeout=10)
    frames, found = wav_tones(wav, (BROWSER_TONE, CUSTOMER_TONE), share=0.04)
    print(f"recording {wav.stat().st_size} bytes, {frames} frames: "
          f"{found[BROWSER_TONE] / frames:.0%} hold {BROWSER_TONE} Hz, {found[CUSTOMER_TONE] / frames:.0%} "
          f"hold {CUSTOMER_TONE} Hz; MOS {row.mos}")
    assert frames > 100
    # the browser beeps 60 % of the time (seen: 61 %), the customer's tone never stops (seen: 100 %)
    assert found[BROWSER_TONE] > 0.4 * frames and found[CUSTOMER_TONE] > 0.9 * frames
    assert problems == [], problems


async def _mos(server, call_id):
    return (await call_row(server, call_id)).mos is not None


async def _recording(server, call_id):
    row = await call_row(server, call_id)      # linked a moment after the end (dialer/effects.py)
    path = await recording_path(server.services.sessions, server.settings.pbx.recordings_dir, row)
    return path if path is not None and path.stat().st_size > 44 else None


async def _queue_member(server) -> dict | None:
    events = await server.services.ami.action_list("QueueStatus", {"Queue": QUEUE})
    return next((e for e in events if e.get("Event") == "QueueMember"), None)


async def _board_member(server, admin: str) -> dict | None:
    resp = await server.client.get("/api/v1/queues/status", headers=server.headers(admin))
    assert resp.status == 200, await resp.text()
    queue = {q["name"]: q for q in (await resp.json())["queues"]}[QUEUE]
    return queue["members"][0] if queue["members"] else None


async def test_a_queue_call_rings_the_desk_with_answer_and_decline_and_is_answered(web_server, desk_page, customer):
    page = desk_page
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", CARRIER_IP, customer.port)])
    async with server.services.sessions() as session, session.begin():
        admin = await create_token(session, "queue-admin-e2e", "admin", actor="test")
    resp = await server.client.post("/api/v1/queues", headers=server.headers(admin), json={
        "name": QUEUE, "language": "en", "strategy": "leastrecent", "wrapup_seconds": 2,
        "max_wait_seconds": 60, "service_level_seconds": 20})
    assert resp.status == 201, await resp.text()
    await open_desk(page, server)
    status, me = await page_api(page, "POST", "/api/v1/queues/login", {})
    assert status == 200, me
    try:
        member = await eventually(lambda: _queue_member(server), "lena in the queue")
        assert member["Location"] == f"PJSIP/{ENDPOINT}"
        await eventually(lambda: _unpaused(server), "lena available (her phone is registered)", timeout=15)

        # a caller at the carrier is put into the queue: the desk rings, never answering by itself
        resp = await server.services.ami.action("Originate", {
            "Channel": "PJSIP/919876543210@carrier", "Application": "Queue", "Data": f"{QUEUE},I,,,30",
            "CallerID": "<919876543210>", "Async": "true"})
        assert resp["Response"] == "Success", resp
        bar = page.locator("#phone-bar")
        await expect(bar).to_have_attribute("data-call", "ringing")
        await expect(page.locator("#phone-answer")).to_be_visible()
        await expect(page.locator("#phone-decline")).to_be_visible()
        await expect(page.locator("#phone-peer")).to_contain_text("ringing")
        await page.wait_for_timeout(1500)
        await expect(bar).to_have_attribute("data-call", "ringing")
        await page.click("#phone-answer")
        await expect(bar).to_have_attribute("data-call", "talking")
        seen = await eventually(lambda: _in_call(server, admin), "the queue member in a call", timeout=10)
        assert seen["name"] == "lena"
        [bridge] = await eventually(lambda: _bridged(server), "the caller bridged to the page")
        print("queue call bridged:", bridge)

        await page.click("#phone-hangup")
        await expect(bar).to_have_attribute("data-call", "none")
        await eventually(lambda: customer.proc.poll() is not None, "the caller got the BYE", timeout=10)
        assert customer.proc.returncode == 0, customer.log_tail()
    finally:
        member = await _queue_member(server)
        if member is not None:
            await server.services.ami.action("QueueRemove", {"Queue": QUEUE, "Interface": member["Location"]})


async def _unpaused(server) -> bool:
    member = await _queue_member(server)
    return member is not None and member["Paused"] == "0"


async def _in_call(server, admin):
    member = await _board_member(server, admin)
    return member if member and member["state"] == "in_call" else None


async def _bridged(server):
    """The Up channels of the page and of the carrier, in one bridge."""
    channels = await server.services.ami.action_list("CoreShowChannels")
    ours = [c for c in channels if c["Channel"].startswith((f"PJSIP/{ENDPOINT}-", "PJSIP/carrier-"))
            and c.get("ChannelStateDesc") == "Up" and c.get("BridgeId")]
    bridges = {c["BridgeId"] for c in ours}
    return list(bridges) if len(ours) == 2 and len(bridges) == 1 else None


async def test_a_cut_socket_reconnects_and_registers_again_within_10_s(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    await open_desk(page, server)
    await eventually(lambda: asterisk_contacts(server), "Asterisk listing the page's contact")
    await page.evaluate("""() => { window.phoneStates = [];
        document.addEventListener('cc:phone-state', () => window.phoneStates.push(
            [document.getElementById('phone-state').dataset.state, document.getElementById('phone-state').textContent]));
    }""")
    # the server closes the browser's socket as a restart would (1012)
    started = time.monotonic()
    assert server.services.webphone.relay.end(server.user_ids["lena"], 1012, "test")
    state = page.locator("#phone-state")
    await expect(state).to_have_attribute("data-state", "connecting")
    await expect(state).to_have_text("Phone connection lost: reconnecting…")
    await expect(state).to_have_attribute("data-state", "registered", timeout=10_000)
    took = time.monotonic() - started
    print(f"registered again {took:.1f} s after the cut; states {await page.evaluate('window.phoneStates')}")
    assert took < 10
    await eventually(lambda: asterisk_contacts(server), "Asterisk listing the contact again", timeout=5)
    await eventually(lambda: server.services.webphone.registrations.is_online(ENDPOINT), "the server seeing it")


async def test_logout_from_the_desk_revokes_the_credentials_asterisk_refuses_them(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    phone = await open_desk(page, server)
    direct = f"ws://127.0.0.1:{server.settings.pbx.http_port}/ws"
    await eventually(lambda: asterisk_contacts(server), "Asterisk listing the page's contact")
    # the same password straight at Asterisk, before the logout: taken (a query, which leaves the page's contact)
    async with SipWsClient(direct, ENDPOINT, phone["password"], domain=phone["realm"]) as check:
        assert await check.register(query=True) == 200
    assert len(await asterisk_contacts(server)) == 1

    await page.frame_locator("#desk-frame").locator("#logout-form button").click()
    await page.wait_for_url(server.base_url + "/login")
    await eventually(lambda: _none(asterisk_contacts(server)), "the contact gone from Asterisk", timeout=10)

    async def refused():   # straight at Asterisk, bypassing the server: the page's password no longer works
        async with SipWsClient(direct, ENDPOINT, phone["password"], domain=phone["realm"]) as old:
            status = await old.register()
        return status if status in (401, 403, 404) else None
    status = await eventually(refused, "Asterisk refusing the revoked password", timeout=15, every=0.5)
    print("REGISTER with the logged-out password:", status)


async def _none(awaitable) -> bool:
    return not await awaitable


async def connected_call(page, server) -> str:
    """The agent's click-to-call, answered by the page by itself and connected to the customer: its id."""
    status, placed = await page_api(page, "POST", "/api/v1/calls", {"agent": "lena", "number": CUSTOMER})
    assert status == 202, placed
    await expect(page.locator("#phone-bar")).to_have_attribute("data-call", "talking")
    await server.wait_state(placed["id"], "connected", timeout=20)
    return placed["id"]


async def customer_hears(seconds: float = 1.5) -> tuple[int, int, list[int]]:
    """What Asterisk sends the customer for ``seconds``: (frames, frames with the browser's tone, DTMF codes)."""
    capture = RtpCapture([CARRIER_IP])
    await asyncio.sleep(seconds)      # a capture window, not a timing assertion
    capture.stop()
    frames = capture.frames[CARRIER_IP]
    return len(frames), frames_with(frames, BROWSER_TONE), capture.events[CARRIER_IP]


async def test_mute_hold_and_the_keypad_act_on_the_real_call(web_server, desk_page, customer):
    page = desk_page
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", CARRIER_IP, customer.port)])
    await open_desk(page, server)
    call_id = await connected_call(page, server)
    frames, toned, _ = await customer_hears()
    assert frames > 50 and toned > 0.4 * frames, (frames, toned)        # the customer hears the agent

    mute = page.locator("#phone-mute")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await expect(mute).to_have_text("Unmute")
    await asyncio.sleep(0.3)
    frames, toned, _ = await customer_hears()
    print(f"muted: {frames} frames, {toned} with the agent's tone")
    assert toned <= 2
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "false")
    frames, toned, _ = await customer_hears()
    assert toned > 0.3 * frames, (frames, toned)

    hold = page.locator("#phone-hold")
    await hold.click()
    await expect(hold).to_have_attribute("aria-pressed", "true")
    await expect(hold).to_have_text("Resume")
    await asyncio.sleep(0.3)
    frames, toned, _ = await customer_hears()
    print(f"on hold: {frames} frames, {toned} with the agent's tone")
    assert toned <= 2
    await hold.click()
    await expect(hold).to_have_attribute("aria-pressed", "false")
    frames, toned, _ = await customer_hears()
    assert toned > 0.3 * frames, (frames, toned)

    # the keypad: the digits reach the customer as RFC 4733 events
    await page.click("#phone-keypad-toggle")
    capture = RtpCapture([CARRIER_IP])
    try:
        for digit in "59#":
            await page.click(f"#phone-keypad [data-digit='{digit}']")
            await asyncio.sleep(0.4)
        await eventually(lambda: {5, 9, 11} <= set(capture.events[CARRIER_IP]), "the digits at the customer",
                         timeout=5)
    finally:
        capture.stop()
    codes = [c for i, c in enumerate(capture.events[CARRIER_IP]) if i == 0 or c != capture.events[CARRIER_IP][i - 1]]
    assert codes == [5, 9, 11], codes                                        # in order, each once

    await page.click("#phone-hangup")
    await server.wait_state(call_id, "ended", timeout=15)
    assert (await server.trunks())["carrier"]["reserved"] == 0


async def test_the_headset_test_calls_the_real_echo_and_the_agent_hears_themself(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    await open_desk(page, server)
    await page.click("#phone-settings summary")
    echo = page.locator("#phone-echo-test")
    await expect(echo).to_be_enabled()
    await echo.click()
    bar = page.locator("#phone-bar")
    await expect(bar).to_have_attribute("data-call", "talking")
    await expect(page.locator("#phone-peer")).to_have_text("Headset test: you should hear yourself")
    await expect(echo).to_be_disabled()
    # the real echo extension: a beep, then Echo() sends the page's own sound back
    [channel] = await eventually(lambda: _echoing(server), "the page's channel in Echo()", timeout=10)
    assert channel["Channel"].startswith(f"PJSIP/{ENDPOINT}-") and channel["Context"] == "cc-webphone", channel
    energy = """async () => {
        const stats = await window.ccPhoneCall.session().connection.getStats();
        const inbound = [...stats.values()].find(s => s.type === 'inbound-rtp' && s.kind === 'audio');
        return inbound ? inbound.totalAudioEnergy || 0 : 0;
    }"""
    before = await page.evaluate(energy)
    await eventually(lambda: _more(page.evaluate(energy), before + 0.01), "the page hearing itself back", timeout=5)
    await page.click("#phone-hangup")
    await expect(bar).to_have_attribute("data-call", "none")
    await eventually(lambda: _none(_channels(server)), "no channel left", timeout=5)
    await expect(echo).to_be_enabled()


async def _channels(server) -> list[dict]:
    return await server.services.ami.action_list("CoreShowChannels")


async def _echoing(server):
    channels = await _channels(server)
    return channels if len(channels) == 1 and channels[0].get("Application") == "Echo" else None


async def _more(awaitable, than: float) -> bool:
    return await awaitable > than


async def test_a_socket_cut_mid_call_ends_the_call_on_both_sides_and_frees_the_line(web_server, desk_page, customer):
    """The network drops under a call: the page says the call ended and registers
    again; the server hangs the agent's channel up at once (Asterisk alone
    would wait for rtp_timeout), so the customer gets a BYE and the trunk
    channel is free, not held by a call nobody can hear."""
    page = desk_page
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", CARRIER_IP, customer.port)])
    await open_desk(page, server)
    call_id = await connected_call(page, server)
    started = time.monotonic()
    assert server.services.webphone.relay.end(server.user_ids["lena"], 1012, "test")
    ended = await server.wait_state(call_id, "ended", timeout=10)
    took = time.monotonic() - started
    print(f"call ended {took:.1f} s after the cut: {ended['end_reason']}, hung up by {ended['hangup_by']}")
    assert took < 5   # not rtp_timeout's 30 s
    await eventually(lambda: customer.proc.poll() is not None, "sipp's customer got its BYE", timeout=10)
    assert customer.proc.returncode == 0, customer.log_tail()
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk
    assert not await server.services.ami.action_list("CoreShowChannels")
    await expect(page.locator("#phone-bar")).to_have_attribute("data-call", "none")
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered", timeout=10_000)
