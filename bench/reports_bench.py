"""Time the team lead / manager reports at the brief's scale, with their query plans.

    .venv/bin/python bench/reports_bench.py [--db /var/tmp/cc-bench/reports.db] [--today-calls 70000]
                                            [--runs 5] [--plans]

The database is bench/panel_data.py's (1,000,000 customers, 3,500 executives in
207 stores, 300,000 earlier calls over a fortnight), built when missing, plus a
busy local "today": ``--today-calls`` calls between 09:00 and 21:00 (60 %
connected, a disposition each, 5 % appointments, survey answers on the survey
campaign). Each report runs ``--runs`` times through callcenter.reports with
the scope of an admin, a manager, a team lead and an agent; the figures are the
median and worst wall time per report (ms). ``--plans`` prints EXPLAIN QUERY
PLAN of every statement the reports ran.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, select  # noqa: E402

from callcenter import db  # noqa: E402
from callcenter.models import User  # noqa: E402
from callcenter.org.scope import Scope  # noqa: E402
from callcenter.period import local_day, today  # noqa: E402
from callcenter.reports import service  # noqa: E402
from callcenter.reports.campaigns import campaign_report  # noqa: E402
from callcenter.reports.stores import store_daily  # noqa: E402

ZONE = "Asia/Kolkata"
SURVEY_CAMPAIGN = 5
QUESTIONS = ["sp_greeting", "sp_understanding", "sp_product_knowledge", "sp_explanation", "sp_courtesy",
             "sp_billing", "overall_experience"]


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_today(path: Path, calls: int, seed: int = 11) -> None:
    """A busy local day of calls, dispositions, appointments and survey answers."""
    rnd = random.Random(seed)
    day = local_day(today(ZONE), ZONE)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    items = con.execute("SELECT max(id) FROM work_items").fetchone()[0]
    call_rows, disp_rows, appt_rows, answer_rows = [], [], [], []
    for n in range(calls):
        item = rnd.randint(1, items)
        agent, campaign, customer, store = con.execute(
            "SELECT agent_id, campaign_id, customer_id, store_id FROM work_items WHERE id = ?", (item,)).fetchone()
        at = day.start + dt.timedelta(hours=9, minutes=rnd.randint(0, 12 * 60 - 1), seconds=rnd.randint(0, 59))
        talked = rnd.random() < 0.6
        talk = float(rnd.randint(20, 400)) if talked else None
        call_id = f"today{n:027d}"
        call_rows.append((call_id, agent, "bench", "mobile", f"+9199{customer:08d}", 1, "8062247000", 2, "ended",
                          _iso(at), _iso(at + dt.timedelta(seconds=25)) if talked else None,
                          _iso(at + dt.timedelta(seconds=60 + (talk or 0))), 20.0, talk,
                          "completed" if talked else "customer_no_answer", item, customer, campaign,
                          _iso(at + dt.timedelta(minutes=3))))
        booked = talked and rnd.random() < 0.08
        outcome = ("appointment" if booked else rnd.choice(["closed", "call_later"])) if talked else "not_talked"
        bucket = {"appointment": "appointment", "closed": "closed", "call_later": "future_followup",
                  "not_talked": "non_contact"}[outcome]
        disp_rows.append((item, call_id, agent, campaign, customer, outcome, None if talked else "busy", bucket,
                          "{}", "", _iso(at + dt.timedelta(minutes=3))))
        if booked:
            appt_rows.append((item, customer, agent, store, _iso(at + dt.timedelta(days=2)), "booked", "",
                              _iso(at + dt.timedelta(minutes=3))))
        if talked and campaign == SURVEY_CAMPAIGN:
            for q in QUESTIONS:
                answer_rows.append(("agent", None, call_id, customer, agent, campaign, q, rnd.randint(1, 5),
                                    _iso(at + dt.timedelta(minutes=3))))
            answer_rows.append(("agent", None, call_id, customer, agent, campaign, "nps", rnd.randint(0, 10),
                                _iso(at + dt.timedelta(minutes=3))))
    con.executemany("INSERT INTO calls (id, agent_id, requested_by, mode, number, trunk_id, caller_id, channels,"
                    " state, requested_at, customer_answered_at, ended_at, ring_seconds, talk_seconds,"
                    " end_reason, work_item_id, customer_id, campaign_id, disposed_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", call_rows)
    con.executemany("INSERT INTO dispositions (work_item_id, call_id, agent_id, campaign_id, customer_id,"
                    " outcome, reason, bucket_after, answers, remarks, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    disp_rows)
    con.executemany("INSERT INTO appointments (work_item_id, customer_id, agent_id, store_id, at, status,"
                    " remarks, created_at) VALUES (?,?,?,?,?,?,?,?)", appt_rows)
    con.executemany("INSERT INTO survey_answers (source, disposition_id, call_id, customer_id, agent_id,"
                    " campaign_id, question, score, created_at) VALUES (?,?,?,?,?,?,?,?,?)", answer_rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


async def scope_of(session, name: str) -> Scope:
    user = (await session.execute(select(User).where(User.name == name))).scalar_one()
    return Scope(role=user.role, user_id=user.id, team_id=user.team_id, location_id=user.location_id,
                 store_id=user.store_id)


async def run(path: Path, runs: int, plans: bool) -> dict:
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
    statements: list = []
    if plans:
        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _record(_conn, _cursor, statement, parameters, _context, _many):
            statements.append((statement, parameters))
    sessions = db.sessionmaker(engine)
    day = local_day(today(ZONE), ZONE)
    none = service.Filters()
    async with sessions() as s:
        who = {k: await scope_of(s, k) for k in ("admin", "manager-north", "lead-001", "exec-00001")}
    cases = {
        "overview, team lead (whole team)": lambda s: service.overview(s, who["lead-001"], none, day),
        "overview, manager (page of 100)": lambda s: service.overview(s, who["manager-north"], none, day, limit=100),
        "overview, manager (everyone, as CSV)": lambda s: service.overview(s, who["manager-north"], none, day),
        "overview, admin (everyone, as CSV)": lambda s: service.overview(s, who["admin"], none, day),
        "daily, team lead (whole team)": lambda s: service.daily(s, who["lead-001"], none, day),
        "daily, manager (page of 500)": lambda s: service.daily(s, who["manager-north"], none, day, limit=500),
        "daily, manager (everyone, as CSV)": lambda s: service.daily(s, who["manager-north"], none, day),
        "daily, admin (everyone, as CSV)": lambda s: service.daily(s, who["admin"], none, day),
        "campaign 1, admin": lambda s: campaign_report(s, who["admin"], 1),
        "campaign 1, manager": lambda s: campaign_report(s, who["manager-north"], 1),
        "campaign 1, team lead": lambda s: campaign_report(s, who["lead-001"], 1),
        "campaign 5 (survey), admin, today": lambda s: campaign_report(s, who["admin"], SURVEY_CAMPAIGN, day),
        "stores, manager": lambda s: store_daily(s, who["manager-north"], none, day),
        "me, agent": lambda s: service.me(s, who["exec-00001"], day),
    }
    results = {}
    for label, make in cases.items():
        times = []
        for _ in range(runs):
            async with sessions() as s:
                started = time.perf_counter()
                await make(s)
                times.append((time.perf_counter() - started) * 1000)
        results[label] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
        print(f"{label:40s} median {results[label]['median_ms']:8.1f} ms   max {results[label]['max_ms']:8.1f} ms",
              flush=True)
    await engine.dispose()
    if plans:
        print_plans(path, statements)
    return results


def print_plans(path: Path, statements: list) -> None:
    con = sqlite3.connect(path)
    seen = set()
    for statement, parameters in statements:
        if statement in seen or not statement.lstrip().upper().startswith("SELECT"):
            continue
        seen.add(statement)
        print("\n" + " ".join(statement.split())[:400])
        for row in con.execute("EXPLAIN QUERY PLAN " + statement, parameters):
            print("   ", row[-1])
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/var/tmp/cc-bench/reports.db")
    parser.add_argument("--today-calls", type=int, default=70_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    path = Path(args.db)
    if not path.exists():
        import panel_data
        started = time.perf_counter()
        print(json.dumps(panel_data.build(path, 1_000_000, 3500, 207, 300_000)), flush=True)
        add_today(path, args.today_calls)
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    print(json.dumps(asyncio.run(run(path, args.runs, args.plans)), indent=1))


if __name__ == "__main__":
    main()
