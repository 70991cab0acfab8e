"""The database locked (another writer holds it past the busy timeout) while
an agent saves a disposition: the API and the page answer 503 with
Retry-After within seconds, the page keeps every answer typed, and once the
lock clears the retry saves it exactly once. Reads that need no write
(a bearer token's check) go on meanwhile. Real SQLite, a real second writer."""
from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest
from sqlalchemy import func, select

from callcenter import db
from callcenter.work.models import Disposition, WorkItem
from tests import factories as f
from tests.light_app import light_app

BUSY_TIMEOUT = 0.5
ANSWERS = {"talked": "no", "not_talked_reason": "busy"}


@pytest.fixture
async def locked_db(tmp_path):
    path = tmp_path / "outage.db"
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}", busy_timeout=BUSY_TIMEOUT)
    await db.migrate(engine)
    try:
        yield path, db.sessionmaker(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def writer_holding(path):
    """Another process's long write transaction: SQLite's write lock held."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
async def app(settings, locked_db):
    path, sessions = locked_db
    app = await light_app(settings, sessions)
    async with sessions() as s, s.begin():
        from callcenter.models import User
        exec1 = await s.get(User, app.rows["exec1"])
        camp = await f.campaign(s, "Birthdays")
        cust = await f.customer(s, store=None)
        item = await f.work_item(s, camp, cust, exec1)
        app.rows["item"] = item.id
    app.path, app.sessions = path, sessions
    try:
        yield app
    finally:
        await app.client.close()


async def dispositions(sessions) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(Disposition))).scalar_one()


async def test_a_disposition_form_sent_while_the_database_is_locked_is_kept_then_saved_once(app):
    url = f"/work/{app.rows['item']}/disposition"
    form = {"a.talked": "no", "a.not_talked_reason": "busy", "remarks": "call after 6 <pm>", "call_id": ""}
    with writer_holding(app.path):
        started = time.monotonic()
        resp = await app.client.post(url, data=form, headers=app.headers("exec1"), allow_redirects=False)
        took = time.monotonic() - started
        html = await resp.text()
    assert resp.status == 503 and resp.headers["Retry-After"] == "5", html
    assert took < 3, f"answered after {took:.1f} s"
    assert "Disposition not saved yet" in html and "database_unavailable" in html
    # every answer is on the page, in the form that sends them again
    assert f'action="{url}"' in html
    assert 'name="a.not_talked_reason" value="busy"' in html
    assert 'name="remarks" value="call after 6 &lt;pm&gt;"' in html
    assert 'src="/static/disposition_kept.js"' in html
    assert await dispositions(app.sessions) == 0
    # the lock has cleared: the kept form is sent (and, a reply lost, sent once more)
    for _ in range(2):
        resp = await app.client.post(url, data=form, headers=app.headers("exec1"), allow_redirects=False)
        assert resp.status == 303, await resp.text()
    assert await dispositions(app.sessions) == 1
    async with app.sessions() as s:
        assert (await s.get(WorkItem, app.rows["item"])).bucket == "non_contact"


async def test_the_api_answers_503_while_locked_and_a_retry_saves_once(app):
    url = f"/api/v1/work/{app.rows['item']}/dispositions"
    body = {"answers": ANSWERS, "remarks": "busy tone"}
    with writer_holding(app.path):
        started = time.monotonic()
        resp = await app.client.post(url, json=body, headers=app.headers("exec1"))
        assert time.monotonic() - started < 3
        assert resp.status == 503 and resp.headers["Retry-After"] == "5"
        assert (await resp.json())["error"] == "database_unavailable"
        # reads go on: the token is checked and its last use noted off the request path
        started = time.monotonic()
        resp = await app.client.get("/api/v1/dispositions/owed", headers=app.headers("exec1"))
        assert resp.status == 200 and time.monotonic() - started < 1
    first = await app.client.post(url, json=body, headers=app.headers("exec1"))
    assert first.status == 201
    again = await app.client.post(url, json=body, headers=app.headers("exec1"))
    assert again.status == 200
    assert (await again.json())["disposition"]["id"] == (await first.json())["disposition"]["id"]
    assert await dispositions(app.sessions) == 1
