"""Calls, live, to the pages that may see them.

:class:`LiveCallReporter` sits between the call tracker and the call effects:
every report goes on to the effects unchanged, and each step a call takes
(agent ringing → customer ringing → connected → ended) is published once
through the hub as ``{"type": "call", "call": {...}}`` (see :func:`call_view`).
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
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import and_, or_, select

from callcenter.calls.tracker import STATES, TrackedCall
from callcenter.loops import RateLimitedLog
from callcenter.outages import as_outage
from callcenter.models import Call, User
from web import csrf, sessions
from web.auth import AuthError, principal_of, scope_of
from web.hub import utc_iso
from web.keys import HUB, SERVICES

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)

QUEUE_MAX = 10_000
LIVE_WINDOW = dt.timedelta(hours=3)       # calls older than this are not "live" whatever their row says
UNDISPOSED_WINDOW = dt.timedelta(minutes=30)
HELLO_CALLS_MAX = 300
_PHASE = {state: index for index, state in enumerate(STATES)}
_KEPT = 20_000


def call_view(call: TrackedCall, meta: dict) -> dict:
    """The message shape of a call: the tracker's live fields and the call's
    owner (``meta``: agent, agent_id, work_item_id, customer_id, requested_at)."""
    return {"id": call.call_id, "state": call.state, "agent": meta.get("agent"),
            "agent_id": meta.get("agent_id"), "work_item_id": meta.get("work_item_id"),
            "customer_id": meta.get("customer_id"), "requested_at": meta.get("requested_at"),
            "agent_answered_at": utc_iso(call.agent.answered_at),
            "connected_at": utc_iso(call.connected_at), "ended_at": utc_iso(call.ended_at),
            "end_reason": call.end_reason, "talk_seconds": call.talk_seconds}


def direction_view(call: Call) -> dict:
    """The call's direction; an inbound call also its IVR/queue record and its
    own hang-up route (``POST /api/v1/inbound/calls/{id}/hangup``, the shape
    callcenter.inbound.live publishes), which the panel's Hang up button posts
    to instead of the click-to-call route."""
    if call.direction == "inbound" and call.inbound_call_id:
        return {"direction": "inbound", "inbound_call_id": call.inbound_call_id,
                "hangup_url": f"/api/v1/inbound/calls/{quote(call.inbound_call_id, safe='')}/hangup"}
    return {"direction": call.direction or "outbound"}


def row_view(call: Call, agent_name: str, tracked: TrackedCall | None = None) -> dict:
    """A call row as the hello message shows it (the tracker's state wins)."""
    meta = {"agent": agent_name, "agent_id": call.agent_id, "work_item_id": call.work_item_id,
            "customer_id": call.customer_id, "requested_at": utc_iso(call.requested_at)}
    if tracked is not None:
        return {**call_view(tracked, meta), **direction_view(call)}
    return {"id": call.id, "state": call.state, **meta,
            "agent_answered_at": utc_iso(call.agent_answered_at),
            "connected_at": utc_iso(call.customer_answered_at), "ended_at": utc_iso(call.ended_at),
            "end_reason": call.end_reason, "talk_seconds": call.talk_seconds, **direction_view(call)}


class LiveCallReporter:
    """The tracker's Reporter: ``inner`` (the call effects) gets every report;
    the hub gets each new step of a call once."""

    def __init__(self, inner, hub, dialer, sessions_factory) -> None:
        self.inner = inner
        self.hub = hub
        self.dialer = dialer
        self.sessions = sessions_factory
        self._sent: OrderedDict[str, int] = OrderedDict()
        self._meta: OrderedDict[str, dict] = OrderedDict()
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        self._task: asyncio.Task | None = None

    # -- Reporter ------------------------------------------------------------
    def call_changed(self, call: TrackedCall) -> None:
        self.inner.call_changed(call)
        phase = _PHASE.get(call.state, -1)
        if self._sent.get(call.call_id, -1) >= phase:
            return
        self._sent[call.call_id] = phase
        self._sent.move_to_end(call.call_id)
        while len(self._sent) > _KEPT:
            self._sent.popitem(last=False)
        placed = self.dialer.placed.get(call.call_id)
        meta = self._meta_of_placed(placed) if placed is not None else None
        try:
            self._queue.put_nowait((call_view(call, meta or {}), meta is None))
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

    @staticmethod
    def _meta_of_placed(placed) -> dict:
        return {"agent": placed.agent_name, "agent_id": placed.agent_id,
                "work_item_id": getattr(placed, "work_item_id", None),
                "customer_id": getattr(placed, "customer_id", None),
                "requested_at": utc_iso(placed.requested_at)}

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
        meta = {k: v for k, v in row_view(row[0], row[1]).items()
                if k in ("agent", "agent_id", "work_item_id", "customer_id", "requested_at")}
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

    return await request.app[HUB].serve(request, principal, scope, session.id if session else None, hello)
