"""Dispositions: the form after a call, its answers, the customer's history.
It also declares the customer 360's routes (callcenter/customers): the 360
shows this feature's history and form, and customers may not import it.
And erasing a customer: each feature that keeps something of a customer
erases its part (``ERASERS``, see callcenter/customers/erasure.py)."""
from pathlib import Path

from callcenter.complaints.erasure import erase_complaints
from callcenter.customers import http as customer_http, pages as customer_pages
from callcenter.dispositions import history, http, pages
from callcenter.feature import Feature
from callcenter.inbound.erasure import erase_inbound
from callcenter.notifications.erasure import erase_notifications
from callcenter.webhooks.erasure import erase_webhooks
from callcenter.work.erasure import erase_work

ERASERS = (erase_work, erase_inbound, erase_complaints, erase_notifications,
           erase_webhooks)  # after erase_work: it takes the cleaned answers

FEATURE = Feature(
    name="dispositions",
    routes=[*customer_http.routes(history=history),
            *customer_http.erase_routes(parts=ERASERS),
            *customer_pages.routes(history=history, panel=pages.customer_panel),
            *customer_pages.erase_routes(history=history, panel=pages.customer_panel, parts=ERASERS),
            *http.ROUTES, *pages.ROUTES],
    topics=("disposition_saved",),
    templates=Path(__file__).parent / "templates",
    summary="Dispositions and the customer 360's history and form",
)
