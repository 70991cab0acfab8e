"""The organisation: locations, stores, teams."""
from callcenter.feature import Feature
from callcenter.org import http, models, pages

FEATURE = Feature(
    name="org",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    summary="The organisation: locations, stores, teams",
)
