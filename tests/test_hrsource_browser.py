"""The HR source in Debian's chromium against the real server: an admin fills
in the source (OAuth2 client credentials against a small HR system on
127.0.0.1), saves it and sees the secret only as "set", fetches now, reads
the head-count report and commits it; the two joiners become executives.
Screenshots go to test-artifacts/screenshots/hrsource-*.png."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.models import User
from tests import factories as f
from tests.browser import WebUser, add_web_user, login, screenshot, watch_console
from tests.fake_hr import CLIENT_ID, CLIENT_SECRET, FakeHr, employee

pytestmark = pytest.mark.pbx

ADMIN = WebUser("hr-admin", "admin", password="hr-admin-password-1")


async def test_an_admin_configures_the_hr_source_and_fetches_now(web_server, page):
    server = await web_server()
    settings = server.services.settings
    settings.security.session_secret = settings.security.session_secret or "browser-test-session-secret-0123456789"
    async with server.services.sessions() as s:
        north = await f.location(s, "north")
        await f.store(s, north, code="DEL01")
        await s.commit()
    await add_web_user(server, ADMIN)
    hr = await FakeHr(employees=[employee("E500", "Kavya Rao", "DEL01", "Active", phone="9876543210"),
                                 employee("E501", "Imran Khan", "DEL01", "On Notice", phone="9876543211")]).start()
    try:
        problems = watch_console(page)
        await login(page, ADMIN.name, ADMIN.password, server.base_url)
        await page.goto(server.base_url + "/admin/hrsource")
        assert await page.inner_text('[data-secret-state="client_secret"]') == "(not set)"
        await page.check("input[name=enabled]")
        await page.fill("#list_url", hr.url("/api/employees"))
        await page.fill("#list_path", "data.employees")
        await page.select_option("#auth", "client_credentials")
        await page.fill("#token_url", hr.url("/oauth/token"))
        await page.fill("#client_id", CLIENT_ID)
        await page.fill("#client_secret", CLIENT_SECRET)
        for field, source in (("employee_id", "code"), ("name", "fullName"), ("store_code", "store.code"),
                              ("status", "state"), ("languages", "langs"), ("mobile", "phone")):
            await page.fill(f"#map_{field}", source)
        await page.fill("#active_statuses", "Active, On Notice")
        await page.select_option("#paging", "next")
        await page.fill("#next_field", "links.next")
        await page.fill("#daily_at", "06:30")
        async with page.expect_navigation():
            await page.click("#source-form button[type=submit]")
        assert "Settings saved." in await page.inner_text("main")
        assert await page.inner_text('[data-secret-state="client_secret"]') == "(set)"
        assert await page.input_value("#client_secret") == ""
        assert CLIENT_SECRET not in await page.content()
        await screenshot(page, "hrsource-settings")

        async with page.expect_navigation():
            await page.click("#fetch-now button[type=submit]")
        assert "/admin/headcount/" in page.url
        await screenshot(page, "hrsource-fetched-report")
        async with page.expect_navigation():
            await page.click("button:has-text('Commit the head count')")
        assert "Committed." in await page.inner_text("main")
        async with server.services.sessions() as s:
            made = (await s.scalars(select(User).where(User.employee_id.in_(["E500", "E501"])))).all()
        assert sorted((u.name, u.active, u.mobile) for u in made) == [
            ("e500", True, "+919876543210"), ("e501", True, "+919876543211")]
        await page.goto(server.base_url + "/admin/hrsource")
        assert await page.locator("#fetches tbody tr").count() == 1
        assert "(committed)" in await page.inner_text("#fetches")
        assert not problems, problems
    finally:
        await hr.close()
