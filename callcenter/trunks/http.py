"""JSON API of the SIP trunks: the channel board (live usage per trunk), and
for admins adding and removing a trunk. Changes go through trunks/service.py
(validation, audit); the PBX config sync (callcenter/pbx/sync.py) renders
them into Asterisk and is poked to look at once instead of at its next poll."""
from __future__ import annotations

import logging

from aiohttp import web

from callcenter.trunks import service
from callcenter.trunks.exceptions import TrunkError
from callcenter.models import Trunk
from callcenter.pbx.nodes import node_state
from web.auth import at_least, principal_of
from web.keys import SERVICES
from web.requests import json_object

log = logging.getLogger(__name__)

FIELDS = {"name", "host", "port", "channels", "inbound_headroom", "dids", "pilot", "pbx_node"}


class InvalidTrunkRequest(TrunkError):
    error_id = "invalid_request"


def trunk_json(row: Trunk) -> dict:
    return {"name": row.name, "host": row.host, "port": row.port, "max_channels": row.max_channels,
            "inbound_headroom": row.inbound_headroom, "dids": f"{row.did_start}-{row.did_end}",
            "pilot": row.pilot, "pbx_node": row.pbx_node}


async def live_usage(services) -> dict[str, dict]:
    """Channels of each trunk the PBX has loaded: max, kept for inbound, in use
    (Asterisk's channels as the tracker sees them), reserved by our calls,
    foreign (others on the trunk, e.g. inbound), queued calls waiting for a line."""
    in_use = services.channels_in_use() if services.tracker is not None else {}
    usage = {}
    for name in sorted(services.trunk_limits):
        figures = await services.accounting.usage(name)
        usage[name] = {"name": name, "max_channels": figures["max_channels"],
                       "inbound_headroom": figures["headroom"], "in_use": in_use.get(name, 0),
                       "reserved": figures["reserved"], "foreign": figures["foreign"],
                       "queued": figures["queued"], **node_state(services.nodes, services.tracker, name)}
    return usage


async def sync_now(services) -> None:
    """Have the PBX config sync render the trunks now (it polls every 2 s anyway)
    and this process's dialer see the change on its next call."""
    if services.pbx_sync is not None:
        services.pbx_sync.poke()
    if services.directory is not None:
        await services.directory.refresh()


async def list_trunks(request: web.Request) -> web.Response:
    return web.json_response({"trunks": list((await live_usage(request.app[SERVICES])).values())})


async def create_trunk(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request, InvalidTrunkRequest, field=None)
    if unknown := set(body) - FIELDS:
        raise InvalidTrunkRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    if missing := {"name", "host", "dids"} - set(body):
        raise InvalidTrunkRequest(f"missing fields: {', '.join(sorted(missing))}")
    defaults = services.settings.trunks
    async with services.sessions() as session, session.begin():
        row = await service.add_trunk(
            session, body["name"], body["host"], body.get("port", 5060), body["dids"],
            channels=body.get("channels", defaults.channels),
            inbound_headroom=body.get("inbound_headroom", defaults.inbound_headroom),
            pilot=body.get("pilot"), actor=principal_of(request).name, node=body.get("pbx_node", "main"))
        out = trunk_json(row)
    await sync_now(services)
    log.info("trunk %s added by %s", out["name"], principal_of(request).name)
    return web.json_response(out, status=201)


async def delete_trunk(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"]
    async with services.sessions() as session, session.begin():
        row = await service.remove_trunk(session, name, actor=principal_of(request).name)
        kept = row.removed_at is not None
    await sync_now(services)
    log.info("trunk %s removed by %s", name, principal_of(request).name)
    return web.json_response({"name": name, "removed": True, "kept_for_call_records": kept})


ROUTES = [
    ("GET", "/api/v1/trunks", list_trunks, at_least("teamlead"),
     "Channels per trunk: max, inbound headroom, in use, reserved, foreign, queued; with several PBX "
     "nodes, pbx_node and pbx_up (false while no link reaches the node)"),
    ("POST", "/api/v1/trunks", create_trunk, ("admin",),
     "Add a SIP trunk (host: an IPv4 address, never a name; port; channels; inbound headroom; "
     "DID range START-END; pilot; pbx_node, default main)"),
    ("DELETE", "/api/v1/trunks/{name}", delete_trunk, ("admin",),
     "Remove a trunk (refused while it has calls or open campaigns; kept for its call records)"),
]
