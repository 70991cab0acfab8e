"""The work pages rendered through the real app (bearer tokens stand in for
the browser session here; the browser tests drive the real login): the
buckets home, allocation, reassignment and store appointments."""
from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from types import SimpleNamespace as Row

import pytest

from callcenter.models import utcnow
from callcenter.work.models import Appointment, WorkItem
from tests import factories as f
from tests.light_app import light_app


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    async with sessions() as s:
        app.rows["camp"] = (await f.campaign(s, "Birthdays", loc=Row(id=app.rows["north"]))).id
        await s.commit()
    app.sessions = sessions
    yield app
    await app.client.close()


async def add(app, agent=None, name=None, mobile=None, store="s1", **fields):
    async with app.sessions() as s:
        cust = await f.customer(s, mobile=mobile, name=name, store=Row(id=app.rows[store]))
        item = await f.work_item(s, Row(id=app.rows["camp"]), cust, Row(id=app.rows[agent]) if agent else None,
                                 **fields)
        await s.commit()
    return item


async def page(app, who, url, status=200, method="GET", data=None):
    resp = await app.client.request(method, url, headers=app.headers(who), data=data, allow_redirects=False)
    text = await resp.text()
    assert resp.status == status, text[:2000]
    return text


async def test_the_buckets_page_shows_tabs_counts_rows_and_links(app):
    item = await add(app, "exec1", name="Meera Iyer", mobile="+919812345678")
    await add(app, "exec1", bucket="pending_followup", followup_at=utcnow() - dt.timedelta(hours=3), attempts=2)
    await add(app, "exec2", name="Not Hers")
    html = await page(app, "exec1", "/buckets")
    assert "Meera Iyer" in html and "Not Hers" not in html
    assert f'href="/customers/{item.customer_id}?item={item.id}"' in html
    assert "+91 98xxxxxx78" in html and "+919812345678" not in html
    assert re.search(r'data-count="fresh">1<', html) and re.search(r'data-count="pending_followup">1<', html)
    assert "Missed follow-up" in html  # the reminders strip
    assert '<script src="/static/buckets.js"' in html and "<script>" not in html  # no inline script
    pending = await page(app, "exec1", "/buckets?bucket=pending_followup")
    assert "is-missed" in pending and "Missed: was due" in pending
    assert "2 calls placed" in pending and "attempt" not in pending


async def test_search_paging_and_a_short_search(app):
    for n in range(30):
        await add(app, "exec1", name=f"Customer {n:02d}")
    await add(app, "exec1", name="Zara Khan", mobile="+919800004321")
    html = await page(app, "exec1", "/buckets?q=4321")
    assert "Zara Khan" in html and "Customer 01" not in html
    first = await page(app, "exec1", "/buckets")
    assert "Page 1 of 2 · 31 items" in first and "Previous" not in first
    second = await page(app, "exec1", html_lib.unescape(re.search(r'rel="next" href="([^"]+)"', first)[1]))
    assert "Customer 25" in second and "Customer 24" not in second and 'rel="next"' not in second
    assert "Previous" in second
    older_link = await page(app, "exec1", "/buckets?page=2")  # an older ?page= link still works
    assert "Page 2 of 2" in older_link and "Customer 25" in older_link
    short = await page(app, "exec1", "/buckets?q=43")
    assert "last 4 digits" in short


async def test_a_lead_sees_an_agents_buckets_unmasked_with_the_agent_picker(app):
    await add(app, "agent_n", name="Team Customer", mobile="+919811112222")
    html = await page(app, "lead_n", f"/buckets?agent={app.rows['agent_n']}")
    assert "Team Customer" in html and "+919811112222" in html
    assert f'<option value="{app.rows["agent_n"]}" selected' in html
    await page(app, "exec1", "/allocate", 403)
    await page(app, "exec1", "/work/reassign", 403)


async def test_allocate_page_allocates_and_reports(app):
    for _ in range(3):
        await add(app)
    await add(app, store="s3")  # a south store: nobody of the north manager's takes it
    html = await page(app, "manager_n", "/allocate")
    assert "Birthdays — 4 waiting" in html
    done = await page(app, "manager_n", "/allocate", method="POST",
                      data={"campaign_id": str(app.rows["camp"]), "how": "store"})
    assert "<strong>3</strong> allocated" in done and "no active executive in the store" in done
    bad = await page(app, "manager_s", "/allocate", 422, method="POST",
                     data={"campaign_id": str(app.rows["camp"]), "how": "store"})
    assert "no such campaign" in bad


async def test_reassign_page_moves_ticked_items(app):
    ids = [(await add(app, "exec1", name=f"C{n}")).id for n in range(3)]
    html = await page(app, "manager_n", f"/work/reassign?agent={app.rows['exec1']}")
    assert html.count('name="item"') == 3 and "data-select-all" in html
    done = await page(app, "manager_n", "/work/reassign", method="POST", data=[
        ("agent", str(app.rows["exec1"])), ("item", str(ids[0])), ("item", str(ids[1])),
        ("to_agent", str(app.rows["exec2"])), ("action", "selected")])
    assert "Reassigned 2 items" in done
    async with app.sessions() as s:
        owners = [(await s.get(WorkItem, i)).agent_id for i in ids]
    assert owners == [app.rows["exec2"], app.rows["exec2"], app.rows["exec1"]]
    nothing = await page(app, "manager_n", "/work/reassign", 422, method="POST",
                         data={"agent": str(app.rows["exec1"]), "to_agent": str(app.rows["exec2"]),
                               "action": "selected"})
    assert "Tick the items" in nothing


async def test_appointments_page_for_a_store_executive(app):
    item = await add(app, "exec1", name="Visitor", bucket="appointment",
                     appointment_at=utcnow() + dt.timedelta(minutes=5))
    async with app.sessions() as s:
        s.add(Appointment(work_item_id=item.id, customer_id=item.customer_id, agent_id=app.rows["exec1"],
                          store_id=app.rows["s1"], at=utcnow() + dt.timedelta(minutes=5)))
        await s.commit()
    html = await page(app, "exec1", "/appointments")
    assert "Visitor" in html and "Today" in html and "Tomorrow" in html
    other = await page(app, "exec2", "/appointments")
    assert "Visitor" not in other
    manager = await page(app, "manager_n", f"/appointments?store={app.rows['s1']}")
    assert "Visitor" in manager


async def test_a_manager_picks_an_agent_first(app):
    await add(app, "exec1", name="Someone")
    html = await page(app, "manager_n", "/buckets")
    assert "Choose an agent" in html and "Someone" not in html
    assert f'<option value="{app.rows["exec1"]}">' in html
    assert f'<option value="{app.rows["exec3"]}">' not in html  # the south's agent
    assert "Someone" in await page(app, "manager_n", f"/buckets?agent={app.rows['exec1']}")


async def test_a_managers_page_about_one_agent_offers_only_that_agents_team_or_store(app):
    """A location has ~1,750 executives: the page about one of them lists the
    agents near them (team, else store) and links back to the full picker."""
    html = await page(app, "manager_n", f"/buckets?agent={app.rows['exec1']}")
    assert f'<option value="{app.rows["exec1"]}" selected>' in html
    assert f'<option value="{app.rows["exec2"]}">' not in html      # another store of the location
    assert f'<option value="{app.rows["agent_n"]}">' not in html    # a call-centre agent of a team
    assert '<a href="/buckets">Other agents</a>' in html
    html = await page(app, "manager_n", f"/buckets?agent={app.rows['agent_n']}")
    assert f'<option value="{app.rows["agent_n"]}" selected>' in html
    assert f'<option value="{app.rows["exec1"]}">' not in html
    lead = await page(app, "lead_n", f"/buckets?agent={app.rows['agent_n']}")  # a team lead keeps the team's list
    assert "Other agents" not in lead


def pager_link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return html_lib.unescape(found[1]) if found else None


async def test_the_pages_next_and_previous_links_walk_the_bucket(app):
    for n in range(60):
        await add(app, "exec1", name=f"Customer {n:02d}")
    first = await page(app, "exec1", "/buckets")
    assert "Page 1 of 3 · 60 items" in first and pager_link(first, "prev") is None
    second = await page(app, "exec1", pager_link(first, "next"))
    third = await page(app, "exec1", pager_link(second, "next"))
    names = [re.findall(r"Customer (\d\d)</a>", html) for html in (first, second, third)]
    assert [int(n) for ns in names for n in ns] == list(range(60)) and pager_link(third, "next") is None
    assert "bucket=fresh" in pager_link(second, "next")   # the tab (and filters) kept
    back = await page(app, "exec1", pager_link(third, "prev"))
    assert re.findall(r"Customer (\d\d)</a>", back) == names[1]
    again = await page(app, "exec1", pager_link(back, "prev"))
    assert re.findall(r"Customer (\d\d)</a>", again) == names[0] and pager_link(again, "prev") is None
    bad = await page(app, "exec1", "/buckets?cursor=made-up.link", 400)
    assert "this page link is not valid" in bad and "Customer 00" not in bad


async def test_the_reassign_page_pages_by_cursor_and_stays_on_its_page_after_a_move(app):
    ids = [(await add(app, "exec1", name=f"Customer {n:02d}")).id for n in range(120)]
    first = await page(app, "manager_n", f"/work/reassign?agent={app.rows['exec1']}")
    second_link = pager_link(first, "next")
    second = await page(app, "manager_n", second_link)
    cursor = re.search(r'name="cursor" value="([^"]+)"', second)[1]
    assert f'value="{ids[50]}"' in second and f'value="{ids[49]}"' not in second
    done = await page(app, "manager_n", "/work/reassign", method="POST", data=[
        ("agent", str(app.rows["exec1"])), ("bucket", "fresh"), ("cursor", html_lib.unescape(cursor)),
        ("item", str(ids[50])), ("to_agent", str(app.rows["exec2"])), ("action", "selected")])
    assert "Reassigned 1 items" in done
    # the same page again, less the item given away: the next one moved up, none from page 1
    assert f'value="{ids[50]}"' not in done and f'value="{ids[51]}"' in done and f'value="{ids[49]}"' not in done
