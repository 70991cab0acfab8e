"""The head count: the store executives per store, imported from CSV or XLSX."""
from callcenter.feature import Feature
from callcenter.headcount import http, pages

FEATURE = Feature(
    name="headcount",
    routes=[*http.ROUTES, *pages.ROUTES],
    summary="The head-count import: validate, report, commit",
)
