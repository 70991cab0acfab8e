"""A PostgreSQL cluster of a test's own, to stop and start again (a database
server that goes away under a running app), Unix socket only.

    cluster = OwnPostgres(); cluster.start()           # initdb on first start
    url = cluster.url                                   # postgresql+asyncpg://...
    cluster.stop(); cluster.start(); cluster.remove()

``available()`` is False where PostgreSQL's programs are not installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _program(name: str) -> str | None:
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(versions[-1]) if versions else shutil.which(name)


def available() -> bool:
    return bool(_program("initdb") and _program("pg_ctl"))


class OwnPostgres:
    """``options``: more server settings (``-c name=value ...``), e.g. for the
    test run's shared cluster (scripts/run_tests.py)."""

    def __init__(self, options: str = "") -> None:
        self.options = options
        # a short path of its own: a Unix socket's path is limited to ~100 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="cc-own-pg-"))
        self.data = self.dir / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@/postgres?host={self.dir}"

    @property
    def admin_url(self) -> str:
        """The same, without a driver (``CC_TEST_POSTGRES``: tests/postgres.py)."""
        return f"postgresql://postgres@/postgres?host={self.dir}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, cwd=self.dir, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if not self.data.exists():
            self._run(_program("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-k {self.dir} -c listen_addresses='' -c fsync=off "
                   f"-c full_page_writes=off {self.options}")  # commits survive the stop
        self._run(_program("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-o", options, "-w", "start")

    def stop(self) -> None:
        """Stopped at once, as a crash or a pulled plug would (no goodbye to clients)."""
        try:
            self._run(_program("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
