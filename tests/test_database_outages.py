"""The database locked (another writer holds it past the busy timeout) while
an agent saves a disposition: the API and the page answer 503 with
Retry-After within seconds, the page keeps every answer typed, and once the
lock clears the retry saves it exactly once. Reads that need no write
(a bearer token's check) go on meanwhile. Real SQLite or PostgreSQL, a real
second writer (SQLite's write lock; PostgreSQL's table locks past lock_timeout).

A PostgreSQL server stopped under the running app: the same 503 within
seconds, and the app serves again by itself once the server is back."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from callcenter import db
from callcenter.outages import DatabaseUnavailable, as_outage
from callcenter.work.models import Disposition, WorkItem
from tests import factories as f
from tests import own_postgres
from tests.db_locks import writer_holding
from tests.light_app import light_app
from tests.postgres import on_postgres

BUSY_TIMEOUT = 0.5
ANSWERS = {"talked": "no", "not_talked_reason": "busy"}


@pytest.fixture
async def locked_db(tmp_path, database_url):
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'outage.db'}"
    engine = db.make_engine(url, busy_timeout=BUSY_TIMEOUT)
    await db.migrate(engine)
    try:
        yield url, db.sessionmaker(engine)
    finally:
        await engine.dispose()


async def a_work_item(app, sessions) -> None:
    async with sessions() as s, s.begin():
        from callcenter.models import User
        exec1 = await s.get(User, app.rows["exec1"])
        camp = await f.campaign(s, "Birthdays")
        cust = await f.customer(s, store=None)
        app.rows["item"] = (await f.work_item(s, camp, cust, exec1)).id


@pytest.fixture
async def app(settings, locked_db):
    url, sessions = locked_db
    app = await light_app(settings, sessions)
    await a_work_item(app, sessions)
    app.url, app.sessions = url, sessions
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
    async with writer_holding(app.url):
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
    async with writer_holding(app.url):
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


@pytest.fixture
def cluster():
    """A PostgreSQL server of the test's own, to stop under the app."""
    if not own_postgres.available():
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed")
    cluster = own_postgres.OwnPostgres()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


async def test_a_postgresql_server_stopped_answers_503_at_once_and_serves_again_once_back(
        settings, cluster):
    engine = db.make_engine(cluster.url, busy_timeout=BUSY_TIMEOUT)
    await db.migrate(engine)
    sessions = db.sessionmaker(engine)
    app = await light_app(settings, sessions)
    try:
        await a_work_item(app, sessions)
        url = f"/api/v1/work/{app.rows['item']}/dispositions"
        body = {"answers": ANSWERS, "remarks": "busy tone"}
        resp = await app.client.get("/api/v1/dispositions/owed", headers=app.headers("exec1"))
        assert resp.status == 200  # the token known, the pool's connections open
        cluster.stop()
        # the pool's connections are dead and no new one can be opened
        for _ in range(2):
            started = time.monotonic()
            resp = await app.client.post(url, json=body, headers=app.headers("exec1"))
            assert time.monotonic() - started < 5  # not the 30 s hang (3 s would do on a quiet machine)
            assert resp.status == 503 and resp.headers["Retry-After"] == "5", await resp.text()
            assert (await resp.json())["error"] == "database_unavailable"
        resp = await app.client.get("/api/v1/dispositions/owed", headers=app.headers("exec1"))
        assert resp.status == 503 and (await resp.json())["error"] == "database_unavailable"
        cluster.start()
        # back: served again, with no restart of the app. The first new connection may
        # take longer than this test's 0.5 s connect timeout on a loaded machine: that
        # request is a 503 that saved nothing, and the agent's retry is served.
        for _ in range(20):
            first = await app.client.post(url, json=body, headers=app.headers("exec1"))
            if first.status != 503:
                break
            await asyncio.sleep(0.5)
        assert first.status == 201, await first.text()
        assert await dispositions(sessions) == 1
    finally:
        await app.client.close()
        await engine.dispose()


async def _failure_of(database_url, isolation: str, first: list[str], second: list[str]):
    """Two transactions at once on the test's database, each running its
    statements in turn; the error one of them ends with (the other commits)."""
    from sqlalchemy import text
    engine = db.make_engine(database_url)
    try:
        async with engine.begin() as c:
            await c.execute(text("DROP TABLE IF EXISTS pair"))
            await c.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
            await c.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        step = asyncio.Event()

        async def run(statements, wait_first):
            async with engine.connect() as c:
                await c.execution_options(isolation_level=isolation)
                async with c.begin():
                    for n, sql in enumerate(statements):
                        if n == 1:
                            step.set() if not wait_first else await step.wait()
                            await asyncio.sleep(0.3)
                        await c.execute(text(sql))
        results = await asyncio.gather(run(first, False), run(second, True), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1, results
        return errors[0]
    finally:
        await engine.dispose()


@pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only: SQLite has one writer at a time, "
                    "so it neither deadlocks nor fails a serialization")
async def test_a_postgresql_deadlock_or_serialization_failure_is_a_503_to_retry(database_url):
    deadlock = await _failure_of(database_url, "READ COMMITTED",
                                 ["UPDATE pair SET n = 1 WHERE id = 1", "UPDATE pair SET n = 1 WHERE id = 2"],
                                 ["UPDATE pair SET n = 2 WHERE id = 2", "UPDATE pair SET n = 2 WHERE id = 1"])
    assert deadlock.orig.sqlstate == "40P01"
    assert isinstance(as_outage(deadlock), DatabaseUnavailable)
    serialization = await _failure_of(database_url, "REPEATABLE READ",
                                      ["SELECT n FROM pair", "UPDATE pair SET n = n + 1 WHERE id = 1"],
                                      ["SELECT n FROM pair", "UPDATE pair SET n = n + 1 WHERE id = 1"])
    assert serialization.orig.sqlstate == "40001"
    assert isinstance(as_outage(serialization), DatabaseUnavailable)


def test_postgresql_refusing_connections_is_an_outage_and_a_bug_is_not():
    """What asyncpg raises bare when a connection opens (SQLAlchemy does not
    wrap these): a server starting up, or out of connection slots."""
    asyncpg = pytest.importorskip("asyncpg")
    assert isinstance(as_outage(asyncpg.CannotConnectNowError("the database system is starting up")),
                      DatabaseUnavailable)
    assert isinstance(as_outage(asyncpg.TooManyConnectionsError("sorry, too many clients already")),
                      DatabaseUnavailable)
    assert as_outage(asyncpg.UndefinedColumnError('column "x" does not exist')) is None
    assert as_outage(asyncpg.InvalidPasswordError("password authentication failed")) is None
