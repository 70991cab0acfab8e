"""The disposition form in the browser: the work side of the customer 360
page (``customer_panel``: the chosen item's call button, its form, the call
owed), the form's data turned into what the template shows (questions
visible on the path the answers take, values, errors, date limits), and the
form's POST: on success back to the start page (the buckets) with a flash
message; on a problem the customer page again, with every error beside its
question and nothing lost."""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from aiohttp import web

from callcenter.campaigns.models import Campaign
from callcenter.campaigns.service import not_callable_reason
from callcenter.customers import pages as customer_pages
from callcenter.dispositions import history
from callcenter.dispositions import service as dispositions
from callcenter.dispositions.answers import LANGUAGES, RANGES, evaluate
from callcenter.errors import DomainError
from callcenter.models import utcnow
from callcenter.outages import as_outage
from callcenter.work import calling
from callcenter.work.exceptions import WorkItemNotFound
from callcenter.dispositions.live import disposition_saved
from callcenter.work.sweeper import nudge
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


async def customer_panel(session, principal, settings, item: dict | None,
                         submitted: dict | None) -> dict:
    """The 360 page's fields for the chosen work item (customers.pages.WorkPanel)."""
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.web.timezone)).date()
    owed = await calling.owed_disposition(session, principal.user_id)
    # a call of this item not ended yet (whoever placed it): no disposition without a call meanwhile
    live = await calling.live_call(session, item["id"]) if item else None
    campaign = await session.get(Campaign, item["campaign_id"]) if item else None
    form = None
    not_callable = None
    if campaign is not None:
        form = form_view(campaign.form, (submitted or {}).get("answers"), (submitted or {}).get("errors"),
                         now, settings.web.timezone, campaign.expires_on)
        not_callable = not_callable_reason(campaign, today)
    owed_here = owed is not None and item is not None and owed.work_item_id == item["id"]
    ended_here = owed_here and owed.state == "ended"  # the form opens at once
    call_id = (submitted or {}).get("call_id") or (owed.id if owed_here else "")
    open_form = bool(ended_here or submitted)
    return {
        "form": form, "campaign": campaign, "owed": owed, "owed_here": owed_here,
        "ended_here": ended_here, "call_id": call_id, "call_live": live is not None,
        "not_callable": not_callable if item and item["bucket"] != "closed" else None,
        "submitted": submitted or {}, "bucket_labels": BUCKET_LABELS, "open_form": open_form,
        # a note without a call: not while a call is live or another call's disposition is owed
        "call_less": not open_form and owed is None and live is None,
        "labels": {q["key"]: q["label"] for q in campaign.form.get("questions", [])} if campaign else {},
    }


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
    services = request.app[SERVICES]
    principal = principal_of(request)
    item_id = path_int(request, "item_id", WorkItemNotFound("no such work item"))
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
    except WorkItemNotFound:
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
            item = await calling.item_in_scope(session, scope, item_id)
        return await customer_pages.customer_page(
            request, item.customer_id, item_id, history=history, panel=customer_panel, submitted={
                "answers": answers, "remarks": remarks, "call_id": call_id,
                "errors": error.details.get("errors") or {}, "message": error.message},
            status=error.status)
    await nudge(services, done.item.agent_id, done.disposition.agent_id)
    await disposition_saved(services, done.disposition)
    log.info("disposition %s saved from the page of customer %s", done.disposition.id, customer_id)
    response = web.Response(status=303, headers={"Location": "/"})
    flash(response, saved_message(done))
    return response


ROUTES = [
    ("POST", "/work/{item_id}/disposition", submit_form, at_least("agent"),
     "Submit the disposition form of the customer page (then back to the buckets)"),
]
