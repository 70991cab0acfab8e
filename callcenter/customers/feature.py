"""Customers and the DND list. (The customer 360's routes, and erasing a
customer, are declared by the dispositions feature, whose history and form
the page shows.)"""
from pathlib import Path

from callcenter.customers import erasure_files, http, models, pages
from callcenter.feature import Feature


async def start(settings, sessions, loops) -> None:
    erasure_files.start_loop(loops, sessions, settings)


FEATURE = Feature(
    name="customers",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    start=start,
    templates=Path(__file__).parent / "templates",
    summary="Customers, the DND list, the customer 360 and erasing a customer",
)
