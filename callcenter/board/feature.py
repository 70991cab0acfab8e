"""The supervisor's live board: agents by state, calls in progress, queues
and trunks, in the viewer's scope, pushed over the page's socket."""
from pathlib import Path

from callcenter.board import http, pages
from callcenter.board.settings import BoardSettings, check
from callcenter.board.trunks import TICK, TrunkRates
from callcenter.feature import Feature, Section


async def start(settings, redis, accounting, tracker, metrics, live, sessions, pbx_events, loops,
                nodes=None) -> TrunkRates:
    rates = TrunkRates(redis, settings.redis.key_prefix, accounting, tracker, metrics.registry, live, sessions,
                       qualified=settings.pbx.trunk_qualify_seconds > 0, nodes=nodes)
    pbx_events.on_event(rates.on_event)           # new calls on the trunks, counted once across processes
    pbx_events.on_peer_event(rates.on_event)      # the other PBX nodes' trunks too
    loops.every("board-trunks", TICK, rates.tick)  # the rings, then the trunks to the supervisors' boards
    return rates


FEATURE = Feature(
    name="board",
    routes=[*http.ROUTES, *pages.ROUTES],
    settings=Section("board", BoardSettings, check),
    start=start,
    topics=("board_trunks",),
    templates=Path(__file__).parent / "templates",
    summary="The supervisor's live board: agents, calls, queues, trunks",
)
