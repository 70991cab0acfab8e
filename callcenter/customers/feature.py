"""Customers, the DND list and the customer 360."""
from callcenter.feature import Feature
from callcenter.customers import http, models, pages, profile_http, profile_pages

FEATURE = Feature(
    name="customers",
    routes=[*http.ROUTES, *pages.ROUTES, *profile_http.ROUTES, *profile_pages.ROUTES],
    tables=models,
    summary="Customers, the DND list and the customer 360",
)
