"""Customer 360 server time on the agent-panel benchmark database
(bench/panel_data.py: 1,000,000 customers, 3,500 executives, 207 stores).

    .venv/bin/python bench/customer_360.py [--db /var/tmp/cc-bench/panel.db] [--n 500] [--role agent]

For ``--n`` random allocated work items, as their agent (or their team
lead / manager with ``--role``): the caller's scope, ``profile()`` (every query of
the page, the audit row flushed) and the page's template rendered; the
transaction is rolled back, so the database is left as it was. Prints
p50/p95/p99/max in ms for the service and for service + template."""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402

from callcenter import db  # noqa: E402
from callcenter.auth.tokens import Principal  # noqa: E402
from callcenter.campaigns.models import Campaign  # noqa: E402
from callcenter.config import Settings  # noqa: E402
from callcenter.customers.profile import profile  # noqa: E402
from callcenter.models import User  # noqa: E402
from callcenter.org.scope import load_scope  # noqa: E402
from callcenter.work.disposition_pages import BUCKET_LABELS, form_view  # noqa: E402
from web.render import ENV  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))] * 1000, 2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/var/tmp/cc-bench/panel.db")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--role", default="agent", choices=["agent", "teamlead", "manager"])
    args = parser.parse_args()
    settings = Settings(path=Path("/nonexistent.toml"), state_dir=Path("/tmp"))
    engine = db.make_engine(f"sqlite+aiosqlite:///{args.db}")
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
            view = await profile(session, scope, settings, who.role, customer_id, actor=who.name,
                                 work_item_id=item_id)
            await session.flush()
            t1 = time.perf_counter()
            item = next(i for i in view["work_items"] if i["id"] == item_id)
            campaign = await session.get(Campaign, item["campaign_id"])
            form = form_view(campaign.form, None, None, db_now(), settings.web.timezone, campaign.expires_on)
            template.render(
                request=SimpleNamespace(path="/customers/x"), settings=settings,
                principal=who, browser_session=None, csrf_field=lambda: "", csrf_token="x", now=db_now(),
                nav=[], path="/customers/x", view=view, c=view["customer"], item=item, form=form,
                campaign=campaign, owed=None, owed_here=False, call_id="", not_callable=None, submitted={},
                bucket_labels=BUCKET_LABELS, open_form=False, duration=lambda s: "", labels={})
            t2 = time.perf_counter()
            await session.rollback()
        service.append(t1 - t0)
        page.append(t2 - t0)
    await engine.dispose()
    print(json.dumps({"n": len(service), "role": args.role, "service_ms": {
        "p50": pct(service, .5), "p95": pct(service, .95), "p99": pct(service, .99), "max": pct(service, 1),
        "mean": round(statistics.mean(service) * 1000, 2)}, "service_and_template_ms": {
        "p50": pct(page, .5), "p95": pct(page, .95), "p99": pct(page, .99), "max": pct(page, 1)}}))


def db_now():
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc)


if __name__ == "__main__":
    asyncio.run(main())
