"""HTTP handlers of click-to-call: thin, domain errors are mapped by the app."""
from __future__ import annotations

from aiohttp import web

from callcenter.calls.tracker import AGENT, CUSTOMER
from callcenter.calls.view import owner_of_row, said_state, stored_view
from callcenter.calls.recordings import recording_path
from callcenter.clock import utc_iso
from callcenter.customers.privacy import mobile_for
from dialer.exceptions import CallEnded, InvalidRequest
from web.keys import SERVICES
from web.auth import at_least, principal_of, scope_of
from web.requests import json_object


async def _scope(request: web.Request):
    """The hierarchy scope for a team lead's or manager's login (an agent is
    held to their own calls and an admin sees all without a lookup)."""
    principal = principal_of(request)
    if principal.user_id is not None and principal.role in ("teamlead", "manager"):
        return await scope_of(request)
    return None


async def settled_get(request: web.Request, scope):
    """(call, agent, trunk) as :meth:`ClickToCall.get`; a call this server's
    tracker has seen end is read again once its row is written (the writer
    hurried, dialer/ended_rows.py), so that "ended" is said only when the row,
    which a disposition checks on any server, says it too."""
    services = request.app[SERVICES]
    principal, call_id = principal_of(request), request.match_info["call_id"]
    found = await services.dialer.get(principal, call_id, scope)
    ended = services.effects.ended if services.effects is not None else None
    if ended is not None and found[0].state != "ended" and ended.unwritten(found[0].id):
        if await ended.wait(found[0].id):
            found = await services.dialer.get(principal, call_id, scope)
    return found


def call_view(request: web.Request, call, agent, trunk) -> dict:
    """The call as the API shows it: the shape of the pages' live messages
    (:func:`callcenter.calls.view.call_view`, from the row; the tracker's
    state wins, "ended" only once the row says it: ``said_state``), its
    ``direction`` and the dialer's own fields. The customer's number is
    masked for roles outside ``privacy.unmasked_roles``."""
    services = request.app[SERVICES]
    tracked = services.tracker.calls.get(call.id)
    legs = {}
    for role, channel in ((AGENT, call.agent_channel), (CUSTOMER, call.customer_channel)):
        leg = tracked.leg(role) if tracked else None
        legs[role] = {"channel": (leg.channel if leg and leg.channel else channel),
                      "trunk": trunk.name if role == CUSTOMER or call.mode == "mobile" else None}
    return {
        **stored_view(call, owner_of_row(call, agent.name), said_state(call.state, tracked)),
        "mode": call.mode, "number": mobile_for(services.settings, principal_of(request).role, call.number),
        "trunk": trunk.name, "channels": call.channels, "caller_id": call.caller_id,
        "legs": legs, "originated_at": utc_iso(call.originated_at), "ring_seconds": call.ring_seconds,
        "hangup_cause": call.hangup_cause, "hangup_cause_txt": call.hangup_cause_txt, "hangup_by": call.hangup_by,
        "recording_url": f"/api/v1/calls/{call.id}/recording" if call.recording_id else None,
        "requested_by": call.requested_by,
    }


async def place_call(request: web.Request) -> web.Response:
    body = await json_object(request, InvalidRequest, field=None)
    unknown = set(body) - {"agent", "number", "mode", "trunk"}
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    for key in ("agent", "number"):
        if not isinstance(body.get(key), str):
            raise InvalidRequest(f"'{key}' is required and must be a string")
    for key in ("mode", "trunk"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise InvalidRequest(f"'{key}' must be a string")
    services = request.app[SERVICES]
    # the view is built from what place() has in hand, not read back from the database
    call, agent, trunk = await services.dialer.place(principal_of(request), body["agent"], body["number"],
                                                     body.get("mode"), body.get("trunk"))
    return web.json_response(call_view(request, call, agent, trunk), status=202,
                             headers={"Location": f"/api/v1/calls/{call.id}"})


async def get_call(request: web.Request) -> web.Response:
    call, agent, trunk = await settled_get(request, await _scope(request))
    return web.json_response(call_view(request, call, agent, trunk))


async def hangup_call(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await _scope(request)
    try:
        await services.dialer.hangup(principal_of(request), request.match_info["call_id"], scope)
    except CallEnded:
        await settled_get(request, scope)  # "already ended" said once the row says it too
        raise
    call, agent, trunk = await settled_get(request, scope)
    return web.json_response(call_view(request, call, agent, trunk), status=202)


async def get_recording(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    call, _agent, _trunk = await services.dialer.get(principal_of(request), request.match_info["call_id"],
                                                     await _scope(request))
    path = await recording_path(services.sessions, services.settings.pbx.recordings_dir, call)
    if path is None:
        return web.json_response({"error": "recording_not_found", "message": "this call has no recording"}, status=404)
    if "Range" not in request.headers or request.headers["Range"].startswith("bytes=0-"):
        await services.dialer.audit(principal_of(request), "recording.listen", call.id)  # once per playback
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Content-Disposition": f'inline; filename="{call.id}.wav"'})


ROUTES = [
    ("POST", "/api/v1/calls", place_call, at_least("agent"), "Place a two-leg click-to-call"),
    ("GET", "/api/v1/calls/{call_id}", get_call, at_least("agent"), "A call's state and record"),
    ("POST", "/api/v1/calls/{call_id}/hangup", hangup_call, at_least("agent"), "Hang up both legs"),
    ("GET", "/api/v1/calls/{call_id}/recording", get_recording, at_least("agent"),
     "The call's recording (WAV, HTTP range requests)"),
]
