"""The agent-panel benchmark database in PostgreSQL: a cluster of the bench's
own and a copy of bench/panel_data.py's SQLite database in it, by COPY.

    .venv/bin/python bench/panel_pg.py build [--db /var/tmp/cc-bench-pg/panel.db] [--force]
    .venv/bin/python bench/panel_pg.py start | stop | url

The cluster (tests/own_postgres.py's OwnPostgres, here with its data in
``--cluster``, default /var/tmp/cc-bench-pg/cluster, kept between runs) runs
as production would: fsync, full-page writes and synchronous commit ON,
shared_buffers 512 MB (PostgreSQL's 128 MB default is below any production
setting; SQLite reads through the OS page cache with no such bound),
Unix socket only.

``build``: the database ``panel`` migrated by the real migrations
(callcenter.db.migrate), then every table panel_data filled copied row for
row from the SQLite file with asyncpg's binary COPY (foreign keys not
checked while copying; the same ids, so
samples taken from the SQLite file hold for both), the sequences moved past
the ids, then VACUUM ANALYZE (what autovacuum does on its own after a bulk
load; nothing in the app runs ANALYZE on PostgreSQL). Built once: kept when
present, unless --force. Each bench run then works on a copy of it
(``fresh_copy``: CREATE DATABASE ... TEMPLATE panel, a file copy)."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.own_postgres import OwnPostgres, _program  # noqa: E402

CLUSTER = Path("/var/tmp/cc-bench-pg/cluster")
BUILT = "panel"
OPTIONS = ("-c fsync=on -c full_page_writes=on -c synchronous_commit=on -c shared_buffers=512MB"
           " -c max_connections=100")
CHUNK = 50_000


class BenchPostgres(OwnPostgres):
    """OwnPostgres with its data in a folder that stays (built once, reused) and
    settings as production has them (its later ``-c`` win over the test ones)."""

    def __init__(self, folder: Path = CLUSTER) -> None:
        super().__init__(OPTIONS)
        shutil.rmtree(self.dir, ignore_errors=True)   # the temporary folder OwnPostgres made
        self.dir = Path(folder)
        self.data = self.dir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.dir, "postgres")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def stop(self) -> None:
        """A clean shutdown (checkpoint), unlike the tests' immediate one."""
        if self.running():
            self._run(_program("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url_of(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@/{database}?host={self.dir}"


def cluster(folder: Path = CLUSTER) -> BenchPostgres:
    """The bench's cluster, started when it is not running."""
    pg = BenchPostgres(folder)
    if not pg.running():
        pg.start()
    return pg


async def _admin(pg: BenchPostgres, sql: str) -> None:
    import asyncpg

    con = await asyncpg.connect(pg.url_of("postgres", "postgresql"))
    try:
        await con.execute(sql)
    finally:
        await con.close()


async def fresh_copy(pg: BenchPostgres, name: str) -> float:
    """Database ``name`` made a copy of the built one (never written); seconds taken."""
    started = time.perf_counter()
    await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(pg, f'CREATE DATABASE "{name}" TEMPLATE {BUILT} STRATEGY FILE_COPY')
    return time.perf_counter() - started


async def set_for(pg: BenchPostgres, name: str, setting: str, value: str) -> None:
    """A server setting for new connections to database ``name`` only."""
    if not setting.replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"not a setting's name: {setting!r}")
    await _admin(pg, f"ALTER DATABASE \"{name}\" SET {setting} = '{value.replace(chr(39), '')}'")


async def explain_slow(pg: BenchPostgres, name: str, min_ms: int) -> None:
    """New connections to ``name`` log the plan, with actual rows and buffers, of each
    statement slower than ``min_ms`` to the cluster's log (``pg.dir / 'log'``)."""
    for setting, value in (("session_preload_libraries", "auto_explain"),
                           ("auto_explain.log_min_duration", f"{int(min_ms)}ms"),
                           ("auto_explain.log_analyze", "on"), ("auto_explain.log_buffers", "on")):
        await set_for(pg, name, setting, value)


async def drop(pg: BenchPostgres, name: str) -> None:
    await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _converter(pg_type: str):
    """SQLite's stored value -> what asyncpg's binary COPY takes for ``pg_type``."""
    if pg_type == "timestamp with time zone":
        return lambda v: None if v is None else dt.datetime.fromisoformat(v).replace(tzinfo=dt.timezone.utc)
    if pg_type == "timestamp without time zone":
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if pg_type == "date":
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if pg_type == "boolean":
        return lambda v: None if v is None else bool(v)
    if pg_type in ("json", "jsonb"):
        return lambda v: None if v is None else (v if isinstance(v, str) else json.dumps(v))
    if pg_type in ("double precision", "real", "numeric"):
        return lambda v: None if v is None else float(v)
    if pg_type in ("text", "character varying", "character"):
        return lambda v: None if v is None else str(v)
    return lambda v: v


async def _copy(source: Path, url: str) -> dict:
    import asyncpg

    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    con = await asyncpg.connect(url)
    copied = {}
    try:
        await con.execute("SET synchronous_commit = off")   # the build only; the runs keep it on
        # foreign keys not checked while copying (tables come in SQLite's order, not the
        # references'; the rows are panel_data's, consistent by construction)
        await con.execute("SET session_replication_role = replica")
        tables = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'"
                                            " AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
        for table in tables:
            if not src.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                continue
            if await con.fetchval(f'SELECT count(*) FROM "{table}"'):
                copied[table] = "kept (rows from the migrations)"
                continue
            types = {r["column_name"]: r["data_type"] for r in await con.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema='public' AND table_name=$1", table)}
            cur = src.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            convert = [_converter(types[c]) for c in columns]
            started, n = time.perf_counter(), 0
            while rows := cur.fetchmany(CHUNK):
                records = [tuple(f(v) for f, v in zip(convert, row)) for row in rows]
                async with con.transaction():
                    await con.copy_records_to_table(table, records=records, columns=columns)
                n += len(records)
            copied[table] = {"rows": n, "seconds": round(time.perf_counter() - started, 1)}
        for seq, table, column in await con.fetch(
                "SELECT s.relname, t.relname, a.attname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid"
                " JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid"
                " AND a.attnum = d.refobjsubid WHERE s.relkind = 'S'"):
            await con.execute(f"SELECT setval('\"{seq}\"', coalesce((SELECT max(\"{column}\") FROM \"{table}\"), 0) + 1,"
                              " false)")
        started = time.perf_counter()
        await con.execute("VACUUM ANALYZE")
        copied["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
        copied["size_mb"] = round(await con.fetchval("SELECT pg_database_size(current_database())") / 2**20)
    finally:
        await con.close()
        src.close()
    return copied


async def build(pg: BenchPostgres, source: Path, force: bool = False) -> dict:
    import asyncpg

    from callcenter import db

    admin = await asyncpg.connect(pg.url_of("postgres", "postgresql"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BUILT)
        if exists and not force:
            return {"built": "kept (use --force to rebuild)"}
        await admin.execute(f'DROP DATABASE IF EXISTS "{BUILT}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{BUILT}"')
    finally:
        await admin.close()
    started = time.perf_counter()
    engine = db.make_engine(pg.url_of(BUILT))
    await db.migrate(engine)
    await engine.dispose()
    migrated = time.perf_counter()
    copied = await _copy(source, pg.url_of(BUILT, "postgresql"))
    return {"migrate_seconds": round(migrated - started, 1), "tables": copied,
            "total_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["build", "start", "stop", "url"])
    parser.add_argument("--db", default="/var/tmp/cc-bench-pg/panel.db", help="panel_data's SQLite file")
    parser.add_argument("--cluster", default=str(CLUSTER))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    if args.step == "stop":
        BenchPostgres(Path(args.cluster)).stop()
        return
    pg = cluster(Path(args.cluster))
    if args.step == "build":
        print(json.dumps(asyncio.run(build(pg, Path(args.db), args.force)), indent=1))
    elif args.step == "url":
        print(pg.url_of(BUILT))


if __name__ == "__main__":
    main()
