"""Inbound calls: the IVR's calls to queues, screen pops, the post-call
survey, call-backs, and the FastAGI server of the IVR (ivr/)."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.inbound import http, models, pages
from callcenter.inbound.hooks import InboundHooks
from callcenter.inbound.live import InboundClients, InboundLive
from callcenter.inbound.metrics import InboundMetrics
from callcenter.work.sweeper import nudge
from ivr import settings as ivr_settings
from ivr.metrics import IvrMetrics
from ivr.service import IvrService


async def start(settings, metrics, sessions, live, queues, pbx_events) -> dict:
    clients = InboundClients(settings, sessions, live, queues)
    inbound = InboundLive(clients, InboundMetrics(metrics.registry))
    queues.listen(inbound.on_queue_event)  # screen pops and answers of the IVR's queue calls
    pbx_events.on_event(inbound.on_ami_event)
    provided = {"inbound": inbound}
    if settings.ivr.enabled:  # listening before Asterisk sends it calls
        ivr = IvrService(settings, IvrMetrics(metrics.registry), InboundHooks(clients, inbound, nudge))
        await ivr.start()
        provided["ivr"] = ivr
    return provided


FEATURE = Feature(
    name="inbound",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("ivr", ivr_settings.IvrSettings, ivr_settings.check),
    start=start,
    topics=("screen_pop", "call"),
    templates=Path(__file__).parent / "templates",
    summary="Inbound calls: IVR to queues, screen pop, survey, call-backs",
)
