"""``user add | list | disable``: logins and agents' phones."""
from __future__ import annotations

import sys

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

    user, sip_password = in_transaction(settings, lambda session: create_user(
        session, settings, args.name, args.role, args.phone, args.contact, args.mobile,
        password, actor=actor()))
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


def _where(user) -> str:
    """Where a user's phone rings: the mobile number or the SIP endpoint."""
    if user.phone_mode == "mobile":
        return user.mobile
    if user.phone_mode == "desktop":
        how = "static " + user.sip_contact if user.sip_contact else "registers"
        return f"{user.sip_endpoint} ({how})"
    return "-"


def cmd_user_list(args) -> int:
    from callcenter.users.service import list_users

    users = in_transaction(settings_of(args), list_users)
    print_table(["NAME", "ROLE", "PHONE", "ENDPOINT/MOBILE", "ACTIVE", "CREATED"],
                [[u.name, u.role, u.phone_mode or "-", _where(u), "yes" if u.active else "no",
                  when(u.created_at)] for u in users])
    return 0


def cmd_user_disable(args) -> int:
    from callcenter.users.service import disable_user

    change_by_name(args, disable_user)
    print(f"user {args.name} disabled")
    return 0
