"""Outages of the server's dependencies as domain errors: a Redis or database
that is down, locked or too slow answers 503 with ``Retry-After`` and a stable
error id (``redis_unavailable``, ``database_unavailable``), never 500.

:func:`as_outage` recognises the client libraries' own exceptions, so code
that talks to Redis or the database needs no try/except of its own: the web
middleware (web/app.py) maps what escapes a handler, the background loops
(callcenter/loops.py) count it and go on."""
from __future__ import annotations

from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from callcenter.errors import DomainError

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(DomainError):
    error_id = "database_unavailable"
    status = 503
    retry_after = RETRY_AFTER_SECONDS


class RedisUnavailable(DomainError):
    error_id = "redis_unavailable"
    status = 503
    retry_after = RETRY_AFTER_SECONDS


# SQLite's and the drivers' words for "the database cannot serve this now"
# (an OperationalError is also what SQLite raises for a missing column, which
# is a bug and must stay a 500).
_DATABASE_DOWN = ("database is locked", "database table is locked", "unable to open database",
                  "disk i/o error", "database or disk is full", "attempt to write a readonly database",
                  "connection", "could not connect", "server closed", "timeout", "timed out",
                  "too many clients", "the database system is")

# PostgreSQL's SQLSTATEs for the same: a lock held past lock_timeout (55P03), a
# deadlock or serialization failure (40P01, 40001: the transaction was rolled
# back, so a retry is safe), too many connections (53300), a server starting
# up or shutting down (57P01-57P03) and a lost connection (class 08).
_POSTGRES_DOWN = ("55P03", "40P01", "40001", "53300", "57P01", "57P02", "57P03")


def _postgres_down(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None) or ""
    return sqlstate in _POSTGRES_DOWN or sqlstate.startswith("08")


def _asyncpg_down(error: BaseException) -> bool:
    """asyncpg's own exceptions, raised bare where SQLAlchemy does not wrap
    them (opening a connection: the server refuses or is starting up)."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - SQLite-only installations
        return False
    return isinstance(error, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError)) or (
        isinstance(error, asyncpg.PostgresError) and _postgres_down(error))


def as_outage(error: BaseException) -> DomainError | None:
    """The 503 error that ``error`` stands for, or None when it is no outage."""
    if isinstance(error, (DatabaseUnavailable, RedisUnavailable)):
        return error
    if isinstance(error, (redis_errors.ConnectionError, redis_errors.TimeoutError,
                          redis_errors.ReadOnlyError)):
        return RedisUnavailable("the server's live store (Redis) is not reachable right now; "
                                "try again in a few seconds")
    if isinstance(error, (sa_errors.DisconnectionError, sa_errors.TimeoutError)) or (
            isinstance(error, sa_errors.DBAPIError) and (
                error.connection_invalidated or isinstance(error, sa_errors.InterfaceError)
                or _postgres_down(error.orig)
                or (isinstance(error, sa_errors.OperationalError)
                    and any(words in str(error.orig).lower() for words in _DATABASE_DOWN)))) or (
            _asyncpg_down(error)):
        return DatabaseUnavailable("the database is busy or not reachable right now; nothing was "
                                   "changed; try again in a few seconds")
    return None


def is_outage(error: BaseException) -> bool:
    return as_outage(error) is not None
