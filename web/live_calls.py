"""Calls, live, to the pages that may see them.

:class:`LiveCallReporter` sits between the call tracker and the call effects:
every report goes on to the effects unchanged, and each step a call takes
(agent ringing → customer ringing → connected → ended) is published once
through the hub as ``{"type": "call", "call": {...}}`` (the shape of
:func:`callcenter.calls.view.call_view`; once per step: :class:`~callcenter.calls.view.CallSteps`).
The tracker is synchronous, so steps are queued and published by one task.

``GET /ws`` opens a page's socket; its first message is ``{"type": "hello",
"user": {...}, "calls": [...]}``: the live calls the user may see, and their
own calls from a work item that ended without a disposition, so a page that
reconnects (or wakes up in a background tab) shows the right thing."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict

from aiohttp import web
from sqlalchemy import and_, or_, select

from callcenter.calls.tracker import TrackedCall
from callcenter.calls.view import CallSteps, owner_of_placed, owner_of_row, row_view, tracked_view
from callcenter.loops import RateLimitedLog
from callcenter.outages import as_outage
from callcenter.models import Call, User
from web import csrf, sessions
from web.auth import AuthError, principal_of, scope_of
from web.keys import SERVICES

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)

QUEUE_MAX = 10_000
LIVE_WINDOW = dt.timedelta(hours=3)       # calls older than this are not "live" whatever their row says
UNDISPOSED_WINDOW = dt.timedelta(minutes=30)
HELLO_CALLS_MAX = 300
_KEPT = 20_000


class LiveCallReporter:
    """The tracker's Reporter: ``inner`` (the call effects) gets every report;
    the hub gets each new step of a call once."""

    def __init__(self, inner, hub, dialer, sessions_factory) -> None:
        self.inner = inner
        self.hub = hub
        self.dialer = dialer
        self.sessions = sessions_factory
        self._steps = CallSteps()
        self._meta: OrderedDict[str, dict] = OrderedDict()
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        self._task: asyncio.Task | None = None

    # -- Reporter ------------------------------------------------------------
    def call_changed(self, call: TrackedCall) -> None:
        self.inner.call_changed(call)
        if not self._steps.advances(call.call_id, call.state):
            return
        placed = self.dialer.placed.get(call.call_id)
        meta = owner_of_placed(placed) if placed is not None else None
        try:
            self._queue.put_nowait((tracked_view(call, meta or {}), meta is None))
        except asyncio.QueueFull:
            log.warning("live calls: queue full, call %s step %s not shown live", call.call_id, call.state)

    def leg_released(self, call: TrackedCall, role: str) -> None:
        self.inner.leg_released(call, role)

    def foreign_channels(self, trunk: str, count: int) -> None:
        self.inner.foreign_channels(trunk, count)

    # -- publishing ------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _meta_of_row(self, call_id: str) -> dict | None:
        """Owner of a call this process did not place (another process, or a restart)."""
        hit = self._meta.get(call_id)
        if hit is not None:
            return hit
        async with self.sessions() as session:
            row = (await session.execute(select(Call, User.name).join(User, Call.agent_id == User.id)
                                         .where(Call.id == call_id))).first()
        if row is None:
            return None
        meta = owner_of_row(row[0], row[1])
        self._meta[call_id] = meta
        while len(self._meta) > _KEPT:
            self._meta.popitem(last=False)
        return meta

    async def _run(self) -> None:
        while True:
            view, needs_owner = await self._queue.get()
            try:
                if needs_owner:
                    meta = await self._meta_of_row(view["id"])
                    if meta is None:
                        continue  # not a call of ours (no row): nobody to show it to
                    view.update(meta)
                await self.hub.publish({"type": "call", "call": view}, agent_id=view["agent_id"])
            except Exception as error:  # noqa: BLE001 - never stop publishing
                outage = as_outage(error)  # Redis away: one line a minute; a bug: its traceback
                trouble_log.warning(outage.error_id if outage else type(error).__name__,
                                    "live calls: publishing call %s failed: %s", view.get("id"), error,
                                    exc_info=None if outage else error)


# -- the page's socket -------------------------------------------------------------

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

    return await services.hub.serve(request, principal, scope, session.id if session else None, hello)
