"""The agent's round in Debian's chromium (Playwright, headless) against the
real server, Asterisk and sipp: log in -> customer 360 -> call -> the panel
follows it -> the disposition form opens when it ends -> the next call is
refused until it is submitted -> submitted -> back to the buckets, the item
in the right bucket. Screenshots go to test-artifacts/screenshots/."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callcenter.models import Trunk, User
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.browser import WebUser, login, screenshot, watch_console, when_connected
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.13"
ASHA = WebUser("asha", "agent", password="asha-password-1", display_name="Asha Rao")


async def test_call_then_dispose_from_the_customer_page(web_server, page, sipp):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 2500])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[ASHA])
    async with server.services.sessions() as s, s.begin():
        north = await f.location(s, "north")
        store = await f.store(s, north, code="DEL01")
        asha = (await s.execute(select(User).where(User.name == "asha"))).scalar_one()
        asha.location_id, asha.store_id = north.id, store.id
        trunk = (await s.execute(select(Trunk))).scalar_one()
        camp = await f.campaign(s, "Birthdays March", loc=north, trunk_id=trunk.id)
        survey = await f.campaign(s, "Walk-in survey", type="new_walkin_survey", loc=north, trunk_id=trunk.id)
        meera = await f.customer(s, "+919812345678", "Meera Iyer", store=store,
                                 data={"last_purchase": "Gold chain 22k, 12 g", "loyalty_tier": "Platinum",
                                       "points": "4200"})
        ravi = await f.customer(s, "+919812300011", "Ravi Kumar", store=store)
        item = await f.work_item(s, camp, meera, asha)
        other = await f.work_item(s, survey, ravi, asha)
        ids = {"meera": meera.id, "ravi": ravi.id, "item": item.id, "other": other.id}
    problems = watch_console(page)
    await login(page, "asha", ASHA.password)
    await page.wait_for_selector("#live-status[data-state=online]")

    await page.goto(f"{server.base_url}/customers/{ids['meera']}?item={ids['item']}")
    assert "Meera Iyer" in await page.inner_text("h1")
    assert "+919812345678" not in await page.content()  # masked for an agent
    assert await page.is_hidden("#disposition")
    assert await page.is_visible("#disposition-open")  # a note without a call, before any call
    assert await page.is_visible("#no-calls")
    await screenshot(page, "customer-360")

    await page.click("#call-button")
    await page.wait_for_selector("#call-panel:not([hidden])")
    await page.wait_for_selector("#disposition-open", state="detached")  # not during the call
    assert await page.inner_text("#item-attempts") == "1 call placed"
    # the Calls list follows the call from the pushed steps: Connected in the panel, connected in the list
    seen = await when_connected(page)
    assert seen["row"][1:4] == ["asha", "connected", "–"] and seen["noCalls"] and seen["callDisabled"], seen
    assert seen["row"][0].split("\n")[1] == "outbound · Birthdays March", seen
    await screenshot(page, "customer-360-connected")
    # the form opens by itself when the panel reports the end of this call; the list has its end
    await page.wait_for_selector("#disposition:not([hidden])", timeout=20_000)
    assert await page.input_value("#disposition-call") == seen["callId"]
    assert await page.is_disabled("#call-button")
    row = page.locator(f'#call-rows tr[data-call-id="{seen["callId"]}"]')
    ended = [text.strip() for text in await row.locator("td").all_inner_texts()]
    assert ended[2] == "completed" and ended[3] != "–" and ended[4] == "awaiting disposition", ended
    assert await page.is_hidden('fieldset[data-q="followup_at"]')
    await screenshot(page, "disposition-open")

    # another customer's page: the call button is held until the disposition is in
    await page.goto(f"{server.base_url}/customers/{ids['ravi']}?item={ids['other']}")
    assert "still needs its disposition" in await page.inner_text(".alert")
    assert await page.is_disabled("#call-button")
    assert await page.locator("#disposition-open").count() == 0  # no note while a disposition is owed

    # back to Meera: the owed form is open again after a reload, the server's list as the live one; submit it
    await page.goto(f"{server.base_url}/customers/{ids['meera']}?item={ids['item']}")
    await page.wait_for_selector("#disposition:not([hidden])")
    reloaded = [text.strip() for text in await row.locator("td").all_inner_texts()]
    # the server's row is the live one; its recording may be in by now (registered
    # a second after the call ends, which the live row does not hear of)
    assert reloaded[:5] == ended[:5], reloaded
    assert reloaded[5] == "–" or await row.locator("audio").count() == 1, reloaded
    await page.check('fieldset[data-q="talked"] input[value="yes"]')
    await page.check('fieldset[data-q="wished"] input[value="call_later"]')
    assert await page.is_visible('fieldset[data-q="followup_at"]')
    assert await page.is_hidden('fieldset[data-q="visit"]')
    when = (dt.datetime.now(ZoneInfo("Asia/Kolkata")) + dt.timedelta(days=1)).replace(hour=11, minute=30)
    await page.fill('input[name="a.followup_at"]', when.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#disposition-remarks", "Call after the festival")
    async with page.expect_navigation():
        await page.click("#disposition-form button[type=submit]")
    assert "/buckets" in page.url
    await screenshot(page, "buckets-after-disposition")
    async with server.services.sessions() as s:
        row = await s.get(WorkItem, ids["item"])
    assert row.bucket == "future_followup" and row.last_call_id
    # nothing owed now: Ravi's page offers a note without a call (the survey form: its branches)
    await page.goto(f"{server.base_url}/customers/{ids['ravi']}?item={ids['other']}")
    await page.click("#disposition-open")
    assert await page.is_enabled("#call-button")  # a note without a call holds no call
    await page.check('fieldset[data-q="talked"] input[value="yes"]')
    await page.check('fieldset[data-q="wished"] input[value="yes"]')
    assert await page.is_visible('fieldset[data-q="sp_greeting"]')
    await screenshot(page, "disposition-survey")
    # the call button works again
    await page.goto(f"{server.base_url}/customers/{ids['meera']}?item={ids['item']}")
    assert await page.is_enabled("#call-button")
    assert "Call after the festival" in await page.content()
    await screenshot(page, "customer-360-history")
    assert not problems, problems
