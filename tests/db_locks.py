"""Another writer holding the database's write lock, as a second process would,
on SQLite or PostgreSQL.

SQLite: ``BEGIN IMMEDIATE`` on a connection of its own, so every other write
waits out the busy timeout and fails ("database is locked"). PostgreSQL: a
transaction of its own holding every table of the schema in EXCLUSIVE mode,
the same effect: every INSERT/UPDATE/DELETE waits out ``lock_timeout`` and
fails (SQLSTATE 55P03), while plain reads go on as they do on SQLite."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from urllib.parse import urlsplit, urlunsplit


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def _asyncpg_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def _sqlite_lock(path: str) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@contextlib.asynccontextmanager
async def writer_holding(url: str):
    """The write lock of the database at ``url`` (an SQLAlchemy URL) held
    until the block ends."""
    if url.startswith("sqlite"):
        # patient: the server may be writing when the holder asks (a busy machine). Taken
        # in a thread: the server's open transaction needs this event loop to commit, so a
        # wait on the loop's own thread would only time out (and fail the test) after 30 s.
        holder = await asyncio.to_thread(_sqlite_lock, _sqlite_path(url))
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import asyncpg

    holder = await asyncpg.connect(_asyncpg_url(url))
    try:
        tables = [r["tablename"] for r in await holder.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        names = ", ".join(f'"{name}"' for name in tables)
        for attempt in range(5):  # a live server's own writes may deadlock with the taking
            transaction = holder.transaction()
            await transaction.start()
            try:
                await holder.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
                break
            except asyncpg.DeadlockDetectedError:
                await transaction.rollback()
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await holder.close()
