"""The buckets page in Debian's chromium (Playwright, headless, phone-sized)
against the real server: log in -> the five buckets with counts -> a
follow-up passes its time -> the sweeper moves it to pending follow-up and
the open page learns it over the WebSocket (counts and the reminders strip
change without a reload) -> the pending tab shows it as missed. Screenshots
go to test-artifacts/screenshots/buckets-*.png."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from callcenter.models import User, utcnow
from callcenter.work.models import WorkItem
from callcenter.work.sweeper import WorkLoop
from tests import factories as f
from tests.browser import WebUser, fits_the_screen, login, screenshot, watch_console
from tests.harness import TrunkSpec

pytestmark = pytest.mark.pbx

MEENA = WebUser("meena", "agent", password="meena-password-1", display_name="Meena Pillai")


async def count_of(page, bucket: str) -> str:
    return (await page.inner_text(f'[data-count="{bucket}"]')).strip()


async def test_a_followup_passing_its_time_lands_in_pending_on_the_open_page(web_server, page):
    server = await web_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)], users=[MEENA])
    now = utcnow()
    async with server.services.sessions() as s, s.begin():
        north = await f.location(s, "north")
        store = await f.store(s, north, code="DEL01")
        meena = (await s.execute(select(User).where(User.name == "meena"))).scalar_one()
        meena.location_id, meena.store_id, meena.agent_kind = north.id, store.id, "store"
        other = await f.user(s, "ravi", store=store)
        camp = await f.campaign(s, "Birthdays March", loc=north)
        for name in ("Anita Sharma", "Farhan Ali"):
            await f.work_item(s, camp, await f.customer(s, name=name, store=store), meena)
        followup = await f.work_item(s, camp, await f.customer(s, name="Kiran Joshi", store=store), meena,
                                     bucket="future_followup", attempts=1, outcome="call_later",
                                     followup_at=now + dt.timedelta(hours=2))
        theirs = await f.work_item(s, camp, await f.customer(s, name="Not Meenas", store=store), other)
    problems = watch_console(page)
    await login(page, "meena", MEENA.password, server.base_url)
    if not page.url.rstrip("/").endswith("/buckets"):
        await page.goto(server.base_url + "/buckets")
    await page.wait_for_selector("#live-status[data-state=online]")
    assert [await count_of(page, b) for b in ("fresh", "future_followup", "pending_followup")] == ["2", "1", "0"]
    assert await page.locator("text=Not Meenas").count() == 0
    assert await fits_the_screen(page)
    await screenshot(page, "buckets-fresh-phone")

    # the call-back time passes without a call; the sweeper runs (as its loop would)
    async with server.services.sessions() as s, s.begin():
        await s.execute(update(WorkItem).where(WorkItem.id == followup.id)
                        .values(followup_at=utcnow() - dt.timedelta(minutes=1)))
    s = server.services
    result = await WorkLoop(s.settings, s.sessions, s.live, s.loops.failed).tick(utcnow())
    assert result["moved"] == 1
    await expect(page.locator('[data-count="pending_followup"]')).to_have_text("1")
    await expect(page.locator('[data-count="future_followup"]')).to_have_text("0")
    assert "Missed follow-up: Kiran Joshi" in await page.inner_text("#reminders")
    await screenshot(page, "buckets-missed-pushed-phone")

    await page.click("a.tab:has-text('Pending follow-up')")
    await page.wait_for_selector("li.work-row.is-missed")
    row = page.locator("li.work-row", has_text="Kiran Joshi")
    assert "Missed: was due" in await row.inner_text()
    href = await row.locator("a.customer").get_attribute("href")
    assert href == f"/customers/{followup.customer_id}?item={followup.id}"
    await screenshot(page, "buckets-pending-phone")

    # another agent's item is not found by id, in the API the page uses
    resp = await page.request.get(server.base_url + f"/api/v1/work/{theirs.id}")
    assert resp.status == 404
    assert not problems, problems
