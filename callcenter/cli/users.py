"""``user add | list | disable | set-password``: logins, agents' phones and
their place in the organisation."""
from __future__ import annotations

import sys
from functools import partial

from callcenter.cli.common import (CliError, actor, change_by_name, in_transaction, print_table,
                                   settings_of, when)


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

    settings = settings_of(args)
    generated = None
    if args.password_stdin:
        password = _read_password_stdin()
    else:
        password = generated = generate_password()

    async def add(session):
        user, sip_password = await create_user(
            session, settings, args.name, args.role, args.phone, args.contact, args.mobile,
            password, actor=actor(), display_name=args.display_name, employee_id=args.employee_id,
            agent_kind=args.kind, languages=args.languages, location=args.location,
            team=args.team, store=args.store)
        return user, sip_password, await _place_names(session)

    user, sip_password, names = in_transaction(settings, add)
    phone = user.phone_mode or "none"
    print(f"user {user.name} created: role {user.role}, phone {phone}")
    if user.agent_kind or user.location_id:
        print(f"place: {_place_text(user, names)}")
    if generated:
        print(f"login password: {generated}")
    if user.phone_mode == "mobile":
        print(f"mobile: {user.mobile}")
    if user.phone_mode == "browser":
        print(f"web phone: {user.sip_endpoint} (in the panel; SIP credentials are made at each login)")
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


def _where(user) -> str:
    """Where a user's phone rings: the mobile number or the SIP endpoint."""
    if user.phone_mode == "mobile":
        return user.mobile
    if user.phone_mode == "browser":
        return f"{user.sip_endpoint} (web phone)"
    if user.phone_mode == "desktop":
        how = "static " + user.sip_contact if user.sip_contact else "registers"
        return f"{user.sip_endpoint} ({how})"
    return "-"


def _place_text(user, names: dict | None = None) -> str:
    """'store S001 (north)', 'team alpha (north)', 'location north' or '-'."""
    names = names or {}
    parts = []
    if user.agent_kind:
        parts.append("store executive" if user.agent_kind == "store" else "call-centre agent")
    if user.store_id:
        parts.append("store " + names.get(("store", user.store_id), str(user.store_id)))
    if user.team_id:
        parts.append("team " + names.get(("team", user.team_id), str(user.team_id)))
    if user.location_id:
        parts.append("location " + names.get(("location", user.location_id), str(user.location_id)))
    return ", ".join(parts) or "-"


async def _place_names(session) -> dict:
    """(kind, id) -> the code or name of every location, team and store."""
    from sqlalchemy import select

    from callcenter.org.models import Location, Store, Team

    names = {}
    for kind, model, label in (("location", Location, Location.code), ("team", Team, Team.name),
                               ("store", Store, Store.code)):
        for row_id, text in (await session.execute(select(model.id, label))).all():
            names[(kind, row_id)] = text
    return names


async def _users_and_places(session):
    from callcenter.users.service import list_users

    return await list_users(session), await _place_names(session)


def cmd_user_list(args) -> int:
    users, names = in_transaction(settings_of(args), _users_and_places)
    print_table(["NAME", "ROLE", "PHONE", "ENDPOINT/MOBILE", "NODE", "ACTIVE", "CREATED", "PLACE"],
                [[u.name, u.role, u.phone_mode or "-", _where(u), u.pbx_node if u.phone_mode else "-",
                  "yes" if u.active else "no", when(u.created_at), _place_text(u, names)] for u in users])
    return 0


def cmd_user_set_password(args) -> int:
    """Set a user's login password from stdin, or print a generated one once."""
    from callcenter.users.service import set_password_by_name

    password = _read_password_stdin() if args.password_stdin else None
    generated = in_transaction(settings_of(args), lambda session: set_password_by_name(
        session, args.name, password, actor=actor()))
    print(f"login password of {args.name} changed")
    if generated:
        print(f"login password: {generated}")
        print("It is shown only now and is not stored in clear; keep it safe.")
    return 0


def add_user_arguments(add, set_password) -> None:
    """The organisation flags of ``user add`` and the arguments of ``user set-password``."""
    add.add_argument("--display-name", metavar="TEXT", help="the person's name as shown in the web")
    add.add_argument("--employee-id", metavar="ID", help="employee id (as in the head count)")
    add.add_argument("--kind", choices=("store", "center"),
                     help="agents: store (store executive) or center (call-centre agent)")
    add.add_argument("--languages", metavar="CODES", help="ISO 639-1 codes, e.g. en,hi,ta")
    add.add_argument("--location", metavar="CODE", help="location (managers; else it follows team/store)")
    add.add_argument("--team", metavar="NAME", help="team (team leads, call-centre agents)")
    add.add_argument("--store", metavar="CODE", help="store code (store executives)")
    set_password.add_argument("--password-stdin", action="store_true",
                              help="read the password from one line of standard input "
                                   "(else one is generated and printed once)")


def cmd_user_disable(args) -> int:
    from callcenter.users.service import disable_user
    from callcenter.work.handover import hand_over_work

    change_by_name(args, partial(disable_user, hand_over=hand_over_work))
    print(f"user {args.name} disabled")
    return 0


def cmd_user_home(args) -> int:
    from callcenter.pbx.homes import home_phone

    settings = settings_of(args)
    in_transaction(settings, lambda session: home_phone(session, args.name, args.node, actor=actor()))
    print(f"{args.name}'s phone is on PBX node {args.node}")
    return 0
