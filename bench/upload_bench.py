"""Customer upload benchmark: validate and commit an N-row XLSX (default
100,000) into a fresh SQLite database with 207 stores and one executive each,
then allocate store-wise; then upload the same file again (every row an
update). Prints seconds per step and the process's peak memory.

    .venv/bin/python -m bench.upload_bench [--rows 100000] [--shared-strings]

The file is written with openpyxl's write-only mode (inline strings: the
slowest kind to read); --shared-strings writes it like Excel does instead."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

import openpyxl

from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.uploads.commit import commit_and_allocate
from callcenter.uploads.validate import validate_customers
from tests import factories as f

HEADER = ["Mobile No", "Customer Name", "Store Code", "DOB", "Anniversary", "City", "Loyalty Tier",
          "Points", "Last Visit"]


def write_xlsx(path: Path, rows: int, shared: bool) -> None:
    wb = openpyxl.Workbook(write_only=not shared)
    ws = wb.active if shared else wb.create_sheet()
    ws.append(HEADER)
    for i in range(rows):
        ws.append([f"+91 98{i:08d}" if i % 3 else 9700000000 + i, f"Customer {i}", f"S{i % 207:03d}",
                   dt.datetime(1980 + i % 30, 1 + i % 12, 1 + i % 28) if i % 2
                   else f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1980 + i % 30}",
                   None, "Delhi", ("Gold", "Silver", "Platinum")[i % 3], i % 5000, "2024-11-02"])
    wb.save(path)


def saved_copy(source: Path, directory: Path) -> files.SavedFile:
    directory.mkdir(parents=True, exist_ok=True)
    stored = files.new_name(source.name)
    shutil.copyfile(source, directory / stored)
    path = directory / stored
    return files.SavedFile(path, stored, source.name, path.stat().st_size, files.file_sha256(path))


async def run(rows: int, shared: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        xlsx = tmp / "customers.xlsx"
        started = time.perf_counter()
        write_xlsx(xlsx, rows, shared)
        print(f"file: {rows} rows, {xlsx.stat().st_size / 1e6:.1f} MB "
              f"({'shared' if shared else 'inline'} strings), written in {time.perf_counter() - started:.1f} s")
        settings = Settings(path=tmp / "cc.toml", state_dir=tmp)
        engine = make_engine(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
        await migrate(engine)
        sessions = sessionmaker(engine)
        async with sessions() as session:
            loc = await f.location(session)
            for i in range(207):
                store = await f.store(session, loc, code=f"S{i:03d}")
                await f.user(session, f"exec{i}", store=store)
            campaign_id = (await f.campaign(session, loc=loc)).id
            await session.commit()
        scope, today = Scope(role="admin"), dt.date.today()
        for attempt in ("first upload", "same file again"):
            saved = saved_copy(xlsx, settings.uploads_dir)
            started = time.perf_counter()
            async with sessions() as session:
                upload = await validate_customers(session, scope, campaign_id, saved, actor="bench",
                                                  settings=settings, today=today)
                await session.commit()
            validated = time.perf_counter() - started
            started = time.perf_counter()
            result = await commit_and_allocate(sessions, scope, upload.id, actor="bench",
                                               settings=settings, today=today,
                                               allocate="store" if attempt == "first upload" else "none")
            committed = time.perf_counter() - started
            print(f"{attempt}: validate {validated:.1f} s ({upload.status}, {upload.total} rows, "
                  f"{upload.duplicates_existing} existing); commit{' + allocate' if result['allocation'] else ''} "
                  f"{committed:.1f} s (created {result['created']}, updated {result['updated']}, "
                  f"work items {result['work_items']}); total {validated + committed:.1f} s")
        await engine.dispose()
        print(f"peak memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--shared-strings", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.shared_strings))


if __name__ == "__main__":
    main()
