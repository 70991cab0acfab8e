"""``turn-config``: coturn's turnserver.conf sharing [webphone] turn_secret
(callcenter/webphone/turn.py), for agents outside the office network."""
from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

from callcenter import tls
from callcenter.cli.common import CliError, settings_of
from callcenter.webphone.turn import TurnConfigError, turnserver_conf


def cmd_turn_config(args) -> int:
    settings = settings_of(args)
    if args.external_ip is not None:
        try:
            ipaddress.ip_address(args.external_ip)
        except ValueError:
            raise CliError(f"--external-ip {args.external_ip!r} is not an IP address") from None
    paths = tls.configured_paths(settings)
    certificate = tuple(str(p) for p in paths) if paths and all(p.is_file() for p in paths) else None
    try:
        text = turnserver_conf(settings, realm=args.realm, external_ip=args.external_ip, certificate=certificate)
    except TurnConfigError as exc:
        raise CliError(str(exc)) from None
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out).expanduser() if args.out else settings.path.parent / "turnserver.conf"
    if out.is_dir():
        raise CliError(f"{out} is a folder; give the path of the file to write")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the shared secret
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, out)
    print(out)
    print(f"Next: copy it to /etc/turnserver.conf (readable by coturn's user only), restart coturn, and set "
          f"[webphone] turn_urls in {settings.path}.", file=sys.stderr)
    return 0


def add_command(command, sub) -> None:
    """``command``/``sub``: build_parser's helper and subcommands."""
    p = command(sub, "turn-config", cmd_turn_config,
                "write coturn's turnserver.conf for agents outside the office network")
    p.add_argument("--external-ip", metavar="IP", help="the TURN server's public address when it is behind NAT")
    p.add_argument("--realm", metavar="R", help="TURN realm (default: the host of the first [webphone] turn_urls)")
    p.add_argument("--out", metavar="PATH",
                   help="where to write it (default: turnserver.conf beside the config file; - for stdout)")
