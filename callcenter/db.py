"""Database engine, sessions and migrations (Alembic, run at start-up)."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from callcenter.outages import DatabaseUnavailable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# How long a SQLite statement waits for another writer's lock before the
# request answers 503 database_unavailable (and the call writer retries): a
# few seconds, never the 30 s an agent would take for a hung page.
BUSY_TIMEOUT_SECONDS = 5.0


# PostgreSQL: connections each server process keeps (and may add in a burst).
POOL_SIZE, POOL_OVERFLOW = 10, 20


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> AsyncEngine:
    """An engine for ``url``. ``busy_timeout`` bounds the wait for another
    writer's lock (SQLite's busy_timeout, PostgreSQL's lock_timeout) and, on
    PostgreSQL, for a connection (connect and pool), so a database that is
    down or locked answers 503 within seconds, not after a hung page."""
    busy_ms = int(busy_timeout * 1000)
    if url.startswith("postgresql"):
        engine = create_async_engine(
            url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_timeout=busy_timeout,
            pool_pre_ping=True, pool_recycle=1800,
            connect_args={"timeout": busy_timeout, "server_settings": {
                "lock_timeout": str(busy_ms), "application_name": "callcenter",
                "timezone": "UTC"}})
        event.listen(engine.sync_engine, "do_connect", _postgres_connect)
        return engine
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()
    return engine


def _postgres_connect(dialect, _record, cargs, cparams):
    """Opens a PostgreSQL connection; a server that is not there (connection
    refused, no socket, no answer within the timeout: a bare OSError, which
    SQLAlchemy passes on unwrapped) is a database outage, not a bug."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:  # TimeoutError is an OSError too
        raise DatabaseUnavailable("the database server is not reachable right now; nothing was "
                                  "changed; try again in a few seconds") from error


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # a ConfigParser value
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration's revision id (read from the scripts once a process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


async def revision_of(engine: AsyncEngine) -> str | None:
    """The database's revision, or None when it has none (a new database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError as error:  # no alembic_version table yet; an outage is raised by migrate's own
        log.debug("no revision read: %s", error)
        return None


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision. A database already there is
    left alone without loading Alembic's scripts (a server's start, and each
    test's fresh copy of a migrated template)."""
    if await revision_of(engine) == head_revision():
        return
    from alembic import command

    cfg = _alembic_config(str(engine.url.render_as_string(hide_password=False)))

    def _upgrade(connection):
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def refresh_statistics(engine: AsyncEngine) -> None:
    """SQLite's query planner needs statistics (``sqlite_stat1``) to choose an
    agent's index over a bucket-wide one at a million rows: run ``ANALYZE`` when
    there are none yet (about a second at that size), else ``PRAGMA optimize``
    (re-analyses only tables that changed a lot). Nothing for other databases."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import text

    async with engine.begin() as conn:
        has_stats = (await conn.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"))).scalar()
        if has_stats:
            has_stats = (await conn.execute(text("SELECT count(*) FROM sqlite_stat1"))).scalar()
        if has_stats:
            await conn.execute(text("PRAGMA optimize"))
        else:
            await conn.execute(text("ANALYZE"))
            log.info("database statistics gathered (ANALYZE)")
