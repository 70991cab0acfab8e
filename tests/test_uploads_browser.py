"""A manager in Debian's chromium (Playwright, headless, phone-sized) against
the real server uploads a customer file with bad rows, reads the counts and
the reasons, downloads the rejects file (its rows checked), commits the valid
rows after ticking the confirmation, and reads what was committed and
skipped; then uploads the fixed rejects file. Screenshots go to
test-artifacts/screenshots/uploads-*.png."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from callcenter.customers.models import Customer, DndNumber
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.browser import WebUser, add_web_user, fits_the_screen, login, screenshot, watch_console
from tests.harness import TrunkSpec

pytestmark = pytest.mark.pbx

FILE = ("Mobile No;Customer Name;Store Code;DOB;Loyalty Tier\r\n"
        "+91 98765 43210;Asha Rao;DEL01;05/03/1990;Gold\r\n"
        "098765-43211;Ravi Kumar;DEL01;31/02/1990;Silver\r\n"
        "98765 43212;Meena;DEL01;5 Mar 1990;\r\n"
        "98765 43213;Kiran;DEL01;;Gold\r\n"
        "98765 43214;On DND;DEL01;;\r\n")


async def test_manager_commits_the_valid_rows_and_downloads_the_rejects(web_server, page, tmp_path):
    server = await web_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    today = dt.date.today()
    async with server.services.sessions() as session:
        north = await f.location(session, "north")
        await f.store(session, north, code="DEL01")
        camp = await f.campaign(session, "Birthdays", loc=north, starts_on=today,
                                expires_on=today + dt.timedelta(days=10))
        session.add(DndNumber(number="+919876543214", source="manual", added_by="test"))
        await session.commit()
        north_id, campaign_id = north.id, camp.id
    manager = WebUser("meera", "manager", password="meera-password-1", fields={"location_id": north_id})
    await add_web_user(server, manager)
    problems = watch_console(page)
    await login(page, manager.name, manager.password, server.base_url)

    messy = tmp_path / "birthdays.csv"
    messy.write_bytes(FILE.encode("cp1252"))
    await page.goto(f"{server.base_url}/campaigns/{campaign_id}")
    await page.set_input_files("#file", str(messy))
    async with page.expect_navigation():
        await page.click("button:has-text('Upload and check')")
    tiles = " ".join((await page.inner_text(".tiles")).split())
    assert "5 rows" in tiles and "1 invalid" in tiles and "3 to commit" in tiles
    rejects = page.locator("section.rejects")
    assert "2 rows left out" in await rejects.inner_text()
    assert "1 invalid" in await rejects.inner_text() and "1 on the DND list" in await rejects.inner_text()
    assert "'31/02/1990' is not a date that exists" in await page.inner_text("body")
    assert await fits_the_screen(page, slack=1)
    await screenshot(page, "uploads-partial-report-phone")

    async with page.expect_download() as download:
        await page.click("text=Download the rejects (CSV)")
    got = await download.value
    assert got.suggested_filename.endswith("-rejects.csv")
    table = list(csv.reader(io.StringIO((await got.path()).read_text(encoding="utf-8-sig"))))
    assert table == [
        ["Mobile No", "Customer Name", "Store Code", "DOB", "Loyalty Tier", "Row", "Reason"],
        ["098765-43211", "Ravi Kumar", "DEL01", "31/02/1990", "Silver", "3",
         "birthday: '31/02/1990' is not a date that exists"],
        ["98765 43214", "On DND", "DEL01", "", "", "6", "on the DND list: excluded"]]
    async with page.expect_download() as download:
        await page.click("text=Download the rejects (Excel)")
    assert (await download.value).suggested_filename.endswith("-rejects.xlsx")

    button = page.locator("button:has-text('Commit 3 valid rows, skip 2')")
    await button.click()   # the box is not ticked: the browser keeps the form
    assert await page.locator("input[name=confirm_skip]").evaluate("e => e.validity.valueMissing")
    await page.check("input[name=allocate][value=none]")
    await page.check("input[name=confirm_skip]")
    async with page.expect_navigation():
        await button.click()
    notice = await page.inner_text(".notice")
    assert "3 rows committed, 2 skipped (1 invalid, 0 repeated, 1 DND)" in notice
    assert "3 new customers" in notice
    await screenshot(page, "uploads-partial-committed-phone")

    fixed = tmp_path / "birthdays-rejects-fixed.csv"
    rows = [table[0], [*table[1][:3], "28/02/1990", *table[1][4:]]]
    with open(fixed, "w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows(rows)
    await page.goto(f"{server.base_url}/campaigns/{campaign_id}")
    await page.set_input_files("#file", str(fixed))
    async with page.expect_navigation():
        await page.click("button:has-text('Upload and check')")
    await page.check("input[name=allocate][value=none]")
    async with page.expect_navigation():
        await page.click("button:has-text('Commit 1 customers')")
    assert "1 new customers" in await page.inner_text(".notice")
    async with server.services.sessions() as session:
        items = await session.scalar(select(func.count()).select_from(WorkItem))
        people = await session.scalar(select(func.count()).select_from(Customer))
    assert (items, people) == (4, 4)
    assert not problems, problems
