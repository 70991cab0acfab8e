"""Time the audit trail at scale: the write path, ``audit verify``, a
manager's page, the customer filter and the CSV export, with query plans.

    .venv/bin/python bench/audit_trail.py [--db /var/tmp/cc-bench/audit.db] [--rows 200000] [--plans]

The database (built when missing) holds two locations (north, south), a
store each, ``--customers`` customers each (5,000) and ``--rows`` audit rows written through
the real write path (``audit.record_many``, 1,000 rows a commit): 45 % about
customers of both locations, 25 % about users, 20 % about trunks and
config (admins' only), 10 % bulk views. The figures are wall times on this
machine (median of 3 runs where it says so).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from callcenter import audit, db  # noqa: E402
from callcenter.audit_trail import export, query  # noqa: E402
from callcenter.audit_trail.verify import verify  # noqa: E402
from callcenter.customers.models import Customer  # noqa: E402
from callcenter.models import User  # noqa: E402
from callcenter.org.models import Location, Store  # noqa: E402
from callcenter.org.scope import Scope  # noqa: E402

CUSTOMERS = 5000
BATCH = 1000


async def build(engine, sessions, rows: int, customers: int) -> None:
    await db.migrate(engine)
    async with sessions() as s, s.begin():
        north, south = Location(code="north", name="North"), Location(code="south", name="South")
        s.add_all([north, south])
        await s.flush()
        stores = [Store(code=f"S{i}", name=f"Store {i}", location_id=loc.id) for i, loc in enumerate((north, south))]
        s.add_all(stores)
        await s.flush()
        s.add(User(name="manager_n", role="manager", display_name="M", location_id=north.id, languages="en"))
        for i, loc in enumerate((north, south)):
            for k in range(20):
                s.add(User(name=f"agent{i}_{k}", role="agent", display_name="A", location_id=loc.id, languages="en"))
        await s.execute(insert(Customer), [{"mobile": f"+9198{n:08d}", "name": f"C{n}", "store_id": stores[n % 2].id,
                                            "data": {}} for n in range(2 * customers)])
    rnd = random.Random(16)
    written = 0
    while written < rows:
        batch = []
        for _ in range(min(BATCH, rows - written)):
            x = rnd.random()
            if x < 0.45:
                batch.append(("customer.update", "customer", rnd.randint(1, 2 * customers),
                              {"changes": {"name": {"old": "a", "new": "b"}}}))
            elif x < 0.70:
                batch.append(("user.update", "user", rnd.randint(2, 41), {"changes": {"display_name": {}}}))
            elif x < 0.90:
                batch.append(("trunk.update", "trunk", rnd.randint(1, 5), {"host": "10.0.0.1"}))
            else:
                batch.append(("buckets.viewed_list", "view", "/api/v1/buckets/fresh", {"rows": 30}))
            written += 1
        async with sessions() as s:
            audit.record_many(s, f"agent{rnd.randint(0, 1)}_{rnd.randint(0, 19)}", batch)
            await s.commit()


async def timed(fn, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def plan(path: str, sql: str, params) -> str:
    with sqlite3.connect(path) as c:
        return "\n".join(f"    {r[3]}" for r in c.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def compiled(stmt):
    c = stmt.compile(dialect=__import__("sqlalchemy.dialects.sqlite", fromlist=["dialect"]).dialect())
    return str(c), [c.params[k] for k in c.positiontup]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/var/tmp/cc-bench/audit.db")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--customers", type=int, default=CUSTOMERS, help="customers of each location")
    ap.add_argument("--plans", action="store_true")
    args = ap.parse_args()
    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = db.sessionmaker(engine)
    if not path.exists() or path.stat().st_size == 0:
        t = time.perf_counter()
        await build(engine, sessions, args.rows, args.customers)
        spent = time.perf_counter() - t
        print(f"write path: {args.rows} rows in {spent:.1f}s ({spent / args.rows * 1e6:.0f} us/row, "
              f"{BATCH} rows a commit, org set-up included)")
    else:
        await db.migrate(engine)
    # one row a commit: what a single change pays
    t = time.perf_counter()
    for i in range(200):
        async with sessions() as s:
            audit.record(s, "bench", "customer.update", "customer", 1, n=i)
            await s.commit()
    print(f"write path, one row a commit: {(time.perf_counter() - t) / 200 * 1e3:.2f} ms/commit")

    spent, verdict = await timed(lambda: verify(engine), runs=1)
    print(f"verify: {verdict.summary()[:60]}... in {spent:.1f}s")

    async with sessions() as s:
        manager = await s.scalar(select(User).where(User.name == "manager_n"))
    scopes = {"admin": Scope("admin"), "manager": Scope("manager", user_id=manager.id, location_id=manager.location_id)}
    async with sessions() as s, s.begin():
        empty = await s.scalar(select(Location.id).where(Location.code == "east"))
        if empty is None:
            east = Location(code="east", name="East")
            s.add(east)
            await s.flush()
            empty = east.id
    scopes["new manager"] = Scope("manager", user_id=manager.id, location_id=empty)
    cases = [("manager, first page", "manager", {}),
             ("manager of a location with no rows, first page", "new manager", {}),
             ("manager, action=customer.create (rare)", "manager", {"action": "customer.create"}),
             ("manager, customer=17", "manager", {"customer": "17"}),
             ("admin, customer=17", "admin", {"customer": "17"}),
             ("admin, actor=agent0_3", "admin", {"actor": "agent0_3"}),
             ("admin, actor=nobody (rare)", "admin", {"actor": "nobody"}),
             ("admin, action=user.delete (rare)", "admin", {"action": "user.delete"}),
             ("manager, actor=nobody (rare)", "manager", {"actor": "nobody"})]
    for label, who, q in cases:
        f = query.parse_filter(q, "Asia/Kolkata")

        async def one():
            async with sessions() as s:
                return await query.page(s, scopes[who], f)
        spent, found = await timed(one)
        print(f"{label}: {spent * 1e3:.1f} ms ({len(found.rows)} rows)")
        if args.plans:
            from callcenter.models import AuditEntry
            stmt = select(AuditEntry.id).where(*query.matching(scopes[who], f)).order_by(AuditEntry.id.desc()).limit(101)
            print(plan(str(path), *compiled(stmt)))

    for who in ("admin", "manager"):
        async def run_export():
            f, count = await export.snapshot(sessions, scopes[who], query.parse_filter({}, "Asia/Kolkata"))
            size = 0
            async for text in export.csv_chunks(sessions, scopes[who], f):
                size += len(text)
            return count, size
        spent, (count, size) = await timed(run_export, runs=1)
        print(f"export as {who}: {count} rows, {size / 1e6:.1f} MB in {spent:.1f}s")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
