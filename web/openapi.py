"""The OpenAPI 3.1 document, built from the routes table so it cannot drift."""
from __future__ import annotations

import re

from web.auth import PUBLIC

_ERROR = {"type": "object", "required": ["error", "message"],
          "properties": {"error": {"type": "string", "description": "stable error id"},
                         "message": {"type": "string"}}}
_LEG = {"type": "object", "properties": {"channel": {"type": ["string", "null"]},
                                         "trunk": {"type": ["string", "null"]}}}
_CALL = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "state": {"enum": ["queued", "agent_ringing", "customer_ringing", "connected", "ended"],
                  "description": "ended once the call's row is: a disposition sent on it is accepted"},
        "direction": {"enum": ["outbound", "inbound"]},
        "inbound_call_id": {"type": "string", "description": "an inbound call's IVR/queue record"},
        "hangup_url": {"type": "string", "description": "an inbound call's own hang-up route"},
        "agent": {"type": "string"}, "mode": {"enum": ["desktop", "mobile", "browser"]},
        **{k: {"type": ["integer", "null"]} for k in ("agent_id", "work_item_id", "customer_id")},
        "number": {"type": "string", "description": "E.164"}, "trunk": {"type": "string"},
        "channels": {"type": "integer"}, "caller_id": {"type": "string"},
        "legs": {"type": "object", "properties": {"agent": _LEG, "customer": _LEG}},
        **{k: {"type": ["string", "null"], "format": "date-time"} for k in (
            "requested_at", "originated_at", "agent_answered_at", "connected_at", "ended_at")},
        "ring_seconds": {"type": ["number", "null"]}, "talk_seconds": {"type": ["number", "null"]},
        "end_reason": {"type": ["string", "null"], "description": (
            "completed, agent_no_answer, agent_busy, agent_rejected, agent_unreachable, agent_hungup, "
            "agent_cancelled, customer_busy, customer_no_answer, customer_rejected, customer_unreachable, "
            "invalid_number, originate_timeout, originate_failed, pbx_disconnected, trunk_full, cancelled, "
            "max_call_age, max_ring_time (hung up by the system: connected or ringing too long), "
            "ended_unseen (no process saw the end; found over with no channel left)")},
        "hangup_cause": {"type": ["integer", "null"]}, "hangup_cause_txt": {"type": ["string", "null"]},
        "hangup_by": {"type": ["string", "null"], "enum": ["agent", "customer", "system", None]},
        "recording_url": {"type": ["string", "null"]},
    },
}
_PLACE = {"type": "object", "required": ["agent", "number"], "additionalProperties": False,
          "properties": {"agent": {"type": "string"},
                         "number": {"type": "string", "description": "+91, spaces, dashes, a leading 0 accepted"},
                         "mode": {"enum": ["desktop", "mobile", "browser"]}, "trunk": {"type": "string"}}}
_RESPONSES = {
    ("POST", "/api/v1/calls"): {"202": "_CALL", "404": "agent_not_found", "409": "agent_busy",
                                "422": "invalid_number, invalid_request, agent_has_no_phone, number_dnd, "
                                       "trunk_on_other_node (the agent's phone and the trunk on different PBX nodes)",
                                "503": "trunk_full (with Retry-After), no_trunk, pbx_unavailable (the trunk's "
                                       "PBX node not reachable; with Retry-After)"},
    ("GET", "/api/v1/calls/{call_id}"): {"200": "_CALL", "404": "call_not_found"},
    ("POST", "/api/v1/calls/{call_id}/hangup"): {"202": "_CALL", "404": "call_not_found", "409": "call_ended"},
    ("POST", "/api/v1/work/{item_id}/call"): {
        "202": "_CALL", "404": "work_item_not_found",
        "409": "disposition_required, campaign_not_callable, agent_busy",
        "422": "number_dnd, invalid_number", "503": "trunk_full, no_trunk, pbx_unavailable"},
    ("POST", "/api/v1/work/{item_id}/dispositions"): {
        "201": "the disposition and the item's new bucket", "404": "work_item_not_found, call_not_found",
        "409": "already_disposed, call_not_ended, call_not_for_item, work_item_closed",
        "422": "invalid_answers (errors per question)"},
    ("GET", "/api/v1/audit"): {
        "200": "entries (id, at, actor, actor_kind, action, object, object_id, summary, request_id), newest "
               "first; next_before and next: the older page's cursor and link (null at the end)",
        "400": "invalid_audit_filter (field names the filter: a bad date, id or limit)"},
    ("GET", "/api/v1/audit.csv"): {"200": "text/csv, the rows of the filters (audited as a bulk view)",
                                   "400": "invalid_audit_filter"},
}


def document(routes) -> dict:
    paths: dict = {}
    for method, path, _handler, roles, summary in routes:
        if not path.startswith("/api/") and path not in ("/healthz", "/metrics"):
            continue  # browser pages (HTML, session cookie) are not part of the API
        op: dict = {"summary": summary, "x-roles": list(roles)}
        if PUBLIC not in roles:
            # a bearer token, or the browser session cookie plus X-CSRF-Token on changes
            op["security"] = [{"bearer": []}, {"session": []}]
        params = re.findall(r"{(\w+)}", path)
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
        if method in ("POST", "PUT", "PATCH") and (method, path) != ("POST", "/api/v1/calls"):
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        if (method, path) == ("POST", "/api/v1/calls"):
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _PLACE}}}
        responses = {}
        for status, what in _RESPONSES.get((method, path), {"200": "OK"}).items():
            if what == "_CALL":
                responses[status] = {"description": "the call", "content": {"application/json": {"schema": _CALL}}}
            elif status.startswith(("4", "5")):
                responses[status] = {"description": what, "content": {"application/json": {"schema": _ERROR}}}
            else:
                responses[status] = {"description": what}
        if PUBLIC not in roles:
            responses.setdefault("401", {"description": "unauthenticated", "content": {"application/json": {"schema": _ERROR}}})
            responses.setdefault("403", {"description": "forbidden", "content": {"application/json": {"schema": _ERROR}}})
        op["responses"] = responses
        paths.setdefault(path, {})[method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": "callcenter API", "version": "1"},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "cc_session"}}},
            "paths": paths}
