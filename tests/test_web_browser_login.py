"""In Debian's chromium (Playwright, headless) against the real server, Asterisk
and sipp: log in, see the live panel follow a real call (and recover after
the socket drops), see a reminder, log out.
Screenshots go to test-artifacts/screenshots/."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import WebUser, login, screenshot, watch_console
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.12"
ASHA = WebUser("asha", "agent", password="asha-password-1", display_name="Asha Rao")


async def test_login_page_refuses_a_wrong_password_then_lets_the_agent_in(web_server, page):
    server = await web_server(users=[ASHA])
    problems = watch_console(page)
    await page.goto(server.base_url + "/")
    assert page.url.startswith(server.base_url + "/login")
    assert await page.title() == "Log in"
    await screenshot(page, "login")

    await login(page, "asha", "not-her-password")
    assert "Wrong user name or password" in await page.inner_text(".error")
    assert await page.input_value("#name") == "asha"
    await screenshot(page, "login-wrong-password")

    await login(page, "asha", ASHA.password)
    assert not page.url.startswith(server.base_url + "/login")
    assert await page.inner_text(".topbar .user") == "asha"
    await page.wait_for_selector("#live-status[data-state=online]")
    await page.click("button:has-text('Log out')")
    await page.wait_for_url(server.base_url + "/login")
    await page.goto(server.base_url + "/")
    assert page.url.startswith(server.base_url + "/login")
    assert not problems, problems


async def test_the_panel_follows_a_real_call_live(web_server, page, sipp):
    # the customer talks 8 s: the panel's checks and the socket's reconnect happen while the call
    # is up, on a loaded machine too (4 s was not always enough there)
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 8000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), ["-d", 1500])
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[ASHA])
    problems = watch_console(page)
    await login(page, "asha", ASHA.password, server.base_url)
    await page.wait_for_selector("#live-status[data-state=online]")
    assert await page.is_hidden("#call-panel")
    await page.evaluate("""() => {
        window.__ended = [];
        document.addEventListener('cc:call-ended', e => window.__ended.push(e.detail));
    }""")

    # the call is placed from the page (same session, CSRF header), as a call button does
    status = await page.evaluate("""async () => {
        const resp = await window.ccLive.postJSON('/api/v1/calls', {agent: 'asha', number: '98765 43210'});
        return resp.status;
    }""")
    assert status == 202
    await page.wait_for_selector("#call-panel[data-state=connected]")
    assert (await page.inner_text("#call-panel .state")) == "Connected"
    await page.wait_for_function(
        "() => document.querySelector('#call-panel .timer').textContent >= '0:02'")
    await screenshot(page, "panel-connected-phone")
    await page.set_viewport_size({"width": 1280, "height": 720})
    await screenshot(page, "panel-connected-laptop", full_page=False)
    await page.set_viewport_size({"width": 390, "height": 844})

    # the server drops the socket (a restart, a network blip): the page reconnects
    # and the hello puts the call back in the panel, still connected
    await page.evaluate("""() => {
        window.__hellos = 0;
        document.addEventListener('cc:hello', () => window.__hellos++);
    }""")
    await server.hub.close_sockets()
    await page.wait_for_function("() => window.__hellos >= 1")
    assert await page.get_attribute("#call-panel", "data-state") == "connected"
    await page.wait_for_selector("#live-status[data-state=online]")

    await page.wait_for_selector("#call-panel[data-state=ended]", timeout=20_000)
    text = await page.inner_text("#call-panel .state")
    assert text == "Call ended — completed", text
    assert (await page.inner_text("#call-panel .timer")).startswith("talked 0:0")
    ended = await page.evaluate("window.__ended")
    assert len(ended) == 1 and ended[0]["call"]["end_reason"] == "completed"
    assert ended[0]["recovered"] is False
    await screenshot(page, "panel-ended")
    await page.click("#call-panel .close")
    assert await page.is_hidden("#call-panel")

    # a reminder published for asha shows as a note (and as cc:reminder)
    due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)).isoformat()
    await server.services.live.publish({"type": "reminder", "id": 7, "title": "Follow-up due",
                                       "text": "Call Priya Sharma back <b>today</b>", "due_at": due,
                                       "url": "/buckets?bucket=future_follow_up"},
                                      user_ids=[server.user_ids["asha"]])
    note = page.locator("#reminder-7")
    await note.wait_for()
    assert "Call Priya Sharma back <b>today</b>" in await note.inner_text()  # text, never markup
    await screenshot(page, "reminder")
    await note.locator("button").click()
    assert await note.count() == 0
    assert not problems, problems
