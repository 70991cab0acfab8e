"""Typed keys under which the app factory stores its resources."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from callcenter.services import Services
    from web.hub import Hub

SERVICES: web.AppKey["Services"] = web.AppKey("services")
HUB: web.AppKey["Hub"] = web.AppKey("hub")  # the open pages' sockets
