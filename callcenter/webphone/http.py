"""HTTP handlers of the web phone: its credentials, the SIP WebSocket, call quality."""
from __future__ import annotations

ROUTES: list = []
