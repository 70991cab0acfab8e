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

STAND-INS (until the lead's server side lands): GET/DELETE /api/v1/phone are
answered by ``page.route`` (``PhoneApiStandIn``) and the SIP WebSocket /sip
by ``page.route_web_socket`` (``RegistrarStandIn``: answers REGISTER with
200 OK). Replace both with the real API and Asterisk: nothing in the
production code knows about them.
Screenshots: test-artifacts/screenshots/webphone-*.png (docs/screenshots/webphone.png
with CC_DOCS_SCREENSHOTS=1)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, WebUser, login, screenshot, watch_console

pytestmark = pytest.mark.pbx

DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "webphone.png"
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
LENA = WebUser("lena", "agent", password="lena-password-1", display_name="Lena Iyer",
               fields={"phone_mode": "browser"})
RAVI = WebUser("ravi", "agent", password="ravi-password-1", display_name="Ravi Kumar",
               fields={"phone_mode": "desktop"})
LAPTOP = {"width": 1280, "height": 720}


class PhoneApiStandIn:
    """STAND-IN for the lead's GET/DELETE /api/v1/phone (replace with the real API)."""

    def __init__(self, agent: str = "lena", mode: str = "browser") -> None:
        self.agent, self.mode = agent, mode
        self.gets = self.deletes = 0

    async def __call__(self, route) -> None:
        request = route.request
        if request.method == "DELETE":
            self.deletes += 1
            assert request.headers.get("x-csrf-token"), "DELETE /api/v1/phone without its CSRF token"
            await route.fulfill(status=204)
            return
        self.gets += 1
        if self.mode != "browser":
            await route.fulfill(status=409, content_type="application/json", body=json.dumps(
                {"error": "not_browser_phone", "message": "Your phone is a desk phone, not this browser"}))
            return
        await route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "agent": self.agent, "display_name": self.agent.title(), "endpoint": f"wb-{self.agent}",
            "password": f"pw-{self.gets}", "uri": f"sip:wb-{self.agent}@callcenter.test",
            "realm": "callcenter.test", "ws_path": "/sip", "auto_answer": True, "auto_answer_delay": 0.8,
            "ice_servers": [], "quality_interval": 5, "echo_uri": "sip:echo@callcenter.test"}))


class RegistrarStandIn:
    """STAND-IN for /sip relayed to Asterisk: a registrar that says 200 OK to
    every REGISTER (replace with the real WebSocket and Asterisk)."""

    def __init__(self) -> None:
        self.sockets: list = []
        self.registers: list[str] = []     # each REGISTER's Expires ("0": unregister)

    def __call__(self, ws) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self.answer(ws, message))

    def answer(self, ws, message) -> None:
        text = message if isinstance(message, str) else message.decode()
        if not text.startswith("REGISTER "):
            return
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        headers = [(line.split(":", 1)[0].strip(), line.split(":", 1)[1].strip()) for line in head if ":" in line]
        names = {name.lower(): value for name, value in headers}
        contact = names.get("contact", "")
        expires = names.get("expires") or ("0" if "expires=0" in contact else "300")
        self.registers.append(expires)
        lines = ["SIP/2.0 200 OK"] + [f"{n}: {v}" for n, v in headers if n.lower() in ("via", "from", "call-id", "cseq")]
        lines.append(f"To: {names['to']};tag=standin{len(self.registers)}")
        if expires != "0":
            lines.append(f"Contact: {contact.split(';expires')[0]};expires={expires}")
        lines += ["Content-Length: 0", "", ""]
        ws.send("\r\n".join(lines))


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


async def stand_ins(page, mode: str = "browser", agent: str = "lena"):
    api, registrar = PhoneApiStandIn(agent, mode), RegistrarStandIn()
    await page.route("**/api/v1/phone", api)
    await page.route_web_socket("**/sip", registrar)
    return api, registrar


def framed(page):
    return page.frame_locator("#desk-frame")


async def test_the_phone_stays_while_the_pages_change_in_the_desk(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, registrar = await stand_ins(page)
    problems = watch_console(page)
    await login(page, "lena", LENA.password, server.base_url)      # lands on /buckets, sent to the desk
    await page.wait_for_url(server.base_url + "/desk?page=%2Fbuckets")
    state = page.locator("#phone-state")
    await expect(state).to_have_attribute("data-state", "registered")
    await expect(state).to_have_text("Phone ready")
    await expect(framed(page).locator("h1")).to_have_text("My calls")
    await expect(framed(page).locator("#live-status")).to_have_attribute("data-state", "online")
    assert api.gets == 1 and len(registrar.sockets) == 1
    await page.evaluate("window.deskMarker = 'still here'")       # gone if the top document reloads
    # the microphone is live: the level meter moves (the fake device plays a tone)
    await page.wait_for_function("() => Number(document.getElementById('phone-level').value) > 0")
    await page.click("#phone-settings summary")
    await expect(page.locator("#phone-mic option")).not_to_have_count(0)
    await expect(page.locator("#phone-echo-test")).to_be_enabled()
    await screenshot(page, "webphone-desk", full_page=False)
    if os.environ.get("CC_DOCS_SCREENSHOTS") == "1":  # the README's picture, refreshed on request only
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS_SCREENSHOT), full_page=False)
    await page.click("#phone-settings summary")

    # the agent moves to another page inside the frame: the phone does not notice
    await framed(page).locator("nav a", has_text="Appointments").click()
    await page.wait_for_url(server.base_url + "/desk?page=%2Fappointments")
    await expect(framed(page).locator("h1")).to_contain_text("appointments")
    assert await page.evaluate("window.deskMarker") == "still here"
    assert (await page.title()).startswith("Appointments")                # the window's title follows
    await expect(state).to_have_attribute("data-state", "registered")
    assert len(registrar.sockets) == 1 and api.gets == 1          # one socket, one login of the phone

    # a reload of the desk keeps the page in the frame
    await page.reload()
    await expect(framed(page).locator("h1")).to_contain_text("appointments")
    await expect(state).to_have_attribute("data-state", "registered")
    assert api.gets == 2                                             # fresh credentials at each desk load
    assert problems == [], problems


async def test_a_takeover_is_said_and_taken_back_and_a_drop_reconnects(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, registrar = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    state = page.locator("#phone-state")
    await expect(state).to_have_attribute("data-state", "registered")

    # another tab or device took the phone (4002): said, and no reconnect
    await registrar.sockets[-1].close(code=4002, reason="taken over")
    await expect(state).to_have_attribute("data-state", "taken_over")
    await expect(state).to_have_text("Your phone was opened in another tab or device")
    await page.wait_for_timeout(7000)                                # longer than the back-off
    assert len(registrar.sockets) == 1
    await page.click("#phone-takeover")                              # "Use the phone here"
    await expect(state).to_have_attribute("data-state", "registered")
    assert len(registrar.sockets) == 2 and api.gets == 2
    await expect(page.locator("#phone-takeover")).to_be_hidden()

    # the network drops (any other close): "reconnecting", then registered again within 10 s
    started = time.monotonic()
    await registrar.sockets[-1].close(code=1011, reason="server restart")
    await expect(state).to_have_text("Phone connection lost: reconnecting…")
    await expect(state).to_have_attribute("data-state", "registered", timeout=10_000)
    assert time.monotonic() - started < 10 and len(registrar.sockets) == 3
    assert api.gets == 2                                             # same login: same credentials


async def test_logging_out_in_the_frame_unregisters_the_phone_and_leaves_the_desk(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    api, registrar = await stand_ins(page)
    await login(page, "lena", LENA.password, server.base_url)
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "registered")
    await framed(page).locator("#logout-form button").click()
    await page.wait_for_url(server.base_url + "/login")
    assert registrar.registers[-1] == "0"                           # unregistered first
    assert api.deletes == 1                                          # this login's credentials revoked
    await page.goto(server.base_url + "/desk")                      # the session is gone
    assert page.url.startswith(server.base_url + "/login")


async def test_the_desk_frames_only_this_site(web_server, desk_page):
    page = desk_page
    server = await web_server(users=[LENA])
    await stand_ins(page)
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
    api, registrar = await stand_ins(page, mode="desktop", agent="ravi")
    await login(page, "ravi", RAVI.password, server.base_url)
    await page.wait_for_selector("#live-status[data-state=online]")
    assert page.url == server.base_url + "/buckets"                 # not sent to the desk
    assert await page.get_attribute("body", "data-phone-mode") == "desktop"
    await page.goto(server.base_url + "/desk")                      # opened by hand: the bar says why no phone
    await expect(page.locator("#phone-state")).to_have_attribute("data-state", "not_browser_phone")
    await expect(page.locator("#phone-state")).to_have_text("Your phone is a desk phone, not this browser")
    assert registrar.sockets == []


async def test_a_refused_microphone_is_said_plainly(web_server, tmp_path):
    server = await web_server(users=[LENA])
    # no --use-fake-ui-for-media-stream: the microphone permission is asked, and denied
    pw, context = await desk_browser(tmp_path, ["--use-fake-device-for-media-stream"])
    try:
        page = context.pages[0] if context.pages else await context.new_page()
        page.set_default_timeout(15_000)
        await context.clear_permissions()
        api, registrar = await stand_ins(page)
        await login(page, "lena", LENA.password, server.base_url)
        state = page.locator("#phone-state")
        await expect(state).to_have_attribute("data-state", "no_microphone")
        await expect(state).to_have_text("No microphone: allow the microphone for this site")
        await expect(page.locator("#phone-mic-retry")).to_be_visible()
        assert registrar.sockets == []                               # not registered: not dialled
        await screenshot(page, "webphone-no-microphone", full_page=False)
    finally:
        await context.close()
        await pw.stop()
