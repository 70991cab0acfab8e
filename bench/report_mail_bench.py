"""The files of a mailed report at the brief's scale: the daily report per
agent for 3,500 executives (an admin's mail), as CSV and as XLSX: their
sizes (each is one notification_attachments row) and the time to render
them. Figures are random but of realistic widths (calls, talk time, 24
hourly columns). Run: PYTHONPATH=. .venv/bin/python bench/report_mail_bench.py"""
from __future__ import annotations

import datetime as dt
import random
import time

from callcenter.report_schedules.contents import Built
from callcenter.reports import csv_export
from callcenter.reports.selection import Agent
from callcenter.reports.service import AgentDay

AGENTS = 3500


def rows(rng: random.Random) -> list[AgentDay]:
    out = []
    for i in range(AGENTS):
        agent = Agent(i + 1, f"exec{i:05d}", f"Executive {i:05d} Sharma", f"EMP{i:06d}", i // 35 + 1, i // 10 + 1)
        hours = {h: rng.randint(0, 9) for h in range(9, 21)}
        out.append(AgentDay(agent, attempts=sum(hours.values()), connected=rng.randint(0, 40),
                            talk_seconds=rng.uniform(0, 9000), inbound_answered=rng.randint(0, 5),
                            inbound_talk_seconds=rng.uniform(0, 900),
                            dispositions={"not_talked": rng.randint(0, 20), "closed": rng.randint(0, 10)},
                            appointments=rng.randint(0, 4), hours=hours))
    return out


def main() -> None:
    day = dt.date(2026, 12, 6)
    data = rows(random.Random(7))
    built = Built("agents", csv_export.DAILY_HEADER, csv_export.daily_rows(data, day))
    for formats in ("csv", "xlsx"):
        best = None
        for _ in range(3):
            started = time.perf_counter()
            files = built.files(formats, day)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        name, _type, content = files[0]
        print(f"{name}: {len(content) / 1024:.0f} KB for {AGENTS} agents, rendered in {best * 1000:.0f} ms (best of 3)")


if __name__ == "__main__":
    main()
