"""Dispositions: the form after a call, its answers, the customer's history.
It also declares the customer 360's routes (callcenter/customers): the 360
shows this feature's history and form, and customers may not import it."""
from pathlib import Path

from callcenter.customers import http as customer_http, pages as customer_pages
from callcenter.dispositions import history, http, pages
from callcenter.feature import Feature

FEATURE = Feature(
    name="dispositions",
    routes=[*customer_http.routes(history=history),
            *customer_pages.routes(history=history, panel=pages.customer_panel),
            *http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="Dispositions and the customer 360's history and form",
)
