"""Customer upload benchmark: validate and commit an N-row XLSX (default
100,000) into a fresh SQLite database with 207 stores and one executive each,
then allocate store-wise; then upload the same file again (every row an
update). Then, in the same session, the partial commit: an all-valid file and
the same file with ``--invalid-percent`` (default 2) of its mobiles made
invalid, each validated and committed (no allocation) into a fresh database,
alternated ``--rounds`` times (best of each kept), and the ratio of the two;
for the partial run also the rejects workbook (``rejects.write_xlsx``, made
on the first download). Prints seconds per step and the process's peak memory.

    .venv/bin/python -m bench.upload_bench [--rows 100000] [--shared-strings]
        [--invalid-percent 2] [--rounds 2] [--skip-reupload]

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

from callcenter import features
from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.uploads import rejects
from callcenter.uploads.commit import commit_and_allocate
from callcenter.uploads.validate import validate_customers
from tests import factories as f

HEADER = ["Mobile No", "Customer Name", "Store Code", "DOB", "Anniversary", "City", "Loyalty Tier",
          "Points", "Last Visit"]


def write_xlsx(path: Path, rows: int, shared: bool, invalid_every: int = 0) -> None:
    """``invalid_every``: every n-th row gets a mobile one digit short (0: none)."""
    wb = openpyxl.Workbook(write_only=not shared)
    ws = wb.active if shared else wb.create_sheet()
    ws.append(HEADER)
    for i in range(rows):
        mobile = f"+91 98{i:08d}" if i % 3 else 9700000000 + i
        if invalid_every and i % invalid_every == invalid_every - 1:
            mobile = f"98{i:07d}"
        ws.append([mobile, f"Customer {i}", f"S{i % 207:03d}",
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


async def fresh_database(tmp: Path, name: str):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp / name}")
    await migrate(engine)
    sessions = sessionmaker(engine)
    async with sessions() as session:
        loc = await f.location(session)
        for i in range(207):
            store = await f.store(session, loc, code=f"S{i:03d}")
            await f.user(session, f"exec{i}", store=store)
        campaign_id = (await f.campaign(session, loc=loc)).id
        await session.commit()
    return engine, sessions, campaign_id


async def upload_once(xlsx: Path, settings, sessions, campaign_id: int, allocate: str) -> dict:
    scope, today = Scope(role="admin"), dt.date.today()
    saved = saved_copy(xlsx, settings.uploads_dir)
    started = time.perf_counter()
    async with sessions() as session:
        upload = await validate_customers(session, scope, campaign_id, saved, actor="bench",
                                          settings=settings, today=today)
        await session.commit()
    validated = time.perf_counter() - started
    started = time.perf_counter()
    result = await commit_and_allocate(sessions, scope, upload.id, actor="bench", settings=settings,
                                       today=today, allocate=allocate)
    committed = time.perf_counter() - started
    started = time.perf_counter()
    source = files.rejects_path(settings.uploads_dir, upload.stored_name)
    if upload.report.get("rejected"):
        await asyncio.to_thread(rejects.write_xlsx, source, source.with_suffix(".xlsx"))
    workbook = time.perf_counter() - started
    return {"upload": upload, "result": result, "validate": validated, "commit": committed,
            "total": validated + committed, "rejects_xlsx": workbook}


async def first_and_again(tmp: Path, xlsx: Path, settings) -> None:
    engine, sessions, campaign_id = await fresh_database(tmp, "bench.db")
    for attempt in ("first upload", "same file again"):
        run = await upload_once(xlsx, settings, sessions, campaign_id,
                                "store" if attempt == "first upload" else "none")
        upload, result = run["upload"], run["result"]
        print(f"{attempt}: validate {run['validate']:.1f} s ({upload.status}, {upload.total} rows, "
              f"{upload.duplicates_existing} existing); commit{' + allocate' if result['allocation'] else ''} "
              f"{run['commit']:.1f} s (created {result['created']}, updated {result['updated']}, "
              f"work items {result['work_items']}); total {run['total']:.1f} s")
    await engine.dispose()


async def partial_versus_valid(tmp: Path, rows: int, shared: bool, percent: float, rounds: int,
                               settings) -> None:
    files_of = {"all valid": tmp / "valid.xlsx", f"{percent:g} % invalid": tmp / "partial.xlsx"}
    write_xlsx(files_of["all valid"], rows, shared)
    write_xlsx(files_of[f"{percent:g} % invalid"], rows, shared, invalid_every=round(100 / percent))
    best: dict[str, dict] = {}
    for number in range(rounds):
        for kind, (name, xlsx) in enumerate(files_of.items()):
            engine, sessions, campaign_id = await fresh_database(tmp, f"cmp-{number}-{kind}.db")
            run = await upload_once(xlsx, settings, sessions, campaign_id, "none")
            await engine.dispose()
            upload, result = run["upload"], run["result"]
            print(f"round {number + 1}, {name}: validate {run['validate']:.2f} s, commit "
                  f"{run['commit']:.2f} s, total {run['total']:.2f} s ({upload.total} rows, "
                  f"{result['rows_committed']} committed, skipped {result['skipped']})"
                  + (f"; rejects workbook {run['rejects_xlsx']:.2f} s" if run["rejects_xlsx"] > 0.001 else ""))
            if name not in best or run["total"] < best[name]["total"]:
                best[name] = run
    valid, partial = best.values()
    print(f"best of {rounds}: all valid {valid['total']:.2f} s "
          f"(validate {valid['validate']:.2f} + commit {valid['commit']:.2f}); "
          f"partial {partial['total']:.2f} s (validate {partial['validate']:.2f} + commit "
          f"{partial['commit']:.2f}), ratio {partial['total'] / valid['total']:.2f}; "
          f"rejects workbook {partial['rejects_xlsx']:.2f} s")


async def run(rows: int, shared: bool, percent: float, rounds: int, reupload: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        xlsx = tmp / "customers.xlsx"
        started = time.perf_counter()
        write_xlsx(xlsx, rows, shared)
        print(f"file: {rows} rows, {xlsx.stat().st_size / 1e6:.1f} MB "
              f"({'shared' if shared else 'inline'} strings), written in {time.perf_counter() - started:.1f} s")
        features.load()   # the features' config sections (settings.work...)
        settings = Settings(path=tmp / "cc.toml", state_dir=tmp)
        if reupload:
            await first_and_again(tmp, xlsx, settings)
        if percent > 0:
            await partial_versus_valid(tmp, rows, shared, percent, rounds, settings)
        print(f"peak memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--shared-strings", action="store_true")
    parser.add_argument("--invalid-percent", type=float, default=2.0,
                        help="invalid rows of the partial-commit run (0: no comparison)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-reupload", action="store_true",
                        help="leave out the first-upload / same-file-again run")
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.shared_strings, args.invalid_percent, args.rounds,
                    not args.skip_reupload))


if __name__ == "__main__":
    main()
