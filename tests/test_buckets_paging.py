"""Keyset paging of the bucket lists through the JSON API: following
``next`` (and ``previous``) visits every item once in the bucket's order,
also while items change bucket between pages; a cursor that was edited or
made up is a 400 with a sentence; a cursor never widens the caller's scope."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from types import SimpleNamespace as Row

import pytest
from sqlalchemy import select, update

from callcenter.models import utcnow
from callcenter.work import paging
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.light_app import light_app


@pytest.fixture
async def app(settings, sessions):
    settings.security.session_secret = "a-test-secret-of-the-server-0123"
    app = await light_app(settings, sessions)
    async with sessions() as s:
        north = Row(id=app.rows["north"])
        app.rows["camp"] = (await f.campaign(s, "later", loc=north)).id
        app.rows["soon"] = (await f.campaign(s, "sooner", loc=north,
                                             expires_on=dt.date.today() + dt.timedelta(days=5))).id
        app.rows["agent_n2"] = (await f.user(s, "agent_n2", team=Row(id=app.rows["team"],
                                                                     location_id=app.rows["north"]))).id
        await s.commit()
    app.sessions = sessions
    yield app
    await app.client.close()


async def add(app, agents, n, camps=("camp",), **fields) -> list[int]:
    """``n`` items dealt round the agents and campaigns; ``fields`` may be a
    function of the item's number."""
    ids = []
    async with app.sessions() as s:
        for k in range(n):
            cust = await f.customer(s, store=Row(id=app.rows["s1"]))
            extra = {key: value(k) if callable(value) else value for key, value in fields.items()}
            item = await f.work_item(s, Row(id=app.rows[camps[k % len(camps)]]), cust,
                                     Row(id=app.rows[agents[k % len(agents)]]), **extra)
            ids.append(item.id)
        await s.commit()
    return ids


async def get(app, who, url, status=200):
    resp = await app.client.get(url, headers=app.headers(who))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def walk(app, who, url, link="next", limit=100):
    """Follow ``link`` from ``url``; every page's item ids, in page order."""
    pages = []
    while url is not None and len(pages) < limit:
        answer = await get(app, who, url)
        pages.append([i["id"] for i in answer["items"]])
        url = answer[link]
    return pages


async def order_of(app, bucket: str, ids: list[int]) -> list[int]:
    """``ids`` in the bucket's order as the agent sees it: by the campaign's
    expiry (fresh) or the item's time, no time first, ties by id."""
    async with app.sessions() as s:
        items = {i.id: i for i in (await s.scalars(select(WorkItem).where(WorkItem.id.in_(ids))))}
    expiry = {app.rows["camp"]: 30, app.rows["soon"]: 5}

    def key(i):
        item = items[i]
        when = {"fresh": None, "non_contact": item.next_attempt_at,
                "future_followup": item.followup_at}[bucket]
        if bucket == "fresh":
            return (expiry[item.campaign_id], i)
        return (when is not None, when or dt.datetime.min, i)
    return sorted(ids, key=key)


async def test_next_links_visit_a_teams_bucket_once_each_in_its_order_and_previous_walks_back(app):
    team = await add(app, ["agent_n", "agent_n2"], 240, camps=("camp", "soon"))
    await add(app, ["exec1"], 30, camps=("camp", "soon"))   # another agent's, outside the lead's team
    first = await get(app, "lead_n", "/api/v1/buckets/fresh?per_page=25")
    assert first["total"] == 240 and first["page"] == 1 and first["pages"] == 10 and first["previous"] is None
    pages = await walk(app, "lead_n", "/api/v1/buckets/fresh?per_page=25")
    seen = [i for p in pages for i in p]
    assert len(pages) == 10 and [len(p) for p in pages] == [25] * 9 + [15]
    assert seen == await order_of(app, "fresh", team)   # each once, the sooner campaign first
    last = await get(app, "lead_n", "/api/v1/buckets/fresh?per_page=25&page=10")   # ?page= still works
    assert [i["id"] for i in last["items"]] == pages[-1] and last["next"] is None
    back = await walk(app, "lead_n", last["previous"], link="previous")
    assert [i for p in reversed(back) for i in p] + pages[-1] == seen
    later = await get(app, "lead_n", first["next"])
    assert "page" not in later and later["per_page"] == 25 and later["cursor"]["next"] in later["next"]


async def test_ties_and_items_without_a_time_page_in_order(app):
    base = utcnow().replace(microsecond=0) + dt.timedelta(hours=1)
    times = [None, base, base + dt.timedelta(minutes=30), base - dt.timedelta(days=1)]
    ids = await add(app, ["agent_n"], 130, bucket="non_contact", next_attempt_at=lambda k: times[k % 4])
    pages = await walk(app, "agent_n", "/api/v1/buckets/non_contact?per_page=20")
    assert [i for p in pages for i in p] == await order_of(app, "non_contact", ids)
    last = await get(app, "agent_n", "/api/v1/buckets/non_contact?per_page=20&page=7")
    back = await walk(app, "agent_n", last["previous"], link="previous")
    assert [i for p in reversed(back) for i in p] + pages[-1] == [i for p in pages for i in p]


async def test_items_that_change_bucket_between_pages_are_neither_repeated_nor_lost(app):
    ids = await add(app, ["agent_n"], 200, camps=("soon",))   # one campaign: in id order
    first = await get(app, "agent_n", "/api/v1/buckets/fresh?per_page=25")
    shown = [i["id"] for i in first["items"]]
    assert shown == ids[:25]
    gone_seen, gone_ahead = ids[5:15], ids[40:60]   # called already / called by now from elsewhere
    async with app.sessions() as s:
        moved = gone_seen + gone_ahead + [ids[24]]   # the cursor's own item too
        await s.execute(update(WorkItem).where(WorkItem.id.in_(moved)).values(bucket="non_contact"))
        await s.commit()
    rest = [i for p in await walk(app, "agent_n", first["next"]) for i in p]
    assert len(rest) == len(set(rest)) and not set(rest) & set(shown)
    assert rest == [i for i in ids[25:] if i not in gone_ahead]
    # and back again from the end: the items still in the bucket, once each
    last = await get(app, "agent_n", "/api/v1/buckets/fresh?per_page=25&page=7")
    back = [i for p in reversed(await walk(app, "agent_n", last["previous"], link="previous")) for i in p]
    assert back + [i["id"] for i in last["items"]] == [i for i in ids if i not in moved]


def forged(app, bucket="fresh", direction="after", key=None, item_id=1, secret=None) -> str:
    secret = app.services.settings.security.session_secret if secret is None else secret
    return paging.encode(paging.Cursor(bucket, direction, key, item_id), secret)


def tampered(token: str) -> str:
    body, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["i"] = 1
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + signature


async def test_an_edited_or_made_up_cursor_is_a_400_with_a_sentence(app):
    await add(app, ["agent_n"], 30)
    good = (await get(app, "agent_n", "/api/v1/buckets/fresh?per_page=10"))["cursor"]["next"]
    assert (await get(app, "agent_n", f"/api/v1/buckets/fresh?per_page=10&cursor={good}"))["items"]
    assert (await get(app, "agent_n", "/api/v1/buckets/fresh?cursor="))["page"] == 1   # blank: the first page
    for bad in ("garbage", "a.b", "....", tampered(good), good[:-3], good + "x",
                forged(app, secret="not-the-servers-secret-at-all"), "x" * 5000,
                "%00%27%3B%20DROP%20TABLE%20work_items--"):
        answer = await get(app, "agent_n", f"/api/v1/buckets/fresh?cursor={bad}", status=400)
        assert answer["error"] == "invalid_cursor" and "start again from the first page" in answer["message"]
    other = await get(app, "agent_n", f"/api/v1/buckets/non_contact?cursor={good}", status=400)
    assert other["error"] == "invalid_cursor" and "another bucket" in other["message"]
    for key in ("tomorrow", 12, ["2026-01-01"]):   # signed, yet not a key of this bucket
        payload = json.dumps({"b": "fresh", "d": "a", "k": key, "i": 3}).encode()
        secret = app.services.settings.security.session_secret
        signature = hmac.new(paging._key(secret), payload, hashlib.sha256).digest()[:16]
        token = f"{paging._b64(payload)}.{paging._b64(signature)}"
        await get(app, "agent_n", f"/api/v1/buckets/fresh?cursor={token}", status=400)
    both = await get(app, "agent_n", f"/api/v1/buckets/fresh?page=2&cursor={good}", status=422)
    assert both["error"] == "invalid_request"
    async with app.sessions() as s:   # nothing was lost
        assert len((await s.scalars(select(WorkItem.id))).all()) == 30


async def test_a_cursor_never_widens_the_callers_scope(app):
    team = await add(app, ["agent_n", "agent_n2"], 40, camps=("soon",))
    outside = await add(app, ["exec1", "exec3"], 40, camps=("soon",))
    soon = dt.date.today() + dt.timedelta(days=5)
    # a cursor signed by the server itself, set before every item: still the team's only
    start = forged(app, key=soon - dt.timedelta(days=400), item_id=1)
    seen = [i for p in await walk(app, "lead_n", f"/api/v1/buckets/fresh?per_page=15&cursor={start}")
            for i in p]
    assert seen == sorted(team) and not set(seen) & set(outside)
    # the lead's own next cursor in an agent's hands shows the agent's items only
    lead_next = (await get(app, "lead_n", "/api/v1/buckets/fresh?per_page=5"))["cursor"]["next"]
    mine = [i for p in await walk(app, "agent_n", f"/api/v1/buckets/fresh?per_page=5&cursor={lead_next}")
            for i in p]
    async with app.sessions() as s:
        owners = set((await s.scalars(select(WorkItem.agent_id)
                                      .where(WorkItem.id.in_(mine)))).all())
    assert mine and owners == {app.rows["agent_n"]}
