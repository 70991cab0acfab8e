"""How a delivery is signed (Stripe-like), and how a receiver checks it:

    X-Callcenter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>

The timestamp is inside the signed text, so a captured request cannot be
replayed later with a fresh time; a receiver refuses one older than
``tolerance`` seconds."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A server-made secret (shown once to the admin)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS,
           now: float | None = None) -> bool:
    """What a receiver does (docs/webhooks.md has the same as a stand-alone example)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
