"""The organisation: locations, stores, teams."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.org import http, models, pages

FEATURE = Feature(
    name="org",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    templates=Path(__file__).parent / "templates",
    summary="The organisation: locations, stores, teams",
)
