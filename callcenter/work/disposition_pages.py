"""The disposition form in the browser: the form's data turned into what the
template shows (questions visible on the path the answers take, values,
errors, date limits), and the form's POST: on success back to the start page
(the buckets) with a flash message; on a problem the customer page again,
with every error beside its question and nothing lost."""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.models import utcnow
from callcenter.outages import as_outage
from callcenter.work import dispositions, exceptions as exc
from callcenter.work.form_answers import LANGUAGES, RANGES, evaluate
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import flash, render
from web.requests import path_int

log = logging.getLogger(__name__)

ANSWER_PREFIX = "a."
BUCKET_LABELS = {"non_contact": "Non-contact", "future_followup": "Future follow-up",
                 "appointment": "Appointment booked", "closed": "Closed",
                 "pending_followup": "Pending follow-up", "fresh": "Fresh calls"}


def form_view(form: dict, answers: dict | None, errors: dict | None, now: dt.datetime, tz: str,
              expires_on: dt.date | None) -> dict:
    """{"start": [...], "questions": [...], "remarks_label": ...} for the template:
    each question with ``visible`` (on the path the answers take), its
    ``value`` as the browser sends it, its ``error``, and input limits."""
    answers = answers or {}
    zone = ZoneInfo(tz)
    path = set(evaluate(form, answers, now, zone, expires_on=expires_on).path)
    local_now = now.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    latest = f"{expires_on.isoformat()}T23:59" if expires_on else None
    today = now.astimezone(zone).date().isoformat()
    questions = []
    for q in form["questions"]:
        view = {"key": q["key"], "label": q["label"], "kind": q["kind"], "required": bool(q.get("required")),
                "visible": q["key"] in path, "value": answers.get(q["key"], ""),
                "error": (errors or {}).get(q["key"]), "options": [], "min": None, "max": None,
                "max_length": q.get("max_length", 500)}
        if q["kind"] == "choice":
            view["options"] = [{"value": o["value"], "label": o["label"],
                                "next": " ".join(o.get("next", []))} for o in q["options"]]
        elif q["kind"] in RANGES:
            low, high = RANGES[q["kind"]]
            view["options"] = [{"value": str(n), "label": str(n), "next": ""} for n in range(low, high + 1)]
        elif q["kind"] == "language":
            codes = [o["value"] for o in q["options"]] if q.get("options") else list(LANGUAGES)
            view["options"] = [{"value": c, "label": LANGUAGES.get(c, c), "next": ""} for c in codes]
        elif q["kind"] == "datetime" and q.get("sets"):
            view["min"], view["max"] = local_now, latest
        elif q["kind"] == "date" and q.get("enriches") in ("birthday", "anniversary"):
            view["max"] = today
        questions.append(view)
    return {"start": " ".join(form["start"]), "questions": questions,
            "remarks_label": (form.get("remarks") or {}).get("label", "Remarks"),
            "remarks_max": (form.get("remarks") or {}).get("max_length", dispositions.REMARKS_MAX)}


def kept_page(request: web.Request, item_id: int, data, outage) -> web.Response:
    """503 page holding what the agent sent (hidden fields, sent again after
    Retry-After by static/disposition_kept.js): nothing typed is lost while the
    database is unavailable, and the retry saves it once (dispositions.submit)."""
    fields = [(k, v) for k, v in data.items() if isinstance(v, str)
              and (k in ("call_id", "remarks") or k.startswith(ANSWER_PREFIX))]
    response = render(request, "disposition/kept.html", {
        "item_id": item_id, "fields": fields, "message": outage.message.replace(
            "nothing was changed; ", ""), "error_id": outage.error_id,
        "retry_after": outage.retry_after}, status=503)
    response.headers["Retry-After"] = str(outage.retry_after)
    return response


def saved_message(done) -> str:
    item = done.item
    text = f"Disposition saved: {BUCKET_LABELS.get(item.bucket, item.bucket)}"
    if item.outcome == dispositions.UNREACHABLE:
        text += " (unreachable after the last attempt)"
    return text + "."


async def submit_form(request: web.Request) -> web.Response:
    """POST /work/{item_id}/disposition (the form on the customer page)."""
    from callcenter.customers import profile_pages  # the page re-rendered on a problem

    services = request.app[SERVICES]
    principal = principal_of(request)
    item_id = path_int(request, "item_id", exc.WorkItemNotFound("no such work item"))
    data = await request.post()
    answers = {k[len(ANSWER_PREFIX):]: v for k, v in data.items()
               if k.startswith(ANSWER_PREFIX) and isinstance(v, str)}
    call_id = data.get("call_id") or None
    remarks = data.get("remarks") or ""
    try:
        scope = await scope_of(request)
        async with services.sessions() as session, session.begin():
            done = await dispositions.submit(session, scope, item_id, call_id, answers, remarks,
                                             principal.name, services.settings, utcnow())
            customer_id = done.item.customer_id
    except exc.WorkItemNotFound:
        raise
    except Exception as error:  # noqa: BLE001 - sorted below: an outage keeps the answers
        outage = as_outage(error)
        if outage is not None:
            log.warning("disposition of work item %s not saved (%s): the answers are kept on the page",
                        item_id, outage.error_id)
            return kept_page(request, item_id, data, outage)
        if not isinstance(error, DomainError):
            raise
        done = error
    if isinstance(done, DomainError):
        error = done
        async with services.sessions() as session:
            item = await dispositions.item_in_scope(session, scope, item_id)
        return await profile_pages.customer_page(
            request, item.customer_id, item_id, submitted={
                "answers": answers, "remarks": remarks, "call_id": call_id,
                "errors": error.details.get("errors") or {}, "message": error.message},
            status=error.status)
    await dispositions.nudge(services, done.item.agent_id, done.disposition.agent_id)
    log.info("disposition %s saved from the page of customer %s", done.disposition.id, customer_id)
    response = web.Response(status=303, headers={"Location": "/"})
    flash(response, saved_message(done))
    return response


ROUTES = [
    ("POST", "/work/{item_id}/disposition", submit_form, at_least("agent"),
     "Submit the disposition form of the customer page (then back to the buckets)"),
]
