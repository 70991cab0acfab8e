"""The board page (``/board``): the snapshot drawn at once, then kept live by
web/static/board.js over the page's WebSocket (which re-reads the snapshot
from ``/api/v1/board`` each time the socket (re)connects)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from callcenter.board.http import board_snapshot
from callcenter.board.view import AGENT_STATES
from callcenter.campaigns.models import Campaign
from callcenter.org.models import Store, Team
from web.auth import at_least, scope_of
from web.keys import SERVICES
from web.render import render


async def _choices(request: web.Request) -> dict:
    """The filters' choices in the viewer's scope (teams and stores of their place)."""
    scope = await scope_of(request)
    teams, stores = select(Team.id, Team.name).order_by(Team.name), select(Store.id, Store.code).order_by(Store.code)
    if not scope.sees_all:
        if scope.role == "teamlead":
            teams = teams.where(Team.id == scope.team_id)
            stores = stores.where(Store.id == scope.store_id)
        else:
            teams = teams.where(Team.location_id == scope.location_id)
            stores = stores.where(Store.location_id == scope.location_id)
    campaigns = select(Campaign.id, Campaign.name).where(Campaign.status != "closed").order_by(Campaign.name)
    async with request.app[SERVICES].sessions() as session:
        return {"teams": (await session.execute(teams)).all(), "stores": (await session.execute(stores)).all(),
                "campaigns": (await session.execute(campaigns.limit(200))).all()}


async def board_page(request: web.Request) -> web.Response:
    board = await board_snapshot(request)
    return render(request, "board/board.html", {"board": board, "states": AGENT_STATES,
                                                "filters": board["filters"], **(await _choices(request))})


ROUTES = [
    ("GET", "/board", board_page, at_least("teamlead"), "The supervisor's live board"),
]
