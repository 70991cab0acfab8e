"""The example feature's routes."""
from aiohttp import web

from tests.example_feature.models import Greeting
from web.auth import at_least
from web.keys import SERVICES
from web.requests import json_object


class BadGreeting(ValueError):
    pass


async def greeting(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    hangups = services.example.hangups if services.example is not None else None
    return web.json_response({"greeting": services.settings.example.greeting, "hangups": hangups})


async def add_greeting(request: web.Request) -> web.Response:
    body = await json_object(request, BadGreeting)
    async with request.app[SERVICES].sessions() as session, session.begin():
        session.add(Greeting(text=str(body.get("text", ""))[:40]))
    return web.json_response({"saved": True}, status=201)


ROUTES = [
    ("GET", "/api/v1/example/greeting", greeting, at_least("agent"), "The example feature's greeting"),
    ("POST", "/api/v1/example/greetings", add_greeting, at_least("manager"), "Save a greeting"),
]
