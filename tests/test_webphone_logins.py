"""The web phone's credentials follow the panel login (real server, Asterisk
and Redis): each login its own SIP password, in Asterisk's config only while
the login lasts; a second login takes the phone over; logout, a disabled user
and a moved-off phone mode revoke; an offline web phone is never dialled."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, update

from callcenter.models import Call, User
from callcenter.webphone.models import BrowserPhone
from tests.browser import WebUser
from tests.harness import TrunkSpec, eventually

pytestmark = pytest.mark.pbx

LENA = WebUser("lena", fields={"phone_mode": "browser", "sip_endpoint": "wb-lena"})
FAST_SWEEP = {"check_interval": 0.5}   # [webphone]: ended logins looked for twice a second
REVOKED_WITHIN = 30.0  # seconds: a bound against a hang (a loaded CI machine took over 15)
RAVI = WebUser("ravi", fields={"phone_mode": "desktop", "sip_endpoint": "ph-ravi",
                               "sip_contact": "sip:127.0.0.1:5999"})


async def _row(server, user_id: int) -> BrowserPhone | None:
    async with server.services.sessions() as db:
        return await db.get(BrowserPhone, user_id)


async def _phone(client) -> dict:
    resp = await client.get("/api/v1/phone")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    return await resp.json()


def _rendered(server) -> str:
    etc = server.settings.pbx.host_path(server.settings.pbx.instance_dir + "/etc")
    return (etc / "pjsip.conf").read_text()


async def test_each_login_gets_its_own_phone_and_loses_it_at_logout(web_server, web_client):
    server = await web_server(users=[LENA], webphone=FAST_SWEEP)
    realm = server.settings.pbx.sip_realm
    first = web_client(server)
    await first.login(LENA.name, LENA.password)
    phone = await _phone(first)
    assert phone["endpoint"] == "wb-lena" and phone["uri"] == f"sip:wb-lena@{realm}"
    assert phone["ws_path"] == "/sip" and phone["auto_answer"] is True and not phone["taken_over"]
    assert (await _phone(first))["password"] == phone["password"]  # a reload: the same login, the same phone
    row = await _row(server, server.user_ids["lena"])
    assert row.md5_cred == hashlib.md5(f"wb-lena:{realm}:{phone['password']}".encode()).hexdigest()
    assert phone["password"] not in (row.nonce, row.md5_cred)  # never stored in clear
    assert "[wb-lena]" in _rendered(server) and row.md5_cred in _rendered(server)

    second = web_client(server)                 # another device: takes the phone over
    await second.login(LENA.name, LENA.password)
    other = await _phone(second)
    assert other["taken_over"] and other["password"] != phone["password"]
    assert (await _row(server, server.user_ids["lena"])).md5_cred != row.md5_cred
    assert row.md5_cred not in _rendered(server)

    resp = await second.post("/logout")          # the page revokes, then logs out
    assert resp.status == 303
    await eventually(lambda: _gone(server, "lena"), "the phone revoked after logout", timeout=REVOKED_WITHIN)
    await eventually(lambda: "[wb-lena]" not in _rendered(server), "wb-lena out of Asterisk's config", timeout=REVOKED_WITHIN)


async def _gone(server, name: str) -> bool:
    return await _row(server, server.user_ids[name]) is None


async def test_delete_revokes_at_once_and_a_disabled_agent_loses_the_phone(web_server, web_client):
    server = await web_server(users=[LENA], webphone=FAST_SWEEP)
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    await _phone(client)
    resp = await client.http.delete(client.url("/api/v1/phone"),
                                    headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
    assert resp.status == 204
    assert await _gone(server, "lena")

    await _phone(client)                          # the page loads again: a fresh phone
    async with server.services.sessions() as db:
        await db.execute(update(User).where(User.name == "lena").values(active=False))
        await db.commit()
    await eventually(lambda: _gone(server, "lena"), "the phone revoked when the user is disabled", timeout=REVOKED_WITHIN)


async def test_moving_off_the_browser_mode_revokes(web_server, web_client):
    server = await web_server(users=[LENA], webphone=FAST_SWEEP)
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    await _phone(client)
    async with server.services.sessions() as db:
        await db.execute(update(User).where(User.name == "lena").values(phone_mode="mobile", sip_endpoint=None,
                                                                        mobile="+919876543210"))
        await db.commit()
    await eventually(lambda: _gone(server, "lena"), "the phone revoked on a phone mode change", timeout=REVOKED_WITHIN)
    resp = await client.get("/api/v1/phone")
    assert resp.status == 409 and (await resp.json())["error"] == "not_browser_phone"


async def test_a_desktop_agent_and_an_api_token_get_no_web_phone(web_server, web_client):
    server = await web_server(users=[RAVI])
    client = web_client(server)
    await client.login(RAVI.name, RAVI.password)
    resp = await client.get("/api/v1/phone")
    assert resp.status == 409
    assert "not the web phone" in (await resp.json())["message"]
    resp = await server.client.get("/api/v1/phone", headers=server.headers())
    assert resp.status == 409


async def test_the_sip_socket_needs_this_logins_phone_and_an_origin(web_server, web_client):
    server = await web_server(users=[LENA])
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    ws_url = client.url("/sip")
    resp = await client.http.get(ws_url, headers={"Origin": client.base})
    assert resp.status == 409                     # no GET /api/v1/phone yet: no credentials to use
    await _phone(client)
    resp = await client.http.get(ws_url, headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    anonymous = web_client(server)
    resp = await anonymous.http.get(ws_url, headers={"Origin": client.base})
    assert resp.status == 401


async def test_click_to_call_to_an_offline_web_phone_is_refused_and_dials_nothing(web_server, web_client):
    server = await web_server(users=[LENA], trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    await _phone(client)                          # credentials, but the page never registered
    resp = await client.http.post(client.url("/api/v1/calls"), json={"agent": "lena", "number": "9876543210"},
                                  headers={"X-CSRF-Token": client.csrf, "Origin": client.base})
    assert resp.status == 409, await resp.text()
    body = await resp.json()
    assert body["error"] == "agent_phone_offline" and "offline" in body["message"]
    async with server.services.sessions() as db:
        assert (await db.scalars(select(Call))).all() == []
    usage = (await server.trunks())["carrier"]
    assert usage["in_use"] == 0 and usage["reserved"] == 0


async def test_quality_reports_need_a_call_and_sane_figures(web_server, web_client):
    server = await web_server(users=[LENA])
    client = web_client(server)
    await client.login(LENA.name, LENA.password)
    headers = {"X-CSRF-Token": client.csrf, "Origin": client.base}
    url = client.url("/api/v1/phone/quality")
    resp = await client.http.post(url, json={"jitter_ms": 5, "loss_pct": 0, "rtt_ms": 40}, headers=headers)
    assert resp.status == 409 and (await resp.json())["error"] == "no_call"
    for bad in ({"jitter_ms": -1}, {"loss_pct": 101}, {"rtt_ms": "fast"}, {"call_id": "x"}, {"volume": 3}):
        resp = await client.http.post(url, json=bad, headers=headers)
        assert resp.status == 422, bad


async def test_credentials_asterisk_has_not_loaded_in_time_are_not_handed_out(web_server, web_client, monkeypatch):
    """A reload that does not come in time (a storm of logins, Asterisk busy):
    503 with Retry-After, rather than a password Asterisk would refuse with 401."""
    server = await web_server(users=[LENA])
    client = web_client(server)
    await client.login(LENA.name, LENA.password)

    async def never(_since, _timeout):
        return False
    monkeypatch.setattr(server.services.pbx_sync, "wait_applied", never)
    resp = await client.get("/api/v1/phone")
    assert resp.status == 503 and resp.headers["Retry-After"] == "2"
    body = await resp.json()
    assert body["error"] == "phone_not_ready" and "password" not in body
    monkeypatch.undo()
    assert (await _phone(client))["endpoint"] == "wb-lena"      # the page's retry gets it
