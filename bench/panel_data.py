"""Build the agent-panel benchmark database: the brief's scale in the default SQLite.

    .venv/bin/python bench/panel_data.py --db /var/tmp/cc-bench/panel.db [--customers 1000000]
                                         [--agents 3500] [--stores 207] [--calls 300000]

Two locations (north, south), 207 stores (alternating), one team per ten stores,
3,500 store executives spread over the stores (17 each, a few 16), 60 call-centre
agents, one team lead per team, a manager per location; five campaigns; one
customer per mobile number, each in one campaign, allocated to an executive of
their store, spread over the buckets the way a fortnight of work leaves them
(55 % fresh, 20 % non-contact, 8 % future follow-up, 4 % pending, 5 %
appointment, 8 % closed); ``--calls`` earlier calls with a disposition each.

The schema comes from the real migrations (callcenter.db.migrate); rows are
written with sqlite3 executemany in large transactions (about a minute for a
million customers). The database is rebuilt only when missing or --force.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter import db  # noqa: E402
from callcenter.campaigns.forms import default_form  # noqa: E402

LANGS = ["en", "hi", "ta", "kn", "ml", "te"]
BUCKET_MIX = [("fresh", 55), ("non_contact", 20), ("future_followup", 8),
              ("pending_followup", 4), ("appointment", 5), ("closed", 8)]
CAMPAIGNS = [("birthday-nov", "birthday"), ("anniversary-nov", "anniversary"),
             ("gold-coin", "gold_coin"), ("dhanteras", "festival"),
             ("walkin-survey", "new_walkin_survey")]


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


async def _migrate(path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
    await db.migrate(engine)
    await engine.dispose()


def build(path: Path, customers: int, agents: int, stores: int, calls: int, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    asyncio.run(_migrate(path))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    cur = con.cursor()
    cur.executemany("INSERT INTO locations (id, code, name, created_at) VALUES (?,?,?,?)",
                    [(1, "north", "North call centre", _iso(now)), (2, "south", "South call centre", _iso(now))])
    store_rows = []
    for i in range(1, stores + 1):
        loc = 1 if i % 2 else 2
        store_rows.append((i, f"S{i:03d}", f"Store {i:03d}", f"City {i % 40}", "north" if loc == 1 else "south",
                           LANGS[i % len(LANGS)], loc, 1, _iso(now)))
    cur.executemany("INSERT INTO stores (id, code, name, city, region, language, location_id, active, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", store_rows)
    teams = (stores + 9) // 10
    cur.executemany("INSERT INTO teams (id, name, location_id, created_at) VALUES (?,?,?,?)",
                    [(t, f"team-{t:03d}", 1 if t % 2 else 2, _iso(now)) for t in range(1, teams + 2)])
    users = []
    uid = 0

    def user(name, role, kind=None, loc=None, team=None, store=None, langs="en"):
        nonlocal uid
        uid += 1
        users.append((uid, name, role, name.title(), f"E{uid:06d}" if role == "agent" else None, kind, langs,
                      loc, team, store, "mobile" if role == "agent" else None,
                      f"+9190{uid:08d}" if role == "agent" else None, 1, _iso(now), _iso(now)))
        return uid

    user("admin", "admin")
    user("manager-north", "manager", loc=1)
    user("manager-south", "manager", loc=2)
    for t in range(1, teams + 1):
        user(f"lead-{t:03d}", "teamlead", loc=1 if t % 2 else 2, team=t)
    executives_by_store: dict[int, list[int]] = {s: [] for s in range(1, stores + 1)}
    for n in range(agents):
        s = n % stores + 1
        loc = 1 if s % 2 else 2
        team = (s - 1) // 10 + 1
        executives_by_store[s].append(user(f"exec-{n + 1:05d}", "agent", "store", loc, team, s, LANGS[s % 6]))
    for n in range(60):
        user(f"cc-{n + 1:03d}", "agent", "center", 1 + n % 2, teams + 1, None, ",".join(rnd.sample(LANGS, 2)))
    cur.executemany(
        "INSERT INTO users (id, name, role, display_name, employee_id, agent_kind, languages, location_id,"
        " team_id, store_id, phone_mode, mobile, active, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", users)
    for cid, (name, ctype) in enumerate(CAMPAIGNS, start=1):
        cur.execute("INSERT INTO campaigns (id, name, type, starts_on, expires_on, calling_mode, location_id,"
                    " form, retry_delay_minutes, max_attempts, status, created_by, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (cid, name, ctype, (now - dt.timedelta(days=10)).date().isoformat(),
                     (now + dt.timedelta(days=20)).date().isoformat(), "agent", None,
                     json.dumps(default_form(ctype)), 120, 3, "active", "bench", _iso(now), _iso(now)))
    weights = [w for _b, w in BUCKET_MIX]
    buckets = [b for b, _w in BUCKET_MIX]
    chunk = 50_000
    for start in range(0, customers, chunk):
        cust_rows, item_rows = [], []
        for cid in range(start + 1, min(customers, start + chunk) + 1):
            s = rnd.randint(1, stores)
            lang = LANGS[s % 6]
            data = {"last_purchase": f"{rnd.randint(1, 28):02d}/10/2026", "purchase_value": str(rnd.randint(5, 500) * 1000),
                    "loyalty_tier": rnd.choice(["silver", "gold", "platinum"]), "loyalty_points": str(rnd.randint(0, 9000))}
            cust_rows.append((cid, f"+9199{cid:08d}", f"Customer {cid}", s, lang,
                              f"19{rnd.randint(60, 99)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                              json.dumps(data), _iso(now), _iso(now)))
            bucket = rnd.choices(buckets, weights)[0]
            agent = rnd.choice(executives_by_store[s])
            follow = _iso(now + dt.timedelta(hours=rnd.randint(1, 200))) if bucket == "future_followup" else (
                _iso(now - dt.timedelta(hours=rnd.randint(1, 100))) if bucket == "pending_followup" else None)
            appt = _iso(now + dt.timedelta(days=rnd.randint(0, 10))) if bucket == "appointment" else None
            nxt = _iso(now + dt.timedelta(minutes=rnd.randint(-600, 600))) if bucket == "non_contact" else None
            attempts = 0 if bucket == "fresh" else rnd.randint(1, 3)
            item_rows.append((cid, 1 + cid % len(CAMPAIGNS), cid, agent, bucket, s, lang, attempts, nxt, follow,
                              appt, _iso(now), _iso(now), _iso(now)))
        cur.executemany("INSERT INTO customers (id, mobile, name, store_id, language, birthday, data, created_at,"
                        " updated_at) VALUES (?,?,?,?,?,?,?,?,?)", cust_rows)
        cur.executemany("INSERT INTO work_items (id, campaign_id, customer_id, agent_id, bucket, store_id, language,"
                        " attempts, next_attempt_at, followup_at, appointment_at, allocated_at, created_at,"
                        " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", item_rows)
        con.commit()
    cur.execute("INSERT INTO trunks (id, name, host, port, max_channels, inbound_headroom, did_start, did_end,"
                " pilot, created_at, updated_at) VALUES (1,'bench','127.0.0.2',5060,250,0,'8062247000',"
                "'8062247749','8062247000',?,?)", (_iso(now), _iso(now)))
    for start in range(0, calls, chunk):
        call_rows, disp_rows = [], []
        for n in range(start + 1, min(calls, start + chunk) + 1):
            item = rnd.randint(1, customers)
            agent = cur.execute("SELECT agent_id, campaign_id FROM work_items WHERE id = ?", (item,)).fetchone()
            at = now - dt.timedelta(minutes=rnd.randint(1, 60 * 24 * 14))
            talked = rnd.random() < 0.6
            call_id = f"{n:032x}"
            call_rows.append((call_id, agent[0], "bench", "mobile", f"+9199{item:08d}", 1, "8062247000", 2,
                              "ended", _iso(at), _iso(at + dt.timedelta(seconds=40)) if talked else None,
                              _iso(at + dt.timedelta(seconds=160)), 20.0, 120.0 if talked else None,
                              "completed" if talked else "no_answer", item, item, agent[1], _iso(at)))
            disp_rows.append((item, call_id, agent[0], agent[1], item, "closed" if talked else "not_talked",
                              None if talked else "busy", "closed" if talked else "non_contact", "{}", "",
                              _iso(at + dt.timedelta(seconds=200))))
        cur.executemany("INSERT INTO calls (id, agent_id, requested_by, mode, number, trunk_id, caller_id, channels,"
                        " state, requested_at, customer_answered_at, ended_at, ring_seconds, talk_seconds,"
                        " end_reason, work_item_id, customer_id, campaign_id, disposed_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", call_rows)
        cur.executemany("INSERT INTO dispositions (work_item_id, call_id, agent_id, campaign_id, customer_id,"
                        " outcome, reason, bucket_after, answers, remarks, created_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)", disp_rows)
        con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return {"customers": customers, "agents": agents, "stores": stores, "calls": calls,
            "seconds": round(time.perf_counter() - started, 1),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/var/tmp/cc-bench/panel.db")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=3500)
    parser.add_argument("--stores", type=int, default=207)
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    path = Path(args.db)
    if path.exists() and not args.force:
        print(f"{path} exists (use --force to rebuild)")
        return
    print(json.dumps(build(path, args.customers, args.agents, args.stores, args.calls)))


if __name__ == "__main__":
    main()
