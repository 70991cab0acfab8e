"""The reports in Debian's chromium (Playwright, headless, phone-sized first)
against the real server: the team lead's overview fits a phone screen, the
daily report follows the date picker, CSV downloads carry the server's file
name, no script or style is refused by the page's policy. Screenshots go to
test-artifacts/screenshots/reports-*.png."""
from __future__ import annotations

import pytest

from tests.browser import WebUser, add_web_user, fits_the_screen, login, screenshot, watch_console
from tests.harness import TrunkSpec
from tests.test_reports_service import DAY, build_world

pytestmark = pytest.mark.pbx

LEAD = WebUser("lead-a", "teamlead", password="lead-a-password-1")


async def test_team_lead_reads_the_reports_on_a_phone(web_server, page):
    server = await web_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    world = await build_world(server.services.sessions)
    await add_web_user(server, LEAD)
    problems = watch_console(page)
    await login(page, LEAD.name, LEAD.password, server.base_url)

    await page.goto(server.base_url + "/reports")
    assert await page.inner_text("h1") != ""
    rows = page.locator("table.report tbody tr")
    assert await rows.count() == 2                      # asha and arjun, not another team's
    assert await page.locator("text=Bala").count() == 0
    assert await fits_the_screen(page)
    await screenshot(page, "reports-overview-phone")
    async with page.expect_download() as download:
        await page.click("text=Download CSV")
    assert (await download.value).suggested_filename.startswith("overview-")

    await page.goto(server.base_url + "/reports/daily")
    await page.fill("#f-date", DAY.isoformat())
    async with page.expect_navigation():
        await page.click("button:has-text('Show')")
    assert f"date={DAY.isoformat()}" in page.url
    assert "Tue 05 Nov 2024" in await page.inner_text("h1")
    asha = page.locator("table.stack tbody tr", has_text="Asha")
    assert "4:30" in await asha.inner_text()          # talk time 270.5 s, of it inbound 2:00
    assert "2:00" in await asha.locator('td[data-label="Inbound talk"]').inner_text()
    assert await fits_the_screen(page)
    await screenshot(page, "reports-daily-phone")
    async with page.expect_download() as download:
        await page.click("text=Download CSV")
    assert (await download.value).suggested_filename == f"agents-{DAY.isoformat()}.csv"

    await page.goto(server.base_url + f"/reports/campaigns/{world.camp.id}")
    assert "75.0" in await page.inner_text(".figures")  # the team's NPS
    assert await fits_the_screen(page)
    await screenshot(page, "reports-campaign-phone")

    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(server.base_url + f"/reports/daily?date={DAY.isoformat()}")
    await screenshot(page, "reports-daily-desktop")
    await page.goto(server.base_url + "/reports")
    await screenshot(page, "reports-overview-desktop")
    assert not problems, problems
