"""The reports' pages as a person uses them (logged in through the form, on the
real app): the team lead's overview with links to buckets and reassignment,
the daily report of a picked day, the campaign page, per store, CSV through
the browser session; an agent is refused the team pages but has their own."""
from __future__ import annotations

import re

import pytest

from tests.browser import WebClient, WebUser, add_web_user
from tests.harness import TrunkSpec
from tests.test_reports_service import DAY, build_world

pytestmark = pytest.mark.pbx


@pytest.fixture
async def site(call_server):
    server = await call_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    server.world = await build_world(server.services.sessions)
    server.passwords = {}
    for name, role in (("lead-a", "teamlead"), ("asha", "agent"), ("mgr-north", "manager")):
        user = WebUser(name, role)
        await add_web_user(server, user)
        server.passwords[name] = user.password
    clients = []

    async def login(name):
        client = WebClient(server)
        clients.append(client)
        resp = await client.login(name, server.passwords[name])
        assert resp.status == 303, await resp.text()
        return client

    server.login = login
    yield server
    for client in clients:
        await client.close()


def cells(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_team_lead_overview_links_to_buckets_and_reassign(site):
    w = site.world
    browser = await site.login("lead-a")
    resp = await browser.get("/reports")
    assert resp.status == 200
    html = await resp.text()
    assert "Asha" in html and "Arjun" in html and "Bala" not in html and "Chitra" not in html
    assert f'href="/buckets?agent={w.a1.id}"' in html
    assert f'href="/buckets?agent={w.a1.id}&amp;bucket=fresh"' in html
    assert f'href="/work/reassign?agent={w.a1.id}"' in html
    assert 'href="/api/v1/reports/overview?format=csv"' in html
    assert '<progress max="1" value="0.4">' in html
    other_team = await browser.get(f"/reports?team={w.team_b.id}")
    assert other_team.status == 404


async def test_daily_report_of_a_picked_day(site):
    browser = await site.login("lead-a")
    resp = await browser.get(f"/reports/daily?date={DAY}")
    assert resp.status == 200
    text = cells(await resp.text())
    assert "Tue 05 Nov 2024" in text
    # calls placed, connected, inbound answered, talk time, inbound talk, appointments
    assert "Asha 4 2 1 4:30 2:00 1" in text
    assert 'value="2024-11-05"' in await resp.text()
    bad = await browser.get("/reports/daily?date=yesterday")
    assert bad.status == 422


async def test_campaign_and_store_pages(site):
    w = site.world
    lead = await site.login("lead-a")
    resp = await lead.get(f"/reports/campaigns/{w.camp.id}")
    assert resp.status == 200
    text = cells(await resp.text())
    assert "40.0 % contact rate" in text and "50.0 % appointment rate" in text
    assert "NPS 75.0" in text
    listing = cells(await (await lead.get("/reports/campaigns")).text())
    assert "walkin-nov" in listing
    manager = await site.login("mgr-north")
    stores = cells(await (await manager.get(f"/reports/stores?date={DAY}")).text())
    assert "N001 · Store N001" in stores and "N002 · Store N002" in stores


async def test_csv_download_with_the_browser_session(site):
    lead = await site.login("lead-a")
    resp = await lead.get(f"/api/v1/reports/agents?date={DAY}&format=csv")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="agents-2024-11-05.csv"'
    body = (await resp.read()).decode("utf-8")
    assert "asha" in body and "bala" not in body


async def test_agent_gets_own_page_not_the_team_reports(site):
    agent = await site.login("asha")
    for path in ("/reports", "/reports/daily", f"/reports/campaigns/{site.world.camp.id}", "/reports/stores"):
        assert (await agent.get(path)).status == 403, path
    resp = await agent.get(f"/reports/me?date={DAY}")
    assert resp.status == 200
    text = cells(await resp.text())
    assert "4 calls placed" in text and "2 connected" in text and "40 % done of 5" in text
