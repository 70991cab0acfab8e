"""The web phone inside the agent panel (the ``browser`` phone mode)."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.webphone import http, pages
from callcenter.webphone.settings import WebphoneSettings, check

FEATURE = Feature(
    name="webphone",
    routes=[*http.ROUTES, *pages.ROUTES],
    settings=Section("webphone", WebphoneSettings, check),
    templates=Path(__file__).parent / "templates",
    summary="The web phone inside the agent panel: WebRTC over the SIP WebSocket",
)
