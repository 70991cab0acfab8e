"""Queues in Debian's chromium (Playwright, headless, phone-sized) against the
real server and Asterisk: an agent logs in to the inbound queue from the
queue bar of any page, pauses for lunch (Asterisk has the member paused
with that reason), resumes; then a supervisor's /queues board follows a
queue call live over the WebSocket (the agent ringing, then answered today).
Screenshots: test-artifacts/screenshots/queues-*.png."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from callcenter.auth.tokens import create_token
from tests.browser import WebUser, fits_the_screen, login, screenshot, watch_console
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port
from tests.test_queues_calls import call_server, clear_members  # noqa: F401  (leaves no member behind)

pytestmark = pytest.mark.pbx

CARRIER_IP, PHONE_IP = "127.0.0.2", "127.0.0.10"
ASHA = WebUser("asha", "agent", password="asha-password-1", fields={"languages": "en", "agent_kind": "center"})
BOSS = WebUser("boss", "admin", password="boss-password-1")


async def members(server) -> list[dict]:
    events = await server.services.ami.action_list("QueueStatus", {"Queue": "support-en"})
    return [e for e in events if e.get("Event") == "QueueMember"]


async def test_agent_queue_bar_and_live_board(web_server, page, sipp):
    phone = sipp("uas_answer_bye", PHONE_IP, free_port(PHONE_IP, tcp=False), ["-d", 2500], timeout=90)
    carrier = sipp("uas_answer", CARRIER_IP, free_port(CARRIER_IP, tcp=False), timeout=90)
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[ASHA, BOSS])
    async with server.services.sessions() as session, session.begin():
        admin = await create_token(session, "queue-admin", "admin", actor="test")
    resp = await server.client.post("/api/v1/queues", headers=server.headers(admin),
                                    json={"name": "support-en", "language": "en", "wrapup_seconds": 1})
    assert resp.status == 201, await resp.text()

    problems = watch_console(page)
    await login(page, "asha", ASHA.password, server.base_url)
    bar = page.locator("#queue-bar")
    await expect(bar).to_contain_text("Inbound queues: support-en")
    await bar.get_by_role("button", name="Log in").click()
    await expect(bar).to_contain_text("Queues: support-en")
    await expect(bar.locator(".state")).to_have_text("Available", timeout=15_000)  # the tracker learns the member from AMI
    assert [m["Name"] for m in await members(server)] == ["asha"]
    await bar.locator("select.reason").select_option("lunch")
    await bar.get_by_role("button", name="Pause").click()
    await expect(bar.locator(".state")).to_have_text("Paused: Lunch")
    [member] = await members(server)
    assert (member["Paused"], member["PausedReason"]) == ("1", "lunch")
    await screenshot(page, "queues-bar-paused-phone")
    await page.reload()                       # the bar comes back as it was
    await expect(bar.locator(".state")).to_have_text("Paused: Lunch")
    await bar.get_by_role("button", name="Resume").click()
    await expect(bar.locator(".state")).to_have_text("Available", timeout=15_000)
    assert (await members(server))[0]["Paused"] == "0"
    await page.get_by_role("button", name="Log out").first.click()

    await login(page, "boss", BOSS.password, server.base_url)
    await page.goto(server.base_url + "/queues")
    await page.wait_for_selector("#live-status[data-state=online]")
    # a function, not an expression: polling an expression evals it, which the page's CSP refuses
    await page.wait_for_function("() => performance.getEntriesByType('resource')"
                                 ".some(e => e.name.endsWith('/api/v1/queues/me') && e.responseEnd > 0)")
    await page.wait_for_timeout(200)
    assert await page.locator("#queue-bar").is_hidden()   # no phone: no queue bar
    card = page.locator('[data-queue="support-en"]')
    await expect(card.locator("li[data-state=available]")).to_contain_text("asha")
    resp = await server.services.ami.action("Originate", {
        "Channel": "PJSIP/919876543210@carrier", "Application": "Queue", "Data": "support-en,I,,,30",
        "CallerID": "<919876543210>", "Async": "true"})
    assert resp["Response"] == "Success"
    await expect(card.locator('[data-k="answered"]')).to_have_text("1", timeout=20_000)
    await expect(card.locator('[data-k="service_level"]')).to_have_text("100%")
    await screenshot(page, "queues-board-phone")
    assert await fits_the_screen(page)
    assert problems == []
