"""Setting up and running: ``init``, ``serve`` and ``db upgrade``.

``init`` writes the config with fresh secrets and, beside it, a self-signed
certificate and key (``<name>.crt``, ``<name>.key``, callcenter/tls.py) that
``serve`` uses for https until a real one replaces it.

The first ``serve`` of a database without any admin creates the login
``admin`` with a generated password and prints it once to the terminal (never
to a log); without a terminal (a service manager's journal) the admin is
created without a password and ``callcenter user set-password admin`` gives it
one. The same first start creates the queues the IVR flows name
(callcenter.queues.seed) when there are none and none were ever created so."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from callcenter.cli.common import CliError, actor, database, settings_of, upgrade_schema
from callcenter import tls
from callcenter.config import render_new


def cmd_init(args) -> int:
    if not args.config:
        raise CliError("pass --config PATH: where to write the new config file")
    path = Path(args.config).expanduser().resolve()
    if path.is_dir():
        raise CliError(f"{path} is a folder; give the path of the config file to write")
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists; pass --force to replace it (its secrets change)")
    path.parent.mkdir(parents=True, exist_ok=True)
    # a self-signed pair for first use beside the file (callcenter/tls.py): the web phone needs https
    text = render_new({"web": {"tls_cert": f"{path.stem}.crt", "tls_key": f"{path.stem}.key"}})
    if args.force:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _write_private(tmp, text)
        os.replace(tmp, path)
    else:
        _write_private(path, text)
    from callcenter.features import load_settings  # imported here: see cli/common.settings_of
    settings = load_settings(path)
    tls.ensure_first_use_pair(settings)
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


FIRST_ADMIN = "admin"


def _on_a_terminal() -> bool:
    return sys.stdout.isatty()


async def _create_first_admin(settings, with_password: bool) -> tuple[str, str | None] | None:
    """When no user has the admin role: create ``admin`` (with a generated
    password when ``with_password``); (outcome, password). None: an admin exists."""
    from sqlalchemy import exists, select
    from sqlalchemy.exc import IntegrityError

    from callcenter.auth.passwords import generate_password
    from callcenter.db import sessionmaker
    from callcenter.models import User
    from callcenter.users.service import create_user

    async with database(settings, upgrade=True) as engine:
        password = generate_password() if with_password else None
        try:
            async with sessionmaker(engine)() as session, session.begin():
                if await session.scalar(select(exists().where(User.role == "admin"))):
                    return None
                if await session.scalar(select(exists().where(User.name == FIRST_ADMIN))):
                    return "name_taken", None
                await create_user(session, settings, FIRST_ADMIN, "admin", password=password,
                                  actor=actor(), display_name="Administrator")
        except IntegrityError:  # another serve process created it first, and printed it
            return None
        return "created", password


def _announce_first_admin(settings, outcome: str, password: str | None) -> None:
    config = f" --config {settings.path}"
    if outcome == "name_taken":
        print(f"No user has the admin role and the name '{FIRST_ADMIN}' is taken: create an administrator "
              f"with 'callcenter user add NAME --role admin{config}'.", file=sys.stderr, flush=True)
        return
    url = f"{tls.scheme(settings)}://{settings.web.host}:{settings.web.port}/login"
    rule = "=" * 72
    if password is None:
        print(f"{rule}\nCreated the administrator login '{FIRST_ADMIN}' without a password (no terminal to "
              f"show one on).\nGive it one with: callcenter user set-password {FIRST_ADMIN}{config}\n{rule}",
              flush=True)
        return
    print(f"{rule}\nFirst start: created the administrator login.\n"
          f"  user name: {FIRST_ADMIN}\n  password:  {password}\n"
          f"Log in at {url}. The password is shown only now and is stored only as a hash;\n"
          f"a lost one is replaced with: callcenter user set-password {FIRST_ADMIN}{config}\n{rule}",
          flush=True)


def ensure_first_admin(settings) -> None:
    """The first-start administrator (see the module's doc)."""
    result = asyncio.run(_create_first_admin(settings, with_password=_on_a_terminal()))
    if result is not None:
        _announce_first_admin(settings, *result)


async def _create_first_queues(settings) -> list[str]:
    from callcenter.db import sessionmaker
    from callcenter.queues.seed import ensure_first_queues

    async with database(settings, upgrade=True) as engine:
        return await ensure_first_queues(settings, sessionmaker(engine))


def cmd_serve(args) -> int:
    settings = settings_of(args)
    from callcenter.backup import serving
    from callcenter.server import run

    tls.check_at_start(settings)  # a missing or mismatched certificate stops here, before the first admin
    try:
        with serving.serving(settings.state_dir):  # held while serving: no restore meanwhile
            ensure_first_admin(settings)
            asyncio.run(_create_first_queues(settings))  # before serve renders queues.conf
            asyncio.run(run(settings))
    except serving.Busy as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_db_upgrade(args) -> int:
    settings = settings_of(args)
    upgrade_schema(settings)
    print(f"database schema is current ({settings.database_url.split('://', 1)[0]})")
    return 0
