"""Webhooks: the business events (callcenter/event_log.py) signed and POSTed
to the client's own systems, with retries; endpoints managed by admins."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.webhooks import http, models, pages
from callcenter.webhooks.sender import Deliverer
from callcenter.webhooks.settings import WebhookSettings, check


async def start(settings, sessions, loops) -> Deliverer:
    deliverer = Deliverer(settings.webhooks, sessions)
    deliverer.failed = loops.failed
    # once per system: the in-flight limits (per endpoint, in all) are counted in this process
    loops.every("webhooks", settings.webhooks.interval, deliverer.tick, first=True, once=True)
    return deliverer  # closed at shutdown: its POSTs under way and its HTTP client


FEATURE = Feature(
    name="webhooks",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("webhooks", WebhookSettings, check),
    start=start,
    templates=Path(__file__).parent / "templates",
    summary="Webhooks: business events signed and POSTed to the client's systems, with retries",
)
