"""Reports for team leads and managers."""
from callcenter.feature import Feature
from callcenter.reports import http, pages

FEATURE = Feature(
    name="reports",
    routes=[*http.ROUTES, *pages.ROUTES],
    summary="Reports for team leads and managers",
)
