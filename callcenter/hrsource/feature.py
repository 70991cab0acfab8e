"""The head count pulled from the client's HR system (an HTTP JSON source),
daily and on demand, through the head-count import's validation and commit."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.hrsource import http, models, pages
from callcenter.hrsource.daily import TICK_SECONDS, DailyPull


async def start(settings, sessions, loops) -> DailyPull:
    pull = DailyPull(sessions, settings)
    loops.every("hrsource", TICK_SECONDS, pull.tick, first=True, once=True)
    return pull


FEATURE = Feature(
    name="hrsource",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    start=start,
    templates=Path(__file__).parent / "templates",
    summary="The head count pulled daily from the client's HR system (HTTP JSON)",
)
