"""The agent's desk (the web phone's page) in Debian's chromium (Playwright,
headless, a fake microphone) against the real server: an agent in the
browser phone mode logs in and lands on the desk, the phone bar registers,
pages change inside the frame while the phone (its top document and its one
SIP WebSocket) stays; the desk's address follows the frame so a reload keeps
the page; another site is never framed; a takeover (close code 4002) says so
and does not reconnect until "Use the phone here"; any other drop reconnects
within 10 s; logging out from a page in the frame unregisters the phone,
revokes its credentials and leaves the desk for /login; a refused microphone
is said plainly.

GET/DELETE /api/v1/phone are the server's own (counted by
tests/webphone_standins.py ``PhoneApiWatch``); so is /sip to Asterisk where a
test only needs the phone registered. One STAND-IN is left: where a test must
ring the phone at will or close its socket with a chosen code, /sip is
answered by ``page.route_web_socket`` (``SipStandIn``: a registrar that can
also ring the page, with an SDP offer from a second RTCPeerConnection in the
page, so media really flows). A real call, its buttons, the echo test and the
quality reports: tests/test_webphone_e2e.py.
Screenshots: test-artifacts/screenshots/webphone-*.png."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, WebUser, fits_the_screen, login, screenshot, watch_console
from tests.harness import eventually
from tests.webphone_standins import PhoneApiWatch, SipStandIn, SocketWatch

pytestmark = pytest.mark.pbx

FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
LENA = WebUser("lena", "agent", password="lena-password-1", display_name="Lena Iyer",
               fields={"phone_mode": "browser", "sip_endpoint": "wb-lena"})
RAVI = WebUser("ravi", "agent", password="ravi-password-1", display_name="Ravi Kumar",
               fields={"phone_mode": "desktop"})
LAPTOP = {"width": 1280, "height": 720}


async def desk_browser(tmp_path, extra_args):
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    context = await pw.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS + extra_args,
        headless=True, viewport=LAPTOP)
    return pw, context


@pytest.fixture
async def desk_page(tmp_path):
    """A page whose chromium has a fake microphone (granted) and plays sound without a click."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    pw, context = await desk_browser(tmp_path, FAKE_MEDIA)
    page = context.pages[0] if context.pages else await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()
    await pw.stop()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


async def stand_ins(page):
    """The real phone API, watched; /sip answered by the STAND-IN (tests/webphone_standins.py)."""
    api, sip = PhoneApiWatch(), SipStandIn(page)
    api.install(page)
    await sip.install()
    return api, sip


def real_phone(page):
    """The real phone API and the real /sip (through the server to Asterisk), both watched."""
    api, sockets = PhoneApiWatch(), SocketWatch()
    api.install(page)
    sockets.install(page)
    return api, sockets


def framed(page):
    return page.frame_locator("#desk-frame")


async def test_the_phone_stays_while_the_pages_change_in_the_desk(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, sip = real_phone(page)
    problems = watch_console(page)
    await login(page, "lena", LENA.password, server.base_url)      # lands on /buckets, sent to the desk
    await page.wait_for_url(server.base_url + "/desk?page=%2Fbuckets")
    state = page.locator("#phone-state")
    await expect(state).to_have_attribute("data-state", "registered")
    await expect(state).to_have_text("Phone ready")
    await expect(framed(page).locator("h1")).to_have_text("My calls")
    await expect(framed(page).locator("#live-status")).to_have_attribute("data-state", "online")
    assert api.gets == 1 and len(sip.sockets) == 1
    await page.evaluate("window.deskMarker = 'still here'")       # gone if the top document reloads
    # the microphone is live: the level meter moves (the fake device plays a tone)
    await page.wait_for_function("() => Number(document.getElementById('phone-level').value) > 0")
    await page.click("#phone-settings summary")
    await expect(page.locator("#phone-mic option")).not_to_have_count(0)
    await expect(page.locator("#phone-echo-test")).to_be_enabled()
    await screenshot(page, "webphone-headset", full_page=False)
    # the headset test that needs no server: record 5 s, play it back
    await page.click("#phone-record-test")
    await expect(page.locator("#phone-test-status")).to_have_text("Recording: say something for 5 s…")
    await expect(page.locator("#phone-test-status")).to_have_text("Done: did you hear yourself?", timeout=15_000)
    await page.click("#phone-settings summary")
    # on a phone-sized window the bar wraps, nothing scrolls sideways
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await fits_the_screen(page)
    await screenshot(page, "webphone-desk-phone", full_page=False)
    await page.set_viewport_size(LAPTOP)

    # the agent moves to another page inside the frame: the phone does not notice
    await framed(page).locator("nav a", has_text="Appointments").click()
    await page.wait_for_url(server.base_url + "/desk?page=%2Fappointments")
    await expect(framed(page).locator("h1")).to_contain_text("appointments")
    assert await page.evaluate("window.deskMarker") == "still here"
    assert (await page.title()).startswith("Appointments")                # the window's title follows
    await expect(state).to_have_attribute("data-state", "registered")
    assert len(sip.sockets) == 1 and api.gets == 1          # one socket, one login of the phone

    # a reload of the desk keeps the page in the frame
    await page.reload()
    await expect(framed(page).locator("h1")).to_contain_text("appointments")
    await expect(state).to_have_attribute("data-state", "registered")
    assert api.gets == 2 and len(sip.sockets) == 2                   # the credentials again at each desk load
    # Asterisk has the contact (its ContactStatus event may come after the browser's 200 OK)
    await eventually(lambda: server.services.webphone.registrations.is_online("wb-lena"), "the server seeing the phone")
    assert problems == [], problems


async def test_a_queue_call_rings_until_the_agent_answers_or_declines(web_server, desk_page, webrtc_address):
    page = desk_page
    server = await web_server(users=[LENA])
    api, sip = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    bar = page.locator("#phone-bar")
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")

    await sip.ring(caller="Queue: Sales", call_id="call-7")        # no X-CC-Answer-After: a queue call
    await expect(bar).to_have_attribute("data-call", "ringing")
    await expect(page.locator("#phone-answer")).to_be_visible()
    await expect(page.locator("#phone-decline")).to_be_visible()
    await page.wait_for_timeout(1500)
    await expect(bar).to_have_attribute("data-call", "ringing")     # rings: never answered by itself
    await page.click("#phone-answer")
    await expect(bar).to_have_attribute("data-call", "talking")
    await page.click("#phone-hangup")
    await expect(bar).to_have_attribute("data-call", "none")

    await sip.ring(call_id="call-8")
    await expect(bar).to_have_attribute("data-call", "ringing")
    await page.click("#phone-decline")
    await expect(bar).to_have_attribute("data-call", "none")
    assert sip.responses[-1].startswith("SIP/2.0 486")

    # the agent turned auto-answer off: their own click-to-call rings too (kept across a reload)
    await page.click("#phone-settings summary")
    await page.uncheck("#phone-auto-answer")
    await page.reload()
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")
    assert not await page.is_checked("#phone-auto-answer")
    await sip.ring(call_id="call-9", answer_after_ms=200)
    await expect(bar).to_have_attribute("data-call", "ringing")
    await page.wait_for_timeout(1000)
    await expect(bar).to_have_attribute("data-call", "ringing")
    await page.click("#phone-decline")
    await expect(bar).to_have_attribute("data-call", "none")


async def test_a_takeover_is_said_and_taken_back_and_a_drop_reconnects(web_server, desk_page, webrtc_address):
    page = desk_page
    server = await web_server(users=[LENA])
    api, sip = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    state = page.locator("#phone-state")
    await expect(state).to_have_attribute("data-state", "registered")

    # another tab or device took the phone (4002): said, and no reconnect
    await sip.sockets[-1].close(code=4002, reason="taken over")
    await expect(state).to_have_attribute("data-state", "taken_over")
    await expect(state).to_have_text("Your phone was opened in another tab or device")
    await page.wait_for_timeout(7000)                                # longer than the back-off
    assert len(sip.sockets) == 1
    await page.click("#phone-takeover")                              # "Use the phone here"
    await expect(state).to_have_attribute("data-state", "registered")
    assert len(sip.sockets) == 2 and api.gets == 2
    await expect(page.locator("#phone-takeover")).to_be_hidden()

    # the network drops (any other close) during a call: the call ends here, "reconnecting",
    # then registered again within 10 s
    await sip.ring(call_id="call-5", answer_after_ms=0)
    await expect(page.locator("#phone-bar")).to_have_attribute("data-call", "talking")
    started = time.monotonic()
    await sip.sockets[-1].close(code=1011, reason="server restart")
    await expect(state).to_have_text("Phone connection lost: reconnecting…")
    await expect(page.locator("#phone-bar")).to_have_attribute("data-call", "none")
    await expect(page.locator("#phone-peer")).to_have_text("Call ended (the connection was lost)")
    await expect(state).to_have_attribute("data-state", "registered", timeout=10_000)
    assert time.monotonic() - started < 10 and len(sip.sockets) == 3
    assert api.gets == 2                                             # same login: same credentials


async def test_logging_out_in_the_frame_unregisters_the_phone_and_leaves_the_desk(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, sip = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")
    await framed(page).locator("#logout-form button").click()
    await page.wait_for_url(server.base_url + "/login")
    assert sip.registers[-1] == "0"                           # unregistered first
    assert api.deletes == 1                                          # this login's credentials revoked
    await page.goto(server.base_url + "/desk")                      # the session is gone
    assert page.url.startswith(server.base_url + "/login")


async def test_an_ended_session_takes_the_whole_desk_to_the_login(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, sip = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")
    # the phone's socket is closed with 4001 (the panel session ended): to the login, back to the desk after
    async with page.expect_request(lambda r: r.url.startswith(server.base_url + "/login?next=") and r.frame == page.main_frame):
        await sip.sockets[-1].close(code=4001, reason="session ended")
    await eventually(lambda: api.gets == 2, "the desk loaded again")  # the login had a session: back
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")
    assert page.url == server.base_url + "/desk?page=%2Fbuckets"
    # the session expires while a page in the frame is open: the next page asks for a login, in the whole window
    await page.context.clear_cookies()
    await framed(page).locator("nav a", has_text="Appointments").click()
    await page.wait_for_url(server.base_url + "/login?next=*")
    assert "next=%2Fdesk%3Fpage%3D%252Fbuckets" in page.url
    await expect(page.locator("#desk-frame")).to_have_count(0)


async def test_the_desk_frames_only_this_site(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    real_phone(page)
    await login(page, "lena", LENA.password, server.base_url)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/desk?page=/desk", "javascript:alert(1)"):
        await page.goto(server.base_url + "/desk?page=" + target.replace("?", "%3F").replace("=", "%3D"))
        assert await page.get_attribute("#desk-frame", "src") == "/buckets", target
        await expect(framed(page).locator("h1")).to_have_text("My calls")
    await page.goto(server.base_url + "/desk?page=%2Fappointments%3Fx%3D1")
    assert await page.get_attribute("#desk-frame", "src") == "/appointments?x=1"


async def test_a_desk_phone_agent_stays_on_the_ordinary_pages(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[RAVI])
    api, sip = real_phone(page)
    await login(page, "ravi", RAVI.password, server.base_url)
    await page.wait_for_selector("#live-status[data-state=online]")
    assert page.url == server.base_url + "/buckets"                 # not sent to the desk
    assert await page.get_attribute("body", "data-phone-mode") == "desktop"
    await page.goto(server.base_url + "/desk")                      # opened by hand: the bar says why no phone
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "not_browser_phone")
    await expect(page.locator("#phone-state")).to_contain_text("not the web phone")   # the server's 409 message
    assert sip.sockets == []


async def test_a_refused_microphone_is_said_plainly(web_server, tmp_path):
    server = await web_server(users=[LENA])
    # no --use-fake-ui-for-media-stream: the microphone permission is asked, and denied
    pw, context = await desk_browser(tmp_path, ["--use-fake-device-for-media-stream"])
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        page.set_default_timeout(15_000)
        await context.clear_permissions()
        api, sip = real_phone(page)
        await login(page, "lena", LENA.password, server.base_url)
        state = page.locator("#phone-state")
        await expect(state).to_have_attribute("data-state", "no_microphone")
        await expect(state).to_have_text("No microphone: allow the microphone for this site")
        await expect(page.locator("#phone-mic-retry")).to_be_visible()
        assert sip.sockets == []                               # not registered: not dialled
        await screenshot(page, "webphone-no-microphone", full_page=False)
    finally:
        await context.close()
        await pw.stop()
