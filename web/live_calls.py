"""The page's live socket: ``GET /ws``. Its first message is ``{"type":
"hello", "user": {...}, "calls": [...]}``: the live calls the user may see, and their
own calls from a work item that ended without a disposition, so a page that
reconnects (or wakes up in a background tab) shows the right thing.
Then come the live bus's events the viewer may see (a call's steps are
published by callcenter/calls/live.py)."""
from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web
from sqlalchemy import and_, or_, select

from callcenter.calls.view import row_view
from callcenter.models import Call, User
from web import csrf, sessions
from web.auth import AuthError, principal_of, scope_of
from web.keys import HUB, SERVICES

log = logging.getLogger(__name__)

LIVE_WINDOW = dt.timedelta(hours=3)       # calls older than this are not "live" whatever their row says
UNDISPOSED_WINDOW = dt.timedelta(minutes=30)
HELLO_CALLS_MAX = 300


async def hello_calls(services, scope) -> list[dict]:
    """Live calls in ``scope`` and the caller's own undisposed work-item calls
    that ended lately, oldest first; the tracker's state wins over the row's."""
    now = dt.datetime.now(dt.timezone.utc)
    own_undisposed = and_(Call.agent_id == scope.user_id, Call.work_item_id.is_not(None),
                          Call.disposed_at.is_(None), Call.ended_at >= now - UNDISPOSED_WINDOW)
    query = (select(Call, User.name).join(User, Call.agent_id == User.id)
             .where(scope.calls(), Call.requested_at >= now - LIVE_WINDOW,
                    or_(Call.state != "ended", own_undisposed) if scope.user_id is not None
                    else Call.state != "ended")
             .order_by(Call.requested_at.desc()).limit(HELLO_CALLS_MAX))
    async with services.sessions() as session:
        rows = (await session.execute(query)).all()
    calls = [row_view(call, name, services.tracker.calls.get(call.id)) for call, name in reversed(rows)]
    return calls


async def live_socket(request: web.Request) -> web.StreamResponse:
    """GET /ws: the page's live socket (browser session, Origin checked; or a bearer token)."""
    services = request.app[SERVICES]
    principal = principal_of(request)
    session = request.get(sessions.SESSION)
    if session is not None:
        try:
            csrf.check_origin(request, required=True)
        except csrf.CsrfError as error:
            raise AuthError(403, error.error_id, error.message) from None
    scope = await scope_of(request)

    async def hello() -> dict:
        return {"type": "hello", "user": {"id": principal.user_id, "name": principal.name,
                                          "role": principal.role},
                "calls": await hello_calls(services, scope)}

    return await request.app[HUB].serve(request, principal, scope, session.id if session else None, hello)
