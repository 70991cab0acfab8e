"""What the subcommands share: config, database, actor, output and errors."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from callcenter.config import Settings

PROG = "callcenter"

T = TypeVar("T")


class CliError(Exception):
    """A user mistake the CLI reports in one line (exit 1)."""


def actor() -> str:
    """'cli:<unix user>' ('cli:root(sudo:alice)' under sudo)."""
    uid = os.geteuid()
    try:
        import pwd
        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        name = str(uid)
    sudo_user = os.environ.get("SUDO_USER")
    if uid == 0 and sudo_user and sudo_user != name:
        name = f"{name}(sudo:{sudo_user})"
    return f"cli:{name}"[:60]


def settings_of(args) -> Settings:
    """The settings of the config file named by ``--config``."""
    if not args.config:
        raise CliError("no config file: pass --config PATH or set CALLCENTER_CONFIG")
    # imported here: the features (and the web layer they bring) only for a
    # command that reads the config, not for --help
    from callcenter.features import load_settings
    return load_settings(args.config)


def when(value: dt.datetime | None) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM UTC' ('-' for none; naive means UTC)."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print ``rows`` under ``headers`` in left-aligned columns."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells))


def upgrade_hint(settings: Settings) -> str:
    return f"run '{PROG} db upgrade --config {settings.path}'"


async def _schema_problem(engine, settings: Settings) -> str | None:
    """Why the database cannot be used by this code, or None."""
    from alembic.runtime.migration import MigrationContext

    from callcenter.db import head_revision

    heads = {head_revision()}
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: set(MigrationContext.configure(c).get_current_heads()))
    hint = upgrade_hint(settings)
    if not current:
        return f"the database has no schema yet; {hint}"
    if current != heads:
        return (f"the database schema ({', '.join(sorted(current))}) is not the one this version "
                f"expects ({', '.join(sorted(heads))}); {hint}")
    return None


@contextlib.asynccontextmanager
async def database(settings: Settings, *, upgrade: bool = False):
    """An engine for the configured database (always disposed). Without
    ``upgrade`` the schema must already be current; with it, migrations run."""
    from callcenter.db import make_engine, migrate

    if not settings.database.url:
        db_file = settings.state_dir / "callcenter.db"
        if upgrade:
            settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        elif not db_file.exists():
            raise CliError(f"no database at {db_file}; {upgrade_hint(settings)}")
    engine = make_engine(settings.database_url, busy_timeout=30.0)  # a person waits; a page does not
    try:
        if upgrade:
            await migrate(engine)
        elif problem := await _schema_problem(engine, settings):
            raise CliError(problem)
        yield engine
    finally:
        await engine.dispose()


def upgrade_schema(settings: Settings) -> None:
    """Create the database if need be and migrate its schema to this version."""
    async def _upgrade():
        async with database(settings, upgrade=True):
            pass

    asyncio.run(_upgrade())


def in_transaction(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    """Run ``work(session)`` in one transaction (committed on success, rolled
    back on error) in a fresh event loop; its result."""
    from callcenter.db import sessionmaker

    async def _run():
        async with database(settings) as engine:
            async with sessionmaker(engine)() as session, session.begin():
                return await work(session)

    return asyncio.run(_run())


def change_by_name(args, change: Callable[..., Awaitable[T]]) -> T:
    """Run ``change(session, args.name, actor=...)`` in one transaction; its result."""
    return in_transaction(settings_of(args),
                          lambda session: change(session, args.name, actor=actor()))
