"""Hosts as admins write them in settings (an SMTP server, an HR system's
URL, a webhook receiver), judged without DNS: this machine may have none, and
a name looked up at the wrong moment stalls whatever waits on it."""
from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a literal loopback address (never resolved)."""
    host = (host or "").strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
