"""The agent's desk: the page that keeps the web phone alive across navigation."""
from __future__ import annotations

from aiohttp import web

from web.auth import at_least


async def desk(request: web.Request) -> web.Response:
    raise web.HTTPNotImplemented(text="the desk page is being built")


ROUTES = [
    ("GET", "/desk", desk, at_least("agent"), "The agent's desk: the web phone and the pages in one frame"),
]
