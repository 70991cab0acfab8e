"""Inbound queues: agents logging in and out, pauses, the live queue state."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.queues import http, models, pages
from callcenter.queues.live import QueueClients, QueueLive


async def start(settings, metrics, control, pbx_events, sessions, live, directory, loops, pbx_sync) -> QueueLive:
    queues = QueueLive(QueueClients(settings, metrics, control, sessions, live, directory, loops, pbx_sync))
    pbx_events.on_event(queues.tracker.on_event)
    pbx_events.on_connected(queues.reconcile)  # QueueStatus into the tracker, sessions back into Asterisk
    loops.start("queues", queues.run)          # queue state to the pages, wrap-ups, settings
    return queues


FEATURE = Feature(
    name="queues",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    start=start,
    topics=("queue",),
    templates=Path(__file__).parent / "templates",
    summary="Inbound queues: agents in queues, pauses, the live queue state",
)
