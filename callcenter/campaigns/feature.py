"""Campaigns: type, dates, trunk, calling mode and form."""
from callcenter.feature import Feature
from callcenter.campaigns import http, models, pages

FEATURE = Feature(
    name="campaigns",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    summary="Campaigns: type, dates, trunk, calling mode and form",
)
