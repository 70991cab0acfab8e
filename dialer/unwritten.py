"""Call rows the server could not write before it stopped (or while the
database was away for long enough that they no longer fit in memory): kept
as JSON lines in ``<state_dir>/unwritten-calls.jsonl`` and written first
when the database answers again, at this start or the next.

Each line is one row of the call writer's statement (``b_*`` parameters) or
one recording row (``{"recording": {...}}``)."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
FILE_NAME = "unwritten-calls.jsonl"
_DATES = ("b_originated_at", "b_agent_answered_at", "b_customer_answered_at", "b_ended_at")


def _plain(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def _typed(row: dict) -> dict:
    return {k: (dt.datetime.fromisoformat(v) if k in _DATES and isinstance(v, str) else v)
            for k, v in row.items()}


class UnwrittenCalls:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / FILE_NAME

    def __bool__(self) -> bool:
        return self.path.exists()

    def add(self, rows: list[dict], recordings: list[dict] = ()) -> None:
        """Append rows (flushed and synced: they are what is left of the calls)."""
        if not rows and not recordings:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(_plain(row)) + "\n")
            for recording in recordings:
                fh.write(json.dumps({"recording": recording}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        log.warning("%d call rows and %d recordings kept in %s until the database answers",
                    len(rows), len(recordings), self.path)

    def read(self) -> tuple[list[dict], list[dict]]:
        """(call rows, recording rows) in the file; a torn last line is skipped."""
        rows: list[dict] = []
        recordings: list[dict] = []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return rows, recordings
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("%s line %d is not whole; skipped", self.path, number)
                continue
            if "recording" in entry:
                recordings.append(entry["recording"])
            else:
                rows.append(_typed(entry))
        return rows, recordings

    def done(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
