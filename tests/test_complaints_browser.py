"""Complaints in Debian's chromium (Playwright, headless, phone-sized) against
the real server: an agent files a complaint from the customer 360 page (the
card loads with htmx), sees the ticket; the customer's SMS leaves through the
outbox's dispatcher (log provider); the complaint passes its SLA, the
escalation loop moves it to the team lead, and the note appears on the team
lead's open page through the dispatcher and the live socket.
Screenshots go to test-artifacts/screenshots/complaints-*.png."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from callcenter.complaints import categories
from callcenter.complaints.escalation import EscalationLoop
from callcenter.complaints.models import Complaint
from callcenter.models import User, utcnow
from callcenter.notifications.models import Notification
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.browser import WebUser, login, screenshot, watch_console

pytestmark = pytest.mark.pbx

ASHA = WebUser("asha", "agent", password="asha-password-1", display_name="Asha Rao")
LEELA = WebUser("leela", "teamlead", password="leela-password-1", display_name="Leela Nair")


async def wait_for(predicate, timeout=15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_file_a_complaint_from_the_360_page_and_it_escalates_to_the_team_lead(web_server, page):
    server = await web_server(users=[ASHA, LEELA])
    services = server.services
    # no quiet hours: the customer's SMS goes at once whatever the hour of the run (21:00-09:00 IST it would wait)
    services.settings.notifications.quiet_from = services.settings.notifications.quiet_until = "00:00"
    async with services.sessions() as s, s.begin():
        await add_event_texts(s)
        north = await f.location(s, "north")
        team = await f.team(s, north, name="inbound-1")
        for name in ("asha", "leela"):
            user = (await s.execute(select(User).where(User.name == name))).scalar_one()
            user.location_id, user.team_id = north.id, team.id
        asha = (await s.execute(select(User).where(User.name == "asha"))).scalar_one()
        camp = await f.campaign(s, "Walk-ins", loc=north)
        meera = await f.customer(s, "+919812345678", "Meera Iyer")
        await f.work_item(s, camp, meera, asha)
        await categories.create_category(s, "test", "delivery", "Late delivery", 4)
        ids = {"meera": meera.id}
    problems = watch_console(page)
    await login(page, "asha", ASHA.password)
    await page.goto(f"{server.base_url}/customers/{ids['meera']}")
    await page.wait_for_selector("#complaints .complaint-form", state="attached")  # loaded by htmx
    assert "No complaint." in await page.inner_text("#complaints")
    await page.click("#complaints summary")
    await page.select_option("#cf-category", label="Late delivery (SLA 4 h)")
    await page.select_option("#cf-priority", "high")
    await page.fill("#cf-description", "The bangles ordered for the wedding have not arrived.")
    await screenshot(page, "complaints-360-form")
    async with page.expect_navigation():
        await page.click("#complaints button[type=submit]")
    flash = await page.inner_text(".flash")
    async with services.sessions() as s:
        complaint = (await s.scalars(select(Complaint))).one()
    assert f"ticket {complaint.ticket}" in flash and "SMS" in flash
    assert complaint.ticket in await page.inner_text("h1")
    await screenshot(page, "complaints-detail")

    async def sms_sent():  # the dispatcher, woken by the handler, sends it with the log provider
        async with services.sessions() as s:
            return (await s.scalars(select(Notification.status).where(Notification.channel == "sms"))).all()
    assert await wait_for(lambda: _all_sent(sms_sent)) == ["sent"]

    await page.click("button:has-text('Log out')")
    await login(page, "leela", LEELA.password)
    await page.goto(f"{server.base_url}/complaints")
    assert complaint.ticket in await page.inner_text("table.complaints")
    await page.wait_for_selector("#live-status[data-state=online]")
    async with services.sessions() as s, s.begin():  # four hours later, still unresolved
        await s.execute(update(Complaint).values(due_at=utcnow()))
    await page.reload()
    assert await page.query_selector("tr.overdue") and "overdue" in await page.inner_text("tr.overdue")
    await screenshot(page, "complaints-list-overdue")
    await page.wait_for_selector("#live-status[data-state=online]")
    (step,) = await EscalationLoop(services.sessions, services.settings, wake=services.dispatcher.wake).tick()
    assert step.to_level == "teamlead"
    note = await page.wait_for_selector(f".note:has-text('{complaint.ticket} escalated to you')")
    assert await note.query_selector(f"a[href='/complaints/{complaint.id}']")
    await screenshot(page, "complaints-escalated-note", full_page=False)
    await page.goto(f"{server.base_url}/complaints?mine=1")
    assert complaint.ticket in await page.inner_text("table.complaints")
    await screenshot(page, "complaints-list")
    assert not problems, problems


async def _all_sent(read):
    statuses = await read()
    return statuses if statuses and all(s == "sent" for s in statuses) else None
