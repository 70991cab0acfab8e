"""``cluster``: several servers of one system behind nginx on this host
(callcenter/cluster). The demo of "several servers, one address"; in
production each server is a service of its own (README "Running in
production")."""
from __future__ import annotations

import asyncio
import socket

from callcenter import tls
from callcenter.child_process import StartError
from callcenter.cli.common import CliError, settings_of

MAX_SERVERS = 8


def _port_free(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def cmd_cluster(args) -> int:
    settings = settings_of(args)
    from callcenter.backup import serving
    from callcenter.cli.admin import _create_first_queues, ensure_first_admin
    from callcenter.cluster.copies import slots as make_slots
    from callcenter.cluster.run import run_cluster

    if not 1 <= args.servers <= MAX_SERVERS:
        raise CliError(f"--servers must be 1-{MAX_SERVERS}")
    first_web = args.first_port or settings.web.port + 1
    first_ivr = args.first_ivr_port or (settings.ivr.dialplan_port or settings.ivr.port) + 1
    slots = make_slots(settings, args.servers, first_web, first_ivr)
    listen = [(settings.web.host, settings.web.port)]
    if settings.ivr.enabled:
        listen.append((settings.ivr.host, settings.ivr.dialplan_port or settings.ivr.port))
    taken = [f"{host}:{port}" for host, port in
             [*listen, *(("127.0.0.1", s.web_port) for s in slots), *(("127.0.0.1", s.ivr_port) for s in slots)]
             if not _port_free(host, port)]
    if taken:
        raise CliError(f"in use already: {', '.join(taken)} (a server or a cluster running?); "
                       "stop it, or pick others with --first-port/--first-ivr-port")
    tls.check_at_start(settings)
    try:
        with serving.serving(settings.state_dir):  # no restore while starting
            ensure_first_admin(settings)  # on this terminal: the servers' output goes to their logs
            asyncio.run(_create_first_queues(settings))
        asyncio.run(run_cluster(settings, slots, settings.web.host, settings.web.port))
    except (serving.Busy, StartError) as exc:  # StartError: a process did not come up (its log tail)
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        return 130
    return 0


def add_command(command, sub) -> None:
    """``command``/``sub``: build_parser's helper and subcommands."""
    p = command(sub, "cluster", cmd_cluster,
                "run several servers of one system behind nginx on this host (the cluster demo)")
    p.add_argument("--servers", type=int, default=2, metavar="N", help="how many servers (default 2)")
    p.add_argument("--first-port", type=int, metavar="P",
                   help="web port of the first server, the others follow (default: [web] port + 1); "
                        "nginx listens on [web] host:port")
    p.add_argument("--first-ivr-port", type=int, metavar="P",
                   help="IVR port of the first server (default: [ivr] port + 1); nginx listens on [ivr] port")
