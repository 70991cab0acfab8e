"""Listen from the board, in Debian's chromium against the real server, Asterisk
and sipp: a team lead with a desk phone (sipp answering) opens /board; a
click-to-call connects; Listen on the call's row first says in words that the
lead has no phone (none set yet), then, with the desk phone set, rings it: it
answers and the board shows "Listening: lena" on the call's row and on the
agent's tile; the call ends and the row and its listen go away.
Screenshot: test-artifacts/screenshots/board-monitor.png."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from callcenter.models import User
from tests.browser import login, screenshot, watch_console
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port
from tests.test_board_pbx import CARRIER_IP, CUSTOMER, LEAD, OTHER_LEAD, PHONE_IP, board_team

pytestmark = pytest.mark.pbx

LEAD_IP = "127.0.0.11"
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "board-monitor.png"


async def set_lead_phone(server, endpoint: str | None) -> None:
    async with server.services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.name == "lena").values(sip_endpoint=endpoint))


async def test_a_lead_listens_from_the_board_and_the_listen_ends_with_the_call(web_server, page, sipp):
    phone = sipp("uas_ring_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), ["-d", 2500], timeout=90)
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 60_000], timeout=120)
    desk = sipp("uas_answer", LEAD_IP, free_port(LEAD_IP, tcp=False), timeout=120)
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}"),
                                      Agent("lena", contact=f"sip:{LEAD_IP}:{desk.port}", role="teamlead")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[LEAD, OTHER_LEAD])
    await board_team(server)
    async with server.services.sessions() as session:
        endpoint = await session.scalar(select(User.sip_endpoint).where(User.name == "lena"))
    assert endpoint, "the lead's desk phone is provisioned"

    problems = watch_console(page)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await login(page, "lena", LEAD.password, server.base_url)
    await page.goto(server.base_url + "/board")
    await page.wait_for_selector("#live-status[data-state=online]")
    resp = await server.place("asha", CUSTOMER)
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]
    tile = page.locator('.agent-tile[data-agent="asha"]')
    row = page.locator(f'#board-calls tr[data-call="{call_id}"]')
    await expect(tile).to_have_attribute("data-state", "on_call", timeout=20_000)
    listen = row.get_by_role("button", name="listen to asha's call")
    await expect(listen).to_be_visible(timeout=20_000)
    status = page.locator("#board-monitor-status")

    await set_lead_phone(server, None)      # no phone yet: told how to set one, nothing rings
    await listen.click()
    await expect(status).to_contain_text("You have no phone to listen on")
    await expect(status).to_contain_text("desk phone")
    assert server.services.monitor.active() == []

    await set_lead_phone(server, endpoint)
    # the phone is back in Asterisk's config (rendered and reloaded) before it is rung
    assert await server.services.pbx_sync.wait_applied(time.monotonic(), 15)
    await listen.click()
    badge = row.locator(".monitors .badge")
    await expect(badge).to_have_text("Listening: lena", timeout=20_000)    # answered: no "(ringing)"
    await expect(tile.locator(".monitors .badge")).to_have_text("Listening: lena")
    await expect(status).to_have_text("Listening on your phone: asha's call.")
    [session] = server.services.monitor.active(call_id)
    assert session["mode"] == "listen" and session["state"] == "connected"
    shot = await screenshot(page, "board-monitor", full_page=False)
    if os.environ.get("CC_DOCS_SCREENSHOTS") == "1":  # the README's picture, refreshed on request only
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    resp = await server.client.post(f"/api/v1/calls/{call_id}/hangup", headers=server.headers())
    assert resp.status == 202
    await expect(row).to_have_count(0, timeout=20_000)
    await expect(tile.locator(".monitors")).to_have_count(0)
    await expect(page.locator("#board .badge")).to_have_count(0, timeout=20_000)
    await expect(status).to_be_hidden()           # the listen ended with the call (ChanSpy's E)
    assert server.services.monitor.active() == []
    assert problems == []
