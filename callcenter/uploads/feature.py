"""Customer uploads of a campaign: validate, report, commit, allocate."""
from callcenter.feature import Feature
from callcenter.uploads import http, pages

FEATURE = Feature(
    name="uploads",
    routes=[*http.ROUTES, *pages.ROUTES],
    summary="Customer uploads: validation report, commit all or nothing, allocation",
)
