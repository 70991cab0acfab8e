"""``trunk add | list | remove``: SIP trunks to the carrier."""
from __future__ import annotations

from callcenter.cli.common import actor, change_by_name, in_transaction, print_table, settings_of


def cmd_trunk_add(args) -> int:
    from callcenter.trunks.service import add_trunk

    settings = settings_of(args)
    channels = settings.trunks.channels if args.channels is None else args.channels
    headroom = settings.trunks.inbound_headroom if args.inbound_headroom is None else args.inbound_headroom

    t = in_transaction(settings, lambda session: add_trunk(
        session, args.name, args.host, args.port, args.dids, channels=channels,
        inbound_headroom=headroom, pilot=args.pilot, actor=actor(), node=args.node))
    print(f"trunk {t.name} added: {t.host}:{t.port}, {t.max_channels} channels "
          f"({t.inbound_headroom} kept for inbound), DIDs {t.did_start}-{t.did_end}, pilot {t.pilot}, "
          f"PBX node {t.pbx_node}")
    return 0


def cmd_trunk_list(args) -> int:
    from callcenter.trunks.service import list_trunks

    trunks = in_transaction(settings_of(args), list_trunks)
    print_table(["NAME", "HOST:PORT", "CHANNELS", "HEADROOM", "DID RANGE", "PILOT", "NODE"],
                [[t.name, f"{t.host}:{t.port}", str(t.max_channels), str(t.inbound_headroom),
                  f"{t.did_start}-{t.did_end}", t.pilot, t.pbx_node] for t in trunks])
    return 0


def cmd_trunk_remove(args) -> int:
    from callcenter.trunks.service import remove_trunk

    change_by_name(args, remove_trunk)
    print(f"trunk {args.name} removed")
    return 0


def cmd_trunk_home(args) -> int:
    from callcenter.pbx.homes import home_trunk

    settings = settings_of(args)
    in_transaction(settings, lambda session: home_trunk(session, args.name, args.node, actor=actor()))
    print(f"trunk {args.name} is on PBX node {args.node}")
    return 0
