"""The ``callcenter`` command: set-up, serving and administration.

Every administrative change (users, tokens, trunks) is written together with
its audit row, in one transaction, with the actor ``cli:<unix user>``.
User mistakes end with one line on stderr and exit code 1 (2 for usage).

This module holds the parser, the logging set-up and the error reporting;
the subcommands are in :mod:`callcenter.cli`.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from callcenter import audit
from callcenter.cli.admin import cmd_db_upgrade, cmd_init, cmd_serve
from callcenter.cli.common import PROG, CliError
from callcenter.cli.tokens import cmd_token_create, cmd_token_list, cmd_token_revoke
from callcenter.cli.trunks import cmd_trunk_add, cmd_trunk_home, cmd_trunk_list, cmd_trunk_remove
from callcenter.cli import org as org_cli
from callcenter.cli import turn as turn_cli
from callcenter.cli import audit as audit_cli
from callcenter.cli import backup as backup_cli
from callcenter.cli import cluster as cluster_cli
from callcenter.cli.users import (add_user_arguments, cmd_user_add, cmd_user_disable, cmd_user_home,
                                  cmd_user_list, cmd_user_set_password)
from callcenter.config import ConfigError
from callcenter.errors import DomainError
from callcenter.models import PHONE_MODES, ROLES

log = logging.getLogger("callcenter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Call-center server driving Asterisk.")
    parser.add_argument("--log-level", default=None,
                        choices=["debug", "info", "warning", "error"],
                        help="logging level (default: info for serve, warning otherwise)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=os.environ.get("CALLCENTER_CONFIG"), metavar="PATH",
                        help="the config file (default: $CALLCENTER_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(actions, name: str, func, help: str, *, named: bool = False):
        """A subcommand taking --config, run by ``func``; ``named``: it takes a NAME first."""
        p = actions.add_parser(name, parents=[common], help=help)
        if named:
            p.add_argument("name")
        p.set_defaults(func=func)
        return p

    def group(name: str, help: str):
        """A subcommand whose ACTION is a further subcommand."""
        return sub.add_parser(name, help=help).add_subparsers(
            dest=f"{name}_command", metavar="ACTION", required=True)

    p = command(sub, "init", cmd_init, "write a new config with fresh secrets, create the database")
    p.add_argument("--force", action="store_true", help="replace an existing config file")
    command(sub, "serve", cmd_serve, "run the server")

    db = group("db", "database schema")
    command(db, "upgrade", cmd_db_upgrade, "migrate the schema to this version")

    _add_user_commands(command, group)
    org_cli.add_commands(command, group)
    _add_token_commands(command, group)
    _add_trunk_commands(command, group)
    turn_cli.add_command(command, sub)
    audit_cli.add_commands(command, group)
    backup_cli.add_commands(command, sub)
    cluster_cli.add_command(command, sub)
    return parser


def _add_user_commands(command, group) -> None:
    """``command``/``group``: build_parser's helpers, as for ``org_cli.add_commands``."""
    users = group("user", "logins and agents' phones")
    p = command(users, "add", cmd_user_add, "create a user", named=True)
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--phone", choices=PHONE_MODES,
                   help="desktop: SIP phone ph-<name>; mobile: the agent's mobile rung through the trunk; "
                        "browser: the web phone in the panel (wb-<name>, credentials per login)")
    p.add_argument("--contact", metavar="sip:IP:PORT", help="static contact of a desktop phone (no registration)")
    p.add_argument("--mobile", metavar="NUMBER", help="mobile number (phone mode mobile)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the login password from one line of standard input (else one is generated)")
    add_user_arguments(p, command(users, "set-password", cmd_user_set_password,
                                  "set a user's login password", named=True))
    command(users, "list", cmd_user_list, "list users (no secrets)")
    command(users, "disable", cmd_user_disable, "disable a user", named=True)
    p = command(users, "home", cmd_user_home, "home a user's phone on a PBX node ([pbx] node, peers)", named=True)
    p.add_argument("node", help="the PBX node the phone lives on")


def _add_token_commands(command, group) -> None:
    tokens = group("token", "API bearer tokens")
    p = command(tokens, "create", cmd_token_create, "create a token (printed once)", named=True)
    p.add_argument("--user", help="the token acts as this user, with the user's role")
    p.add_argument("--role", choices=ROLES, help="role of a service token (default manager; not agent)")
    command(tokens, "list", cmd_token_list, "list tokens (no secrets)")
    command(tokens, "revoke", cmd_token_revoke, "revoke a token", named=True)


def _add_trunk_commands(command, group) -> None:
    trunks = group("trunk", "SIP trunks")
    p = command(trunks, "add", cmd_trunk_add, "add a SIP trunk", named=True)
    p.add_argument("--host", required=True, metavar="IP", help="carrier's IPv4 address (no host names)")
    p.add_argument("--port", type=int, default=5060, metavar="P", help="carrier's SIP port (default 5060)")
    p.add_argument("--channels", type=int, default=None, metavar="N",
                   help="channels bought on the trunk (default from [trunks] channels)")
    p.add_argument("--inbound-headroom", type=int, default=None, metavar="N",
                   help="channels kept free for inbound calls (default from [trunks] inbound_headroom)")
    p.add_argument("--dids", required=True, metavar="START-END", help="DID range, e.g. 8062247000-8062247749")
    p.add_argument("--pilot", metavar="NUMBER", help="pilot number (default: first DID; must be in the range)")
    p.add_argument("--node", default="main", help="the PBX node hosting the trunk (default main)")
    command(trunks, "list", cmd_trunk_list, "list trunks")
    p = command(trunks, "home", cmd_trunk_home, "move a trunk with no call in progress to a PBX node", named=True)
    p.add_argument("node", help="the PBX node hosting the trunk from now on")
    command(trunks, "remove", cmd_trunk_remove, "remove a trunk with no call in progress", named=True)


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    level = args.log_level or ("info" if args.command in ("serve", "cluster") else "warning")
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin list at every start is noise
    if args.command != "serve":
        audit.start_cli_run()  # one request id on every audit row of this run
    try:
        return args.func(args)
    except (CliError, ConfigError) as exc:
        return _error(str(exc))
    except DomainError as exc:
        cause = exc.__cause__  # e.g. the database server refused: say where it was looked for
        return _error(f"{exc.message} ({cause})" if isinstance(cause, OSError) else exc.message)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        return _error(f"database error: {orig or exc}")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(main())
