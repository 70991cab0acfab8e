"""Browser sessions kept in Redis, shared by every serve process."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass
class BrowserSession:
    """One logged-in browser: ``id`` is the cookie's value, ``csrf`` the token
    every state-changing request of this session must carry."""
    id: str
    user_id: int
    name: str
    role: str
    csrf: str
    created_at: float
    checked_at: float = 0.0


SESSION = web.RequestKey("browser_session", BrowserSession)
