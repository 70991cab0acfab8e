"""XLSX bombs against the upload reader: seconds and peak RSS growth of
reading each file the way the server did before xlsx_guard (openpyxl's
read-only workbook, then the rows streamed: ``before``) and the way it does
now (``open_spreadsheet`` with the default 50 MB upload limit: ``after``).
Each run is a child process of its own; peak RSS is the kernel's VmHWM,
reset through /proc/self/clear_refs, minus the RSS before.

    .venv/bin/python -m bench.upload_bombs [--only shared|sheet|normal] [--skip-before]

Files (tests/xlsx_bombs.py): ``shared``, the issue's 300 MB of shared strings
from ~775 kB; ``sheet``, one 200 MB cell from ~200 kB; ``normal``, 20,000
customers laid out like Excel's (shared strings), to show a real file still
reads."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import xlsx_bombs

LIMIT = 50 * 1024 * 1024
FILES = {
    "shared": lambda: xlsx_bombs.shared_strings_bomb(300),
    "sheet": lambda: xlsx_bombs.sheet_bomb(200),
    "normal": lambda: xlsx_bombs.workbook(xlsx_bombs.customer_rows(20_000)),
}


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _before(path: Path) -> str:
    import warnings

    import openpyxl

    from callcenter.spreadsheets.xlsx_rows import sheet_rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = sum(1 for _ in sheet_rows(workbook, workbook.worksheets[0]))
    workbook.close()
    return f"read {rows} rows"


def _after(path: Path) -> str:
    from callcenter.spreadsheets.exceptions import SpreadsheetError
    from callcenter.spreadsheets.spreadsheet import open_spreadsheet
    try:
        with open_spreadsheet(path, "customers", max_bytes=LIMIT) as sheet:
            return f"read {sum(1 for _ in sheet)} rows"
    except SpreadsheetError as exc:
        return f"{exc.status} {exc.error_id}: {exc.message}"


def one(mode: str, path: Path) -> dict:
    """One measurement, in this (child) process."""
    Path("/proc/self/clear_refs").write_text("5")
    rss = _status("VmRSS")
    started = time.perf_counter()
    outcome = (_before if mode == "before" else _after)(path)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "peak_mb": round((_status("VmHWM") - rss) / 1e6, 1),
            "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(FILES))
    parser.add_argument("--skip-before", action="store_true", help="only the guarded reader")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="upload-bombs-") as tmp:
        for name, build in FILES.items():
            if args.only and name != args.only:
                continue
            path = Path(tmp) / f"{name}.xlsx"
            path.write_bytes(build())
            print(f"{name}: {path.stat().st_size / 1e3:.0f} kB")
            for mode in ("before", "after"):
                if mode == "before" and args.skip_before:
                    continue
                done = subprocess.run([sys.executable, "-m", "bench.upload_bombs", "--child", mode,
                                       str(path)], capture_output=True, text=True, check=True)
                out = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  {mode:6} {out['seconds']:7.2f} s  peak RSS +{out['peak_mb']:7.1f} MB  "
                      f"{out['outcome'][:110]}")


if __name__ == "__main__":
    main()
