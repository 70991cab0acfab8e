"""Customers and the DND list. (The customer 360's routes are declared by the
dispositions feature, whose history and form the page shows.)"""
from pathlib import Path

from callcenter.customers import http, models, pages
from callcenter.feature import Feature

FEATURE = Feature(
    name="customers",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    templates=Path(__file__).parent / "templates",
    summary="Customers, the DND list and the customer 360",
)
