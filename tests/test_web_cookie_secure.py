"""The session cookie is ``Secure`` whenever the browser reached the server
over HTTPS (a TLS proxy on this machine says so with ``X-Forwarded-Proto``),
not only with ``[web] cookie_secure``; and ``serve`` says loudly at start
when it listens in plain HTTP beyond this machine."""
from __future__ import annotations

import dataclasses
import types

import pytest
from aiohttp.test_utils import make_mocked_request

from callcenter.config import Settings
from tests.browser import WebUser
from web import transport
from web.keys import SERVICES

ASHA = WebUser("asha", "agent", password="asha-password-1")


def session_cookie(resp) -> str:
    return next(v for v in resp.headers.getall("Set-Cookie") if v.startswith("cc_session="))


@pytest.mark.pbx
async def test_a_login_through_a_local_https_proxy_gets_a_secure_cookie(web_server, web_client):
    server = await web_server(users=[ASHA])
    proxied = web_client(server)
    # what a TLS proxy on this machine passes on: the browser's Host and origin, and the scheme
    headers = {"X-Forwarded-Proto": "https", "Origin": proxied.base.replace("http://", "https://")}
    resp = await proxied.get("/login", headers=headers)
    login_cookie = next(v for v in resp.headers.getall("Set-Cookie") if v.startswith("cc_login="))
    assert "Secure" in login_cookie.split("; ")
    # the client's jar keeps Secure cookies from a plain-http URL: send it as the browser would
    token = login_cookie.split(";")[0].split("=", 1)[1]
    resp = await proxied.http.post(proxied.url("/login"), allow_redirects=False,
                                   headers={**headers, "Cookie": f"cc_login={token}"},
                                   data={"name": "asha", "password": ASHA.password, "_csrf": proxied.csrf})
    assert resp.status == 303, await resp.text()
    assert "Secure" in session_cookie(resp).split("; ")

    plain = web_client(server)
    resp = await plain.login("asha", ASHA.password)
    assert resp.status == 303 and "Secure" not in session_cookie(resp).split("; ")
    # the same browser behind the proxy: its logout clears a Secure cookie
    resp = await plain.post("/logout", origin=headers["Origin"], headers={"X-Forwarded-Proto": "https"})
    assert resp.status == 303 and "Secure" in session_cookie(resp).split("; ")


def web_settings(**web) -> Settings:
    settings = Settings(path=None, state_dir=None)
    return dataclasses.replace(settings, web=dataclasses.replace(settings.web, **web))


def request_from(peer: str, headers: dict, cookie_secure: bool = False):
    settings = web_settings(cookie_secure=cookie_secure)
    app = {SERVICES: types.SimpleNamespace(settings=settings)}
    transport_info = types.SimpleNamespace(get_extra_info=lambda name, default=None: (
        (peer, 40000) if name == "peername" else default))
    return make_mocked_request("GET", "/", headers=headers, app=app, transport=transport_info)


def test_only_a_proxy_on_this_machine_is_believed_about_https():
    https = {"X-Forwarded-Proto": "https"}
    assert transport.cookie_secure(request_from("127.0.0.1", https))
    assert transport.cookie_secure(request_from("::1", {"X-Forwarded-Proto": "HTTPS, http"}))
    assert not transport.cookie_secure(request_from("203.0.113.7", https))   # anyone can send the header
    assert not transport.cookie_secure(request_from("127.0.0.1", {"X-Forwarded-Proto": "http"}))
    assert not transport.cookie_secure(request_from("127.0.0.1", {}))
    assert transport.cookie_secure(request_from("203.0.113.7", {}, cookie_secure=True))


@pytest.mark.parametrize("host, secure, warned", [
    ("0.0.0.0", False, True), ("", False, True), ("10.1.2.3", False, True), ("callcenter.lan", False, True),
    ("0.0.0.0", True, False), ("127.0.0.1", False, False), ("::1", False, False), ("localhost", False, False),
])
def test_plain_http_beyond_this_machine_is_warned_about_at_start(host, secure, warned):
    warning = transport.plain_http_warning(web_settings(host=host, cookie_secure=secure))
    assert (warning is not None) == warned
    if warned:
        assert "PLAIN HTTP" in warning and "cookie_secure" in warning


@pytest.mark.parametrize("peer, headers, secure", [
    ("127.0.0.1", {"X-Forwarded-Proto": "https"}, True),
    ("127.0.0.1", {}, False),
    ("10.0.0.9", {"X-Forwarded-Proto": "https"}, False),
])
def test_a_flash_messages_cookie_is_as_secure_as_the_session(peer, headers, secure):
    from aiohttp import web

    from web import errors
    from web.render import FLASH_COOKIE, flash

    response = web.Response(status=303)
    flash(response, "Disposition saved.")
    errors.secure_headers(request_from(peer, headers), response)
    assert bool(response.cookies[FLASH_COOKIE]["secure"]) is secure
