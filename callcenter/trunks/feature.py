"""SIP trunks: channels, DIDs, live usage."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.trunks import http, pages

FEATURE = Feature(
    name="trunks",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="SIP trunks: channels, DIDs, live usage",
)
