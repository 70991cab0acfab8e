"""Customer uploads of a campaign: validate, report, commit, allocate."""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.uploads import http, pages

FEATURE = Feature(
    name="uploads",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="Customer uploads: validation report, commit of the valid rows, rejects file, allocation",
)
