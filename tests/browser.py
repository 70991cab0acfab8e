"""pytest plugin: the web as a person uses it, against the real stack.

- ``web_server(agents=..., trunks=..., users=[WebUser(...)])``: ``call_server``
  (the real app on a real TCP port of 127.0.0.1, real Asterisk and Redis)
  plus users who can log in with a password. ``server.base_url`` is what a
  browser opens.
- ``WebClient``: an HTTP client with its own cookie jar that logs in through
  the login form and sends CSRF tokens like a page does.
- ``page``: a Playwright page in Debian's chromium (headless, fresh profile);
  ``login(page, user, password)``; ``screenshot(page, name)`` saves under
  ``test-artifacts/screenshots/``; ``when_connected(page)``: what the page
  shows in the update that turns its call panel to Connected.

tests/conftest.py lists this module in ``pytest_plugins``.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from yarl import URL

from callcenter.auth.passwords import hash_password
from callcenter.models import User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
_FORM_CSRF = re.compile(r'name="_csrf" value="([^"]*)"')


@dataclass
class WebUser:
    name: str
    role: str = "agent"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    display_name: str | None = None
    fields: dict = field(default_factory=dict)   # other User columns (team_id, location_id, ...)


async def add_web_user(server, user: WebUser) -> int:
    """Create ``user`` (or give an existing one of that name a password); its id."""
    async with server.services.sessions() as session:
        row = (await session.execute(select(User).where(User.name == user.name))).scalar_one_or_none()
        if row is None:
            row = User(name=user.name, role=user.role, display_name=user.display_name or user.name.title(),
                       languages="en", active=True, **user.fields)
            session.add(row)
        else:
            row.role = user.role
            for key, value in user.fields.items():
                setattr(row, key, value)
        row.password_hash = hash_password(user.password)
        await session.commit()
        return row.id


def base_url(server) -> str:
    return str(server.client.make_url("")).rstrip("/")


class WebClient:
    """One browser's worth of HTTP: its own cookies, CSRF token from the last page."""

    def __init__(self, server) -> None:
        self.server = server
        self.base = base_url(server)
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    def url(self, path: str) -> str:
        return self.base + path

    async def close(self) -> None:
        await self.http.close()

    def cookie(self, name: str) -> str | None:
        for morsel in self.http.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    def set_cookie(self, name: str, value: str) -> None:
        self.http.cookie_jar.update_cookies({name: value}, response_url=URL(self.base))

    async def get(self, path: str, **kw) -> aiohttp.ClientResponse:
        resp = await self.http.get(self.url(path), allow_redirects=kw.pop("allow_redirects", False), **kw)
        if resp.content_type == "text/html":
            text = await resp.text()
            match = _META_CSRF.search(text) or _FORM_CSRF.search(text)
            if match and match.group(1):
                self.csrf = match.group(1)
        return resp

    async def post(self, path: str, data=None, *, csrf: bool = True, origin: str | None = "self",
                   **kw) -> aiohttp.ClientResponse:
        """A form post as a page sends it: ``_csrf`` in the form (``csrf``) and
        ``Origin`` ("self": this server; None: no header)."""
        headers = dict(kw.pop("headers", {}))
        if origin is not None:
            headers.setdefault("Origin", self.base if origin == "self" else origin)
        if data is not None or "json" not in kw:
            data = dict(data or {})
            if csrf:
                data.setdefault("_csrf", self.csrf)
        return await self.http.post(self.url(path), data=data, headers=headers,
                                    allow_redirects=kw.pop("allow_redirects", False), **kw)

    async def login(self, name: str, password: str, next_url: str | None = None) -> aiohttp.ClientResponse:
        await self.get("/login")
        form = {"name": name, "password": password}
        if next_url is not None:
            form["next"] = next_url
        resp = await self.post("/login", form)
        if resp.status == 303:
            await self.follow(resp.headers["Location"])
        return resp

    async def follow(self, path: str, hops: int = 3) -> aiohttp.ClientResponse:
        """GET ``path`` following redirects (picking up the page's CSRF token)."""
        resp = await self.get(path)
        while resp.status in (301, 302, 303, 307) and hops:
            hops -= 1
            resp = await self.get(resp.headers["Location"])
        return resp


_current = {"base_url": None}


@pytest.fixture
async def web_server(call_server):
    async def start(agents=(), trunks=(), users=(), **calls):
        server = await call_server(agents=agents, trunks=trunks, **calls)
        server.base_url = _current["base_url"] = base_url(server)
        server.user_ids = {}
        for user in users:
            server.user_ids[user.name] = await add_web_user(server, user)
        return server
    yield start
    _current["base_url"] = None


@pytest.fixture
async def web_client():
    clients: list[WebClient] = []

    def make(server) -> WebClient:
        client = WebClient(server)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


# -- WebRTC in a private network namespace ---------------------------------------

ICE_VETH_ADDRESS = "10.203.0.1/24"


def non_loopback_ipv4() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "up"], capture_output=True, text=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if line.split()[1] != "lo"]


def ensure_webrtc_address() -> str:
    """A non-loopback IPv4 address for ICE. Chromium gathers no candidate on a
    loopback interface and Asterisk (pjlib) offers none: in a network namespace
    holding nothing but ``lo`` (how PBX tests run here) a call's ICE never
    completes and no media flows. There, a veth pair with a private address is
    added (packets to one's own address still go over lo). Outside such a
    namespace (any other IPv4 interface up), nothing is touched."""
    found = non_loopback_ipv4()
    if found:
        return found[0]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    if [line.split(":")[1].strip() for line in links.splitlines()] != ["lo"]:
        pytest.skip("no non-loopback IPv4 address for ICE, and not in a fresh network namespace")
    for command in (["ip", "link", "add", "ccrtc0", "type", "veth", "peer", "name", "ccrtc1"],
                    ["ip", "addr", "add", ICE_VETH_ADDRESS, "dev", "ccrtc0"],
                    ["ip", "link", "set", "ccrtc0", "up"], ["ip", "link", "set", "ccrtc1", "up"]):
        subprocess.run(command, check=True, capture_output=True)
    return ICE_VETH_ADDRESS.split("/")[0]


@pytest.fixture
def webrtc_address() -> str:
    """``ensure_webrtc_address()`` for a test whose browser makes WebRTC calls."""
    return ensure_webrtc_address()


# -- Playwright ---------------------------------------------------------------

@pytest.fixture
async def browser(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install.sh installs Debian's chromium")
    from playwright.async_api import async_playwright

    profile = tmp_path / "chromium-profile"
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 390, "height": 844})
        try:
            yield context
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
async def page(browser):
    page = browser.pages[0] if browser.pages else await browser.new_page()
    # generous: make test runs four shards at once on two cores, chromium among them
    page.set_default_timeout(30_000)
    from playwright.async_api import expect  # imported where playwright is, as above
    expect.set_options(timeout=20_000)  # expect()'s own default is 5 s, which such a run overran
    yield page


async def login(page, user: str, password: str, base_url: str | None = None) -> None:
    """Log in through the form (on the last ``web_server`` started unless
    ``base_url``); returns on the page the login led to."""
    base = base_url or _current["base_url"]
    await page.goto(base + "/login")
    await page.fill("#name", user)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


def watch_console(page) -> list[str]:
    """The page's console errors and uncaught exceptions, collected as they happen
    (a failed resource load, e.g. an expected 404, is left out)."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


async def fits_the_screen(page, slack: int = 0) -> bool:
    """No sideways scrolling: the page is at most ``slack`` px wider than the window."""
    return await page.evaluate(f"document.documentElement.scrollWidth <= window.innerWidth + {int(slack)}")


# what the page shows at the end of the update (one socket message's task) that turns
# the call panel to Connected: a MutationObserver's callback runs before the next message
_AT_CONNECTED = """() => new Promise(resolve => {
  const panel = document.getElementById("call-panel");
  const take = () => {
    const bar = document.getElementById("queue-bar"), button = document.getElementById("call-button");
    const empty = document.getElementById("no-calls"), row = document.querySelector("#call-rows tr");
    return {bar: bar ? bar.innerText : null, callDisabled: button ? button.disabled : null,
            noCalls: empty ? empty.hidden : null, callId: row ? row.dataset.callId : null,
            row: row ? [...row.children].map(td => td.innerText.trim()) : []};
  };
  if (panel.dataset.state === "connected") { resolve(take()); return; }
  new MutationObserver((_, observer) => {
    if (panel.dataset.state === "connected") { observer.disconnect(); resolve(take()); }
  }).observe(panel, {attributes: true});
})"""


async def when_connected(page, timeout: float = 20.0) -> dict:
    """At the update that shows the call panel Connected (or now, if it does):
    {bar: the queue bar's text, callDisabled: the 360's Call button, noCalls:
    "No calls yet." hidden, callId, row: the cells' texts of the Calls list's first row}."""
    return await asyncio.wait_for(page.evaluate(_AT_CONNECTED), timeout)


async def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


__all__ = ["WebUser", "WebClient", "add_web_user", "base_url", "web_server", "web_client",
           "browser", "page", "login", "watch_console", "fits_the_screen", "screenshot", "when_connected",
           "ensure_webrtc_address", "webrtc_address",
           "CHROMIUM", "SCREENSHOTS"]
