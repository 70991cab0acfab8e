"""Campaigns: type, dates, trunk, calling mode and form."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.campaigns import http, models, pages

FEATURE = Feature(
    name="campaigns",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    templates=Path(__file__).parent / "templates",
    summary="Campaigns: type, dates, trunk, calling mode and form",
)
