"""Web phones against the real Asterisk: a browser endpoint registers over
Asterisk's SIP WebSocket with its login's digest credentials, and Asterisk
tells AMI (ContactStatus) what the server needs to know: registered,
reachable, gone when the WebSocket closes, refused after the credentials
change. tests/sip_ws.py stands in for the browser; tests/test_webphone_media.py
has the real one (Chromium, JsSIP, DTLS-SRTP)."""
from __future__ import annotations

import asyncio
import hashlib
import socket
import time

import aiohttp
import pytest

from callcenter.pbx.render import PhoneConf, TrunkConf
from tests.sip_ws import SipWsClient

pytestmark = pytest.mark.pbx

ENDPOINT = "wb-lena"
PASSWORD = "login-7f3a9c2e51d04b8a"
CARRIER = TrunkConf("carrier1", "127.0.0.2", 5060, 30)


def md5_cred(password: str, realm: str = "callcenter") -> str:
    return hashlib.md5(f"{ENDPOINT}:{realm}:{password}".encode()).hexdigest()


def lena(password: str = PASSWORD) -> PhoneConf:
    return PhoneConf(ENDPOINT, md5_cred(password), None, browser=True)


@pytest.fixture
def ws_url(pbx_stack):
    pbx_stack.configure([CARRIER], [lena()])
    return f"ws://127.0.0.1:{pbx_stack.http_port}/ws"


@pytest.fixture
async def ami(pbx_stack, ws_url):
    """The server's own (call-work, event-filtered) AMI user."""
    client = await pbx_stack.ami()
    yield client
    await client.close()


@pytest.fixture
async def phones():
    """Factory of SipWsClient, all closed at the end."""
    made: list[SipWsClient] = []

    async def make(url: str, password: str = PASSWORD, **kw) -> SipWsClient:
        client = SipWsClient(url, ENDPOINT, password, **kw)
        await client.connect()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def contact_events(ami, start: int = 0) -> list[tuple[str, str]]:
    return [(e["ContactStatus"], e["URI"]) for e in ami.events[start:] if e.get("Event") == "ContactStatus"
            and e.get("AOR") == ENDPOINT]


def status_is(status: str, uri_user: str | None = None):
    def pred(e):
        return (e.get("Event") == "ContactStatus" and e.get("AOR") == ENDPOINT and e.get("ContactStatus") == status
                and (uri_user is None or e.get("URI", "").startswith(f"sip:{uri_user}@")))
    return pred


def uri_user(client: SipWsClient) -> str:
    return client.contact.split("sip:", 1)[1].split("@", 1)[0]


def contacts(stack) -> list[dict]:
    [(resp, events)] = stack.admin_actions([{"Action": "PJSIPShowContacts"}])
    return [e for e in events if e.get("Endpoint") == ENDPOINT]


async def test_register_with_the_right_password_and_asterisk_shows_the_contact(pbx_stack, ws_url, ami, phones):
    phone = await phones(ws_url)
    assert await phone.register() == 200
    created = await ami.wait_event(status_is("NonQualified", uri_user(phone)), timeout=5)
    reachable = await ami.wait_event(status_is("Reachable", uri_user(phone)), timeout=10)
    for event in (created, reachable):
        assert event["EndpointName"] == ENDPOINT and event["AOR"] == ENDPOINT
        # the contact as Asterisk stores it: the proxy's source address, the ws transport
        assert ";transport=ws" in event["URI"] and "@127.0.0.1:" in event["URI"]
        assert event["URI"].endswith(f"x-ast-orig-host={phone.host}:0")
    assert int(reachable["RoundtripUsec"]) > 0
    assert any(r.method == "OPTIONS" for r in phone.requests)   # the qualify came over the WebSocket
    [contact] = contacts(pbx_stack)
    assert contact["Status"] == "Reachable" and contact["Uri"] == reachable["URI"]
    assert contact["ViaAddr"] == phone.host and contact["UserAgent"].startswith("callcenter-tests")


async def test_a_wrong_password_is_refused(pbx_stack, ws_url, ami, phones):
    phone = await phones(ws_url, password="not-the-password")
    assert await phone.register() in (401, 403)
    await asyncio.sleep(0.5)
    assert not [uri for _, uri in contact_events(ami) if uri.startswith(f"sip:{uri_user(phone)}@")]
    assert contacts(pbx_stack) == []


async def test_closing_the_websocket_removes_the_contact_at_once(pbx_stack, ws_url, ami, phones):
    phone = await phones(ws_url)
    assert await phone.register() == 200
    reachable = await ami.wait_event(status_is("Reachable", uri_user(phone)))
    closed_at = time.monotonic()
    await phone.close()
    removed = await ami.wait_event(status_is("Removed", uri_user(phone)), timeout=3)
    assert time.monotonic() - closed_at < 2
    assert removed["URI"] == reachable["URI"] and removed["EndpointName"] == ENDPOINT
    assert contacts(pbx_stack) == []


async def test_refresh_says_nothing_and_unregister_removes(pbx_stack, ws_url, ami, phones):
    phone = await phones(ws_url)
    assert await phone.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(phone)))
    mark = len(ami.events)
    assert await phone.register() == 200          # a refresh: no ContactStatus at all
    await asyncio.sleep(1)
    assert contact_events(ami, mark) == []
    assert await phone.unregister() == 200
    await ami.wait_event(status_is("Removed", uri_user(phone)), start=mark, timeout=3)
    assert contacts(pbx_stack) == []
    assert phone.connected                        # Asterisk keeps the WebSocket open


async def test_a_second_browser_takes_over_and_the_first_contact_is_removed(pbx_stack, ws_url, ami, phones):
    first = await phones(ws_url)
    assert await first.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(first)))
    mark = len(ami.events)
    second = await phones(ws_url)
    assert await second.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(second)), start=mark)
    seen = [(status, uri.split("@")[0][4:]) for status, uri in contact_events(ami, mark)]
    # the new contact appears before the old one goes: track contacts by URI, not by AOR
    assert seen == [("NonQualified", uri_user(second)), ("Removed", uri_user(first)),
                    ("Reachable", uri_user(second))]
    assert [c["Uri"].split("@")[0][4:] for c in contacts(pbx_stack)] == [uri_user(second)]
    assert first.connected                        # the first browser is not told: the server must say so


async def test_a_browser_that_stops_answering_becomes_unreachable(pbx_stack, ws_url, ami, phones):
    phone = await phones(ws_url, answer_options=False)
    assert await phone.register() == 200
    started = time.monotonic()
    event = await ami.wait_event(status_is("Unreachable", uri_user(phone)), timeout=10)
    assert 4 <= time.monotonic() - started < 8     # qualify_timeout = 5 s
    assert event["RoundtripUsec"] == "0"
    [contact] = contacts(pbx_stack)               # unreachable, not removed: it stays until it expires
    assert contact["Status"] == "Unreachable"


async def test_changed_credentials_refuse_the_old_password_after_a_reload(pbx_stack, ws_url, ami, phones):
    old = await phones(ws_url)
    assert await old.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(old)))
    new_password = "login-0b9d1e6c8a2f4735"
    pbx_stack.configure([CARRIER], [lena(new_password)])
    # a registration made with the old credentials outlives the reload: revoking
    # means closing its WebSocket too (the server's proxy), which removes it
    assert len(contacts(pbx_stack)) == 1
    assert await old.register() in (401, 403)       # its refresh is refused
    stranger = await phones(ws_url)
    assert await stranger.register() in (401, 403)
    fresh = await phones(ws_url, password=new_password)
    assert await fresh.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(fresh)))
    await old.close()
    assert [c["Uri"].split("@")[0][4:] for c in contacts(pbx_stack)] == [uri_user(fresh)]


async def test_asterisk_http_server_is_on_loopback_only_and_serves_nothing_else(pbx_stack, ws_url):
    port = pbx_stack.http_port
    listening = []
    with open("/proc/net/tcp") as fh:
        for line in list(fh)[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                listening.append(socket.inet_ntoa(bytes.fromhex(local.split(":")[0])[::-1]))
    assert listening == ["127.0.0.1"]
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/static/index.html", "/httpstatus", "/ari/api-docs/resources.json", "/rawman"):
            async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                assert resp.status == 404, path
        # /ws without the sip subprotocol handshake is no page either
        async with http.get(f"http://127.0.0.1:{port}/ws") as resp:
            assert resp.status >= 400


def test_the_webrtc_modules_load(pbx_stack, ws_url):
    for module in ("res_http_websocket", "res_pjsip_transport_websocket", "res_srtp", "codec_opus_open_source",
                   "res_format_attr_opus", "codec_resample", "app_echo"):
        [(resp, _)] = pbx_stack.admin_actions([{"Action": "ModuleCheck", "Module": f"{module}.so"}])
        assert resp["Response"] == "Success", (module, resp)


async def test_the_sip_subprotocol_is_required(pbx_stack, ws_url):
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws_url)
    assert refused.value.status == 400


async def test_a_web_phone_removed_from_the_config_while_registered_leaves_its_contact_behind(
        pbx_stack, ws_url, ami, phones):
    """The order matters at logout: close the browser's WebSocket (its contact
    goes at once), then remove or change the endpoint. Removed first, the
    contact is orphaned: no event, and closing the socket later removes nothing."""
    phone = await phones(ws_url)
    assert await phone.register() == 200
    await ami.wait_event(status_is("Reachable", uri_user(phone)))
    mark = len(ami.events)
    pbx_stack.configure([CARRIER], [])
    assert await phone.register() in (401, 403, 404)
    await phone.close()
    await asyncio.sleep(1)
    assert contact_events(ami, mark) == []
    [orphan] = contacts(pbx_stack)
    assert orphan["Uri"].startswith(f"sip:{uri_user(phone)}@")
    # back in the config (the next login), a new registration replaces the orphan
    pbx_stack.configure([CARRIER], [lena()])
    fresh = await phones(ws_url)
    assert await fresh.register() == 200
    await ami.wait_event(status_is("Removed", uri_user(phone)), start=mark, timeout=10)
    await ami.wait_event(status_is("Reachable", uri_user(fresh)), start=mark, timeout=10)
    assert [c["Uri"].split("@")[0][4:] for c in contacts(pbx_stack)] == [uri_user(fresh)]
