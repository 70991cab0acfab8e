"""Users in the hierarchy: list, create, change, reset passwords. (Disabling
one hands their work over: those routes are declared by the work feature.)"""
from callcenter.feature import Feature
from callcenter.users import http, pages

FEATURE = Feature(
    name="users",
    routes=[*http.ROUTES, *pages.ROUTES],
    summary="Users in the hierarchy: logins, roles, phones, places",
)
