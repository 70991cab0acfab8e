"""Users in the hierarchy: list, create, change, reset passwords. (Disabling
one hands their work over: those routes are declared by the work feature.)"""
from pathlib import Path

from callcenter.feature import Feature
from callcenter.users import http, pages

FEATURE = Feature(
    name="users",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    summary="Users in the hierarchy: logins, roles, phones, places",
)
