"""HTTP handlers of the web phone: this login's credentials, the SIP
WebSocket (relayed to Asterisk), call-quality reports."""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from callcenter.clock import utc_iso
from callcenter.webphone import quality
from callcenter.webphone.exceptions import InvalidQualityReport, NotBrowserPhone
from callcenter.webphone.turn import ice_servers
from web import csrf, sessions
from web.auth import at_least, principal_of
from web.keys import SERVICES
from web.requests import json_object

QUALITY_FIELDS = {"call_id", "jitter_ms", "loss_pct", "rtt_ms", "packets_received", "packets_lost"}


async def _browser_login(request: web.Request) -> sessions.BrowserSession:
    session = await sessions.current(request)
    if session is None:
        raise NotBrowserPhone("the web phone works only in a browser login (not with an API token)")
    return session


def _expiry(request: web.Request, session: sessions.BrowserSession) -> dt.datetime:
    seconds = session.created_at + sessions.lifetime_seconds(request.app[SERVICES].settings)
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


async def get_phone(request: web.Request) -> web.Response:
    """This login's phone: its SIP account (the password in clear, never stored by the page)."""
    services = request.app[SERVICES]
    session = await _browser_login(request)
    login = await services.webphone.issue(session.user_id, session.id, _expiry(request, session))
    settings, section = services.settings, services.settings.webphone
    realm = settings.pbx.sip_realm
    return web.json_response({
        "agent": login.agent, "display_name": login.display_name, "endpoint": login.endpoint,
        "password": login.password, "uri": f"sip:{login.endpoint}@{realm}", "realm": realm,
        "ws_path": "/sip", "auto_answer": section.auto_answer,
        "auto_answer_delay": section.auto_answer_delay,
        "ice_servers": ice_servers(settings, login.agent),
        "quality_interval": section.quality_interval, "echo_uri": f"sip:echo@{realm}",
        "expires_at": utc_iso(login.expires_at), "taken_over": login.taken_over,
    }, headers={"Cache-Control": "no-store"})


async def drop_phone(request: web.Request) -> web.Response:
    """Log the phone out (the page does it before the panel's logout)."""
    services = request.app[SERVICES]
    session = await _browser_login(request)
    await services.webphone.revoke(session.user_id, session.id)
    return web.Response(status=204)


async def sip_socket(request: web.Request) -> web.StreamResponse:
    """GET /sip: the phone's SIP WebSocket, for the login its credentials were issued to."""
    services = request.app[SERVICES]
    try:
        csrf.check_origin(request, required=True)
    except csrf.CsrfError as error:
        raise web.HTTPForbidden(text=error.message) from None
    session = await _browser_login(request)
    row = await services.webphone.credentials_of(session.user_id)
    digest = sessions.digest_of(session.id)
    if row is None or row.session_digest != digest:
        raise NotBrowserPhone("this login has no web phone credentials: load GET /api/v1/phone first")
    return await services.webphone.relay.serve(request, session.user_id, row.endpoint, digest)


async def report_quality(request: web.Request) -> web.Response:
    body = await json_object(request, InvalidQualityReport, field=None)
    unknown = set(body) - QUALITY_FIELDS
    if unknown:
        raise InvalidQualityReport(f"unknown fields: {', '.join(sorted(unknown))}")
    call_id = body.get("call_id")
    if call_id is not None and (not isinstance(call_id, str) or len(call_id) != 32
                                or not all(c in "0123456789abcdef" for c in call_id)):
        raise InvalidQualityReport("call_id must be a call's id (32 hex digits) or null", field="call_id")
    report = quality.parse(body)
    principal = principal_of(request)
    if principal.user_id is None:
        raise NotBrowserPhone("quality reports come from an agent's web phone")
    result = await request.app[SERVICES].webphone.rate(principal.user_id, principal.name, call_id, report)
    return web.json_response(result, status=202)


def login_checker(redis, settings):
    """``login_roles(digests)`` for the sweep: the role each phone row's panel
    login was made with (None: the login is gone), in one Redis round trip."""
    async def login_roles(digests: list[str]) -> list[str | None]:
        return await sessions.roles_of_digests(redis, settings, digests)
    return login_roles


ROUTES = [
    ("GET", "/api/v1/phone", get_phone, at_least("agent"),
     "This login's web phone: its SIP account (fresh per login), WebSocket path, ICE servers"),
    ("DELETE", "/api/v1/phone", drop_phone, at_least("agent"),
     "Revoke this login's web phone credentials (at logout)"),
    ("POST", "/api/v1/phone/quality", report_quality, at_least("agent"),
     "A call-quality report of the web phone (jitter, loss, round trip): the call's MOS"),
    ("GET", "/sip", sip_socket, at_least("agent"),
     "The web phone's SIP WebSocket (subprotocol sip), relayed to Asterisk"),
]
