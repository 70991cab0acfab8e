"""Browser sessions against the real app, Redis and database: login, lockout,
CSRF and Origin checks, logout, disabled users, deny-by-default pages."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select, update

from callcenter.models import AuditEntry, User
from tests.browser import WebClient, WebUser
from web.throttle import ADDRESS_FACTOR

pytestmark = pytest.mark.pbx

ASHA = WebUser("asha", "agent", password="asha-password-1")
RAVI = WebUser("ravi", "agent", password="ravi-password-1")


async def audit_actions(server) -> list[str]:
    async with server.services.sessions() as session:
        return list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


async def logged_in(client: WebClient) -> bool:
    resp = await client.get("/")
    return resp.status == 303 and resp.headers["Location"] != "/login"


async def test_login_gives_a_fresh_http_only_session_and_pages_need_it(web_server, web_client):
    server = await web_server(users=[ASHA])
    browser = web_client(server)

    resp = await browser.get("/?tab=2")
    assert resp.status == 303 and resp.headers["Location"] == "/login?next=/%3Ftab%3D2"
    resp = await browser.get("/login?next=/%3Ftab%3D2")
    assert resp.status == 200 and 'name="next" value="/?tab=2"' in await resp.text()

    resp = await browser.login("asha", ASHA.password, next_url="/?tab=2")
    assert resp.status == 303 and resp.headers["Location"] == "/?tab=2"
    cookie = resp.headers["Set-Cookie"]
    assert "cc_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    first = browser.cookie("cc_session")
    assert first and await logged_in(browser)

    # logged in, the login page sends the browser on
    assert (await browser.get("/login?next=/x")).headers["Location"] == "/x"

    # the next login makes a new id; the old one is dead
    assert (await browser.post("/logout")).status == 303
    await browser.login("asha", ASHA.password)
    second = browser.cookie("cc_session")
    assert second and second != first
    thief = web_client(server)
    thief.set_cookie("cc_session", first)
    assert (await thief.get("/")).headers["Location"] == "/login"

    # an id planted in the browser beforehand is never adopted
    planted = web_client(server)
    planted.set_cookie("cc_session", "chosen-by-an-attacker")
    await planted.login("asha", ASHA.password)
    assert planted.cookie("cc_session") not in (None, "chosen-by-an-attacker", second)

    # off-site "next" values are ignored
    other = web_client(server)
    resp = await other.login("asha", ASHA.password, next_url="//evil.example/x")
    assert resp.headers["Location"] == "/"
    assert (await audit_actions(server)).count("login") == 4


async def test_pages_and_api_answer_unauthenticated_requests_in_their_own_way(web_server, web_client):
    server = await web_server()
    browser = web_client(server)
    resp = await browser.get("/api/v1/trunks")
    assert resp.status == 401 and (await resp.json())["error"] == "unauthenticated"
    resp = await browser.get("/no-such-page")
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "Not found" in await resp.text()
    resp = await browser.get("/login")
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # framed by this site only (the web phone's desk), never by another
    assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN" and resp.headers["Cache-Control"] == "no-store"
    resp = await browser.get("/static/app.css")
    assert resp.status == 200 and "call-panel" in await resp.text()
    for path in ("/static/../web/app.py", "/static/%2e%2e/app.py", "/static/"):
        assert (await browser.get(path)).status in (403, 404), path


async def test_wrong_passwords_lock_the_name_out_for_a_while(web_server, web_client):
    server = await web_server(users=[ASHA, RAVI])
    web = server.services.settings.web
    server.services.settings.web = dataclasses.replace(web, login_max_failures=3, lockout_minutes=0.05)
    browser = web_client(server)

    for _ in range(3):
        resp = await browser.login("asha", "not-the-password")
        assert resp.status == 401 and "Wrong user name or password" in await resp.text()
    resp = await browser.login("asha", ASHA.password)  # right password, but locked
    assert resp.status == 429 and "Too many failed logins" in await resp.text()
    assert browser.cookie("cc_session") is None
    # another name from the same address is not locked (the floor shares one address)
    assert (await web_client(server).login("ravi", RAVI.password)).status == 303
    # unknown names are throttled the same way (nothing tells them apart)
    for _ in range(3):
        assert (await browser.login("nobody", "whatever-it-is")).status == 401
    assert (await browser.login("nobody", "whatever-it-is")).status == 429

    await asyncio.sleep(3.2)
    resp = await browser.login("asha", ASHA.password)
    assert resp.status == 303 and await logged_in(browser)
    actions = await audit_actions(server)
    assert actions.count("login.failed") == 6 and actions.count("login.lockout") == 2
    assert "login.refused_locked" in actions and actions.count("login") == 2


async def test_state_changes_need_the_csrf_token_and_this_origin(web_server, web_client):
    server = await web_server(users=[ASHA])
    browser = web_client(server)
    await browser.login("asha", ASHA.password)
    assert browser.csrf

    resp = await browser.post("/logout", csrf=False)
    assert resp.status == 403 and "expired" in await resp.text()
    resp = await browser.post("/logout", {"_csrf": "forged"})
    assert resp.status == 403
    resp = await browser.post("/logout", origin="https://evil.example")
    assert resp.status == 403
    resp = await browser.post("/logout", origin="null")
    assert resp.status == 403
    assert await logged_in(browser)

    # JSON from a page: the header carries the token
    resp = await browser.http.post(browser.url("/api/v1/calls/0123/hangup"), json={})
    assert resp.status == 403 and (await resp.json())["error"] == "csrf_failed"
    resp = await browser.http.post(browser.url("/api/v1/calls/0123/hangup"), json={},
                                   headers={"X-CSRF-Token": browser.csrf})
    assert resp.status == 404 and (await resp.json())["error"] == "call_not_found"

    # the login form itself needs its token
    stranger = web_client(server)
    resp = await stranger.post("/login", {"name": "asha", "password": ASHA.password}, csrf=False)
    assert resp.status == 403 and stranger.cookie("cc_session") is None

    # with the token (and no Origin at all) logout works and ends the session
    session_id = browser.cookie("cc_session")
    resp = await browser.post("/logout", origin=None)
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    assert not await logged_in(browser)
    replay = web_client(server)
    replay.set_cookie("cc_session", session_id)
    assert not await logged_in(replay)
    assert "logout" in await audit_actions(server)


async def test_bearer_tokens_need_no_csrf(web_server, web_client):
    server = await web_server()
    resp = await server.client.post("/api/v1/calls/0123/hangup", headers={**server.headers(),
                                                                          "Origin": "https://crm.example"})
    assert resp.status == 404 and (await resp.json())["error"] == "call_not_found"
    resp = await server.client.get("/api/v1/trunks", headers=server.headers())
    assert resp.status == 200


async def test_a_disabled_or_re_roled_user_loses_the_session(web_server, web_client):
    server = await web_server(users=[ASHA, RAVI])
    asha, ravi = web_client(server), web_client(server)
    await asha.login("asha", ASHA.password)
    await ravi.login("ravi", RAVI.password)
    assert await logged_in(asha) and await logged_in(ravi)
    async with server.services.sessions() as session:
        await session.execute(update(User).where(User.name == "asha").values(active=False))
        await session.execute(update(User).where(User.name == "ravi").values(role="teamlead"))
        await session.commit()
    await asyncio.sleep(3.2)
    assert not await logged_in(asha)
    assert not await logged_in(ravi)
    resp = await asha.login("asha", ASHA.password)
    assert resp.status == 401  # disabled: the password no longer opens anything
    assert (await ravi.login("ravi", RAVI.password)).status == 303  # a new session, new role
    assert await logged_in(ravi)


async def test_one_address_guessing_across_many_names_is_stopped(web_server, web_client):
    server = await web_server(users=[RAVI])
    web = server.services.settings.web
    server.services.settings.web = dataclasses.replace(web, login_max_failures=1, lockout_minutes=1)
    browser = web_client(server)
    for n in range(ADDRESS_FACTOR - 1):
        assert (await browser.login(f"guess{n}", "spray-password")).status == 401
    assert (await web_client(server).login("ravi", RAVI.password)).status == 303  # not yet
    assert (await browser.login("guess-last", "spray-password")).status == 401
    resp = await web_client(server).login("ravi", RAVI.password)
    assert resp.status == 429 and "Too many failed logins" in await resp.text()
    async with server.services.sessions() as session:
        locks = (await session.scalars(select(AuditEntry.details).where(AuditEntry.action == "login.lockout"))).all()
    assert [d["locked"] for d in locks].count("address") == 1
