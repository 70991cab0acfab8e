"""Erasing a customer in Debian's chromium (Playwright, headless, a phone's
width) against the real server: an admin opens the 360, the danger zone is
at its foot, a wrong confirmation is refused with the reason kept, the right
one erases and the page shows the tombstone. Screenshot: customer-erase."""
from __future__ import annotations

import pytest

from tests import factories as f
from tests.browser import WebUser, fits_the_screen, login, screenshot, watch_console

pytestmark = pytest.mark.pbx

ANITA = WebUser("anita", "admin", password="anita-password-1")


async def test_an_admin_erases_a_customer_from_the_360_page(web_server, page):
    server = await web_server(users=[ANITA])
    async with server.services.sessions() as s, s.begin():
        meera = await f.customer(s, "+919812345678", "Meera Iyer", data={"loyalty_tier": "Platinum"})
        customer_id = meera.id
    problems = watch_console(page)
    await login(page, "anita", ANITA.password)
    await page.goto(f"{server.base_url}/customers/{customer_id}")
    assert "Meera Iyer" in await page.inner_text("h1")
    zone = page.locator("#erase")
    await zone.scroll_into_view_if_needed()
    await screenshot(page, "customer-erase")
    assert await fits_the_screen(page)

    await page.fill("#erase input[name=reason]", "DPDP request #12")
    await page.fill("#erase input[name=confirm]", "1234")
    async with page.expect_navigation():
        await page.click("#erase button[type=submit]")
    assert "last 4 digits" in await page.inner_text("#erase .error")
    assert await page.input_value("#erase input[name=reason]") == "DPDP request #12"

    await page.fill("#erase input[name=confirm]", "5678")
    async with page.expect_navigation():
        await page.click("#erase button[type=submit]")
    assert page.url.endswith(f"/customers/{customer_id}?erased=1")
    assert f"Erased customer #{customer_id}" in await page.inner_text("h1")
    assert "was erased" in await page.inner_text("#erased-notice")
    html = await page.content()
    assert "Meera" not in html and "Platinum" not in html and "+919812345678" not in html
    assert await page.locator("#erase").count() == 0
    assert not problems
