"""The ``callcenter`` command: set-up, serving and administration.

Every administrative change (users, tokens, trunks) is written together with
its audit row, in one transaction, with the actor ``cli:<unix user>``.
User mistakes end with one line on stderr and exit code 1 (2 for usage).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from callcenter.config import ConfigError, Settings, load, render_new
from callcenter.models import PHONE_MODES, ROLES

log = logging.getLogger("callcenter")
PROG = "callcenter"


class CliError(Exception):
    """A user mistake the CLI reports in one line (exit 1)."""


# ---------------------------------------------------------------- helpers

def _actor() -> str:
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


def _settings(args) -> Settings:
    if not args.config:
        raise CliError("no config file: pass --config PATH or set CALLCENTER_CONFIG")
    return load(args.config)


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


async def _schema_problem(engine, settings: Settings) -> str | None:
    """Why the database cannot be used by this code, or None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from callcenter.db import MIGRATIONS

    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: set(MigrationContext.configure(c).get_current_heads()))
    hint = f"run '{PROG} db upgrade --config {settings.path}'"
    if not current:
        return f"the database has no schema yet; {hint}"
    if current != heads:
        return (f"the database schema ({', '.join(sorted(current))}) is not the one this version "
                f"expects ({', '.join(sorted(heads))}); {hint}")
    return None


@contextlib.asynccontextmanager
async def _database(settings: Settings, *, upgrade: bool = False):
    """An engine for the configured database (always disposed). Without
    ``upgrade`` the schema must already be current; with it, migrations run."""
    from callcenter.db import make_engine, migrate

    if not settings.database.url:
        db_file = settings.state_dir / "callcenter.db"
        if upgrade:
            settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        elif not db_file.exists():
            raise CliError(f"no database at {db_file}; run '{PROG} db upgrade --config {settings.path}'")
    engine = make_engine(settings.database_url)
    try:
        if upgrade:
            await migrate(engine)
        elif problem := await _schema_problem(engine, settings):
            raise CliError(problem)
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _transaction(settings: Settings):
    """A session in one transaction: committed on success, rolled back on error."""
    from callcenter.db import sessionmaker

    async with _database(settings) as engine:
        async with sessionmaker(engine)() as session, session.begin():
            yield session


def _run(coro):
    """Run one coroutine to completion in a fresh event loop; its result."""
    return asyncio.run(coro)


# ---------------------------------------------------------------- init / serve / db

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

    async def _migrate():
        async with _database(settings, upgrade=True):
            pass

    _run(_migrate())
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
    settings = _settings(args)
    from callcenter.server import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_db_upgrade(args) -> int:
    settings = _settings(args)

    async def _upgrade():
        async with _database(settings, upgrade=True):
            pass

    _run(_upgrade())
    print(f"database schema is current ({settings.database_url.split('://', 1)[0]})")
    return 0


# ---------------------------------------------------------------- users

def _read_password_stdin() -> str:
    if sys.stdin.isatty():  # typed by hand: do not echo it
        import getpass
        return getpass.getpass("login password: ")
    line = sys.stdin.readline()
    if not line:
        raise CliError("--password-stdin: nothing on standard input")
    return line.rstrip("\n").rstrip("\r")


def cmd_user_add(args) -> int:
    from callcenter.auth.passwords import generate_password
    from callcenter.users.service import create_user

    settings = _settings(args)
    generated = None
    if args.password_stdin:
        password = _read_password_stdin()
    else:
        password = generated = generate_password()

    async def _add():
        async with _transaction(settings) as session:
            return await create_user(session, settings, args.name, args.role, args.phone,
                                     args.contact, args.mobile, password, actor=_actor())

    user, sip_password = _run(_add())
    phone = user.phone_mode or "none"
    print(f"user {user.name} created: role {user.role}, phone {phone}")
    if generated:
        print(f"login password: {generated}")
    if user.phone_mode == "mobile":
        print(f"mobile: {user.mobile}")
    if user.phone_mode == "desktop":
        print(f"SIP username: {user.sip_endpoint}")
        if sip_password:
            print(f"SIP password: {sip_password}")
            print(f"SIP server: {settings.pbx.sip_host}:{settings.pbx.sip_port} (UDP), "
                  f"realm {settings.pbx.sip_realm}")
        else:
            print(f"SIP contact: {user.sip_contact} (static, no registration)")
    if generated or sip_password:
        print("Passwords are shown only now and are not stored in clear; keep them safe.")
    return 0


def cmd_user_list(args) -> int:
    from callcenter.users.service import list_users

    settings = _settings(args)

    async def _list():
        async with _transaction(settings) as session:
            return await list_users(session)

    rows = []
    for u in _run(_list()):
        phone = u.phone_mode or "-"
        where = u.mobile if u.phone_mode == "mobile" else (
            f"{u.sip_endpoint} ({'static ' + u.sip_contact if u.sip_contact else 'registers'})"
            if u.phone_mode == "desktop" else "-")
        rows.append([u.name, u.role, phone, where, "yes" if u.active else "no", _when(u.created_at)])
    print(_table(["NAME", "ROLE", "PHONE", "ENDPOINT/MOBILE", "ACTIVE", "CREATED"], rows))
    return 0


def cmd_user_disable(args) -> int:
    from callcenter.users.service import disable_user

    settings = _settings(args)

    async def _disable():
        async with _transaction(settings) as session:
            await disable_user(session, args.name, actor=_actor())

    _run(_disable())
    print(f"user {args.name} disabled")
    return 0


# ---------------------------------------------------------------- tokens

def cmd_token_create(args) -> int:
    from callcenter.auth.tokens import create_token
    from callcenter.users.service import get_user_by_name

    settings = _settings(args)
    if args.user and args.role:
        raise CliError("--role does not go with --user: a user's token has the user's role")

    async def _create():
        async with _transaction(settings) as session:
            user_id = None
            if args.user:
                user = await get_user_by_name(session, args.user)
                if user is None or not user.active:
                    raise CliError(f"no active user named {args.user!r}")
                user_id = user.id
            return await create_token(session, args.name, args.role, user_id, actor=_actor())

    raw = _run(_create())
    print(raw)
    print("This token is shown only now; send it as 'Authorization: Bearer <token>'.",
          file=sys.stderr)
    return 0


def cmd_token_list(args) -> int:
    from sqlalchemy import select

    from callcenter.models import ApiToken, User

    settings = _settings(args)

    async def _list():
        async with _transaction(settings) as session:
            result = await session.execute(
                select(ApiToken, User.name).outerjoin(User, ApiToken.user_id == User.id)
                .order_by(ApiToken.name))
            return list(result.all())

    rows = [[t.name, t.role, uname or "(service)", "revoked" if t.revoked else "active",
             _when(t.created_at), _when(t.last_used_at)] for t, uname in _run(_list())]
    print(_table(["NAME", "ROLE", "USER", "STATE", "CREATED", "LAST USED"], rows))
    return 0


def cmd_token_revoke(args) -> int:
    from callcenter.auth.tokens import revoke_token

    settings = _settings(args)

    async def _revoke():
        async with _transaction(settings) as session:
            return await revoke_token(session, args.name, actor=_actor())

    changed = _run(_revoke())
    print(f"token {args.name} revoked" if changed else f"token {args.name} was already revoked")
    return 0


# ---------------------------------------------------------------- trunks

def cmd_trunk_add(args) -> int:
    from callcenter.trunks.service import add_trunk

    settings = _settings(args)
    channels = settings.trunks.channels if args.channels is None else args.channels
    headroom = settings.trunks.inbound_headroom if args.inbound_headroom is None else args.inbound_headroom

    async def _add():
        async with _transaction(settings) as session:
            return await add_trunk(session, args.name, args.host, args.port, args.dids,
                                   channels=channels, inbound_headroom=headroom,
                                   pilot=args.pilot, actor=_actor())

    t = _run(_add())
    print(f"trunk {t.name} added: {t.host}:{t.port}, {t.max_channels} channels "
          f"({t.inbound_headroom} kept for inbound), DIDs {t.did_start}-{t.did_end}, pilot {t.pilot}")
    return 0


def cmd_trunk_list(args) -> int:
    from callcenter.trunks.service import list_trunks

    settings = _settings(args)

    async def _list():
        async with _transaction(settings) as session:
            return await list_trunks(session)

    rows = [[t.name, f"{t.host}:{t.port}", str(t.max_channels), str(t.inbound_headroom),
             f"{t.did_start}-{t.did_end}", t.pilot] for t in _run(_list())]
    print(_table(["NAME", "HOST:PORT", "CHANNELS", "HEADROOM", "DID RANGE", "PILOT"], rows))
    return 0


def cmd_trunk_remove(args) -> int:
    from callcenter.trunks.service import remove_trunk

    settings = _settings(args)

    async def _remove():
        async with _transaction(settings) as session:
            return await remove_trunk(session, args.name, actor=_actor())

    _run(_remove())
    print(f"trunk {args.name} removed")
    return 0


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Call-center server driving Asterisk.")
    parser.add_argument("--log-level", default=None,
                        choices=["debug", "info", "warning", "error"],
                        help="logging level (default: info for serve, warning otherwise)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=os.environ.get("CALLCENTER_CONFIG"), metavar="PATH",
                        help="the config file (default: $CALLCENTER_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", parents=[common], help="write a new config with fresh secrets, create the database")
    p.add_argument("--force", action="store_true", help="replace an existing config file")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", parents=[common], help="run the server")
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = db.add_parser("upgrade", parents=[common], help="migrate the schema to this version")
    p.set_defaults(func=cmd_db_upgrade)

    users = sub.add_parser("user", help="logins and agents' phones").add_subparsers(
        dest="user_command", metavar="ACTION", required=True)
    p = users.add_parser("add", parents=[common], help="create a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--phone", choices=PHONE_MODES,
                   help="desktop: SIP phone ph-<name>; mobile: the agent's mobile rung through the trunk")
    p.add_argument("--contact", metavar="sip:IP:PORT", help="static contact of a desktop phone (no registration)")
    p.add_argument("--mobile", metavar="NUMBER", help="mobile number (phone mode mobile)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the login password from one line of standard input (else one is generated)")
    p.set_defaults(func=cmd_user_add)
    p = users.add_parser("list", parents=[common], help="list users (no secrets)")
    p.set_defaults(func=cmd_user_list)
    p = users.add_parser("disable", parents=[common], help="disable a user")
    p.add_argument("name")
    p.set_defaults(func=cmd_user_disable)

    tokens = sub.add_parser("token", help="API bearer tokens").add_subparsers(
        dest="token_command", metavar="ACTION", required=True)
    p = tokens.add_parser("create", parents=[common], help="create a token (printed once)")
    p.add_argument("name")
    p.add_argument("--user", help="the token acts as this user, with the user's role")
    p.add_argument("--role", choices=ROLES, help="role of a service token (default manager; not agent)")
    p.set_defaults(func=cmd_token_create)
    p = tokens.add_parser("list", parents=[common], help="list tokens (no secrets)")
    p.set_defaults(func=cmd_token_list)
    p = tokens.add_parser("revoke", parents=[common], help="revoke a token")
    p.add_argument("name")
    p.set_defaults(func=cmd_token_revoke)

    trunks = sub.add_parser("trunk", help="SIP trunks").add_subparsers(
        dest="trunk_command", metavar="ACTION", required=True)
    p = trunks.add_parser("add", parents=[common], help="add a SIP trunk")
    p.add_argument("name")
    p.add_argument("--host", required=True, metavar="IP", help="carrier's IPv4 address (no host names)")
    p.add_argument("--port", type=int, default=5060, metavar="P", help="carrier's SIP port (default 5060)")
    p.add_argument("--channels", type=int, default=None, metavar="N",
                   help="channels bought on the trunk (default from [trunks] channels)")
    p.add_argument("--inbound-headroom", type=int, default=None, metavar="N",
                   help="channels kept free for inbound calls (default from [trunks] inbound_headroom)")
    p.add_argument("--dids", required=True, metavar="START-END", help="DID range, e.g. 8062247000-8062247749")
    p.add_argument("--pilot", metavar="NUMBER", help="pilot number (default: first DID; must be in the range)")
    p.set_defaults(func=cmd_trunk_add)
    p = trunks.add_parser("list", parents=[common], help="list trunks")
    p.set_defaults(func=cmd_trunk_list)
    p = trunks.add_parser("remove", parents=[common], help="remove a trunk with no call in progress")
    p.add_argument("name")
    p.set_defaults(func=cmd_trunk_remove)
    return parser


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from callcenter.errors import DomainError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    level = args.log_level or ("info" if args.command == "serve" else "warning")
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin list at every start is noise
    try:
        return args.func(args)
    except (CliError, ConfigError) as exc:
        return _error(str(exc))
    except DomainError as exc:
        return _error(exc.message)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        return _error(f"database error: {orig or exc}")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(main())
