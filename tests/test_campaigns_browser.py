"""A manager in Debian's chromium (Playwright, headless, phone-sized) against
the real server: create a campaign, upload a messy customer file and read
why rows are left out, upload the fixed file, commit its valid rows
store-wise (the repeated row skipped); the DND page. (The partial commit and
the rejects file: tests/test_uploads_browser.py.)
Screenshots go to test-artifacts/screenshots/campaigns-*.png."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from callcenter.work.models import WorkItem
from tests import factories as f
from tests.browser import WebUser, add_web_user, fits_the_screen, login, screenshot, watch_console
from tests.harness import TrunkSpec

pytestmark = pytest.mark.pbx

MESSY = ("Mobile No;Customer Name;Store Code;DOB;Loyalty Tier\r\n"
         "+91 98765 43210;Asha Rao;DEL01;05/03/1990;Gold\r\n"
         ";;;;\r\n"
         "098765-43211;Ravi Kumar;DEL02;31/02/1990;Silver\r\n"
         "98765 43212;Meena;DEL01;5 Mar 1990;\r\n"
         "+91 98765 43210;Asha again;DEL01;;\r\n")


async def test_manager_creates_a_campaign_uploads_and_commits(web_server, page, tmp_path):
    server = await web_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    async with server.services.sessions() as session:
        north = await f.location(session, "north")
        s1 = await f.store(session, north, code="DEL01")
        s2 = await f.store(session, north, code="DEL02")
        executives = [await f.user(session, "exec-del01", store=s1), await f.user(session, "exec-del02", store=s2)]
        await session.commit()
        north_id, exec_ids = north.id, [e.id for e in executives]
    manager = WebUser("meera", "manager", password="meera-password-1", fields={"location_id": north_id})
    await add_web_user(server, manager)
    problems = watch_console(page)
    await login(page, manager.name, manager.password, server.base_url)

    await page.goto(server.base_url + "/campaigns")
    await screenshot(page, "campaigns-list-empty-phone")
    async with page.expect_navigation():
        await page.click("text=New campaign")
    today = dt.date.today()
    await page.fill("#name", "Birthdays this fortnight")
    await page.select_option("#type", "birthday")
    await page.fill("#starts_on", today.isoformat())
    await page.fill("#expires_on", (today + dt.timedelta(days=14)).isoformat())
    assert await fits_the_screen(page, slack=1)
    await screenshot(page, "campaigns-new-phone")
    async with page.expect_navigation():
        await page.click("button:has-text('Create')")
    assert "Campaign created" in await page.inner_text(".notice")
    campaign_url = page.url.split("?")[0]
    await screenshot(page, "campaigns-campaign-phone")

    messy = tmp_path / "birthdays.csv"
    messy.write_bytes(MESSY.encode("cp1252"))
    await page.set_input_files("#file", str(messy))
    async with page.expect_navigation():
        await page.click("button:has-text('Upload and check')")
    assert "validated" in await page.inner_text("h1")
    table = await page.inner_text("table")
    assert "'31/02/1990' is not a date that exists" in table and "4" in table
    assert "the same mobile as row 2" in await page.inner_text("body")
    assert await page.locator("button:has-text('Commit 2 valid rows, skip 2')").count() == 1
    assert await fits_the_screen(page, slack=1)
    await screenshot(page, "campaigns-upload-rejected-phone")

    fixed = tmp_path / "birthdays-fixed.csv"
    fixed.write_bytes(MESSY.replace("31/02/1990", "28/02/1990").encode("cp1252"))
    await page.goto(campaign_url)
    await page.set_input_files("#file", str(fixed))
    async with page.expect_navigation():
        await page.click("button:has-text('Upload and check')")
    assert "validated" in await page.inner_text("h1")
    assert await page.is_checked("input[name=allocate][value=store]")
    await screenshot(page, "campaigns-upload-validated-phone")
    await page.check("input[name=confirm_skip]")
    async with page.expect_navigation():
        await page.click("button:has-text('Commit 3 valid rows, skip 1')")
    notice = await page.inner_text(".notice")
    assert "3 new customers" in notice and "3 allocated" in notice
    await screenshot(page, "campaigns-upload-committed-phone")
    async with server.services.sessions() as session:
        agents = sorted((await session.scalars(select(WorkItem.agent_id))).all())
    assert agents == sorted([exec_ids[0], exec_ids[0], exec_ids[1]])

    await page.goto(server.base_url + "/dnd")
    await page.fill("#number", "98765 43299")
    async with page.expect_navigation():
        await page.click("button:has-text('Add to the DND list')")
    assert "+919876543299 was added" in await page.inner_text(".notice")
    assert await fits_the_screen(page, slack=1)
    await screenshot(page, "campaigns-dnd-phone")

    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(campaign_url)
    await screenshot(page, "campaigns-campaign-desktop")
    await page.goto(server.base_url + "/campaigns")
    await screenshot(page, "campaigns-list-desktop")
    assert not problems, problems
