"""Setting up and running: ``init``, ``serve`` and ``db upgrade``."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from callcenter.cli.common import CliError, settings_of, upgrade_schema
from callcenter.config import load, render_new


def cmd_init(args) -> int:
    if not args.config:
        raise CliError("pass --config PATH: where to write the new config file")
    path = Path(args.config).expanduser().resolve()
    if path.is_dir():
        raise CliError(f"{path} is a folder; give the path of the config file to write")
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists; pass --force to replace it (its secrets change)")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_new()
    if args.force:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _write_private(tmp, text)
        os.replace(tmp, path)
    else:
        _write_private(path, text)
    settings = load(path)
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade_schema(settings)
    print(path)
    return 0


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (which must not exist) with mode 0600 and ``text``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", closefd=False) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.close(fd)


def cmd_serve(args) -> int:
    settings = settings_of(args)
    from callcenter.server import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_db_upgrade(args) -> int:
    settings = settings_of(args)
    upgrade_schema(settings)
    print(f"database schema is current ({settings.database_url.split('://', 1)[0]})")
    return 0
