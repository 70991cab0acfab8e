"""TURN for agents outside the office network: short-lived credentials for
the page, and the coturn config that accepts them.

The TURN REST scheme (coturn's ``use-auth-secret`` + ``static-auth-secret``):
the user name is ``<expiry unix time>:<name>``, the password is
base64(HMAC-SHA1(shared secret, user name)). coturn recomputes it from the
same secret and refuses it after the expiry, so nothing is stored and a
credential copied out of a page stops working by itself."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from urllib.parse import urlsplit

# Addresses a relay must never reach (the office LAN, this machine, link-local...)
# unless allowed below: a TURN user must not use the relay to scan the network.
PRIVATE_RANGES = [
    "0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255", "169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255", "192.168.0.0-192.168.255.255", "198.18.0.0-198.19.255.255",
    "224.0.0.0-255.255.255.255",
    "::1", "64:ff9b::-64:ff9b::ffff:ffff", "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
]


class TurnConfigError(ValueError):
    """The settings do not allow a coturn config (no secret, no usable PBX address)."""


def credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers(settings, username: str, now: float | None = None) -> list[dict]:
    """The ``iceServers`` entries a page's RTCPeerConnection gets: one TURN
    entry valid for [webphone] turn_ttl seconds, or none without turn_urls."""
    phone = settings.webphone
    if not phone.turn_urls:
        return []
    expiry = int(time.time() if now is None else now) + phone.turn_ttl
    turn_user = f"{expiry}:{username}"
    return [{"urls": list(phone.turn_urls), "username": turn_user,
             "credential": credential(phone.turn_secret, turn_user)}]


def default_realm(settings) -> str:
    """The host of the first TURN URL (turn:turn.example.in:3478), else "callcenter"."""
    for url in settings.webphone.turn_urls:
        host = urlsplit(url.replace(":", "://", 1)).hostname
        if host:
            return host
    return "callcenter"


def media_address(settings) -> str:
    """Where Asterisk's RTP listens ([pbx] sip_host): the one private address the relay may reach."""
    host = settings.pbx.sip_host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise TurnConfigError(f"[pbx] sip_host {host!r} is not an IP address; the relay needs "
                              "Asterisk's media address") from None
    if address.is_loopback or address.is_unspecified:
        raise TurnConfigError(f"[pbx] sip_host is {host}: Asterisk's media is not reachable from another "
                              "machine, so a relay cannot help. Set it to this machine's LAN address first")
    return str(address)


def turnserver_conf(settings, *, realm: str | None = None, external_ip: str | None = None,
                    certificate: tuple[str, str] | None = None) -> str:
    """coturn's turnserver.conf for these settings (``certificate``: the
    (cert, key) files for turns: on 5349)."""
    secret = settings.webphone.turn_secret
    if len(secret) < 16 or secret == "GENERATED-AT-INIT":
        raise TurnConfigError("[webphone] turn_secret is missing or too short: set it (16 or more random "
                              "characters, e.g. from 'openssl rand -base64 32') in the config file")
    realm = realm or default_realm(settings)
    if not realm or any(c.isspace() or c in "\"'#" for c in realm):
        raise TurnConfigError(f"--realm {realm!r} is not a plain name")
    pbx = media_address(settings)
    lines = [
        "# coturn config written by `callcenter turn-config` (install: apt install coturn).",
        "# TURN is needed only for agents outside the office network (at home, on a",
        "# mobile hotspot, behind a network that blocks UDP to the PBX): their browser",
        "# then sends its media through this relay. Agents on the office LAN reach",
        "# Asterisk directly and never use it.",
        "# The web phone hands pages short-lived credentials made from the same secret",
        "# ([webphone] turn_secret); set [webphone] turn_urls to this server's",
        "# turn:HOST:3478 (and turns:HOST:5349) URLs. Regenerate after changing the secret.",
        "listening-port=3478",
        "fingerprint",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={realm}",
        "# Relay ports agents' media arrives on: open them (UDP) in the firewall.",
        "min-port=49152",
        "max-port=65535",
    ]
    if external_ip:
        lines += ["# This server's public address (it sits behind NAT).", f"external-ip={external_ip}"]
    if certificate:
        lines += ["# turns: (TLS) with the panel's certificate; coturn's user must be able to read the key.",
                  "# Browsers refuse a self-signed certificate here: use a real one for turns:.",
                  "tls-listening-port=5349", f"cert={certificate[0]}", f"pkey={certificate[1]}"]
    lines += [
        "no-tlsv1",
        "no-tlsv1_1",
        "# Media is UDP: no TCP relays (they could reach the PBX's AMI, Redis...).",
        "no-tcp-relay",
        "no-cli",
        "no-multicast-peers",
        "# The relay reaches only public addresses and Asterisk's media address.",
        *(f"denied-peer-ip={r}" for r in PRIVATE_RANGES),
        f"allowed-peer-ip={pbx}",
        "# Relayed sessions at once (a call is one); nonce lifetime in seconds.",
        "total-quota=1000",
        "user-quota=4",
        "stale-nonce=600",
        "syslog",
    ]
    return "\n".join(lines) + "\n"
