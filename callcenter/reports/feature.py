"""Reports for team leads and managers."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.reports import http, pages

FEATURE = Feature(
    name="reports",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="Reports for team leads and managers",
)
