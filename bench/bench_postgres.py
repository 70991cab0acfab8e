"""PostgreSQL for the click-to-call load bench (``--database postgres``).

A throw-away cluster of the bench's own (``tests/own_postgres.py``), with the
durability settings production has: ``fsync``, ``full_page_writes`` and
``synchronous_commit`` on (the tests' cluster turns the first two off). One
database, ``callcenter``, created empty and migrated by ``callcenter.db.migrate``
as the test harness migrates its template (tests/postgres.py).

``cpu_seconds()`` is the cluster's CPU so far: the postmaster's utime+stime
plus its reaped children's (cutime+cstime: backends that ended) plus each
live child's utime+stime (backends, checkpointer, WAL writer...). The
difference of two readings is the cluster's CPU between them, whether a
backend lived through the window or not."""
from __future__ import annotations

import os
from pathlib import Path

from tests.own_postgres import OwnPostgres

DATABASE = "callcenter"
PRODUCTION_OPTIONS = ("-c fsync=on -c full_page_writes=on -c synchronous_commit=on "
                      "-c max_connections=200")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:  # ended between the listing and the read
        return None


class BenchPostgres:
    def __init__(self) -> None:
        self.cluster = OwnPostgres(PRODUCTION_OPTIONS)
        self.settings: dict[str, str] = {}

    @property
    def url(self) -> str:
        """The server's URL of the bench database (driver asyncpg)."""
        return f"postgresql+asyncpg://postgres@/{DATABASE}?host={self.cluster.dir}"

    async def start(self) -> str:
        """Start the cluster, create and migrate the database; its URL."""
        import asyncpg

        from callcenter import db

        self.cluster.start()
        admin = await asyncpg.connect(self.cluster.admin_url)
        try:
            for name in ("fsync", "full_page_writes", "synchronous_commit", "server_version"):
                self.settings[name] = await admin.fetchval(f"SHOW {name}")
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await admin.close()
        if self.settings["fsync"] != "on" or self.settings["synchronous_commit"] != "on":
            raise RuntimeError(f"the bench cluster is not durable: {self.settings}")
        engine = db.make_engine(self.url)
        try:
            await db.migrate(engine)
        finally:
            await engine.dispose()
        return self.url

    def postmaster_pid(self) -> int:
        return int((Path(self.cluster.data) / "postmaster.pid").read_text().split()[0])

    def cpu_seconds(self) -> float:
        master = self.postmaster_pid()
        fields = _stat(master)
        if fields is None:
            raise RuntimeError("the bench's PostgreSQL is not running")
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))   # utime stime cutime cstime
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                child = _stat(int(entry))
                if child is not None and int(child[1]) == master:   # field 4: ppid
                    ticks += int(child[11]) + int(child[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def remove(self) -> None:
        self.cluster.remove()
