"""The web phone inside the agent panel (the ``browser`` phone mode)."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.webphone import http, models, pages
from callcenter.webphone.service import WebPhones
from callcenter.webphone.settings import WebphoneSettings, check


async def start(settings, sessions, ami, control, dialer, pbx_sync, pbx_events, loops, metrics,
                redis, live, queues=None) -> WebPhones:
    phones = WebPhones(settings, sessions, ami, control, pbx_sync, queues, metrics.registry, live)
    dialer.phones.checks["browser"] = phones.check_online       # 409 agent_phone_offline
    dialer.phones.variables["browser"] = phones.ring_variables  # the page answers a click-to-call itself
    if pbx_sync is not None:
        pbx_sync.phone_sources.append(phones.credentials.phone_confs)
    pbx_events.on_event(phones.on_event)
    pbx_events.on_connected(phones.on_connected)  # Asterisk's contacts after each (re)connect
    login_roles = http.login_checker(redis, settings)
    loops.every("webphone", settings.webphone.check_interval, lambda: phones.sweep(login_roles))
    return phones


FEATURE = Feature(
    name="webphone",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("webphone", WebphoneSettings, check),
    start=start,
    topics=("call_quality",),
    templates=Path(__file__).parent / "templates",
    summary="The web phone inside the agent panel: WebRTC over the SIP WebSocket",
)
