"""``backup`` and ``restore``: the database, the call recordings and the
uploads in one file (callcenter/backup, docs/backups.md). Both are audited
(``backup.create``, ``backup.restore``) with the actor ``cli:<unix user>``."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from callcenter.backup import archive, postgres, serving, sqlite
from callcenter.cli.common import PROG, CliError, actor, in_transaction, settings_of, upgrade_schema

MAIN_TABLES = ("users", "customers", "campaigns", "work_items", "calls", "recordings", "audit_log")
_FAILURES = (archive.ArchiveError, sqlite.SqliteError, postgres.PostgresError)


def _kind(settings) -> str:
    return "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"


def _sqlite_file(settings) -> Path:
    from sqlalchemy.engine import make_url

    return Path(make_url(settings.database_url).database)


def _folders(settings) -> dict[str, Path]:
    return {"recordings": settings.pbx.recordings_dir, "uploads": settings.uploads_dir}


def _rows(counts: dict[str, int]) -> str:
    """'3 users, 10 customers, ... and 12 rows in 4 other tables'."""
    main = [f"{counts[t]} {t}" for t in MAIN_TABLES if counts.get(t)]
    others = {t: n for t, n in counts.items() if t not in MAIN_TABLES + sqlite.BOOKKEEPING and n}
    if others:
        main.append(f"{sum(others.values())} rows in {len(others)} other table(s)")
    return ", ".join(main) or "no rows"


def _audit(settings, action: str, entity_id: str, **details) -> None:
    from callcenter import audit

    async def _record(session):
        audit.record(session, actor(), action, "backup", entity_id, **details)

    in_transaction(settings, _record)


def cmd_backup(args) -> int:
    settings = settings_of(args)
    kind = _kind(settings)
    if args.output:
        out = Path(args.output).expanduser().resolve()
    else:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = settings.state_dir / "backups" / f"callcenter-backup-{stamp}.tar.gz"
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if out.exists():
        raise CliError(f"{out} already exists; give another --output")
    if not out.parent.is_dir():
        raise CliError(f"no folder {out.parent} for the backup")
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    copy = out.with_name(f".{out.name}.database-{os.getpid()}")
    writer = archive.Writer(partial)
    try:
        if kind == "sqlite":
            sqlite.snapshot(_sqlite_file(settings), copy)
            revision, counts = sqlite.facts(copy)
            writer.add_file(f"{archive.DATABASE}/callcenter.db", copy)
        else:
            revision, counts = asyncio.run(postgres.dump(settings.database_url, copy))
            writer.add_file(f"{archive.DATABASE}/callcenter.pgdump", copy)
        copy.unlink()
        files = {name: writer.add_folder(name, folder) for name, folder in _folders(settings).items()}
        writer.finish(archive.new_manifest(kind, revision, counts))
        os.replace(partial, out)
    except BaseException as exc:
        writer.abort()
        if isinstance(exc, _FAILURES):
            raise CliError(f"no backup written: {exc}") from None
        raise
    finally:
        copy.unlink(missing_ok=True)
    size = out.stat().st_size
    print(f"backup written: {out}\nsize: {size / 1e6:.1f} MB ({size} bytes)\n"
          f"database: {kind}, schema {revision}\nrows: {_rows(counts)}\n"
          f"files: {files['recordings']} recordings, {files['uploads']} uploads")
    try:
        _audit(settings, "backup.create", out.name, path=str(out), size=size, database=kind,
               schema_revision=revision, rows={t: counts.get(t, 0) for t in MAIN_TABLES}, files=files)
    except CliError as exc:  # a database not at this version's schema: the file is still good
        print(f"{PROG}: warning: backup.create not audited: {exc}",
              file=sys.stderr)
    return 0


def _known_revisions() -> tuple[set[str], list[str]]:
    from alembic.script import ScriptDirectory

    from callcenter.db import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    return {s.revision for s in script.walk_revisions()}, list(script.get_heads())


def _check(manifest: dict, kind: str) -> None:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    theirs = manifest.get("database")
    if theirs != kind:
        raise CliError(f"this is a backup of a {names.get(theirs, theirs)} database and the configured one "
                       f"is {names[kind]}: a backup restores only onto the same kind of database")
    revision = manifest.get("schema_revision")
    known, heads = _known_revisions()
    if revision not in known:
        raise CliError(f"the backup's schema revision {revision} is newer than this version knows "
                       f"(its newest is {', '.join(heads)}): restore it with the version that made it")


def _current_rows(settings, kind: str) -> dict[str, int]:
    if kind == "sqlite":
        return sqlite.facts(_sqlite_file(settings))[1]
    return asyncio.run(postgres.facts(settings.database_url))


def _owners(settings, manifest: dict) -> dict[str, tuple[int, int] | None]:
    """Whose the restored files are: the recordings Asterisk's (the user of
    its root), the uploads the state folder's owner's; None: the restorer's
    (not root). Refused (before any change) when the backup holds recordings
    and the Asterisk root they belong in is not built yet."""
    from callcenter.pbx.render import root_ids

    recordings = sum(1 for name in manifest["members"] if name.startswith("recordings/"))
    root = Path(settings.pbx.root)
    if recordings and not root.is_dir():
        raise CliError(f"the backup holds {recordings} recordings and the Asterisk root {root} is not "
                       "built yet: build it first (make install, or scripts/build-pbx-root.sh), then restore")
    if os.geteuid() != 0:
        return {name: None for name in archive.FOLDERS}
    try:
        asterisk = root_ids(root, settings.pbx.run_as)
    except (OSError, LookupError):
        asterisk = None
    state = settings.state_dir.stat()
    return {"recordings": asterisk, "uploads": (state.st_uid, state.st_gid)}


def _apply(settings, kind: str, path: Path, manifest: dict, tables: set[str],
           owners: dict[str, tuple[int, int] | None]) -> dict[str, int]:
    """Write the archive's database and files in place; files written per folder."""
    folders, written = _folders(settings), {name: 0 for name in archive.FOLDERS}
    listed = manifest["members"]
    with tempfile.TemporaryDirectory(dir=settings.state_dir, prefix=".restore-") as staging:
        for info, content in archive.members(path):
            if content is None:
                continue
            top, _, rest = info.name.partition("/")
            sha = listed[info.name]["sha256"]
            if top == archive.DATABASE and kind == "sqlite":
                database = _sqlite_file(settings)
                staged = database.with_name(f".{database.name}.restore-{os.getpid()}")
                try:
                    archive.extract(content, info, staged, sha)
                    sqlite.replace(database, staged)
                finally:
                    staged.unlink(missing_ok=True)
            elif top == archive.DATABASE:
                staged = Path(staging) / "database.pgdump"
                archive.extract(content, info, staged, sha)
                postgres.restore(settings.database_url, staged, tables)
            else:
                archive.extract(content, info, folders[top] / rest, sha, owners[top])
                written[top] += 1
    return written


def cmd_restore(args) -> int:
    settings = settings_of(args)
    path = Path(args.file).expanduser().resolve()
    if not path.is_file():
        raise CliError(f"no backup file at {path}")
    try:
        manifest = archive.verify(path)
    except archive.ArchiveError as exc:
        raise CliError(f"{path.name} refused, nothing was changed: {exc}") from None
    kind = _kind(settings)
    _check(manifest, kind)
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    owners = _owners(settings, manifest)
    try:
        with serving.restoring(settings.state_dir):
            if kind == "postgresql" and (n := asyncio.run(postgres.other_servers(settings.database_url))):
                raise CliError(f"{n} connection(s) of a callcenter server are open on the database; "
                               "stop every server before restoring")
            current = _current_rows(settings, kind)
            held = {t: n for t, n in current.items() if n and t not in sqlite.BOOKKEEPING}
            if held and not args.yes:
                raise CliError(f"the database already holds {_rows(held)}; the restore replaces all of it "
                               f"with the backup made {manifest['created_at']} ({_rows(manifest['counts'])}) "
                               "and writes its recordings and uploads: pass --yes to go on")
            written = _apply(settings, kind, path, manifest, set(current), owners)
            upgrade_schema(settings)  # an older backup is brought to this version's schema
    except serving.Busy as exc:
        raise CliError(str(exc)) from None
    except _FAILURES as exc:
        raise CliError(f"restore stopped: {exc}") from None
    _audit(settings, "backup.restore", path.name, made_at=manifest["created_at"], database=kind,
           schema_revision=manifest["schema_revision"], replaced={t: held.get(t, 0) for t in MAIN_TABLES},
           rows={t: manifest["counts"].get(t, 0) for t in MAIN_TABLES}, files=written)
    print(f"restored {path.name} (made {manifest['created_at']}, schema {manifest['schema_revision']}) "
          f"into the {kind} database\nrows: {_rows(manifest['counts'])}\n"
          f"files: {written['recordings']} recordings, {written['uploads']} uploads")
    return 0


def add_commands(command, sub) -> None:
    """Add ``backup`` and ``restore`` (``command``: main.build_parser's helper)."""
    p = command(sub, "backup", cmd_backup, "write the database, recordings and uploads into one file")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="the file to write (default: <state_dir>/backups/callcenter-backup-<UTC time>.tar.gz)")
    p = command(sub, "restore", cmd_restore, "put a backup's database, recordings and uploads back")
    p.add_argument("file", metavar="FILE", help="a file written by 'callcenter backup'")
    p.add_argument("--yes", action="store_true", help="replace a database that already holds data")
