"""The screen pop in chromium against the real stack: an agent sits on her
buckets page, logged in to the queue; an unknown caller walks the IVR and
the queue rings her phone. Before she answers, her page goes to the
new-customer form (the number masked); she saves the caller as a customer,
lands on the 360 page with the inbound item. At the answer, in the same
update as the call panel's "Connected", the queue bar no longer says
"Ringing · 1 waiting", the Call button is held and the Calls list shows the
call; when she hangs up the disposition form opens by itself and the list
shows the call ended, as the server lists it after a reload."""
from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.models import Call
from callcenter.queues import live as queues_live
from tests.browser import WebUser, add_web_user, login, screenshot, watch_console, when_connected
from tests.harness import Agent, TrunkSpec
from tests.sipp.inbound_caller import write_caller
from tests.stack import free_port
from tests.test_inbound_calls import (ASHA_IP, CARRIER_IP, DID, IST, inbound_ivr, log_in, organise,  # noqa: F401
                                      ringing_phone)

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(180)]
STRANGER = "+919812300009"


async def test_the_screen_pop_opens_the_new_customer_form_before_the_answer(
        web_server, pbx_stack, sipp, tmp_path, page, inbound_ivr, monkeypatch):  # noqa: F811
    import datetime as dt

    # the queues' periodic publishing (every 0.5 s while they change) is held off for the whole
    # test: at the answer the queue bar must agree with the call panel by the answer's own messages
    monkeypatch.setattr(queues_live, "PUBLISH_EVERY", 600.0)
    # rings 10 s: time for a loaded machine's browser to pop the form before the answer
    phone = sipp(ringing_phone(tmp_path, 10000), ASHA_IP, free_port(ASHA_IP, tcp=False), ["-d", 9000], timeout=90)
    server = await web_server(agents=[Agent("asha", contact=f"sip:{ASHA_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, 5099)])
    [(resp, _)] = pbx_stack.admin_actions([{"Action": "Reload", "Module": "pbx_config.so"}])
    assert resp["Response"] == "Success", resp
    server.services.ivr.clock = lambda: dt.datetime(2026, 11, 23, 12, 0, tzinfo=IST)
    line = type("Line", (), {"server": server, "services": server.services})()
    await organise(server.services, ["asha"])
    asha = WebUser("asha")
    await add_web_user(server, asha)
    await log_in(line, "asha")
    problems = watch_console(page)
    await login(page, "asha", asha.password)
    await page.goto(server.base_url + "/buckets")
    await page.wait_for_selector("#live-status[data-state=online]")

    scenario = write_caller(tmp_path / "caller", [("pause", 1500), ("dtmf", "1"), ("pause", 30000)], "bye",
                            STRANGER)
    sip = server.settings.pbx
    caller = sipp(str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                  [f"{sip.sip_host}:{sip.sip_port}", "-s", DID, "-m", "1"], timeout=60)

    # the phone rings for 10 s: the page is on the form before she answers (and on the 360 page)
    await page.wait_for_url("**/customers/new?inbound=*", timeout=15_000)
    async with server.services.sessions() as session:
        assert (await session.scalars(select(Call))).all() == [], "answered before the screen pop"
    assert "+91 98xxxxxx09" in await page.inner_text("h1")
    await screenshot(page, "inbound-new-customer")
    await page.fill("#nc-name", "Kavya Rao")
    await page.select_option("#nc-language", "kn")
    async with page.expect_navigation():
        await page.click("form.inbound-customer button[type=submit]")
    assert "/customers/" in page.url and "?item=" in page.url
    assert "Kavya Rao" in await page.inner_text("main")

    # the answer: in the very update that turns the call panel to Connected, the queue
    # bar has let go of "Ringing · 1 waiting", the Call button is held, the Calls list has the call
    seen = await when_connected(page)
    assert "On a call" in seen["bar"] and "0 waiting" in seen["bar"], seen
    assert "Ringing" not in seen["bar"] and "1 waiting" not in seen["bar"], seen
    assert seen["callDisabled"] and seen["noCalls"], seen
    assert seen["row"][1:4] == ["asha", "connected", "–"] and "inbound" in seen["row"][0], seen
    live_id = seen["callId"]
    # a reload during the call: the server's list has the same row, the button still held
    await page.reload()
    row = page.locator(f'#call-rows tr[data-call-id="{live_id}"]')
    await expect(row.locator('td[data-label="Result"]')).to_have_text("connected")
    cells = [text.strip() for text in await row.locator("td").all_inner_texts()]
    assert cells[1:] == seen["row"][1:] and cells[0].split("\n")[1:] == seen["row"][0].split("\n")[1:], \
        (cells, seen["row"])
    assert await page.is_disabled("#call-button")

    # she hangs up after the talk: the form opens by itself, for this call, and in the
    # same update the Calls list shows the call ended (no reload)
    await page.wait_for_selector("#disposition:not([hidden])", timeout=20_000)
    call_id = await page.input_value("#disposition-call")
    assert call_id == live_id
    ended = [await row.locator(f'td[data-label="{label}"]').inner_text() for label in ("Result", "Talk", "Disposition")]
    assert ended[0] == "completed" and ended[1] != "–" and ended[2] == "awaiting disposition", ended
    await page.reload()  # the server's list says the same
    assert [await row.locator(f'td[data-label="{label}"]').inner_text()
            for label in ("Result", "Talk", "Disposition")] == ended
    assert "inbound" in await row.locator('td[data-label="When"]').inner_text()
    async with server.services.sessions() as session:
        customer = (await session.scalars(select(Customer).where(Customer.mobile == STRANGER))).one()
        call = await session.get(Call, call_id)
    assert (call.direction, call.customer_id, customer.name, customer.language) == \
        ("inbound", customer.id, "Kavya Rao", "kn")
    assert f"item={call.work_item_id}" in page.url
    await screenshot(page, "inbound-disposition")
    deadline = time.monotonic() + 40
    while caller.running:
        assert time.monotonic() < deadline, caller.log_tail()
        await asyncio.sleep(0.2)
    assert problems == [], problems
