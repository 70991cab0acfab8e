"""Agent panel at the brief's scale: bucket lists and the customer 360 (server
time through the real app), store-wise allocation of 100,000 customers, and
validate + commit of an XLSX upload, on a COPY of the benchmark database built
by bench/panel_data.py (1,000,000 customers, 3,500 executives, 207 stores).

    .venv/bin/python bench/panel_bench.py pages    [--rounds 300] [--agents 8] [--only KIND,...]
    .venv/bin/python bench/panel_bench.py profile  [--n 500] [--role agent|teamlead|manager]
    .venv/bin/python bench/panel_bench.py allocate [--items 100000]
    .venv/bin/python bench/panel_bench.py upload   [--rows 10000 100000] [--dimension]
    .venv/bin/python bench/panel_bench.py all      (pages, allocate, upload; one JSON summary)
    .venv/bin/python bench/panel_bench.py pages --pg [--pg-set NAME=VALUE] [--pg-explain MS]
                                             (on PostgreSQL: bench/panel_pg.py's cluster and build)

Common: ``--db`` the built database (default /var/tmp/cc-bench/panel.db, never
written); every step first copies it to ``--run-db`` (default
/var/tmp/cc-bench/run.db), migrates the copy to the code's schema and sets the
planner statistics with ``--stats`` (``none``: what a deployment has, as
nothing in the app runs ANALYZE; ``full``: ANALYZE after the migration;
``as-built``: panel_data's ANALYZE, none for indexes added since); ``--json
FILE`` keeps the summary (also printed).

``pages``: the app of web/app.py (create_app: the real middleware, browser
sessions in a Redis of its own, no Asterisk: the AMI link keeps retrying in the
background) on a local port; browser sessions made for sampled executives of
location 1, the lead of the first one's team and the location's manager.
Requests go one at a time, in shuffled rounds (every kind once per round).
SERVER time is measured by a middleware put in front of the app's own: from
the request reaching the middleware chain to the response handed back
(authentication, session lookup, queries, template), not HTTP parsing or the
socket; the process's CPU time over the same span is kept too (steadier than
wall time on a shared machine), and the SQL statements each request sent (a
round trip each on PostgreSQL; the server's own loops' statements meanwhile
counted too, so the median is the figure). ``GET /healthz`` (a SELECT 1 and a Redis PING
through the same middleware) is the baseline the ratios are taken against.

``profile`` (was bench/customer_360.py): the 360 service (``profile()``, its
audit row flushed) and service + template, in-process, rolled back.

``allocate``: 100,000 new customers in the first manager's location, each with
an unallocated fresh work item of a new campaign; times ``allocate(...,
'store')`` as that manager, and the commit.

``upload``: a messy XLSX per size, written with openpyxl's write-only mode
(``--dimension`` adds the sheet's <dimension> element, as Excel writes it),
validated and committed through callcenter.uploads (the calls the HTTP
handlers make, after the file is saved) in a child process per run, once
plain (time; peak RSS from VmHWM reset before each step, since ru_maxrss
carries the parent's size over the fork) and once under tracemalloc (peak of
Python allocations; slower)."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import logging
import os
import random
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKETS = ("fresh", "non_contact", "future_followup", "pending_followup", "appointment")
PER_PAGE = 25


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def pct(values, p) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def stats(values) -> dict:
    return {"n": len(values), "p50": ms(pct(values, .5)), "p95": ms(pct(values, .95)),
            "p99": ms(pct(values, .99)), "max": ms(max(values)), "mean": ms(statistics.mean(values))}


def fresh_copy(source: Path, target: Path) -> float:
    """``target`` made a copy of ``source`` (which is never written); seconds taken."""
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    if Path(f"{source}-wal").exists():   # uncheckpointed pages: copy through SQLite
        src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
    else:
        shutil.copyfile(source, target)
    return time.perf_counter() - started


async def prepare(args) -> dict:
    """A fresh copy of ``--db`` at ``--run-db``, migrated to the newest schema
    (indexes added since the database was built included), with the planner's
    statistics as ``--stats`` says: 'none' (sqlite_stat1 emptied: what a
    deployment has, nothing in the app runs ANALYZE), 'full' (ANALYZE after
    the migration) or 'as-built' (bench/panel_data.py's ANALYZE; indexes added
    later have none)."""
    from callcenter import db

    if args.pg:
        return await _prepare_pg(args)
    copy_s = fresh_copy(Path(args.db), Path(args.run_db))
    started = time.perf_counter()
    engine = db.make_engine(f"sqlite+aiosqlite:///{args.run_db}")
    await db.migrate(engine)
    await engine.dispose()
    migrated = time.perf_counter()
    con = sqlite3.connect(args.run_db)
    if args.stats == "none":
        if con.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_stat1'").fetchone():
            con.execute("DELETE FROM sqlite_stat1")
    elif args.stats == "full":
        con.execute("ANALYZE")
    con.commit()
    con.close()
    return {"copy_seconds": round(copy_s, 1), "migrate_seconds": round(migrated - started, 1),
            "stats": args.stats, "stats_seconds": round(time.perf_counter() - migrated, 1)}


async def _prepare_pg(args) -> dict:
    """On PostgreSQL (--pg): database ``--pg-run`` of the bench's cluster made a copy of
    bench/panel_pg.py's build (which has the statistics of its VACUUM ANALYZE, as
    autovacuum leaves a loaded database), migrated; ``--stats full``: ANALYZE again."""
    from sqlalchemy import text

    from bench import panel_pg
    from callcenter import db

    pg = panel_pg.cluster()
    copy_s = await panel_pg.fresh_copy(pg, args.pg_run)
    if getattr(args, "pg_explain", None) is not None:   # each statement slower than that: its plan in the cluster's log
        await panel_pg.explain_slow(pg, args.pg_run, args.pg_explain)
    for setting in getattr(args, "pg_set", None) or []:   # a server setting tried for this database only
        await panel_pg.set_for(pg, args.pg_run, *setting.split("=", 1))
    started = time.perf_counter()
    engine = db.make_engine(run_url(args))
    await db.migrate(engine)
    migrated = time.perf_counter()
    if args.stats == "full":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return {"database": "postgresql", "settings": getattr(args, "pg_set", None) or [],
            "copy_seconds": round(copy_s, 1),
            "migrate_seconds": round(migrated - started, 1),
            "stats": "full" if args.stats == "full" else "as-built (VACUUM ANALYZE after the load)",
            "stats_seconds": round(time.perf_counter() - migrated, 1)}


def run_url(args) -> str:
    """The run's database: the SQLite copy, or with --pg the PostgreSQL one."""
    if args.pg:
        from bench import panel_pg
        return panel_pg.BenchPostgres().url_of(args.pg_run)
    return f"sqlite+aiosqlite:///{args.run_db}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu": model, "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version, "load_avg_at_start": os.getloadavg()}


# -- pages ---------------------------------------------------------------------------

def _samples(db: Path, n_agents: int, seed: int) -> dict:
    """Executives of location 1 with their bucket totals and open items, the
    lead of the first one's team and the location's manager."""
    rng = random.Random(seed)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    execs = [r[0] for r in con.execute("SELECT id FROM users WHERE role='agent' AND agent_kind='store'"
                                       " AND active=1 AND location_id=1 ORDER BY id")]
    agents = []
    for agent_id in rng.sample(execs, n_agents):
        name, team, loc = con.execute("SELECT name, team_id, location_id FROM users WHERE id=?",
                                      (agent_id,)).fetchone()
        totals = dict(con.execute("SELECT bucket, count(*) FROM work_items WHERE agent_id=? GROUP BY bucket",
                                  (agent_id,)).fetchall())
        items = con.execute("SELECT w.id, w.customer_id, w.bucket, c.mobile FROM work_items w JOIN customers c"
                            " ON c.id=w.customer_id WHERE w.agent_id=? AND w.bucket != 'closed'",
                            (agent_id,)).fetchall()
        agents.append({"id": agent_id, "name": name, "team": team, "location": loc,
                       "totals": {b: totals.get(b, 0) for b in BUCKETS}, "items": items})
    lead_team, loc = agents[0]["team"], agents[0]["location"]
    lead = con.execute("SELECT id, name FROM users WHERE role='teamlead' AND team_id=?", (lead_team,)).fetchone()
    manager = con.execute("SELECT id, name FROM users WHERE role='manager' AND location_id=?", (loc,)).fetchone()
    team_totals = dict(con.execute(
        "SELECT bucket, count(*) FROM work_items WHERE agent_id IN (SELECT id FROM users WHERE team_id=?)"
        " GROUP BY bucket", (lead_team,)).fetchall())
    team_agents = [r[0] for r in con.execute("SELECT id FROM users WHERE team_id=? AND role='agent'"
                                             " AND agent_kind='store'", (lead_team,))]
    team_items = con.execute(
        "SELECT w.id, w.customer_id, w.bucket, c.mobile FROM work_items w JOIN customers c ON c.id=w.customer_id"
        " WHERE w.agent_id IN (%s) AND w.bucket != 'closed'" % ",".join(map(str, team_agents))).fetchall()
    loc_agents = [r[0] for r in con.execute("SELECT id FROM users WHERE location_id=? AND role='agent'"
                                            " AND agent_kind='store'", (loc,))]
    loc_items = [con.execute("SELECT w.id, w.customer_id, w.bucket, c.mobile FROM work_items w JOIN customers c"
                             " ON c.id=w.customer_id WHERE w.agent_id=? AND w.bucket != 'closed' LIMIT 1",
                             (a,)).fetchone() for a in rng.sample(loc_agents, 200)]
    fresh_last = _last_page_cursor(con, team_agents, team_totals.get("fresh", 0))
    con.close()
    return {"agents": agents, "lead": {"id": lead[0], "name": lead[1], "team": lead_team,
                                       "fresh_last_cursor": fresh_last,
                                       "totals": {b: team_totals.get(b, 0) for b in BUCKETS},
                                       "agents": team_agents, "items": team_items},
            "manager": {"id": manager[0], "name": manager[1], "location": loc, "agents": loc_agents,
                        "items": [i for i in loc_items if i]}}


def _last_page_cursor(con, agents: list[int], total: int) -> str | None:
    """The cursor a client holds on the second-to-last page of these agents'
    Fresh calls (the ``next`` link to the last page), made as the app makes it
    (keyset paging; None before it existed: the bench then asks ?page=N)."""
    try:
        from callcenter.work import paging
    except ImportError:
        return None
    offset = (_last_page(total) - 1) * PER_PAGE - 1
    row = con.execute(
        "SELECT c.expires_on, w.id FROM work_items w JOIN campaigns c ON c.id = w.campaign_id"
        " WHERE w.bucket = 'fresh' AND c.status = 'active' AND w.agent_id IN (%s)"
        " ORDER BY c.expires_on, w.id LIMIT 1 OFFSET ?" % ",".join(map(str, agents)), (offset,)).fetchone()
    return paging.encode(paging.Cursor("fresh", "after", dt.date.fromisoformat(row[0]), row[1]), "")


def _last_page(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


def _kinds(s: dict, rng: random.Random) -> dict:
    """Request kind -> a function giving (session user, url, bucket) for one request."""
    def agent():
        return rng.choice(s["agents"])

    def bucket_of(totals):
        return rng.choice([b for b in BUCKETS if totals[b]])

    def list_url(a, deep=False, search=False, json_api=True, extra=""):
        b = "fresh" if search else bucket_of(a["totals"])
        page = _last_page(a["totals"][b]) if deep else 1
        q = f"&q={rng.choice(a['items'])[3][-4:]}" if search else ""
        url = f"/api/v1/buckets/{b}?page={page}{q}{extra}" if json_api else \
            f"/buckets?bucket={b}&page={page}{q}{extra}"
        return url, b

    def as_agent(**kw):
        def make():
            a = agent()
            url, b = list_url(a, **kw)
            return a["id"], url, b
        return make

    def as_lead(**kw):
        def make():
            url, b = list_url(s["lead"], **kw)
            return s["lead"]["id"], url, b
        return make

    def manager_picks(json_api):
        def make():
            a = rng.choice(s["agents"])
            url, b = list_url(a, json_api=json_api, extra=f"&agent={a['id']}")
            return s["manager"]["id"], url, b
        return make

    def c360(who_and_items, json_api):
        def make():
            uid, items = who_and_items()
            item_id, customer_id, bucket, _mobile = rng.choice(items)
            url = f"/api/v1/customers/{customer_id}" if json_api else f"/customers/{customer_id}?item={item_id}"
            return uid, url, bucket
        return make

    def an_agent():
        a = agent()
        return a["id"], a["items"]

    first = s["agents"][0]
    return {
        "baseline_healthz": lambda: (None, "/healthz", ""),
        "agent_counts_json": lambda: (agent()["id"], "/api/v1/buckets", ""),
        "agent_list_json_p1": as_agent(),
        "agent_list_json_deep": as_agent(deep=True),
        "agent_search4_json": as_agent(search=True),
        "agent_buckets_html_p1": as_agent(json_api=False),
        "agent_buckets_html_deep": as_agent(json_api=False, deep=True),
        "agent_search4_html": as_agent(json_api=False, search=True),
        "agent_360_json": c360(an_agent, True),
        "agent_360_html": c360(an_agent, False),
        "lead_team_list_json_p1": as_lead(),
        "lead_team_list_json_deep": as_lead(deep=True),
        "lead_team_search4_json": as_lead(search=True),
        "lead_team_buckets_html_p1": as_lead(json_api=False),
        "lead_agent_buckets_html": lambda: (s["lead"]["id"], f"/buckets?agent={first['id']}&bucket="
                                            f"{bucket_of(first['totals'])}", ""),
        "lead_360_html": c360(lambda: (s["lead"]["id"], s["lead"]["items"]), False),
        "manager_agent_buckets_html": manager_picks(False),
        "manager_agent_list_json": manager_picks(True),
        "manager_360_html": c360(lambda: (s["manager"]["id"], s["manager"]["items"]), False),
        "manager_location_list_json_p1": lambda: (s["manager"]["id"], "/api/v1/buckets/fresh?page=1", "fresh"),
        # the whole team's Fresh calls: the first page and the last (?page=N: offset paging)
        "lead_team_fresh_json_p1": lambda: (s["lead"]["id"], "/api/v1/buckets/fresh", "fresh"),
        "lead_team_fresh_json_last": lambda: (
            s["lead"]["id"], f"/api/v1/buckets/fresh?page={_last_page(s['lead']['totals']['fresh'])}", "fresh"),
        # ... the last page as a client reaches it now: the previous page's ``next`` cursor
        "lead_team_fresh_json_last_cursor": lambda: (
            s["lead"]["id"], f"/api/v1/buckets/fresh?cursor={s['lead']['fresh_last_cursor']}"
            if s["lead"]["fresh_last_cursor"] else
            f"/api/v1/buckets/fresh?page={_last_page(s['lead']['totals']['fresh'])}", "fresh"),
    }


def app_settings(args, prefix: str):
    """(a fresh state folder, the app's settings) on the run's database: a
    Redis of its own, no Asterisk (the AMI link keeps retrying, silenced)."""
    from callcenter.config import AmiSettings, DatabaseSettings, PbxSettings, RedisSettings, Settings
    from ivr.settings import IvrSettings

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    settings = Settings(
        path=tmp / "callcenter.toml", state_dir=tmp,
        database=DatabaseSettings(url=run_url(args)),
        redis=RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", managed=True, key_prefix="bench:"),
        pbx=PbxSettings(managed=False, sync_config=False),
        ami=AmiSettings(port=free_port(), secret="bench-unused", admin_secret="bench-unused"),
        sections={"ivr": IvrSettings(enabled=False)})
    logging.getLogger("callcenter.ami").setLevel(logging.CRITICAL)
    return tmp, settings


async def bench_pages(args) -> dict:
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from sqlalchemy import event

    from web import sessions as browser_sessions
    from web.app import create_app
    from web.keys import SERVICES

    prepared = await prepare(args)
    # the PostgreSQL copy holds the SQLite file's rows, ids included: sampled from the file
    s = _samples(Path(args.db if args.pg else args.run_db), args.agents, args.seed)
    tmp, settings = app_settings(args, "panel-bench-")
    app = create_app(settings)
    server_times: list[tuple[float, float]] = []

    @web.middleware
    async def timer(request, handler):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return await handler(request)
        finally:
            server_times.append((time.perf_counter() - started, time.process_time() - cpu))

    app.middlewares.insert(0, timer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rng = random.Random(args.seed)
    kinds = _kinds(s, rng)
    if args.only:
        kinds = {k: v for k, v in kinds.items() if k in args.only.split(",") or k == "baseline_healthz"}
    results = {k: {"server": [], "cpu": [], "client": [], "by_bucket": {}, "bytes": 0, "statements": []}
               for k in kinds}
    failures: dict[str, list] = {}
    try:
        services = app[SERVICES]
        executed = [0]   # SQL statements sent (a round trip each; the server's loops' own included)

        def count(*_args):
            executed[0] += 1
        event.listen(services.engine.sync_engine, "before_cursor_execute", count)
        cookies = {}
        users = {a["id"]: (a["id"], a["name"], "agent") for a in s["agents"]}
        users[s["lead"]["id"]] = (s["lead"]["id"], s["lead"]["name"], "teamlead")
        users[s["manager"]["id"]] = (s["manager"]["id"], s["manager"]["name"], "manager")
        for uid, name, role in users.values():
            made = await browser_sessions.create(services, SimpleNamespace(id=uid, name=name, role=role))
            cookies[uid] = made.id
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
            base = str(server.make_url("/"))[:-1]

            async def one(kind, record=True):
                uid, url, bucket = kinds[kind]()
                headers = {"Cookie": f"{browser_sessions.COOKIE}={cookies[uid]}"} if uid else {}
                if "/api/" in url:
                    headers["Accept"] = "application/json"
                started, sent = time.perf_counter(), executed[0]
                async with client.get(base + url, headers=headers, allow_redirects=False) as resp:
                    body = await resp.read()
                client_s = time.perf_counter() - started
                ok = resp.status == 200 or (kind == "baseline_healthz" and resp.status == 503)
                if not ok:
                    failures.setdefault(kind, []).append((url, resp.status, body[:200].decode(errors="replace")))
                if record:
                    r = results[kind]
                    wall, cpu = server_times[-1]
                    r["server"].append(wall)
                    r["cpu"].append(cpu)
                    r["client"].append(client_s)
                    r["bytes"] += len(body)
                    r["statements"].append(executed[0] - sent)
                    if bucket:
                        r["by_bucket"].setdefault(bucket, []).append(wall)

            warm_started = time.perf_counter()
            for _ in range(args.warmup):     # page cache and statement caches warm, sessions' user checks
                for kind in kinds:
                    await one(kind, record=False)
            warm_s = time.perf_counter() - warm_started
            started = time.perf_counter()
            cpu0 = time.process_time()
            order = list(kinds)
            for _ in range(args.rounds):
                rng.shuffle(order)
                for kind in order:
                    await one(kind)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu0
    finally:
        await server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    base_stats = stats(results["baseline_healthz"]["server"])
    out = {}
    for kind, r in results.items():
        server_stats = stats(r["server"])
        out[kind] = {"server_ms": server_stats, "server_cpu_ms": stats(r["cpu"]), "client_ms": stats(r["client"]),
                     "ratio_to_baseline": {"p50": round(server_stats["p50"] / base_stats["p50"], 1),
                                           "p95": round(server_stats["p95"] / base_stats["p95"], 1)},
                     "avg_bytes": r["bytes"] // max(1, len(r["server"])),
                     "sql_statements_median": statistics.median(r["statements"]) if r["statements"] else None}
        if len(r["by_bucket"]) > 1:
            out[kind]["server_p95_by_bucket"] = {b: ms(pct(v, .95)) for b, v in sorted(r["by_bucket"].items())}
    aim = {k: v["server_ms"]["p95"] < 50 for k, v in out.items()
           if k.startswith(("agent_", "lead_", "manager_")) and k != "manager_location_list_json_p1"}
    return {"step": "pages", **prepared, "rounds": args.rounds, "warmup_rounds": args.warmup,
            "warmup_seconds": round(warm_s, 1), "wall_seconds": round(wall, 1),
            "process_cpu_seconds": round(cpu, 1), "requests": sum(len(r["server"]) for r in results.values()),
            "sample": {"agents": [a["id"] for a in s["agents"]],
                       "agent_open_items": [sum(a["totals"].values()) for a in s["agents"]],
                       "lead": s["lead"]["name"], "lead_team_open_items": sum(s["lead"]["totals"].values()),
                       "manager": s["manager"]["name"], "manager_location_agents": len(s["manager"]["agents"])},
            "kinds": out, "failures": {k: (len(v), v[:3]) for k, v in failures.items()},
            "aim_p95_under_50ms": {"met": all(aim.values()), "missed": sorted(k for k, v in aim.items() if not v)}}


# -- profile (the 360 service, in-process) ------------------------------------------------

async def bench_profile(args) -> dict:
    from sqlalchemy import select, text

    from callcenter import db
    from callcenter.auth.tokens import Principal
    from callcenter.campaigns.models import Campaign
    from callcenter.config import Settings
    from callcenter.customers.profile import profile
    from callcenter.dispositions import history
    from callcenter.dispositions.pages import BUCKET_LABELS, form_view
    from callcenter.models import User
    from callcenter.org.scope import load_scope
    from web.render import ENV

    prepared = await prepare(args)   # the schema must be the code's: a migrated copy
    settings = Settings(path=Path("/nonexistent.toml"), state_dir=Path("/tmp"))
    engine = db.make_engine(f"sqlite+aiosqlite:///{args.run_db}")
    sessions = db.sessionmaker(engine)
    rng = random.Random(3)
    async with sessions() as s:
        top = (await s.execute(text("SELECT max(id) FROM work_items"))).scalar_one()
        picks = []
        while len(picks) < args.n:
            row = (await s.execute(text(
                "SELECT w.id, w.customer_id, w.agent_id, u.team_id, u.location_id FROM work_items w "
                "JOIN users u ON u.id = w.agent_id WHERE w.id >= :i ORDER BY w.id LIMIT 1"),
                {"i": rng.randint(1, top)})).first()
            if row is not None:
                picks.append(row)
        bosses = {}
        for role, col in (("teamlead", User.team_id), ("manager", User.location_id)):
            for u in (await s.execute(select(User).where(User.role == role))).scalars():
                bosses[(role, getattr(u, col.key))] = u
    template = ENV.get_template("customer/profile.html")
    service, page = [], []
    for item_id, customer_id, agent_id, team_id, location_id in picks:
        if args.role == "agent":
            who = Principal(f"agent{agent_id}", "agent", agent_id)
        else:
            boss = bosses[(args.role, team_id if args.role == "teamlead" else location_id)]
            who = Principal(boss.name, boss.role, boss.id)
        async with sessions() as session:
            t0 = time.perf_counter()
            scope = await load_scope(session, who)
            view = await profile(session, scope, settings, who.role, customer_id, history=history,
                                 actor=who.name, work_item_id=item_id)
            await session.flush()
            t1 = time.perf_counter()
            item = next(i for i in view["work_items"] if i["id"] == item_id)
            campaign = await session.get(Campaign, item["campaign_id"])
            now = dt.datetime.now(dt.timezone.utc)
            form = form_view(campaign.form, None, None, now, settings.web.timezone, campaign.expires_on)
            template.render(
                request=SimpleNamespace(path="/customers/x"), settings=settings,
                principal=who, browser_session=None, csrf_field=lambda: "", csrf_token="x", now=now,
                nav=[], path="/customers/x", view=view, c=view["customer"], item=item, form=form,
                campaign=campaign, owed=None, owed_here=False, call_id="", not_callable=None, submitted={},
                bucket_labels=BUCKET_LABELS, open_form=False, duration=lambda s: "", labels={})
            t2 = time.perf_counter()
            await session.rollback()
        service.append(t1 - t0)
        page.append(t2 - t0)
    await engine.dispose()
    return {"step": "profile", **prepared, "role": args.role, "service_ms": stats(service),
            "service_and_template_ms": stats(page)}


# -- allocation ------------------------------------------------------------------------------

def _new_campaign(con, name: str, location_id: int | None, today: dt.date) -> int:
    from callcenter.campaigns.forms import default_form

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    cur = con.execute(
        "INSERT INTO campaigns (name, type, starts_on, expires_on, calling_mode, location_id, form,"
        " retry_delay_minutes, max_attempts, status, created_by, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (name, "birthday", (today - dt.timedelta(days=1)).isoformat(), (today + dt.timedelta(days=20)).isoformat(),
         "agent", location_id, json.dumps(default_form("birthday")), 120, 3, "active", "bench", now, now))
    con.commit()
    return cur.lastrowid


async def bench_allocate(args) -> dict:
    from callcenter import db
    from callcenter.auth.tokens import Principal
    from callcenter.org.scope import load_scope
    from callcenter.work.allocation import allocate
    from callcenter.work.buckets import local_today

    prepared = await prepare(args)
    today = local_today("Asia/Kolkata")
    con = sqlite3.connect(args.run_db)
    manager_id, manager, loc = con.execute(
        "SELECT id, name, location_id FROM users WHERE role='manager' ORDER BY id LIMIT 1").fetchone()
    stores = [r for r in con.execute("SELECT id, language FROM stores WHERE location_id=? AND active=1", (loc,))]
    campaign_id = _new_campaign(con, "allocation-bench", loc, today)
    rng = random.Random(11)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    first = con.execute("SELECT max(id) FROM customers").fetchone()[0] + 1
    customers, items = [], []
    for n in range(args.items):
        store_id, language = rng.choice(stores)
        customers.append((first + n, f"+9188{n:08d}", f"New customer {n}", store_id, language, "{}", now, now))
        items.append((campaign_id, first + n, "fresh", store_id, language, 0, now, now))
    con.executemany("INSERT INTO customers (id, mobile, name, store_id, language, data, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?)", customers)
    con.executemany("INSERT INTO work_items (campaign_id, customer_id, bucket, store_id, language, attempts,"
                    " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)", items)
    con.commit()
    con.close()
    engine = db.make_engine(f"sqlite+aiosqlite:///{args.run_db}")
    sessions = db.sessionmaker(engine)
    who = Principal(manager, "manager", manager_id)
    async with sessions() as session:
        scope = await load_scope(session, who)
    gc.collect()
    load = os.getloadavg()[0]
    async with sessions() as session:
        started, cpu = time.perf_counter(), time.process_time()
        result = await allocate(session, scope, campaign_id, "store", actor=manager, today=today)
        planned = time.perf_counter()
        await session.commit()
        committed, cpu = time.perf_counter(), time.process_time() - cpu
    async with sessions() as session:
        from sqlalchemy import text
        check = (await session.execute(text(
            "SELECT count(*), sum(u.store_id = w.store_id), count(DISTINCT w.agent_id) FROM work_items w"
            " JOIN users u ON u.id = w.agent_id WHERE w.campaign_id = :c"), {"c": campaign_id})).one()
    await engine.dispose()
    seconds = committed - started
    return {"step": "allocate", **prepared, "as": f"{manager} (location {loc}, "
            f"{len(stores)} stores)", "items": args.items, "allocated": result.allocated,
            "unallocated": result.unallocated, "reasons": result.reasons,
            "agents_given_work": len(result.per_agent),
            "check": {"allocated_rows": check[0], "to_own_store": check[1], "agents": check[2]},
            "allocate_seconds": round(planned - started, 2), "commit_seconds": round(committed - planned, 2),
            "total_seconds": round(seconds, 2), "process_cpu_seconds": round(cpu, 2),
            "load_avg_1min_before": round(load, 2), "aim_under_10s": seconds < 10}


# -- upload ------------------------------------------------------------------------------------

HEADER = ["Mobile No", "Customer Name", "Store Code", "DOB", "Anniversary", "City", "Loyalty Tier",
          "Points", "Last Visit"]


def write_xlsx(path: Path, rows: int, store_codes: list[str], existing: list[str], dnd: list[str],
               seed: int = 5, dimension: bool = False) -> dict:
    """A messy customer file: numbers as +91 with spaces, 0-prefixed, bare 10
    digits and number cells; dates as date cells, DD/MM/YYYY, D-Mon-YY, ISO
    and Excel serials; every 10th row an existing customer (an update), a few
    numbers on the DND list and a few rows repeating an earlier number."""
    import openpyxl

    rng = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Customers")
    ws.append(HEADER)
    kinds = {"existing": 0, "dnd": 0, "duplicate": 0, "new": 0}
    dnd_every = max(1, rows // len(dnd)) if dnd else 0
    for i in range(rows):
        if i % 10 == 5:
            ten = existing[i // 10 % len(existing)][3:]
            kinds["existing"] += 1
        elif dnd_every and i % dnd_every == 7 and kinds["dnd"] < len(dnd):
            ten = dnd[kinds["dnd"]][3:]
            kinds["dnd"] += 1
        elif i % 997 == 500 and i > 1000:
            ten = f"98{i - 1000:08d}"       # the same mobile as 1,000 rows earlier
            kinds["duplicate"] += 1
        else:
            ten = f"98{i:08d}"
            kinds["new"] += 1
        mobile = (f"+91 {ten[:5]} {ten[5:]}", f"0{ten}", ten, int(ten), f"91{ten}")[i % 5]
        year, month, day = 1960 + i % 40, 1 + i % 12, 1 + i % 28
        dob = (dt.datetime(year, month, day), f"{day:02d}/{month:02d}/{year}",
               dt.date(year, month, day).strftime("%d-%b-%y"), f"{year}-{month:02d}-{day:02d}",
               (dt.date(year, month, day) - dt.date(1899, 12, 30)).days)[i % 5]
        anniversary = None if i % 3 else f"{day}.{month}.{year + 25}"
        ws.append([mobile, f"  Customer {i}  " if i % 7 == 0 else f"Customer {i}", rng.choice(store_codes),
                   dob, anniversary, rng.choice(["Delhi", "Jaipur", "  Lucknow", "Chandigarh"]),
                   ("Gold", "Silver", "Platinum")[i % 3], i % 5000, "02/11/2026"])
    wb.save(path)
    if dimension:
        _add_dimension(path, f"A1:{chr(64 + len(HEADER))}{rows + 1}")
    return kinds


def _add_dimension(path: Path, ref: str) -> None:
    """Put the sheet's ``<dimension>`` in, as Excel writes it (openpyxl's
    write-only mode leaves it out; its read-only reader then scans the whole
    sheet once when the workbook is opened, to find the size)."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetPr>", f'</sheetPr><dimension ref="{ref}"/>'.encode(), 1)
            dst.writestr(info, data)
    tmp.replace(path)


def _upload_child(args) -> None:
    """One size, in this fresh process: validate and commit, print JSON."""
    import tracemalloc

    asyncio.run(_upload_child_async(args, tracemalloc if args.trace else None))


def _status_mb(field: str) -> float:
    """VmRSS / VmHWM (peak RSS) of this process from /proc, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Start VmHWM (the peak RSS) again from the current RSS (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


async def _upload_child_async(args, tracemalloc) -> None:
    from callcenter import db
    from callcenter.auth.tokens import Principal
    from callcenter.config import Settings
    from callcenter.org.scope import load_scope
    from callcenter.spreadsheets import store as files
    from callcenter.uploads.commit import commit_and_allocate
    from callcenter.uploads.validate import validate_customers
    from callcenter.work.buckets import local_today

    tmp = Path(tempfile.mkdtemp(prefix="panel-upload-"))
    try:
        settings = Settings(path=tmp / "callcenter.toml", state_dir=tmp)
        engine = db.make_engine(f"sqlite+aiosqlite:///{args.run_db}")
        sessions = db.sessionmaker(engine)
        source = Path(args.xlsx)
        settings.uploads_dir.mkdir(parents=True)
        stored = files.new_name(source.name)
        shutil.copyfile(source, settings.uploads_dir / stored)   # as save_part leaves it
        path = settings.uploads_dir / stored
        saved = files.SavedFile(path, stored, source.name, path.stat().st_size, files.file_sha256(path))
        who = Principal(args.manager, "manager", args.manager_id)
        today = local_today(settings.web.timezone)
        async with sessions() as session:
            scope = await load_scope(session, who)
            await session.execute(db_text("SELECT count(*) FROM stores"))   # connection and schema warm
        gc.collect()
        maxrss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731
        rss0, maxrss0 = _status_mb("VmRSS"), maxrss()
        _reset_peak()
        if tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        async with sessions() as session:
            upload = await validate_customers(session, scope, args.campaign_id, saved, actor=who.name,
                                              settings=settings, today=today)
            await session.commit()
        validated = time.perf_counter()
        peak_validate = tracemalloc.get_traced_memory()[1] if tracemalloc else None
        hwm_validate, rss1, maxrss1 = _status_mb("VmHWM"), _status_mb("VmRSS"), maxrss()
        if tracemalloc:
            tracemalloc.reset_peak()
        _reset_peak()
        result = await commit_and_allocate(sessions, scope, upload.id, actor=who.name, settings=settings,
                                           today=today, allocate="none")
        committed = time.perf_counter()
        peak_commit = tracemalloc.get_traced_memory()[1] if tracemalloc else None
        hwm_commit, maxrss2 = _status_mb("VmHWM"), maxrss()
        await engine.dispose()
        print(json.dumps({
            "rows": upload.total, "status": upload.status, "invalid": upload.invalid,
            "duplicates_in_file": upload.duplicates_in_file, "existing": upload.duplicates_existing,
            "dnd": upload.dnd, "created": result["created"], "updated": result["updated"],
            "work_items": result["work_items"], "traced": bool(tracemalloc),
            "validate_seconds": round(validated - started, 2), "commit_seconds": round(committed - validated, 2),
            "total_seconds": round(committed - started, 2),
            "rss_before_mb": round(rss0, 1), "rss_after_validate_mb": round(rss1, 1),
            "peak_rss_validate_mb": round(hwm_validate, 1), "peak_rss_commit_mb": round(hwm_commit, 1),
            "peak_rss_growth_mb": round(max(hwm_validate, hwm_commit) - rss0, 1),
            "ru_maxrss_before_mb": round(maxrss0, 1), "ru_maxrss_after_mb": round(maxrss2, 1),
            "ru_maxrss_delta_mb": round(maxrss2 - maxrss0, 1), "ru_maxrss_after_validate_mb": round(maxrss1, 1),
            "tracemalloc_peak_validate_mb": round(peak_validate / 2**20, 1) if tracemalloc else None,
            "tracemalloc_peak_commit_mb": round(peak_commit / 2**20, 1) if tracemalloc else None}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def db_text(sql: str):
    from sqlalchemy import text
    return text(sql)


def bench_upload(args) -> dict:
    from callcenter.work.buckets import local_today

    out = {"step": "upload", "dimension_element": args.dimension, "sizes": {}}
    files_dir = Path(tempfile.mkdtemp(prefix="panel-xlsx-"))
    try:
        src = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
        manager_id, manager, loc = src.execute(
            "SELECT id, name, location_id FROM users WHERE role='manager' ORDER BY id LIMIT 1").fetchone()
        codes = [r[0] for r in src.execute("SELECT code FROM stores WHERE location_id=? AND active=1", (loc,))]
        existing = [r[0] for r in src.execute("SELECT mobile FROM customers ORDER BY random() LIMIT 20000")]
        src.close()
        dnd = [f"+9197{n:08d}" for n in range(100)]
        for rows in args.rows:
            xlsx = files_dir / f"customers-{rows}.xlsx"
            started = time.perf_counter()
            mix = write_xlsx(xlsx, rows, codes, existing, dnd, dimension=args.dimension)
            size = {"file_mb": round(xlsx.stat().st_size / 1e6, 1), "written_seconds":
                    round(time.perf_counter() - started, 1), "mix": mix, "runs": []}
            for trace in (False, True):
                prepared = asyncio.run(prepare(args))
                con = sqlite3.connect(args.run_db)
                campaign_id = _new_campaign(con, f"upload-bench-{rows}", loc, local_today("Asia/Kolkata"))
                con.executemany("INSERT INTO dnd_numbers (number, source, added_by, added_at) VALUES (?,?,?,?)",
                                [(n, "manual", "bench", "2026-11-01 00:00:00") for n in dnd])
                con.commit()
                con.close()
                cmd = [sys.executable, __file__, "upload-child", "--run-db", args.run_db, "--xlsx", str(xlsx),
                       "--campaign-id", str(campaign_id), "--manager", manager, "--manager-id", str(manager_id)]
                if trace:
                    cmd.append("--trace")
                done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if done.returncode:
                    raise SystemExit(f"upload child failed:\n{done.stderr[-3000:]}")
                run = json.loads(done.stdout.strip().splitlines()[-1])
                run.update(prepared)
                size["runs"].append(run)
            out["sizes"][str(rows)] = size
    finally:
        shutil.rmtree(files_dir, ignore_errors=True)
    timed = out["sizes"].get("100000", {}).get("runs", [{}])[0]
    if timed:
        out["aim_100k_under_60s"] = timed["total_seconds"] < 60
    return out


# -- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["pages", "profile", "allocate", "upload", "all", "upload-child"])
    parser.add_argument("--db", default="/var/tmp/cc-bench/panel.db")
    parser.add_argument("--run-db", default="/var/tmp/cc-bench/run.db")
    parser.add_argument("--json", help="write the summary to this file too")
    parser.add_argument("--pg", action="store_true", help="pages: on PostgreSQL (bench/panel_pg.py's "
                        "cluster and build; --db is still read for the samples)")
    parser.add_argument("--pg-run", default="run", help="--pg: the run's database name")
    parser.add_argument("--pg-set", action="append", metavar="NAME=VALUE", help="--pg: a server setting "
                        "for the run's database (ALTER DATABASE ... SET), e.g. random_page_cost=1.1")
    parser.add_argument("--pg-explain", type=int, metavar="MS", help="--pg: log the plan (EXPLAIN ANALYZE, "
                        "auto_explain) of every statement slower than MS ms to the cluster's log "
                        "(a diagnosis: it slows every statement down)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stats", choices=["none", "full", "as-built"], default="none",
                        help="the copy's planner statistics (see prepare())")
    parser.add_argument("--rounds", type=int, default=300, help="pages: requests of each kind")
    parser.add_argument("--warmup", type=int, default=5, help="pages: unrecorded rounds first")
    parser.add_argument("--agents", type=int, default=8, help="pages: executives sampled")
    parser.add_argument("--only", help="pages: comma-separated kinds (the baseline always runs)")
    parser.add_argument("--n", type=int, default=500, help="profile: customers")
    parser.add_argument("--role", default="agent", choices=["agent", "teamlead", "manager"])
    parser.add_argument("--items", type=int, default=100_000, help="allocate: new customers")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="upload: file sizes")
    parser.add_argument("--xlsx")
    parser.add_argument("--campaign-id", type=int)
    parser.add_argument("--manager")
    parser.add_argument("--manager-id", type=int)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--dimension", action="store_true",
                        help="upload: files with the sheet's <dimension> element, as Excel writes them")
    args = parser.parse_args()
    if args.step == "upload-child":
        _upload_child(args)
        return
    summary = {"machine": machine(), "command": " ".join([".venv/bin/python", "bench/panel_bench.py",
                                                          *sys.argv[1:]]),
               "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    steps = ["pages", "allocate", "upload"] if args.step == "all" else [args.step]
    for step in steps:
        if step == "pages":
            summary["pages"] = asyncio.run(bench_pages(args))
        elif step == "profile":
            summary["profile"] = asyncio.run(bench_profile(args))
        elif step == "allocate":
            summary["allocate"] = asyncio.run(bench_allocate(args))
        else:
            summary["upload"] = bench_upload(args)
        print(json.dumps({step: summary[step]}), file=sys.stderr, flush=True)
    text = json.dumps(summary, indent=1, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
