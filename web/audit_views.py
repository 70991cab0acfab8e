"""Audit rows for bulk views of personal data, from a request: who is asking
(the principal's name) and which path they read (``callcenter.audit``)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter import audit
from web.auth import principal_of
from web.keys import SERVICES


async def viewed(request: web.Request, action: str, *, rows: int, **filters: Any) -> None:
    """Write the audit row of this request's bulk view (before its data is sent)."""
    await audit.record_view(request.app[SERVICES].sessions, principal_of(request).name, action, request.path,
                            rows=rows, **filters)
