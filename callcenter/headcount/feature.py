"""The head count: the store executives per store, imported from CSV or XLSX."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.headcount import http, pages

FEATURE = Feature(
    name="headcount",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="The head-count import: validate, report, commit",
)
