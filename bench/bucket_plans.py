"""The query plans (SQLite EXPLAIN QUERY PLAN) and times of a bucket list's
page queries, for each bucket and scope (an agent, a team lead's team, a
manager's location, an admin's all), first page and a page by cursor deep in
the list, on a copy made by bench/panel_bench.py (``--run-db``, read only).

    .venv/bin/python bench/bucket_plans.py [--run-db /var/tmp/cc-bench/run.db] [--plans]
"""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUCKETS = ("fresh", "non_contact", "future_followup", "pending_followup", "appointment")


async def main(args) -> None:
    from sqlalchemy import event, select

    from callcenter import db
    from callcenter.auth.tokens import Principal
    from callcenter.models import User, utcnow
    from callcenter.org.scope import load_scope
    from callcenter.work import buckets

    engine = db.make_engine(f"sqlite+aiosqlite:///{args.run_db}")
    sessions = db.sessionmaker(engine)
    statements: list[tuple[str, tuple]] = []

    took_ms: list[float] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def timed(conn, cursor, statement, parameters, context, executemany):
        took_ms.append((time.perf_counter() - conn.info["started"]) * 1000)

    con = sqlite3.connect(f"file:{args.run_db}?mode=ro", uri=True)
    async with sessions() as s:
        lead = (await s.execute(select(User.id, User.name).where(User.role == "teamlead").limit(1))).first()
        agent = (await s.execute(select(User.id, User.name).where(
            User.role == "agent", User.team_id == select(User.team_id).where(User.id == lead.id)
            .scalar_subquery()).limit(1))).first()
        manager = (await s.execute(select(User.id, User.name).where(User.role == "manager").limit(1))).first()
        admin = SimpleNamespace(id=None, name="admin")
        now = utcnow()
        settings = SimpleNamespace(security=SimpleNamespace(session_secret=""), privacy=None)
        for role, who in (("agent", agent), ("teamlead", lead), ("manager", manager), ("admin", admin)):
            scope = await load_scope(s, Principal(who.name, role, who.id))
            for bucket in BUCKETS:
                first = await buckets.list_items(s, scope, bucket, now=now, per_page=25)
                deep = first
                for _ in range(args.hops):   # walk a few pages, then jump far with an offset page's cursor
                    if deep.next is None:
                        break
                    deep = await buckets.list_items(s, scope, bucket, cursor=deep.next, now=now)
                far = await buckets.list_items(s, scope, bucket, page=max(1, first.pages - 1), now=now)
                statements.clear()
                took_ms.clear()
                started = time.perf_counter()
                last = await buckets.list_items(s, scope, bucket, cursor=far.next, now=now) if far.next else far
                took = (time.perf_counter() - started) * 1000
                at = next((n for n, st in enumerate(statements) if "ORDER BY" in st[0]), None)
                rows_sql = statements[at] if at is not None else None
                rows_ms = took_ms[at] if at is not None else 0.0
                print(f"{role:9} {bucket:17} total {first.total:7}  last page by cursor {took:7.1f} ms"
                      f" (its page query {rows_ms:6.1f} ms, {len(last.items)} items)")
                if args.plans and rows_sql:
                    for row in con.execute("EXPLAIN QUERY PLAN " + rows_sql[0], rows_sql[1]):
                        print("            ", row[3])
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-db", default="/var/tmp/cc-bench/run.db")
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--hops", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
