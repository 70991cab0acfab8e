"""SIP trunks: channels, DIDs, live usage."""
from callcenter.feature import Feature
from callcenter.trunks import http, pages

FEATURE = Feature(
    name="trunks",
    routes=[*http.ROUTES, *pages.ROUTES],
    summary="SIP trunks: channels, DIDs, live usage",
)
