"""The board's JSON API: ``GET /api/v1/board``, the same snapshot the page
loads (scope: a team lead their team, a manager their location, an admin all;
filters as query parameters)."""
from __future__ import annotations

from aiohttp import web

from callcenter.board import service
from callcenter.board.trunks import trunk_view
from callcenter.models import User
from callcenter.queues import service as queue_service
from callcenter.trunks.http import live_usage
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES


async def board_snapshot(request: web.Request) -> dict:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    filters = service.parse_filters(request.query)
    principal = principal_of(request)
    tracker = services.tracker
    monitor = getattr(services, "monitor", None)  # listen/whisper/barge; None without that feature
    live = service.Live(calls=tracker.calls if tracker is not None else {}, queues=services.queues,
                        settings=services.settings,
                        long_call_seconds=services.settings.board.long_call_minutes * 60,
                        monitors=await monitor.active_in(scope) if monitor is not None else [])
    async with services.sessions() as session:
        user = await session.get(User, principal.user_id) if principal.user_id else None
        queue_names = [q.name for q in await queue_service.list_queues(session, scope, user)]
        board = await service.snapshot(session, scope, filters, live, queue_names)
    if services.board is not None:      # the feature runs: usage with the rates of its last tick
        board["trunks"] = await services.board.usage()
    else:
        usage = await live_usage(services) if services.accounting is not None else {}
        board["trunks"] = [trunk_view(u, None) for u in usage.values()]
    board["pbx_connected"] = bool(services.ami and services.ami.connected)
    return board


async def get_board(request: web.Request) -> web.Response:
    return web.json_response(await board_snapshot(request))


ROUTES = [
    ("GET", "/api/v1/board", get_board, at_least("teamlead"),
     "The supervisor's board: agents in scope by state, calls in progress, queues, trunks "
     "(filters: team, store, queue, campaign, language); then follow the live socket"),
]
