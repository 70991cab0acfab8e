"""The administration's tables on a phone (390 px, Debian's chromium against
the real server): no page scrolls sideways; wide tables become one labelled
card per row (app.css ``table.stack``), at laptop width they stay tables.
Screenshots: test-artifacts/screenshots/phone-*.png."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from callcenter.customers.models import DndNumber
from callcenter.models import User
from callcenter.queues.models import Queue
from callcenter.spreadsheets.models import Upload
from callcenter.trunks.service import add_trunk
from tests import factories as f
from tests.browser import WebUser, login, screenshot, watch_console

pytestmark = pytest.mark.pbx

ROOT = WebUser("root", "admin", password="root-password-1", display_name="Anjali Raghunathan")
HEADCOUNT_CSV = ("Employee ID,Name,Store Code,Status,Languages,Mobile\r\n"
                 "E30001,Venkataraman Subramaniam,DEL01,Active,\"hi,en,ta\",+91 98700 20001\r\n"
                 "E30002,Sunita Devi,DEL99,Active,hi,98700 20002\r\n"
                 "E30003,Mohammed Irfan Qureshi,DEL01,Transferred,en,98700 20003\r\n")
STORES_CSV = "code,name,location\r\nDEL05,Karol Bagh,north\r\nDEL06,Rajouri Garden,nowhere\r\n"

# (screenshot name, path) of the pages whose tables must fit a phone
PAGES = [("users", "/admin/users"), ("locations", "/admin/locations"), ("stores", "/admin/stores"),
         ("teams", "/admin/teams"), ("trunks", "/admin/trunks"), ("headcount", "/admin/headcount"),
         ("campaigns", "/campaigns"), ("reassign", None), ("dnd", "/dnd"), ("uploads", "/uploads"),
         ("queues-manage", "/queues/manage")]


async def overflow(page) -> list[str]:
    """What is wider than the screen: the page itself, or a table's box."""
    return await page.evaluate("""() => {
      const out = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > doc.clientWidth + 1) out.push("page " + doc.scrollWidth + "px");
      document.querySelectorAll(".table-wrap, table").forEach((el) => {
        if (el.scrollWidth > el.clientWidth + 1) out.push((el.id || el.className || el.tagName) + " " + el.scrollWidth + "px");
      });
      return out;
    }""")


async def labelled(page) -> list[str]:
    """Cells of stacked tables a phone shows without the label of their column."""
    return await page.evaluate("""() => Array.from(document.querySelectorAll("table.stack td"))
      .filter((td) => !td.dataset.label && !td.matches(".row-actions, .row-head, .row-tick") && td.textContent.trim())
      .map((td) => td.textContent.trim().slice(0, 30))""")


async def test_admin_tables_fit_a_phone_as_labelled_cards(web_server, page, tmp_path):
    server = await web_server(users=[ROOT])
    async with server.services.sessions() as s, s.begin():
        north = await f.location(s, "north", "North call centre, Noida")
        await f.location(s, "south", "South call centre, Bengaluru")
        store = await f.store(s, north, code="DEL01")
        store.name = "Connaught Place flagship showroom"
        await f.store(s, north, code="DEL09", language="hi")
        team = await f.team(s, north, name="north-evening-shift")
        await add_trunk(s, "carrier-primary", "203.0.113.10", 5060, "8062247000-8062247749",
                        channels=250, inbound_headroom=20, actor="test")
        lead = await f.user(s, "lead_priyanka", role="teamlead", team=team)
        agents = []
        for n in range(3):
            agent = await f.user(s, f"agent_{n}", team=team, languages="hi,en,ta,te")
            agent.display_name, agent.employee_id = f"Agent Number {n} Srinivasan", f"E1000{n}"
            agent.phone_mode, agent.mobile = "mobile", f"+9198700300{n}"
            agents.append(agent)
        executive = await f.user(s, "exec_del01", store=store, languages="hi,en")
        executive.display_name = "Rajeshwari Krishnamurthy"
        campaign = await f.campaign(s, "Diwali gold coin offer for platinum members", loc=north,
                                    expires_on=dt.date.today() + dt.timedelta(days=40))
        for n in range(3):
            customer = await f.customer(s, name=f"Customer with a long name {n}", store=store)
            await f.work_item(s, campaign, customer, agents[0])
        agent_id = agents[0].id
        for n in range(3):
            s.add(DndNumber(number=f"+9198700400{n}", source="import" if n else "manual",
                            added_by="manager_of_the_north_region"))
        s.add_all([
            Upload(kind="customers", campaign_id=campaign.id, stored_name="u1.csv", status="committed", total=12000,
                   valid=11950, invalid=50, created_by="manager_of_the_north_region",
                   original_name="Diwali platinum members export from the CRM, November final v3.xlsx"),
            Upload(kind="dnd", stored_name="u2.csv", status="validated", total=300, valid=300,
                   created_by="root", original_name="Do-not-disturb registry extract.csv"),
        ])
        s.add_all([Queue(name="support-hi", language="hi", region="north and central India"),
                   Queue(name="north-platinum-members-ta", language="ta", location_id=north.id, region="north",
                         strategy="rrmemory", max_wait_seconds=300, active=False)])
        assert lead.id and executive.id
        (await s.execute(select(User).where(User.name == "root"))).scalar_one().location_id = None
    problems = watch_console(page)
    await login(page, "root", ROOT.password)

    # a head count with a wrong row and a store list with one: their reports' tables
    headcount = tmp_path / "headcount.csv"
    headcount.write_text(HEADCOUNT_CSV)
    await page.goto(server.base_url + "/admin/headcount")
    await page.set_input_files("#file", str(headcount))
    async with page.expect_navigation():
        await page.click("form[enctype] button[type=submit]")
    report = page.url.removeprefix(server.base_url)
    assert "DEL99" in await page.inner_text("table.stack")  # the invalid row, as a card
    stores = tmp_path / "stores.csv"
    stores.write_text(STORES_CSV)
    await page.goto(server.base_url + "/admin/stores/import")
    await page.set_input_files("#file", str(stores))
    async with page.expect_navigation():
        await page.click("form[enctype] button[type=submit]")
    assert "nowhere" in await page.content()
    found = {"stores-import": (await overflow(page), await labelled(page))}
    await screenshot(page, "phone-stores-import")

    for name, path in PAGES + [("headcount-report", report)]:
        path = path or f"/work/reassign?agent={agent_id}"
        await page.goto(server.base_url + path)
        await screenshot(page, f"phone-{name}")
        found[name] = (await overflow(page), await labelled(page))
    assert {name: got for name, got in found.items() if got != ([], [])} == {}

    # at laptop width the same tables are tables again
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(server.base_url + "/admin/users")
    assert await page.evaluate("getComputedStyle(document.querySelector('table.stack thead')).position") != "absolute"
    await screenshot(page, "laptop-users")
    await page.goto(server.base_url + "/queues/manage")
    assert await page.evaluate("getComputedStyle(document.querySelector('#queues thead')).position") != "absolute"
    await screenshot(page, "laptop-queues-manage")
    assert not problems, problems
