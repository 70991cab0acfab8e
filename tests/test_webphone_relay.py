"""The web phone's SIP socket through the server (real server, Asterisk and
Redis; ``tests/sip_ws.py`` stands in for JsSIP, which the media tests drive
in Chromium): a login's phone registers through ``/sip``, a click-to-call
rings it with the auto-answer header, logout closes the socket and Asterisk
refuses the old password, a second login takes the phone over without it
ever looking offline, a phone may register only itself, and a browser agent
whose phone is offline is paused in their queues until it registers."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from callcenter.auth.tokens import create_token
from tests.browser import WebUser
from tests.harness import TrunkSpec, eventually
from tests.sip_ws import SipWsClient

pytestmark = pytest.mark.pbx

LENA = WebUser("lena", fields={"phone_mode": "browser", "sip_endpoint": "wb-lena",
                               "agent_kind": "center"})
QUEUE = "care"


async def logged_in(web_client, server):
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    resp = await client.get("/api/v1/phone")
    assert resp.status == 200, await resp.text()
    client.phone = await resp.json()
    return client


def socket_for(client, password: str | None = None, **kw) -> SipWsClient:
    """A phone on the server's /sip with this login's cookie (as the page's JsSIP)."""
    ws_url = client.base.replace("http://", "ws://") + client.phone["ws_path"]
    headers = {"Cookie": f"cc_session={client.cookie('cc_session')}", "Origin": client.base}
    return SipWsClient(ws_url, client.phone["endpoint"], password or client.phone["password"],
                       domain=client.phone["realm"], headers=headers, **kw)


def online(server) -> bool:
    return server.services.webphone.registrations.is_online("wb-lena")


async def test_register_through_the_server_and_be_rung_by_click_to_call(web_server, web_client):
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    client = await logged_in(web_client, server)
    async with socket_for(client, invite_status=None) as phone:   # rings, never answers
        assert await phone.register() == 200
        await eventually(lambda: online(server), "Asterisk's contact seen by the server")
        resp = await client.http.post(client.url("/api/v1/calls"), json={"agent": "lena", "number": "9876543210"},
                                      headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
        assert resp.status == 202, await resp.text()
        call = await resp.json()
        invite = await eventually(lambda: next((r for r in phone.requests if r.method == "INVITE"), None),
                                  "the INVITE to the page")
        assert invite.get("X-CC-Call-Id") == call["id"]
        assert invite.get("X-CC-Answer-After") == "800"           # [webphone] auto_answer_delay 0.8 s
        assert "9876543210" in invite.get("From")                   # the page shows whom it is calling
        assert "SAVPF" in invite.body and "a=fingerprint" in invite.body  # WebRTC media (DTLS-SRTP) offered
        resp = await client.http.post(client.url(f"/api/v1/calls/{call['id']}/hangup"),
                                      headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
        assert resp.status in (200, 202, 204), await resp.text()
        ended = await server.wait_state(call["id"], "ended")   # (this stand-in never says 180 Ringing)
        assert not ended.get("talk_seconds"), ended
        assert (await server.trunks())["carrier"]["reserved"] == 0


async def test_logout_closes_the_socket_and_the_old_password_is_refused(web_server, web_client):
    server = await web_server(users=[LENA])
    client = await logged_in(web_client, server)
    phone = socket_for(client)
    await phone.connect()
    assert await phone.register() == 200
    await eventually(lambda: online(server), "registered")
    resp = await client.http.delete(client.url("/api/v1/phone"),
                                    headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
    assert resp.status == 204
    await eventually(lambda: not phone.connected, "the server closing the phone's socket")
    assert phone._ws.close_code == 4001
    await eventually(lambda: not online(server), "the contact gone")
    await phone.close()
    # straight at Asterisk (bypassing the server's locks): the old credentials no longer work
    direct = f"ws://127.0.0.1:{server.settings.pbx.http_port}/ws"
    async def refused():
        async with SipWsClient(direct, "wb-lena", client.phone["password"], domain=client.phone["realm"]) as old:
            return await old.register() in (401, 403, 404)
    await eventually(refused, "Asterisk refusing the revoked password", timeout=15, every=0.5)


async def test_a_second_login_takes_the_phone_over_without_a_gap(web_server, web_client):
    server = await web_server(users=[LENA])
    first = await logged_in(web_client, server)
    changes = []
    server.services.webphone.registrations.listeners.append(lambda endpoint, up: changes.append(up))
    async with socket_for(first) as old:
        assert await old.register() == 200
        await eventually(lambda: online(server), "registered")
        second = await logged_in(web_client, server)
        assert second.phone["taken_over"] and second.phone["password"] != first.phone["password"]
        await eventually(lambda: not old.connected, "the first tab's socket closed")
        assert old._ws.close_code == 4002
        async with socket_for(second) as new:
            assert await new.register() == 200
            await asyncio.sleep(1.0)
            assert online(server)
    assert changes[:1] == [True] and False in changes   # online once, offline once the second closed too


async def test_a_phone_may_register_only_itself(web_server, web_client):
    server = await web_server(users=[LENA])
    client = await logged_in(web_client, server)
    async with socket_for(client) as phone:
        phone.user = "wb-someone-else"
        with pytest.raises((ConnectionError, asyncio.TimeoutError)):
            await phone.register(timeout=3)
        await eventually(lambda: not phone.connected, "the socket closed")
        assert phone._ws.close_code == 4003


async def test_queues_pause_a_browser_agent_whose_phone_is_offline(web_server, web_client):
    server = await web_server(users=[LENA])
    async with server.services.sessions() as session, session.begin():
        admin = await create_token(session, "queue-admin-wp", "admin", actor="test")
    resp = await server.client.post("/api/v1/queues", headers=server.headers(admin), json={
        "name": QUEUE, "language": "en", "strategy": "leastrecent", "wrapup_seconds": 2,
        "max_wait_seconds": 60, "service_level_seconds": 20})
    assert resp.status == 201, await resp.text()
    client = await logged_in(web_client, server)
    resp = await client.http.post(client.url("/api/v1/queues/login"), json={},
                                  headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
    assert resp.status == 200, await resp.text()

    async def member():
        events = await server.services.ami.action_list("QueueStatus", {"Queue": QUEUE})
        return next((e for e in events if e.get("Event") == "QueueMember"), None)

    async def paused_for(reason):
        m = await member()
        return m if m and m["Paused"] == "1" and m.get("PausedReason") == reason else None

    try:
        await eventually(lambda: paused_for("phone offline"), "paused while the phone is offline", timeout=15)
        async with socket_for(client) as phone:
            assert await phone.register() == 200
            await eventually(lambda: _unpaused(member), "unpaused once the phone registered", timeout=15)
        await eventually(lambda: paused_for("phone offline"), "paused again when the phone went", timeout=15)
    finally:
        m = await member()
        if m is not None:
            await server.services.ami.action("QueueRemove", {"Queue": QUEUE, "Interface": m["Location"]})


async def _unpaused(member) -> bool:
    m = await member()
    return m is not None and m["Paused"] == "0"


async def test_the_socket_refuses_a_page_from_elsewhere(web_server, web_client):
    server = await web_server(users=[LENA])
    client = await logged_in(web_client, server)
    phone = socket_for(client)
    phone.headers["Origin"] = "https://evil.example"
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await phone.connect()
    assert phone.handshake_status == 403
