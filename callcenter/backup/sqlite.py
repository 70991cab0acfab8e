"""A SQLite database out of and back into its file.

The copy is made with SQLite's online backup API: one consistent snapshot
taken while the server keeps writing (it waits for a writer's lock at most
30 s), then turned into a self-contained file (rollback journal, no WAL).
A restore writes the backup's file beside the database, checks it, and
renames it into place; the old database's WAL is checkpointed and removed
first, so none of its pages can be replayed onto the new file."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

SKIPPED = ("alembic_version",)
BOOKKEEPING = ("alembic_version", "audit_chain")  # rows that every migrated database holds


class SqliteError(Exception):
    """The database file cannot be copied or is not a database."""


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=30)


def snapshot(database: Path, copy: Path) -> None:
    """A consistent copy of ``database`` (which must exist) at ``copy`` (new, mode 0600)."""
    if not database.is_file():
        raise SqliteError(f"no database at {database}")
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source, target = _connect(database), _connect(copy)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        target.commit()
    finally:
        target.close()
        source.close()


def facts(database: Path) -> tuple[str | None, dict[str, int]]:
    """The schema revision and the rows of each table (none: no such file)."""
    if not database.is_file():
        return None, {}
    con = _connect(database)
    try:
        tables = [name for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                  for t in tables if t not in SKIPPED}
        revision = None
        if "alembic_version" in tables:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return revision, counts
    except sqlite3.DatabaseError as exc:
        raise SqliteError(f"{database}: {exc}") from None
    finally:
        con.close()


def check(copy: Path) -> None:
    """SqliteError unless ``copy`` is a sound SQLite database."""
    con = _connect(copy)
    try:
        result = con.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise SqliteError(f"the backup's database is not usable: {exc}") from None
    finally:
        con.close()
    if result != "ok":
        raise SqliteError(f"the backup's database fails SQLite's check: {result}")


def replace(database: Path, copy: Path) -> None:
    """Put ``copy`` (a file in the same folder) in place of ``database``, atomically."""
    check(copy)
    if database.exists():
        con = _connect(database)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    for sidecar in ("-wal", "-shm", "-journal"):
        database.with_name(database.name + sidecar).unlink(missing_ok=True)
    like = (database if database.exists() else database.parent).stat()
    os.chmod(copy, like.st_mode & 0o666 if database.exists() else 0o600)
    if os.geteuid() == 0:  # the server may run as another user: the old file's (or folder's) owner
        os.chown(copy, like.st_uid, like.st_gid)
    os.replace(copy, database)
    fd = os.open(database.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
