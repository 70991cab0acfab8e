"""Every feature's routes, in one list the app factory adds to its table.
Each feature keeps its JSON API in ``http.py`` and its HTML pages in ``pages.py``."""
from callcenter.campaigns import http as campaigns_http, pages as campaigns_pages
from callcenter.customers import http as customers_http, pages as customers_pages
from callcenter.org import http as org_http, pages as org_pages
from callcenter.reports import http as reports_http, pages as reports_pages
from callcenter.work import http as work_http, pages as work_pages
from callcenter.work import disposition_http, disposition_pages
from callcenter.customers import profile_http, profile_pages
from callcenter.complaints import http as complaints_http, pages as complaints_pages
from callcenter.notifications import http as notifications_http
from callcenter.trunks import http as trunks_http, pages as trunks_pages
from callcenter.queues import http as queues_http, pages as queues_pages
from callcenter.inbound import http as inbound_http, pages as inbound_pages
from web import session_http

FEATURE_ROUTES = [
    *session_http.ROUTES,
    *trunks_http.ROUTES, *trunks_pages.ROUTES,
    *org_http.ROUTES, *org_pages.ROUTES,
    *campaigns_http.ROUTES, *campaigns_pages.ROUTES,
    *customers_http.ROUTES, *customers_pages.ROUTES,
    *work_http.ROUTES, *work_pages.ROUTES,
    *disposition_http.ROUTES, *disposition_pages.ROUTES,
    *inbound_http.ROUTES, *inbound_pages.ROUTES,  # before the 360's /customers/{id}: /customers/new
    *profile_http.ROUTES, *profile_pages.ROUTES,
    *reports_http.ROUTES, *reports_pages.ROUTES,
    *complaints_http.ROUTES, *complaints_pages.ROUTES, *notifications_http.ROUTES,
    *queues_http.ROUTES, *queues_pages.ROUTES,
]
