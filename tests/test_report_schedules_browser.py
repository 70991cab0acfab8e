"""Mailed reports in Debian's chromium (Playwright, headless, phone-sized)
against the real server: a manager makes a schedule on /reports/schedules,
presses "Send now", and sees the mails and their delivery state on the
schedule's page once the server's own dispatcher has sent them over SMTP to
a tiny SMTP server of the test (the team lead's CSV holds their team only).
Screenshots go to test-artifacts/screenshots/report-schedules-*.png."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import email
import email.policy
import io

import pytest
from sqlalchemy import select

from callcenter.models import User, utcnow
from callcenter.notifications.providers import SmtpProvider
from tests import factories as f
from tests.browser import WebUser, fits_the_screen, login, screenshot, watch_console
from tests.harness import TrunkSpec
from tests.test_notifications_providers import TinySmtp, smtp_settings
from tests.test_reports_service import add_call

pytestmark = pytest.mark.pbx

MEERA = WebUser("meera", "manager", password="meera-password-1", display_name="Meera Iyer")


async def test_a_manager_schedules_a_report_sends_it_now_and_sees_it_delivered(web_server, page):
    server = await web_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)], users=[MEERA])
    async with server.services.sessions() as s, s.begin():
        north, south = await f.location(s, "north"), await f.location(s, "south")
        team, other = await f.team(s, north, "north-1"), await f.team(s, north, "north-2")
        lead = await f.user(s, "leela", "teamlead", team=team)
        lead.email = "leela@example.org"
        asha, bala = await f.user(s, "asha", team=team), await f.user(s, "bala", team=other)
        await f.user(s, "chitra", team=await f.team(s, south, "south-1"))
        meera = (await s.execute(select(User).where(User.name == "meera"))).scalar_one()
        meera.location_id, meera.email = north.id, "meera@example.org"
        trunk = await f.trunk(s, "t-reports")
        for agent in (asha, bala):
            await add_call(s, trunk, agent, None, utcnow() - dt.timedelta(minutes=1), talk=42)
    problems = watch_console(page)
    await login(page, "meera", MEERA.password, server.base_url)
    await page.goto(server.base_url + "/reports/schedules")
    assert "No schedule yet." in await page.inner_text("main")
    await page.fill("#s-name", "Evening figures")
    await page.select_option("#s-report", "agents")
    await page.select_option("#s-period", "today")
    await page.select_option("#s-formats", "both")
    await page.fill("#s-send-at", "23:59")
    await page.check("input[name=roles][value=teamlead]")
    await page.check("input[name=roles][value=manager]")
    await page.check("input[name=active]")
    assert await page.locator("input[name=roles][value=admin]").count() == 0   # not a manager's to choose
    assert await fits_the_screen(page)
    await screenshot(page, "report-schedules-new")
    async with page.expect_navigation():
        await page.click("button:has-text('Save schedule')")
    assert "Evening figures" in await page.inner_text("h1")
    assert "No mail yet." in await page.inner_text("main")

    async with TinySmtp() as smtp:
        server.services.dispatcher.providers["email"] = SmtpProvider(smtp_settings(smtp.port))
        async with page.expect_navigation():
            await page.click("button:has-text('Send now')")
        assert "2 mail(s) queued" in await page.inner_text(".flash")
        for _ in range(50):  # the dispatcher was woken by the handler; the page shows what it did
            if await page.locator("table.mails td.delivery", has_text="Sent").count() == 2:
                break
            await asyncio.sleep(0.2)
            await page.reload()
        rows = page.locator("table.mails tbody tr")
        assert await rows.count() == 2
        for row in await rows.all():
            text = await row.inner_text()
            assert "Sent" in text and "agents-" in text and ".xlsx" in text
        assert "leela@example.org" in await page.inner_text("table.mails")
        assert await fits_the_screen(page)
        await screenshot(page, "report-schedules-sent")
    mails = {m["To"]: m for m in (email.message_from_bytes(raw, policy=email.policy.default)
                                  for raw in smtp.messages)}
    assert set(mails) == {"leela@example.org", "meera@example.org"}

    def logins(mail) -> list[str]:
        part = next(p for p in mail.iter_attachments() if p.get_filename().endswith(".csv"))
        return [r["login"] for r in csv.DictReader(io.StringIO(part.get_content().lstrip("\ufeff")))]
    assert logins(mails["leela@example.org"]) == ["asha"]          # her team only
    assert logins(mails["meera@example.org"]) == ["asha", "bala"]  # the north, not chitra
    assert not problems, problems
