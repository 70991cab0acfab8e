"""Agents' dispositions while a 100,000-row customer upload is validated and
committed (issue 13: "a 100,000-row upload holds SQLite's write lock for
several seconds, so every agent's disposition waits"), on SQLite or PostgreSQL.

    .venv/bin/python bench/dispositions_during_upload.py [--pg] [--rows 100000] [--agents 8]
        [--every 1.0] [--quiet 10] [--json FILE]

The database is a fresh copy of bench/panel_data.py's 1,000,000 customers
(``--db``; with ``--pg`` bench/panel_pg.py's PostgreSQL build of the same rows),
as bench/panel_bench.py prepares it. The real app (web.app.create_app, its
middleware, browser sessions in a Redis of its own, no Asterisk) on a local
port; ``--settle`` seconds after its start (its start-up work, e.g. SQLite's
ANALYZE, done), ``--agents`` executives of location 1 each save a disposition every
``--every`` seconds (one at a time: a slow save delays that agent's next) on
their own Fresh / Non-contact items, through the form the customer page posts
(``POST /work/{id}/disposition``: "not talked, busy", a remark of its own so
each save writes a new row); the stream runs in a child process (its own
event loop, as a browser is). Meanwhile the location's manager, after
``--quiet`` seconds, uploads a messy XLSX of ``--rows`` rows (panel_bench's
write_xlsx: every 10th an existing customer, some repeated; written once, kept
beside ``--db`` as upload-ROWS.xlsx) to a new campaign
through the upload form (``POST /campaigns/{id}/uploads``: the validation),
waits ``--quiet`` seconds, commits it through the report page's form
(``POST /uploads/{id}/commit``, allocation "none": the one-transaction
commit), and the stream goes on ``--quiet`` seconds more.

Each save is put in the phase its span overlaps: ``commit`` (the commit
request, sent to answered), ``validate``, else the quiet stretch it lies in
(``before``, ``between``, ``after``; together ``quiet``). Reported per phase:
the agent's time (sent to answered, in the child) p50/p95/p99/max, the
server time of the same requests (a middleware in front of the app's), 503s
(the database locked past its busy timeout: the answers are kept on the page)
and other failures; the upload's validate and commit seconds; a check that
every save answered 303 is a row in the database; the slowest save and the
503s per 5 s; on PostgreSQL what the app's busy connections waited for
(pg_stat_activity sampled every 0.25 s), per phase."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import upload_phases as phases_of  # noqa: E402
from bench.panel_bench import app_settings, machine, prepare, run_url, write_xlsx  # noqa: E402

FORM = {"a.talked": "no", "a.not_talked_reason": "busy", "call_id": ""}


def _picks(db: Path, n_agents: int, seed: int) -> dict:
    """The first manager, their location's store codes and sampled executives
    with items a 'busy' disposition leaves open (Fresh / Non-contact, attempts
    below the campaigns' 3); mobiles of existing customers for the file."""
    rng = random.Random(seed)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    manager_id, manager, loc = con.execute(
        "SELECT id, name, location_id FROM users WHERE role='manager' ORDER BY id LIMIT 1").fetchone()
    codes = [r[0] for r in con.execute("SELECT code FROM stores WHERE location_id=? AND active=1", (loc,))]
    execs = [r for r in con.execute("SELECT id, name FROM users WHERE role='agent' AND agent_kind='store'"
                                    " AND location_id=? ORDER BY id", (loc,))]
    agents = []
    for uid, name in rng.sample(execs, n_agents):
        items = [r[0] for r in con.execute("SELECT id FROM work_items WHERE agent_id=? AND attempts < 3"
                                           " AND bucket IN ('fresh','non_contact') ORDER BY id", (uid,))]
        agents.append({"id": uid, "name": name, "items": items})
    existing = [r[0] for r in con.execute("SELECT mobile FROM customers WHERE id % 50 = 7 LIMIT 20000")]
    con.close()
    return {"manager": (manager_id, manager, loc), "codes": codes, "agents": agents, "existing": existing}


async def _campaign(sessions, loc: int) -> int:
    from callcenter.campaigns.forms import default_form
    from callcenter.campaigns.models import Campaign

    today = dt.date.today()
    async with sessions() as session, session.begin():
        campaign = Campaign(name=f"upload-during-dispositions-{time.time_ns()}", type="birthday",
                            starts_on=today - dt.timedelta(days=1), expires_on=today + dt.timedelta(days=20),
                            calling_mode="agent", location_id=loc, form=default_form("birthday"),
                            retry_delay_minutes=120, max_attempts=3, status="active", created_by="bench")
        session.add(campaign)
        await session.flush()
        return campaign.id


async def _notices_made(url: str) -> int:
    """The follow-up notices due today and missed yesterday marked as made, as a
    server that has been running leaves them (panel_data's rows are new at once:
    without this the first passes of the timed sweep would make ~40,000 notices
    in its long write transactions, the known problem of docs/benchmarks.md's
    "Notifications" section, and hold SQLite's lock whatever the upload does)."""
    from sqlalchemy import String, cast, insert, literal, select
    from sqlalchemy.types import DateTime

    from callcenter import db
    from callcenter.notifications.models import NoticeMark
    from callcenter.notifications.timed import DUE, MISSED
    from callcenter.work.models import WorkItem

    now = dt.datetime.now(dt.timezone.utc)
    engine = db.make_engine(url)
    made = 0
    async with engine.begin() as conn:
        for event, buckets in ((DUE, ("future_followup", "pending_followup")), (MISSED, ("pending_followup",))):
            made += (await conn.execute(insert(NoticeMark.__table__).from_select(
                ["event", "entity", "entity_id", "for_at", "outcome", "created_at"],
                select(literal(event), literal("work_item"), cast(WorkItem.id, String), WorkItem.followup_at,
                       literal("sent"), literal(now, DateTime(timezone=True)))
                .where(WorkItem.bucket.in_(buckets), WorkItem.followup_at <= now + dt.timedelta(hours=2))))).rowcount
    await engine.dispose()
    return made


# -- the agents (child process) -------------------------------------------------------------

def stream_child() -> None:
    """Reads the plan (JSON) on stdin; saves until the stop file exists; prints the saves."""
    plan = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_stream(plan))))


async def _stream(plan: dict) -> list:
    import aiohttp

    saves: list = []
    stop = Path(plan["stop"])

    async def agent(n: int, a: dict, client) -> None:
        await asyncio.sleep(plan["every"] * n / len(plan["agents"]))   # staggered
        due, k = time.monotonic(), 0
        while not stop.exists():
            item = a["items"][k % len(a["items"])]
            k += 1
            form = {**FORM, "_csrf": a["csrf"], "remarks": f"bench {a['id']}-{k}"}
            tag = f"{a['id']}-{k}"
            headers = {"Cookie": f"{plan['cookie']}={a['cookie']}", "Origin": plan["base"], "X-Bench-Save": tag}
            started, wall = time.monotonic(), time.time()
            try:
                async with client.post(f"{plan['base']}/work/{item}/disposition", data=form, headers=headers,
                                       allow_redirects=False) as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError as error:
                status = type(error).__name__
            saves.append([tag, item, wall, time.monotonic() - started, status])
            due += plan["every"]
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout) as client:
        await asyncio.gather(*(agent(n, a, client) for n, a in enumerate(plan["agents"])))
    return saves


# -- the run --------------------------------------------------------------------------------

async def run(args) -> dict:
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from sqlalchemy import func, select

    from callcenter.spreadsheets.models import Upload
    from callcenter.work.models import Disposition
    from web import sessions as browser_sessions
    from web.app import create_app
    from web.keys import SERVICES

    prepared = await prepare(args)
    prepared["notices_marked_made"] = await _notices_made(run_url(args))
    picks = _picks(Path(args.db), args.agents, args.seed)
    manager_id, manager, loc = picks["manager"]
    xlsx = Path(args.db).parent / f"upload-{args.rows}.xlsx"
    if not xlsx.exists():   # the same file for every run (existing customers are the same rows in both)
        write_xlsx(xlsx, args.rows, picks["codes"], picks["existing"], [])
    tmp, settings = app_settings(args, "disp-upload-")
    app = create_app(settings)
    server_times: dict[str, float] = {}   # X-Bench-Save -> seconds

    @web.middleware
    async def timer(request, handler):
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            if "X-Bench-Save" in request.headers:
                server_times[request.headers["X-Bench-Save"]] = time.perf_counter() - started

    app.middlewares.insert(0, timer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("/"))[:-1]
    stop = tmp / "stop"
    phases: dict[str, list] = {}
    sampling_done, wait_samples, sampler = asyncio.Event(), [], None
    try:
        services = app[SERVICES]
        campaign_id = await _campaign(services.sessions, loc)
        plan_agents = []
        for a in picks["agents"]:
            made = await browser_sessions.create(services, SimpleNamespace(id=a["id"], name=a["name"], role="agent"))
            plan_agents.append({"id": a["id"], "items": a["items"], "cookie": made.id, "csrf": made.csrf})
        boss = await browser_sessions.create(services, SimpleNamespace(id=manager_id, name=manager, role="manager"))
        await asyncio.sleep(args.settle)   # the server's start-up work (SQLite's ANALYZE, first sweeps) done
        headers = {"Cookie": f"{browser_sessions.COOKIE}={boss.id}", "Origin": base}
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "stream", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT)
        plan = {"base": base, "every": args.every, "stop": str(stop), "agents": plan_agents,
                "cookie": browser_sessions.COOKIE}
        child.stdin.write(json.dumps(plan).encode())
        child.stdin.close()
        saves_out = asyncio.ensure_future(child.stdout.read())
        if args.pg:
            sampler = asyncio.ensure_future(phases_of.sample_waits(run_url(args), sampling_done, wait_samples))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=900)) as client:
            await asyncio.sleep(args.quiet)
            form = aiohttp.FormData()
            form.add_field("_csrf", boss.csrf)
            form.add_field("file", xlsx.read_bytes(), filename=xlsx.name,
                           content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            t0 = time.time()
            async with client.post(f"{base}/campaigns/{campaign_id}/uploads", data=form, headers=headers,
                                   allow_redirects=False) as resp:
                body = await resp.text()
                if resp.status != 303:
                    raise SystemExit(f"upload answered {resp.status}: {body[:500]}")
                upload_id = int(resp.headers["Location"].rsplit("/", 1)[1])
            phases["validate"] = [t0, time.time()]
            await asyncio.sleep(args.quiet)
            t0 = time.time()
            async with client.post(f"{base}/uploads/{upload_id}/commit", headers=headers, allow_redirects=False,
                                   data={"_csrf": boss.csrf, "allocate": "none", "confirm_skip": "1"}) as resp:
                body = await resp.text()
                if resp.status != 303:
                    raise SystemExit(f"commit answered {resp.status}: {body[:500]}")
            phases["commit"] = [t0, time.time()]
            await asyncio.sleep(args.quiet)
        stop.touch()
        sampling_done.set()
        if sampler is not None:
            await sampler
        saves = json.loads(await saves_out)
        await child.wait()
        async with services.sessions() as session:
            upload = await session.get(Upload, upload_id)
            committed = (upload.report or {}).get("committed", {})
            stored = (await session.execute(select(func.count()).select_from(Disposition).where(
                Disposition.remarks.like("bench %")))).scalar_one()
    finally:
        stop.touch()
        sampling_done.set()
        await server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"database": "postgresql" if args.pg else "sqlite", **prepared, "rows": args.rows,
            "agents": args.agents, "every_seconds": args.every,
            "validate_seconds": round(phases["validate"][1] - phases["validate"][0], 2),
            "commit_seconds": round(phases["commit"][1] - phases["commit"][0], 2),
            "committed": {k: committed.get(k) for k in ("created", "updated", "work_items")},
            "phases": phases_of.by_phase(saves, phases, server_times), "timeline_5s": phases_of.timeline(saves, phases),
            "postgresql_waits": phases_of.waits_by_phase(wait_samples, phases) if args.pg else None,
            "saved_303": sum(1 for s in saves if s[4] == 303), "rows_in_database": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", default="run", choices=["run", "stream"])
    parser.add_argument("--pg", action="store_true", help="on PostgreSQL (bench/panel_pg.py's cluster and build)")
    parser.add_argument("--db", default="/var/tmp/cc-bench-pg/panel.db", help="panel_data's SQLite file")
    parser.add_argument("--run-db", default="/var/tmp/cc-bench-pg/run-disp.db")
    parser.add_argument("--pg-run", default="run_disp")
    parser.add_argument("--stats", default="none", choices=["none", "full", "as-built"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between an agent's saves")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds before, between and after")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds after the start before the saves")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.step == "stream":
        stream_child()
        return
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    result = {"machine": machine(), "at": started, "command": " ".join(sys.argv), **asyncio.run(run(args))}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
