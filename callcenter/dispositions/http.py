"""JSON API of dispositions (thin handlers: the rules are in service.py)."""
from __future__ import annotations

from aiohttp import web

from callcenter.dispositions import service as dispositions
from callcenter.models import utcnow
from callcenter.work import calling
from callcenter.work.http import item_id_of
from callcenter.dispositions.live import disposition_saved
from callcenter.work.sweeper import nudge
from dialer.exceptions import InvalidRequest
from web.auth import at_least, principal_of, scope_of
from callcenter.clock import utc_iso
from web.keys import SERVICES
from web.requests import json_object


def item_view(item) -> dict:
    return {"id": item.id, "campaign_id": item.campaign_id, "customer_id": item.customer_id,
            "agent_id": item.agent_id, "bucket": item.bucket, "outcome": item.outcome,
            "attempts": item.attempts, "next_attempt_at": utc_iso(item.next_attempt_at),
            "followup_at": utc_iso(item.followup_at), "appointment_at": utc_iso(item.appointment_at),
            "last_call_id": item.last_call_id}


def disposition_view(d) -> dict:
    return {"id": d.id, "work_item_id": d.work_item_id, "call_id": d.call_id, "agent_id": d.agent_id,
            "campaign_id": d.campaign_id, "outcome": d.outcome, "reason": d.reason,
            "bucket_after": d.bucket_after, "answers": d.answers, "remarks": d.remarks,
            "followup_at": utc_iso(d.followup_at), "appointment_at": utc_iso(d.appointment_at),
            "created_at": utc_iso(d.created_at)}


async def submit_disposition(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request, InvalidRequest, field=None)
    unknown = set(body) - {"call_id", "answers", "remarks"}
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    if not isinstance(body.get("answers"), dict):
        raise InvalidRequest("'answers' is required: an object of question key -> answer")
    if body.get("call_id") is not None and not isinstance(body["call_id"], str):
        raise InvalidRequest("'call_id' must be a call's id")
    remarks = body.get("remarks") or ""
    if not isinstance(remarks, str):
        raise InvalidRequest("'remarks' must be text")
    scope = await scope_of(request)
    async with services.sessions() as session, session.begin():
        done = await dispositions.submit(
            session, scope, item_id_of(request), body.get("call_id"), body["answers"], remarks,
            principal_of(request).name, services.settings, utcnow())
        view = {"disposition": disposition_view(done.disposition), "work_item": item_view(done.item),
                "appointment_id": done.appointment.id if done.appointment else None,
                "enriched": sorted(done.enriched)}
    await nudge(services, done.item.agent_id, done.disposition.agent_id)
    await disposition_saved(services, done.disposition)
    return web.json_response(view, status=200 if done.repeated else 201)


async def owed_disposition(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SERVICES].sessions() as session:
        call = await calling.owed_disposition(session, principal.user_id)
    if call is None:
        return web.json_response({"call": None})
    return web.json_response({"call": {"id": call.id, "work_item_id": call.work_item_id,
                                       "direction": call.direction or "outbound",
                                       "state": call.state, "ended_at": utc_iso(call.ended_at)}})


ROUTES = [
    ("POST", "/api/v1/work/{item_id}/dispositions", submit_disposition, at_least("agent"),
     "Submit a disposition (call_id optional; answers per the campaign's form; remarks); "
     "sent again with the same answers it answers 200 with the one saved (never saved twice)"),
    ("GET", "/api/v1/dispositions/owed", owed_disposition, at_least("agent"),
     "The caller's call from a work item still waiting for its disposition, if any"),
]
