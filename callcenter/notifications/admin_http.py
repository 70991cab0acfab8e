"""JSON API of the notification events and templates (admins): the events
with their channels and the texts in use, an event switched on or off, a
template saved (checked first), reset to the shipped text, or previewed.
The rules are in admin_edits.py."""
from __future__ import annotations

from aiohttp import web

from callcenter.customers.http import jsonable
from callcenter.notifications import admin_edits
from callcenter.org.http import actor_of, json_body
from web.keys import SERVICES

ADMIN = ("admin",)
TEMPLATE_PATH = "/api/v1/notifications/templates/{event}/{channel}/{language}"


def _template_of(request: web.Request) -> tuple[str, str, str]:
    info = request.match_info
    return info["event"], info["channel"], info["language"]


async def list_events(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        events, languages = await admin_edits.catalogue(session, request.query.get("language"))
    return web.json_response(jsonable({"languages": languages, "events": events}))


async def change_event(request: web.Request) -> web.Response:
    body = await json_body(request, {"enabled", "channels"})
    async with request.app[SERVICES].sessions() as session, session.begin():
        state = await admin_edits.change_event(session, actor_of(request), request.match_info["event"],
                                               enabled=body.get("enabled"), channels=body.get("channels"))
    return web.json_response({"key": request.match_info["event"], **state})


async def save_template(request: web.Request) -> web.Response:
    body = await json_body(request, {"subject", "body"})
    key, channel, language = _template_of(request)
    async with request.app[SERVICES].sessions() as session, session.begin():
        text, check = await admin_edits.save_template(session, actor_of(request), key, channel, language,
                                                      body.get("subject", ""), body.get("body", ""))
    return web.json_response(jsonable({"event": key, "channel": channel, "language": language, **text,
                                       "check": admin_edits.check_json(check)}))


async def reset_template(request: web.Request) -> web.Response:
    key, channel, language = _template_of(request)
    async with request.app[SERVICES].sessions() as session, session.begin():
        text = await admin_edits.reset_template(session, actor_of(request), key, channel, language)
    return web.json_response({"event": key, "channel": channel, "language": language, "template": text})


async def preview_template(request: web.Request) -> web.Response:
    body = await json_body(request, {"subject", "body"})
    key, channel, language = _template_of(request)
    return web.json_response(admin_edits.preview(key, channel, language, body.get("subject", ""),
                                                 body.get("body", "")))


ROUTES = [
    ("GET", "/api/v1/notifications/events", list_events, ADMIN,
     "The notification events: who hears, when, channels, on/off and the template in use per "
     "channel and language (source shipped|edited; ?language= adds one)"),
    ("PUT", "/api/v1/notifications/events/{event}", change_event, ADMIN,
     "Switch a notification event on or off and choose its channels ({enabled, channels})"),
    ("PUT", TEMPLATE_PATH, save_template, ADMIN,
     "Save an event's text for a channel and language ({subject, body}): 422 with the check's errors "
     "when refused, else the text and its check (encoding, segments, DLT text)"),
    ("DELETE", TEMPLATE_PATH, reset_template, ADMIN, "An event's text back to the shipped one"),
    ("POST", TEMPLATE_PATH + "/preview", preview_template, ADMIN,
     "Check a text being typed and fill it with example values"),
]
