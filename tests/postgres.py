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
    """Creates and drops the tests' databases over one admin connection,
    driven from a thread of its own (fixtures here are not async)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pg-admin", daemon=True)
        self.thread.start()
        self.names = (f"cc_{os.getpid()}_{n}" for n in itertools.count())
        self.template = f"cc_template_{os.getpid()}"
        self.admin = self.run(self._connect())

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(120)

    async def _connect(self):
        import asyncpg

        return await asyncpg.connect(url_of("postgres", "postgresql"))

    async def _execute(self, sql: str) -> None:
        await self.admin.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        copy = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.run(self._execute(f'CREATE DATABASE "{name}"{copy}'))
        return url_of(name)

    def drop(self, name: str) -> None:
        self.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.run(self.admin.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


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
        databases.drop(databases.template)
        databases.close()


@pytest.fixture
def empty_database(_postgres, database_url, monkeypatch):
    """On PostgreSQL: the test's database replaced by an empty one (nothing
    migrated), as a new installation finds it. Nothing on SQLite (no file yet)."""
    if _postgres is None:
        return None
    url = _postgres.create(f"{next(_postgres.names)}_empty")
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    return url


@pytest.fixture(autouse=True)
def database_url(_postgres, monkeypatch):
    if _postgres is None:
        yield None
        return
    name = next(_postgres.names)
    url = _postgres.create(name, template=_postgres.template)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    try:
        yield url
    finally:
        _postgres.drop(name)


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
