"""Issue 3 end to end, as people use it: Playwright driving Debian's chromium
(headless) against the running server with the REAL Asterisk, Redis and sipp
(the carrier on 127.0.0.2 answers with RTP audio; the agent's desk phone is a
sipp UAS with a static contact).

1. An admin sets up the organisation in the browser (location, stores, team,
   a manager, a team lead and an agent with her desk phone; a head count),
   the manager creates a campaign and uploads customers (report, commit with
   store-wise allocation), the agent works the buckets: 360 page, Call, the
   live panel pushed over the WebSocket (ringing you, ringing the customer,
   connected with a running timer, ended), the disposition form, "call me
   later", a second call refused until then, the follow-up passing its time
   and landing in pending follow-up by itself; the team lead's report.
2. A survey call: the six ratings, overall experience and NPS recorded and
   shown on the 360 page; another agent reaches neither that customer nor the
   recording by id; posts without the CSRF token or from a foreign origin are
   refused.

Screenshots of every main page at laptop and phone widths go to
test-artifacts/screenshots/e2e-*.png. With CC_DOCS_SCREENSHOTS=1 the README's
walk-through pictures (800 px wide) are refreshed in docs/screenshots/."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from callcenter.models import Call, Trunk, User, utcnow
from callcenter.work.models import SurveyAnswer, WorkItem
from callcenter.work.sweeper import WorkLoop
from tests import factories as f
from tests.browser import WebClient, WebUser, add_web_user, fits_the_screen, login, screenshot, watch_console
from tests.harness import Agent, TrunkSpec, eventually
from tests.stack import free_port

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(240)]

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
IST = ZoneInfo("Asia/Kolkata")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DOCS_WIDTH = 800

CUSTOMERS_CSV = ("Mobile No,Customer Name,Store Code,DOB,Last Purchase,Loyalty Tier\r\n"
                 "+91 98111 20001,Meera Iyer,DEL01,05/03/1990,Gold chain 22k 12 g,Platinum\r\n"
                 "098111-20002,Farhan Ali,DEL01,1988-11-23,Diamond studs,Gold\r\n"
                 "98111 20003,Kiran Joshi,DEL01,5 Mar 1979,,Silver\r\n"
                 "+919811120004,Neha Gupta,DEL02,12-7-1992,Silver anklet,\r\n")
HEADCOUNT_CSV = ("Employee ID,Name,Store Code,Status,Languages,Mobile\r\n"
                 "E20001,Ravi Kumar,DEL02,Active,\"hi,en\",+91 98700 10001\r\n"
                 "E20002,Sunita Devi,DEL02,Active,hi,98700 10002\r\n")


async def shoot(page, name: str, docs: str | None = None, *, docs_height: int = 1000) -> None:
    """The page at laptop and at phone width (test artifacts, whole pages),
    then back at phone width where it was; with ``docs`` and
    CC_DOCS_SCREENSHOTS=1 also the README's picture ``docs/screenshots/<docs>.png``:
    the top of the page, 800 px wide and ``docs_height`` tall."""
    scrolled = await page.evaluate("window.scrollY")
    await page.evaluate("window.scrollTo(0, 0)")  # else the sticky call panel is drawn mid-page
    await page.set_viewport_size(LAPTOP)
    await screenshot(page, f"e2e-{name}-laptop")
    await page.set_viewport_size(PHONE)
    await screenshot(page, f"e2e-{name}-phone")
    if docs and os.environ.get("CC_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.set_viewport_size({"width": DOCS_WIDTH, "height": docs_height})
        await page.screenshot(path=str(DOCS / f"{docs}.png"), full_page=False)
        await page.set_viewport_size(PHONE)
    await page.evaluate("y => window.scrollTo(0, y)", scrolled)


async def submit(page, button: str) -> None:
    async with page.expect_navigation():
        await page.click(button)


async def log_out(page) -> None:
    await submit(page, "form[action='/logout'] button")
    assert page.url.endswith("/login")


async def new_user(page, base: str, name: str, role: str, **fields) -> str:
    """Create a user on /admin/users/new as an admin does; the generated
    login password the page shows once."""
    await page.goto(base + "/admin/users/new")
    await page.fill("#name", name)
    await page.fill("#display_name", fields.pop("display_name", name.title()))
    await page.select_option("#role", role)
    for key in ("store", "team", "location"):  # chosen by their label
        if key in fields:
            await page.select_option(f"#{key}", label=fields.pop(key))
    for key in ("agent_kind", "phone_mode"):
        await page.select_option(f"#{key}", fields.pop(key, ""))
    for key, value in fields.items():
        await page.fill(f"#{key}", value)
    await submit(page, "button:has-text('Create user')")
    assert f"User {name} created" in await page.inner_text("h1"), await page.inner_text("main")
    return (await page.inner_text("#login-password")).strip()


async def count_of(page, bucket: str) -> str:
    return (await page.inner_text(f'[data-count="{bucket}"]')).strip()


async def mark_page(page) -> None:
    """A marker a reload would wipe, and a record of every state the live
    panel shows (its data-state, as rendered from the socket's messages)."""
    await page.evaluate("""() => {
        window.__sameDocument = true;
        window.__panel = [];
        const panel = document.getElementById("call-panel");
        new MutationObserver(() => {
            const state = panel.getAttribute("data-state");
            const text = (panel.querySelector(".state") || {}).textContent || "";
            const last = window.__panel[window.__panel.length - 1];
            if (state && (!last || last[0] !== state)) window.__panel.push([state, text]);
        }).observe(panel, {attributes: true, attributeFilter: ["data-state"]});
    }""")


async def same_document(page) -> bool:
    return await page.evaluate("window.__sameDocument === true")


def _fast_settings(settings):
    """The server's settings with a 1-second ``work.sweep_interval``: the
    sweeper loop as ``serve`` runs it, only sooner than the default 30 s."""
    return dataclasses.replace(settings, sections={
        **settings.sections, "work": dataclasses.replace(settings.work, sweep_interval=1.0)})


@contextlib.asynccontextmanager
async def fast_sweeper(services):
    loop = WorkLoop(_fast_settings(services.settings), services.sessions, services.live, services.loops.failed)
    task = asyncio.create_task(loop.run(), name="test-fast-work-loop")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def place_and_follow(page, server) -> tuple[str, list]:
    """Click Call on the open customer page and follow the live panel to the
    end of the call: the call id and the panel's states (asserting the
    connected timer runs, with screenshots while connected)."""
    await mark_page(page)
    await page.click("#call-button")
    # connected, or where the call stopped instead (said in the failure rather than a bare timeout)
    await page.wait_for_selector("#call-panel[data-state=connected], #call-panel[data-state=ended]",
                                 timeout=25_000)
    state = await page.get_attribute("#call-panel", "data-state")
    assert state == "connected", (state, await page.inner_text("#call-panel"))
    first = await page.inner_text("#call-panel .timer")
    await page.wait_for_timeout(1500)
    later = await page.inner_text("#call-panel .timer")
    assert re.fullmatch(r"\d+:\d\d", later) and later != first, (first, later)
    assert "Connected" in await page.inner_text("#call-panel .state")
    assert "Connected" in await page.inner_text("#call-status")
    call_id = await page.get_attribute("#call-panel", "data-call-id")
    return call_id, await page.evaluate("window.__panel")


async def in_asterisk(pbx_stack, endpoint: str) -> bool:
    return endpoint in await asyncio.to_thread(pbx_stack.pjsip_endpoints)


async def test_admin_sets_up_manager_uploads_agent_calls_disposes_and_the_followup_goes_pending(
        web_server, page, sipp, tmp_path, pbx_stack):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 7000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    admin = WebUser("admin", "admin", display_name="Administrator")
    server = await web_server(trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[admin])
    base = server.base_url
    problems = watch_console(page)

    # -- the admin: first login, the organisation ---------------------------------
    await page.goto(base + "/buckets")
    assert "/login?next=" in page.url
    await shoot(page, "login")
    await login(page, "admin", admin.password, base)
    await page.goto(base + "/admin")
    await shoot(page, "admin-overview", "01-admin-first-login", docs_height=420)

    await page.goto(base + "/admin/locations")
    await page.fill("#code", "north")
    await page.fill("#name", "North call centre")
    await submit(page, "button:has-text('Create location')")
    for code, name, city in (("DEL01", "Karol Bagh", "Delhi"), ("DEL02", "Lajpat Nagar", "Delhi")):
        await page.goto(base + "/admin/stores")
        await page.fill("#code", code)
        await page.fill("#name", name)
        await page.fill("#city", city)
        await page.select_option("#language", "hi")
        await page.select_option("#location", label="North call centre (north)")
        await submit(page, "button:has-text('Create store')")
        assert code in await page.inner_text("main")
    await page.goto(base + "/admin/teams")
    await page.fill("#name", "north-1")
    await submit(page, "button:has-text('Create team')")
    assert "north-1" in await page.inner_text("main")

    meera_pw = await new_user(page, base, "meera", "manager", display_name="Meera Nair",
                              location="North call centre (north)")
    tara_pw = await new_user(page, base, "tara", "teamlead", display_name="Tara Singh", team="north-1")
    asha_pw = await new_user(page, base, "asha", "agent", display_name="Asha Rao", agent_kind="store",
                             store="DEL01 · Karol Bagh", team="north-1", phone_mode="desktop",
                             languages="hi,en", contact=f"sip:{PHONE_IP}:{phone.port}")
    await shoot(page, "user-created-secret")
    await page.goto(base + "/admin/users")
    for name in ("meera", "tara", "asha"):
        assert name in await page.inner_text("main")
    await shoot(page, "admin-users", "02-admin-users", docs_height=700)

    headcount = tmp_path / "headcount.csv"
    headcount.write_text(HEADCOUNT_CSV)
    await page.goto(base + "/admin/headcount")
    await page.set_input_files("#file", str(headcount))
    await submit(page, "button:has-text('Upload and check')")
    assert "2 new" in " ".join((await page.inner_text("main")).split())
    await shoot(page, "headcount-report", "03-headcount-report", docs_height=840)
    await submit(page, "button:has-text('Commit the head count')")
    assert "committed=1" in page.url
    await shoot(page, "headcount-committed")
    async with server.services.sessions() as s:
        made = (await s.scalars(select(User.name).where(User.employee_id.in_(["E20001", "E20002"])))).all()
    assert sorted(made) == ["e20001", "e20002"]
    await log_out(page)

    # -- the manager: a campaign, the customer upload, store-wise allocation ----------
    await login(page, "meera", meera_pw, base)
    await page.goto(base + "/campaigns/new")
    today = dt.datetime.now(IST).date()
    await page.fill("#name", "Birthdays this fortnight")
    await page.select_option("#type", "birthday")
    await page.fill("#starts_on", today.isoformat())
    await page.fill("#expires_on", (today + dt.timedelta(days=14)).isoformat())
    await page.select_option("#trunk_id", label="carrier (250 channels)")
    assert await fits_the_screen(page, slack=1)
    await shoot(page, "campaign-form", "04-campaign-form", docs_height=760)
    await submit(page, "button:has-text('Create')")
    assert "Campaign created" in await page.inner_text(".notice")

    upload = tmp_path / "birthdays.csv"
    upload.write_text(CUSTOMERS_CSV)
    await page.set_input_files("#file", str(upload))
    await submit(page, "button:has-text('Upload and check')")
    assert "validated" in await page.inner_text("h1")
    tiles = " ".join((await page.inner_text(".tiles")).split())
    assert "4 rows" in tiles and "4 valid" in tiles and "0 invalid" in tiles, tiles
    assert await page.is_checked("input[name=allocate][value=store]")
    await shoot(page, "upload-report", "05-upload-report")
    await submit(page, "button:has-text('Commit 4 customers')")
    notice = " ".join((await page.inner_text(".notice")).split())
    assert "4 new customers" in notice and "4 allocated" in notice, notice
    await shoot(page, "upload-committed")
    await page.goto(base + "/allocate")
    await shoot(page, "allocate", "06-allocate", docs_height=700)
    async with server.services.sessions() as s:
        rows = (await s.execute(select(User.name, WorkItem.id).join(User, User.id == WorkItem.agent_id))).all()
    by_agent = {}
    for name, _ in rows:
        by_agent[name] = by_agent.get(name, 0) + 1
    assert by_agent.get("asha") == 3 and sum(by_agent.values()) == 4, by_agent  # DEL01 -> asha, DEL02 -> e2000x
    await log_out(page)

    # -- the agent: buckets, the 360 page, the live call -------------------------------
    await login(page, "asha", asha_pw, base)
    assert page.url.rstrip("/").endswith("/buckets")
    await page.wait_for_selector("#live-status[data-state=online]")
    assert [await count_of(page, b) for b in ("fresh", "non_contact", "future_followup",
                                               "pending_followup", "appointment")] == ["3", "0", "0", "0", "0"]
    assert await page.locator("text=Neha Gupta").count() == 0  # DEL02's customer is not hers
    await shoot(page, "buckets", "07-agent-buckets", docs_height=760)
    links = page.locator("ol.work-list li.work-row a.customer")
    assert await links.count() == 3
    first_href, second_href = await links.nth(0).get_attribute("href"), await links.nth(1).get_attribute("href")
    first_name = (await links.nth(0).inner_text()).strip()

    # a second tab on another customer, opened before the call
    other = await page.context.new_page()
    other_problems = watch_console(other)
    await other.goto(base + second_href)
    assert await other.is_enabled("#call-button")

    await page.goto(base + first_href)
    assert first_name in await page.inner_text("h1")
    assert "98111" not in await page.inner_text("h1")  # the mobile is masked for an agent
    assert await page.is_hidden("#disposition")
    await shoot(page, "customer-360")
    await page.wait_for_selector("#live-status[data-state=online]")
    # asha's phone is in Asterisk: asked of Asterisk itself (the sync's "changed" may come
    # from a sync that began before her phone was saved, and a loaded CI's reload is slow)
    async with server.services.sessions() as s:
        endpoint = await s.scalar(select(User.sip_endpoint).where(User.name == "asha"))
    await eventually(lambda: in_asterisk(pbx_stack, endpoint), "asha's phone in Asterisk", timeout=45)
    call_id, panel = await place_and_follow(page, server)
    await expect(other.locator("#call-button")).to_be_disabled()  # the other tab: one call at a time
    await shoot(page, "customer-360-connected", "08-customer-360-call", docs_height=700)
    await page.wait_for_selector("#call-panel[data-state=ended]", timeout=25_000)
    panel = await page.evaluate("window.__panel")
    states = [state for state, _ in panel]
    assert [s for s in states if s != "queued"] == ["agent_ringing", "customer_ringing", "connected", "ended"], panel
    texts = dict(panel)
    assert "Ringing your phone" in texts["agent_ringing"] and "Ringing the customer" in texts["customer_ringing"]
    assert "Call ended" in await page.inner_text("#call-panel .state")
    assert await same_document(page)  # every step came over the socket: no reload
    # the form opens by itself
    await page.wait_for_selector("#disposition:not([hidden])", timeout=10_000)
    assert await page.input_value("#disposition-call") == call_id
    assert await page.is_disabled("#call-button")

    # the other tab: a second call before the disposition is refused, visibly
    await other.click("#call-button")
    await expect(other.locator("#call-status")).to_have_text(
        "Submit the disposition of your last call before the next one.")
    assert "error" in (await other.get_attribute("#call-status", "class"))
    assert await other.is_disabled("#call-button")
    await shoot(other, "second-call-refused")
    await other.close()
    async with server.services.sessions() as s:
        assert (await s.scalar(select(Call.id).where(Call.id != call_id))) is None  # nothing was dialled

    # -- the disposition: yes, call me later in a few minutes -------------------------------
    await page.check('fieldset[data-q="talked"] input[value="yes"]')
    await page.check('fieldset[data-q="wished"] input[value="call_later"]')
    follow_at = (dt.datetime.now(IST) + dt.timedelta(minutes=3)).replace(second=0, microsecond=0)
    await page.fill('input[name="a.followup_at"]', follow_at.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#disposition-remarks", "Busy at a wedding; call back in a few minutes")
    await shoot(page, "disposition-form", "09-disposition-form", docs_height=1000)
    await submit(page, "#disposition-form button[type=submit]")
    assert "/buckets" in page.url
    await page.wait_for_selector("#live-status[data-state=online]")
    assert [await count_of(page, b) for b in ("fresh", "future_followup", "pending_followup")] == ["2", "1", "0"]
    await page.click("a.tab:has-text('Future follow-up')")
    row = page.locator("li.work-row", has_text=first_name)
    await expect(row).to_have_count(1)
    await shoot(page, "buckets-after-disposition")
    item_id = int(first_href.split("item=")[1])
    async with server.services.sessions() as s:
        item = await s.get(WorkItem, item_id)
        assert item.bucket == "future_followup"
        assert item.followup_at.replace(tzinfo=dt.timezone.utc) == follow_at.astimezone(dt.timezone.utc)

    # -- the follow-up time passes without a call: pending follow-up, by itself ----------------
    await page.goto(base + "/buckets")
    await page.wait_for_selector("#live-status[data-state=online]")
    await mark_page(page)
    async with server.services.sessions() as s, s.begin():  # three minutes pass
        await s.execute(update(WorkItem).where(WorkItem.id == item_id)
                        .values(followup_at=utcnow() - dt.timedelta(minutes=1)))
    async with fast_sweeper(server.services):
        await expect(page.locator('[data-count="pending_followup"]')).to_have_text("1", timeout=15_000)
        await expect(page.locator('[data-count="future_followup"]')).to_have_text("0")
    assert f"Missed follow-up: {first_name}" in await page.inner_text("#reminders")
    assert await same_document(page)
    await shoot(page, "buckets-missed-followup")
    async with server.services.sessions() as s:
        assert (await s.get(WorkItem, item_id)).bucket == "pending_followup"
    await log_out(page)

    # -- the team lead: the day's report ------------------------------------------------------
    await login(page, "tara", tara_pw, base)
    await page.goto(base + "/reports")
    row = page.locator("table.report tbody tr", has_text="Asha Rao")
    await expect(row).to_have_count(1)
    assert (await row.locator('td[data-label="Calls today"]').inner_text()).strip() == "1"
    assert (await row.locator('td[data-label="Connected"]').inner_text()).strip() == "1"
    await shoot(page, "reports-teamlead", "10-teamlead-report", docs_height=760)
    await page.goto(base + "/reports/daily")
    await shoot(page, "reports-daily")
    await log_out(page)
    assert not problems, problems
    assert not other_problems, other_problems


async def test_survey_call_records_ratings_and_nps_and_other_agents_and_csrf_less_posts_are_refused(
        web_server, page, sipp, web_client):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 3000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    asha = WebUser("asha", "agent", password="asha-password-1", display_name="Asha Rao")
    ravi = WebUser("ravi", "agent", password="ravi-password-1", display_name="Ravi Kumar")
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[asha])
    base = server.base_url
    async with server.services.sessions() as s, s.begin():
        north = await f.location(s, "north")
        store = await f.store(s, north, code="DEL01")
        row = (await s.execute(select(User).where(User.name == "asha"))).scalar_one()
        row.location_id, row.store_id, row.agent_kind = north.id, store.id, "store"
        trunk = (await s.execute(select(Trunk))).scalar_one()
        survey = await f.campaign(s, "Walk-in survey", type="new_walkin_survey", loc=north, trunk_id=trunk.id)
        meera = await f.customer(s, "+919812345678", "Meera Iyer", store=store)
        item = await f.work_item(s, survey, meera, row)
        ids = {"customer": meera.id, "item": item.id, "location": north.id, "store": store.id}
    ravi.fields = {"location_id": ids["location"], "store_id": ids["store"], "agent_kind": "store"}
    await add_web_user(server, ravi)
    problems = watch_console(page)

    await login(page, "asha", asha.password, base)
    await page.goto(f"{base}/customers/{ids['customer']}?item={ids['item']}")
    await page.wait_for_selector("#live-status[data-state=online]")
    call_id, panel = await place_and_follow(page, server)
    await page.wait_for_selector("#disposition:not([hidden])", timeout=25_000)
    assert await same_document(page)
    await page.check('fieldset[data-q="talked"] input[value="yes"]')
    await page.check('fieldset[data-q="wished"] input[value="yes"]')
    ratings = {"sp_greeting": 5, "sp_understanding": 4, "sp_product_knowledge": 5, "sp_explanation": 3,
               "sp_courtesy": 4, "sp_billing": 2, "overall_experience": 4}
    for key, score in ratings.items():
        await page.check(f'fieldset[data-q="{key}"] input[value="{score}"]')
    await page.check('fieldset[data-q="nps"] input[value="9"]')
    await page.fill('input[name="a.corrected_name"]', "Meera S. Iyer")
    await page.check('fieldset[data-q="visit"] input[value="no"]')
    order = await page.eval_on_selector_all("fieldset[data-q]:not([hidden])", "boxes => boxes.map(b => b.dataset.q)")
    assert order.index("sp_greeting") < order.index("nps") < order.index("visit"), order  # as they are asked
    await shoot(page, "survey-form")
    await submit(page, "#disposition-form button[type=submit]")
    assert "/buckets" in page.url

    async with server.services.sessions() as s:
        answers = {a.question: a.score for a in (await s.scalars(
            select(SurveyAnswer).where(SurveyAnswer.customer_id == ids["customer"]))).all()}
        call = await s.get(Call, call_id)
    assert answers == {**ratings, "nps": 9}, answers
    assert call.disposed_at is not None and call.recording_id
    await page.goto(f"{base}/customers/{ids['customer']}?item={ids['item']}")
    assert "Meera S. Iyer" in await page.inner_text("h1")  # enrichment
    survey_table = await page.inner_text("table.survey")
    assert "How likely are you to recommend us" in survey_table
    for text in ("How warmly did the salesperson greet you?", "How smooth were billing and after-sales help?"):
        assert text in survey_table
    scores = [int(cell) for cell in re.findall(r"\t(\d+)\t", survey_table)]
    assert sorted(scores) == sorted([*ratings.values(), 9]), survey_table
    recording_url = await page.get_attribute("table.history audio", "src")
    assert recording_url == f"/api/v1/calls/{call_id}/recording"
    assert (await page.request.get(base + recording_url)).status == 200  # hers to play
    await shoot(page, "customer-360-survey")

    # -- CSRF: a raw fetch without the token, from the page itself ----------------------------
    status = await page.evaluate("""async (url) => (await fetch(url, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: "{}"})).status""", f"/api/v1/work/{ids['item']}/call")
    assert status == 403
    # a form post from a foreign origin, with a valid session and token
    asha_http = web_client(server)
    await asha_http.login("asha", asha.password)
    await asha_http.get(f"/customers/{ids['customer']}?item={ids['item']}")
    resp = await asha_http.post(f"/work/{ids['item']}/disposition", {"call_id": call_id, "a.talked": "no"},
                                origin="https://evil.example")
    assert resp.status == 403
    resp = await asha_http.post("/logout", {}, csrf=False)
    assert resp.status == 403
    async with server.services.sessions() as s:
        assert (await s.get(WorkItem, ids["item"])).bucket == "closed"  # nothing changed by those posts

    # -- another agent, by id: not found ---------------------------------------------------------
    ravi_http: WebClient = web_client(server)
    await ravi_http.login("ravi", ravi.password)
    for path in (f"/customers/{ids['customer']}?item={ids['item']}", f"/customers/{ids['customer']}",
                 f"/api/v1/customers/{ids['customer']}", recording_url, f"/api/v1/calls/{call_id}",
                 f"/api/v1/work/{ids['item']}"):
        resp = await ravi_http.get(path)
        assert resp.status in (403, 404), (path, resp.status)
    resp = await ravi_http.post(f"/api/v1/work/{ids['item']}/call", json={},
                                headers={"X-CSRF-Token": ravi_http.csrf})
    assert resp.status == 404
    assert not problems, problems
