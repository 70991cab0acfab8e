"""The numbers already met in a file being validated, and the row each was
first on, kept in a throw-away SQLite file beside the upload rather than in
memory, so a validation's memory does not grow with the file. Used from one
thread at a time (batches run in worker threads, one after the other)."""
from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

CHUNK = 900   # numbers per IN (...) (under SQLite's variable limit everywhere)


class SeenNumbers:
    def __init__(self, directory: Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="seen-", suffix=".sqlite", dir=directory)
        os.close(fd)
        self.path = Path(name)
        self.db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-2000", "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE seen (number TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def first_rows(self, pairs: list[tuple[str, int]]) -> list[int | None]:
        """For each ``(number, row)``, in file order: the earlier row the number
        was on, or None when this is its first row (then it is remembered)."""
        numbers = list(dict.fromkeys(n for n, _ in pairs))
        known: dict[str, int] = {}
        for start in range(0, len(numbers), CHUNK):
            chunk = numbers[start:start + CHUNK]
            marks = ",".join("?" * len(chunk))
            known.update(self.db.execute(f"SELECT number, row FROM seen WHERE number IN ({marks})", chunk))
        out: list[int | None] = []
        new: list[tuple[str, int]] = []
        for number, row in pairs:
            first = known.get(number)
            if first is None:
                known[number] = row
                new.append((number, row))
            out.append(first)
        if new:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO seen VALUES (?, ?)", new)
            self.db.execute("COMMIT")
        return out

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "SeenNumbers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
