"""A customer's messages on their 360 in Debian's chromium against the real
server: the Messages card lists what was sent (channel, time, text, state,
attempts, the last error of a failed one, the number masked for an agent);
the agent sends a failed SMS again with the row's button (a CSRF-protected
form), the page says so and the re-send is listed.
Screenshots: test-artifacts/screenshots/customer-messages*.png; with
CC_DOCS_SCREENSHOTS=1 also the README's docs/screenshots/customer-messages.png."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from callcenter.models import AuditEntry, User, utcnow
from callcenter.notifications.models import Notification, NotificationAttempt
from tests import factories as f
from tests.browser import SCREENSHOTS, WebUser, login, watch_console

pytestmark = pytest.mark.pbx

ASHA = WebUser("asha", "agent", password="asha-password-1", display_name="Asha Rao")
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "customer-messages.png"
MESSAGES = [  # (event, channel, recipient, subject, body, status, attempts, errors, minutes ago)
    ("appointment.booked", "sms", "+919812345678", "",
     "Dear Meera, your visit to Karol Bagh, Delhi is booked for 08 Dec 2026 at 11:30. - Swarna Jewels",
     "sent", 1, [], 2900),
    ("complaint.filed", "email", "meera@example.com", "Your complaint TK-261206-0003",
     "Dear Meera,\n\nYour complaint is registered. Ticket number TK-261206-0003; we aim to resolve it "
     "within 24 hours.", "sent", 1, [], 95),
    ("complaint.filed", "sms", "+919812345678", "",
     "Your complaint is registered. Ticket number TK-261206-0003. We aim to resolve it within 24 hours.",
     "failed", 3, ["HTTP 503 from the SMS gateway", "timed out after 20 s", "HTTP 503 from the SMS gateway"], 95),
]


async def test_the_360_lists_the_messages_and_a_failed_sms_is_sent_again(web_server, page):
    server = await web_server(users=[ASHA])
    async with server.services.sessions() as s, s.begin():
        asha = (await s.execute(select(User).where(User.name == "asha"))).scalar_one()
        meera = await f.customer(s, "+919812345678", "Meera Iyer")
        meera.email = "meera@example.com"
        await f.work_item(s, await f.campaign(s, "Walk-ins"), meera, asha)
        for event, channel, to, subject, body, status, attempts, errors, ago in MESSAGES:
            at = utcnow() - dt.timedelta(minutes=ago)
            row = Notification(channel=channel, recipient=to, subject=subject, body=body, status=status,
                               attempts=attempts, next_attempt_at=at, entity="complaint", entity_id="3",
                               created_at=at, sent_at=at if status == "sent" else None, event=event,
                               customer_id=meera.id, language="en")
            s.add(row)
            await s.flush()
            s.add_all([NotificationAttempt(notification_id=row.id, at=at, provider=channel, ok=False, error=e)
                       for e in errors])
        customer_id = meera.id
    problems = watch_console(page)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await login(page, "asha", ASHA.password, server.base_url)
    await page.goto(f"{server.base_url}/customers/{customer_id}")
    rows = page.locator("#messages tr.message")
    await expect(rows).to_have_count(3)     # loaded by htmx, newest first
    failed = rows.first
    await expect(failed).to_contain_text("Complaint registered")
    await expect(failed).to_contain_text("HTTP 503 from the SMS gateway")
    await expect(failed.locator("[data-label=Attempts]")).to_have_text("3")
    await expect(failed).to_contain_text("+91 98xxxxxx78")      # masked for an agent
    assert "+919812345678" not in await page.inner_text("#messages")
    await expect(rows.nth(2)).to_contain_text("Appointment booked")

    async with page.expect_navigation():
        await failed.locator("button:has-text('Re-send')").click()
    await expect(page.locator(".flash")).to_contain_text("sent again")
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text("re-sent")
    await page.locator("#messages").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "customer-messages.png"
    await page.locator("#messages").screenshot(path=str(shot))
    if os.environ.get("CC_DOCS_SCREENSHOTS") == "1":  # the README's picture, refreshed on request only
        shutil.copyfile(shot, DOCS_SCREENSHOT)
    async with server.services.sessions() as s:
        entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "notification.resend"))).one()
        again = (await s.scalars(select(Notification).where(Notification.resent_from_id.is_not(None)))).one()
    assert (entry.actor, entry.entity_id) == ("asha", str(customer_id))
    assert (again.channel, again.recipient, again.event) == ("sms", "+919812345678", "complaint.filed")
    assert problems == []
