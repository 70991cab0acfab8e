"""A migrated SQLite database for a test in a millisecond: the migrations run
once per pytest process into a template file, and a test's new database is a
copy of it. Running Alembic's migrations for every test's database took about
0.4 s each, a sixth of a SQLite shard's CPU (py-spy, a loaded CI run).

``copy_migrated(url)`` copies the template to a SQLite file URL whose file is
not there yet; anything else (PostgreSQL has its own template, tests/postgres.py;
an existing file) is left to ``callcenter.db.migrate``, which returns at once
for a database already at the newest revision."""
from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import make_url

from callcenter import db

_template: Path | None = None
_lock = threading.Lock()


async def _build(path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate(engine)
    finally:
        await engine.dispose()  # the last connection's close checkpoints the WAL into the file


def _template_file() -> Path:
    global _template
    with _lock:
        if _template is None:
            folder = Path(tempfile.mkdtemp(prefix="cc-sqlite-template-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "migrated.db"
            with ThreadPoolExecutor(1) as thread:  # its own event loop, whoever calls
                thread.submit(asyncio.run, _build(path)).result()
            _template = path
        return _template


def copy_migrated(url: str) -> bool:
    """The template copied to ``url``'s file when it is a new SQLite file; True if so."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return False
    target = Path(parsed.database)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template_file(), target)
    return True
