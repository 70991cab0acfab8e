"""The head-count import at the brief's scale: 3,500 store executives
created by one file, then all 3,500 renamed by a second (3,500 audit rows
each), through the JSON API on a fresh SQLite database; the commit's time.
Run: PYTHONPATH=. .venv/bin/python bench/headcount_bench.py [--executives 3500] [--rounds 3]"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import FormData

from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from tests.light_app import running_light_app

HEADER = ["Employee ID", "Name", "Store Code", "Status", "Languages", "Mobile"]


def head_count(n: int, suffix: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(n):
        writer.writerow([f"E{i:05d}", f"Executive {i:05d} {suffix}", "DEL01" if i % 2 else "DEL02", "Active",
                         "hi", f"98{i:08d}"])
    return out.getvalue().encode()


async def commit_file(app, data: bytes) -> float:
    form = FormData()
    form.add_field("file", data, filename="headcount.csv")
    resp = await app.client.post("/api/v1/headcount", data=form, headers=app.headers("admin"))
    report = await resp.json()
    assert report["status"] == "validated", report
    started = time.perf_counter()
    resp = await app.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=app.headers("admin"))
    elapsed = time.perf_counter() - started
    assert resp.status == 200, await resp.text()
    return elapsed


async def one_round(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(path=Path(tmp) / "cc.toml", state_dir=Path(tmp))
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await migrate(engine)
        try:
            async with running_light_app(settings, sessionmaker(engine)) as app:
                return await commit_file(app, head_count(n, "A")), await commit_file(app, head_count(n, "B"))
        finally:
            await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executives", type=int, default=3500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    created, renamed = [], []
    for _ in range(args.rounds):
        c, r = await one_round(args.executives)
        created.append(c)
        renamed.append(r)
    print(f"{args.executives} executives: commit creating them {statistics.median(created):.2f} s, "
          f"renaming them {statistics.median(renamed):.2f} s (median of {args.rounds}; "
          f"all: {', '.join(f'{c:.2f}/{r:.2f}' for c, r in zip(created, renamed))})")


if __name__ == "__main__":
    asyncio.run(main())
