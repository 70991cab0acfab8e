"""The notifications page in Debian's chromium against the real server: an
admin opens an event's Hindi SMS, types a text and sees (as they type) that it
is UCS-2 and how many segments it takes, with the DLT fixed text; saves it
with the form. Without the page's CSRF token the same form is refused.
Screenshots: test-artifacts/screenshots/notification-templates*.png; with
CC_DOCS_SCREENSHOTS=1 also the README's docs/screenshots/notification-templates.png."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect

from callcenter.notifications.events import EVENTS
from callcenter.notifications.templates import text_for
from tests.browser import WebUser, fits_the_screen, login, screenshot, watch_console

pytestmark = pytest.mark.pbx

ADMIN = WebUser("notify-admin", "admin", password="notify-admin-password-1")
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "notification-templates.png"
HINDI = ("प्रिय {customer_name}, {store_name}, {store_city} में आपकी मुलाक़ात {appointment_date} को "
         "{appointment_time} बजे तय है। - {brand}")
FORM = "/admin/notifications/templates/appointment.booked/sms/en"


async def test_an_admin_writes_a_hindi_sms_and_sees_its_segments(web_server, web_client, page):
    server = await web_server(users=[ADMIN])
    client = web_client(server)
    await client.login(ADMIN.name, ADMIN.password)
    assert (await client.get("/admin/notifications")).status == 200
    english = "Hi {customer_name}, see you at {store_name}. - {brand}"
    assert (await client.post(FORM, {"body": english, "action": "save"}, csrf=False)).status == 403
    async with server.services.sessions() as s:
        assert (await text_for(s, "appointment.booked", "sms", "en")).body != english
    assert (await client.post(FORM, {"body": english, "action": "save"})).status == 303
    async with server.services.sessions() as s:
        assert (await text_for(s, "appointment.booked", "sms", "en")).body == english

    problems = watch_console(page)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await login(page, ADMIN.name, ADMIN.password, server.base_url)
    await page.goto(server.base_url + "/admin/notifications")
    await expect(page.locator("#events tbody tr")).to_have_count(len(EVENTS))   # one row per event
    await screenshot(page, "notification-events", full_page=False)
    await page.click("#x-appointment-booked summary")
    editor = page.locator("#t-appointment-booked-sms-hi")
    await editor.locator("textarea").fill(HINDI)
    await expect(editor.locator("[data-encoding]")).to_have_text("UCS-2")
    await expect(editor.locator("[data-segments]")).to_have_text("2")
    await expect(editor.locator("[data-dlt]")).to_contain_text("प्रिय {#var#}, {#var#}, {#var#} में")
    await expect(editor.locator("[data-preview-text]")).to_contain_text("Example: प्रिय ")
    await editor.scroll_into_view_if_needed()
    shot = await screenshot(page, "notification-templates", full_page=False)
    if os.environ.get("CC_DOCS_SCREENSHOTS") == "1":  # the README's picture, refreshed on request only
        shutil.copyfile(shot, DOCS_SCREENSHOT)
    async with page.expect_navigation():
        await editor.locator("button[value=save]").click()
    await expect(page.locator(".flash")).to_contain_text("Template saved")
    async with server.services.sessions() as s:
        assert (await text_for(s, "appointment.booked", "sms", "hi")).body == HINDI

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.reload()
    await screenshot(page, "notification-templates-phone")
    assert await fits_the_screen(page)
    assert problems == []
