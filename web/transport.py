"""Whether a request reached the server over HTTPS (its cookies then get
``Secure``), and the warning at start when pages are served in plain HTTP
beyond this machine.

A request is HTTPS when aiohttp itself serves TLS (``request.secure``), or
when a proxy on this machine (a loopback peer) forwards it with
``X-Forwarded-Proto: https``. The header from any other peer is ignored:
anyone can send it. Likewise the client's address: ``X-Forwarded-For`` from
a loopback proxy only. ``[web] cookie_secure = true`` marks every cookie
``Secure`` (a proxy on another machine)."""
from __future__ import annotations

import ipaddress
import logging

from aiohttp import web

from web.keys import SERVICES

log = logging.getLogger(__name__)


def is_loopback(address: str | None) -> bool:
    if address in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def is_https(request: web.Request) -> bool:
    if request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and is_loopback(request.remote)


def client_address(request: web.Request) -> str | None:
    """The client's address: the peer's, or, when the peer is a proxy on this
    machine (loopback: the cluster's nginx), the last address it added to
    ``X-Forwarded-For`` (what the proxy itself saw; earlier entries are the
    client's word). Login lockouts count failures per this address."""
    peer = request.remote
    if not is_loopback(peer):
        return peer
    forwarded = request.headers.get("X-Forwarded-For", "")
    last = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(last)) if last else peer
    except ValueError:
        return peer


def cookie_secure(request: web.Request) -> bool:
    """Mark this response's cookies ``Secure``: configured so, or the request is HTTPS."""
    return request.app[SERVICES].settings.web.cookie_secure or is_https(request)


def plain_http_warning(settings) -> str | None:
    """What ``serve`` logs at start when it listens beyond this machine in
    plain HTTP (no [web] tls_cert) without ``cookie_secure`` (None when it does not)."""
    host = settings.web.host
    if settings.web.cookie_secure or settings.web.tls_cert or is_loopback(host):
        return None
    return (f"SERVING PLAIN HTTP ON {host or '*'}:{settings.web.port}, beyond this machine: passwords and "
            "session cookies cross the network in clear. Put an HTTPS proxy in front: on this machine "
            "(listen on 127.0.0.1; it sends X-Forwarded-Proto: https) or elsewhere, then set "
            "[web] cookie_secure = true.")
