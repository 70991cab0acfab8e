"""A PostgreSQL database out of and back into a ``pg_dump --format=custom`` file.

The dump and the manifest's row counts come from one snapshot: a REPEATABLE
READ transaction exports it and ``pg_dump --snapshot`` reads the same one.
The restore is ``pg_restore --clean --if-exists --no-owner`` run as one
transaction: its SQL goes through ``psql --single-transaction`` with
ON_ERROR_STOP, after dropping the tables the backup does not hold (tables a
later migration added, which the migrations to head then create again), so
a failure at any statement leaves the database as it was. The password goes
to the tools in PGPASSWORD, never on their command line."""
from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from callcenter.db import make_engine

SKIPPED = ("alembic_version",)
TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")


class PostgresError(Exception):
    """A tool is missing or failed."""


def tool(name: str) -> str:
    """``name`` on PATH, else the newest /usr/lib/postgresql/*/bin/<name>."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    if not versions:
        raise PostgresError(f"{name} not found (on PATH or in /usr/lib/postgresql/*/bin): "
                            "install the PostgreSQL client (Debian: postgresql-client)")
    return versions[-1]


def connection(url: str) -> tuple[list[str], dict[str, str]]:
    """The libpq options (host, port, user, database) of ``url`` and the
    environment that carries its password and SSL mode."""
    u = make_url(url)
    args, env = ["--no-password"], dict(os.environ)
    host = u.query.get("host") or u.host
    if host:
        args += ["--host", str(host)]
    if u.port:
        args += ["--port", str(u.port)]
    if u.username:
        args += ["--username", u.username]
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    ssl = u.query.get("sslmode") or u.query.get("ssl")
    if ssl:
        env["PGSSLMODE"] = str(ssl)
    return args, env


def _database(url: str) -> str:
    return make_url(url).database or ""


async def _counts(conn) -> dict[str, int]:
    tables = [t for (t,) in (await conn.execute(TABLES)).all() if t not in SKIPPED]
    return {t: (await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one() for t in tables}


async def dump(url: str, out: Path) -> tuple[str | None, dict[str, int]]:
    """``pg_dump --format=custom`` of the database into ``out`` (new, mode
    0600); the schema revision and the rows of each table, of the same snapshot."""
    args, env = connection(url)
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = make_engine(url, busy_timeout=30.0)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
            process = await asyncio.create_subprocess_exec(
                tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={out}", *args,
                "--dbname", _database(url), env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await process.communicate()
            if process.returncode != 0:
                raise PostgresError(f"pg_dump failed: {err.decode(errors='replace').strip()[-500:]}")
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            return revision, await _counts(conn)
    finally:
        await engine.dispose()


async def facts(url: str) -> dict[str, int]:
    """The rows of each table of the configured database (none: no schema yet)."""
    engine = make_engine(url, busy_timeout=30.0)
    try:
        async with engine.connect() as conn:
            return await _counts(conn)
    finally:
        await engine.dispose()


async def other_servers(url: str) -> int:
    """How many connections of callcenter servers (other than this one) the database has."""
    engine = make_engine(url, busy_timeout=30.0)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'callcenter' AND pid <> pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()


def dumped_tables(dump_file: Path) -> set[str]:
    """The tables a custom-format dump holds (from ``pg_restore --list``)."""
    listed = subprocess.run([tool("pg_restore"), "--list", str(dump_file)], capture_output=True, text=True)
    if listed.returncode != 0:
        raise PostgresError(f"pg_restore --list failed: {listed.stderr.strip()[-500:]}")
    # "215; 1259 16390 TABLE public users postgres"
    tables = {m.group(1) for m in re.finditer(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listed.stdout, re.M)}
    if "alembic_version" not in tables:
        raise PostgresError("the backup's dump holds no callcenter schema")
    return tables


def restore(url: str, dump_file: Path, current_tables: set[str]) -> None:
    """Replace the database's content with the dump's, in one transaction.
    The database's own tables are dropped first (in that transaction): an
    older dump does not know the tables, constraints and indexes later
    migrations added, which ``--clean`` would leave in its way."""
    args, env = connection(url)
    dumped_tables(dump_file)  # a dump of a callcenter database, before anything is sent
    preamble = "".join(f'DROP TABLE IF EXISTS "{t}" CASCADE;\n' for t in sorted(current_tables))
    env["PGOPTIONS"] = "-c client_min_messages=warning"  # not a NOTICE per "does not exist, skipping"
    with tempfile.TemporaryFile() as psql_err, tempfile.TemporaryFile() as restore_err:
        with subprocess.Popen(
                [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-",
                 *args, "--dbname", _database(url)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err, env=env) as psql, \
             subprocess.Popen(
                [tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--file=-", str(dump_file)],
                stdout=subprocess.PIPE, stderr=restore_err) as pg_restore:
            try:
                psql.stdin.write(preamble.encode())
                shutil.copyfileobj(pg_restore.stdout, psql.stdin)
            except BrokenPipeError:
                pass  # psql stopped at an error (rolled back): its message follows
            if pg_restore.wait() != 0:
                psql.kill()  # before its input ends: the transaction is never committed
                psql.wait()
                raise PostgresError(f"pg_restore failed, the database is unchanged: {_tail(restore_err)}")
            try:
                psql.stdin.close()
            except BrokenPipeError:
                pass
            if psql.wait() != 0:
                raise PostgresError("the restore was rolled back, the database is unchanged: "
                                    f"{_tail(psql_err)}")


def _tail(f) -> str:
    f.seek(0)
    return f.read().decode(errors="replace").strip()[-500:]
