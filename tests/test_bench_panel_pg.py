"""bench/panel_pg.py: the panel benchmark's database copied into PostgreSQL
holds the SQLite file's rows as they were (the figures on the two databases
are about the same data), and the app can go on writing to a run's copy."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import tempfile
from pathlib import Path

import pytest

from tests import own_postgres

pytestmark = pytest.mark.skipif(not own_postgres.available(),
                                reason="PostgreSQL's programs (initdb, pg_ctl) are not installed")

TABLES = ("locations", "stores", "teams", "users", "campaigns", "customers", "work_items", "calls",
          "dispositions")


@pytest.fixture
def bench_cluster():
    from bench import panel_pg

    # a short folder of its own: a Unix socket's path is limited to ~100 bytes
    pg = panel_pg.BenchPostgres(Path(tempfile.mkdtemp(prefix="cc-bpg-")))
    pg.start()
    try:
        yield pg
    finally:
        pg.remove()


async def _rows(url: str, sql: str) -> list:
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await con.fetch(sql)]
    finally:
        await con.close()


def test_the_postgresql_copy_holds_the_sqlite_rows_and_a_run_copy_takes_new_ones(tmp_path, bench_cluster):
    from sqlalchemy import select

    from bench import panel_data, panel_pg
    from callcenter import db
    from callcenter.customers.models import Customer
    from callcenter.work.models import Disposition

    source = tmp_path / "panel.db"
    panel_data.build(source, customers=400, agents=30, stores=4, calls=60)
    built = asyncio.run(panel_pg.build(bench_cluster, source))
    assert built["tables"]["customers"]["rows"] == 400
    assert asyncio.run(panel_pg.build(bench_cluster, source)) == {"built": "kept (use --force to rebuild)"}

    con = sqlite3.connect(source)
    url = bench_cluster.url_of(panel_pg.BUILT, "postgresql")
    for table in TABLES:
        expected = con.execute(f"SELECT count(*), max(id) FROM {table}").fetchone()
        assert asyncio.run(_rows(url, f"SELECT count(*), max(id) FROM {table}"))[0] == expected, table
    mobile, data, created, bucket, followup = con.execute(
        "SELECT c.mobile, c.data, c.created_at, w.bucket, w.followup_at FROM customers c"
        " JOIN work_items w ON w.customer_id = c.id WHERE w.bucket = 'future_followup' LIMIT 1").fetchone()
    con.close()

    async def check_run_copy():
        await panel_pg.fresh_copy(bench_cluster, "run_test")
        engine = db.make_engine(bench_cluster.url_of("run_test"))
        sessions = db.sessionmaker(engine)
        try:
            async with sessions() as s:
                customer = (await s.execute(select(Customer).where(Customer.mobile == mobile))).scalar_one()
                assert customer.created_at == dt.datetime.fromisoformat(created).replace(tzinfo=dt.timezone.utc)
                assert customer.data["loyalty_tier"] in ("silver", "gold", "platinum")
                assert customer.data == json.loads(data)
                # the sequences are past the copied ids: the app's inserts get new ones
                s.add(Customer(mobile="+919000000001", name="New", data={}))
                await s.commit()
                assert (await s.execute(select(Customer.id).where(
                    Customer.mobile == "+919000000001"))).scalar_one() == 401
                assert (await s.execute(select(Disposition.id).order_by(Disposition.id.desc()))).first()[0] == 60
        finally:
            await engine.dispose()
        # the build itself is untouched by the run's writes
        assert (await _rows(url, "SELECT count(*) FROM customers"))[0] == (400,)
        followups = await _rows(url, "SELECT bucket, followup_at FROM work_items w JOIN customers c"
                                     f" ON c.id = w.customer_id WHERE c.mobile = '{mobile}'")
        assert followups[0][0] == bucket
        assert followups[0][1] == dt.datetime.fromisoformat(followup).replace(tzinfo=dt.timezone.utc)
        await panel_pg.drop(bench_cluster, "run_test")
    asyncio.run(check_run_copy())
