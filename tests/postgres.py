"""pytest plugin: the suite on PostgreSQL.

With ``CC_TEST_POSTGRES`` set to an admin URL of a PostgreSQL server (the
throw-away cluster ``scripts/run_tests.py`` starts, e.g.
``postgresql://postgres@/postgres?host=/tmp/cc-pg-x``), every test gets a
database of its own, copied from a template migrated once per run, and
``CALLCENTER_DATABASE_URL`` points at it, so the server, the CLI and the
``sessions`` fixture all use it. Without it, the suite runs on SQLite files
in each test's folder, as before.

Fixtures
    database_url  (function, autouse)  the test's database URL, or None on SQLite

Tests marked ``no_database`` touch no database and run on SQLite only.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest

from callcenter.database_url import DATABASE_URL_ENV

ADMIN_URL = os.environ.get("CC_TEST_POSTGRES", "")


def on_postgres() -> bool:
    return bool(ADMIN_URL)


def url_of(database: str, driver: str = "postgresql+asyncpg") -> str:
    """The admin URL with another database name (and the server's driver)."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((driver, parts.netloc, f"/{database}", parts.query, ""))


class Databases:
    """The run's databases over admin connections driven from a thread of its own
    (fixtures here are not async): a template migrated once, and one working
    database that every test gets back as the template left it.

    Emptying the working database (DELETE from every table, sequences
    restarted, the migrations' own rows put back) takes a few milliseconds
    where a CREATE DATABASE from the template takes about a second; a test
    that changed the schema itself (a restore, a downgrade) gets a new copy."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pg-admin", daemon=True)
        self.thread.start()
        self.names = (f"cc_{os.getpid()}_{n}" for n in itertools.count())
        self.template = f"cc_template_{os.getpid()}"
        self.working = f"cc_{os.getpid()}"
        self.admin = self.run(self._connect("postgres"))
        self.work = None
        self.shape = self.seed = self.sequences = None

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(120)

    async def _connect(self, database: str):
        import asyncpg

        return await asyncpg.connect(url_of(database, "postgresql"))

    async def _execute(self, sql: str) -> None:
        await self.admin.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        copy = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.run(self._execute(f'CREATE DATABASE "{name}"{copy}'))
        return url_of(name)

    def drop(self, name: str) -> None:
        self.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    # -- the working database ------------------------------------------------------
    _SHAPE = ("SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
              " WHERE schemaname = 'public'), (SELECT string_agg(version_num, ',') FROM alembic_version)")

    async def _learn_template(self) -> None:
        """What the migrations left: the tables, their rows, the sequences' values."""
        template = await self._connect(self.template)
        try:
            self.shape = tuple(await template.fetchrow(self._SHAPE))
            tables = self.shape[0].split(",")
            self.seed = {t: await template.fetch(f'SELECT * FROM "{t}"') for t in tables if t != "alembic_version"}
            self.seed = {t: rows for t, rows in self.seed.items() if rows}
            self.sequences = [tuple(r) for r in await template.fetch(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")]
        finally:
            await template.close()

    async def _reset(self) -> bool:
        """The working database as the template left it; False when its tables
        changed (then it must be copied again)."""
        work = self.work
        await work.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if tuple(await work.fetchrow(self._SHAPE)) != self.shape:
            return False
        tables = [t for t in self.shape[0].split(",") if t != "alembic_version"]
        restarts = "".join(f'ALTER SEQUENCE "{name}" RESTART;' for name, _ in self.sequences)
        async with work.transaction():
            await work.execute("SET LOCAL session_replication_role = replica;"
                               + "".join(f'DELETE FROM "{t}";' for t in tables) + restarts)
            for table, rows in self.seed.items():
                await work.copy_records_to_table(table, records=[tuple(r) for r in rows],
                                                 columns=list(rows[0].keys()))
            for name, value in self.sequences:
                if value is not None:
                    await work.execute(f"SELECT setval('\"{name}\"', {int(value)})")
        return True

    async def _fresh_copy(self) -> None:
        if self.work is not None:
            await self.work.close()
        await self.admin.execute(f'DROP DATABASE IF EXISTS "{self.working}" WITH (FORCE)')
        await self.admin.execute(f'CREATE DATABASE "{self.working}" TEMPLATE {self.template} STRATEGY FILE_COPY')
        self.work = await self._connect(self.working)

    async def _ready(self) -> None:
        if self.shape is None:
            await self._learn_template()
        if self.work is None or self.work.is_closed() or not await self._reset():
            await self._fresh_copy()

    def ready(self) -> str:
        """The working database's URL, emptied back to the template."""
        self.run(self._ready())
        return url_of(self.working)

    def close(self) -> None:
        """Drop the run's databases and stop the thread."""
        if self.work is not None and not self.work.is_closed():
            self.run(self.work.close())
        for name in (self.working, self.template):
            self.drop(name)
        self.run(self.admin.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, the tests marked ``no_database`` (pure logic, fake AMI,
    architecture rules) are left out: they ran on SQLite and would run the same."""
    if not on_postgres():
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("no_database") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def _postgres():
    if not on_postgres():
        yield None
        return
    from callcenter.db import make_engine, migrate

    databases = Databases()

    async def _migrate(url):
        engine = make_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
    try:
        databases.run(_migrate(databases.create(databases.template)))
        yield databases
    finally:
        databases.close()


@pytest.fixture
def empty_database(_postgres, database_url, monkeypatch):
    """On PostgreSQL: the test's database replaced by an empty one (nothing
    migrated), as a new installation finds it. Nothing on SQLite (no file yet)."""
    if _postgres is None:
        yield None
        return
    name = f"{next(_postgres.names)}_empty"
    url = _postgres.create(name)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    try:
        yield url
    finally:
        _postgres.drop(name)


@pytest.fixture(autouse=True)
def database_url(_postgres, monkeypatch):
    """The test's database: on PostgreSQL the run's working database, emptied
    back to the migrated template; None on SQLite (each test's own file)."""
    if _postgres is None:
        return None
    url = _postgres.ready()
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    return url


def query(url: str, sql: str, *params) -> list[tuple]:
    """Rows of one SQL statement (``?`` placeholders) on the database at ``url``,
    SQLite or PostgreSQL, from synchronous test code (a thread of its own)."""
    import concurrent.futures

    from sqlalchemy import text

    from callcenter.db import make_engine

    for n in range(len(params)):
        sql = sql.replace("?", f":p{n}", 1)

    async def _rows():
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql), {f"p{n}": v for n, v in enumerate(params)})
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _rows()).result(60)
