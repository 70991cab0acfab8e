"""The customer 360 page (/customers/{id}?item=): profile, upload data,
history with playable recordings, appointments, survey answers, the call
button for the chosen work item and its disposition form, which opens when
the panel reports the end of this item's call (web/static/disposition.js)
and must be submitted before the next call."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web
from callcenter.campaigns.models import Campaign
from callcenter.campaigns.service import not_callable_reason
from callcenter.customers.profile import profile
from callcenter.customers.profile_http import customer_id_of
from callcenter.models import utcnow
from callcenter.work import calling, dispositions
from callcenter.work.disposition_pages import BUCKET_LABELS, form_view
from callcenter.work.exceptions import WorkItemNotFound
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import whole_number


def _chosen(work_items: list[dict], wanted: int | None) -> dict | None:
    if wanted is not None:
        for item in work_items:
            if item["id"] == wanted:
                return item
        raise WorkItemNotFound("no such work item for this customer")
    return next((i for i in work_items if i["bucket"] != "closed"), work_items[0] if work_items else None)


async def customer_page(request: web.Request, customer_id: int, item_id: int | None,
                        submitted: dict | None = None, status: int = 200) -> web.Response:
    """Render the page; ``submitted`` carries a refused disposition back
    (answers, remarks, call_id, errors, message)."""
    services = request.app[SERVICES]
    settings = services.settings
    principal = principal_of(request)
    scope = await scope_of(request)
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.web.timezone)).date()
    async with services.sessions() as session, session.begin():
        view = await profile(session, scope, settings, principal.role, customer_id,
                             actor=principal.name, work_item_id=item_id)
        item = _chosen(view["work_items"], item_id)
        owed = await calling.owed_disposition(session, principal.user_id)
        # a call of this item not ended yet (whoever placed it): no disposition without a call meanwhile
        live = await dispositions.live_call(session, item["id"]) if item else None
        campaign = await session.get(Campaign, item["campaign_id"]) if item else None
        form = None
        not_callable = None
        if campaign is not None:
            submitted_answers = (submitted or {}).get("answers")
            form = form_view(campaign.form, submitted_answers, (submitted or {}).get("errors"), now,
                             settings.web.timezone, campaign.expires_on)
            not_callable = not_callable_reason(campaign, today)
    owed_here = owed is not None and item is not None and owed.work_item_id == item["id"]
    ended_here = owed_here and owed.state == "ended"  # the form opens at once
    call_id = (submitted or {}).get("call_id") or (owed.id if owed_here else "")
    open_form = bool(ended_here or submitted)
    return render(request, "customer/profile.html", {
        "view": view, "c": view["customer"], "item": item, "form": form, "campaign": campaign,
        "owed": owed, "owed_here": owed_here, "ended_here": ended_here, "call_id": call_id,
        "call_live": live is not None,
        "not_callable": not_callable if item and item["bucket"] != "closed" else None,
        "submitted": submitted or {}, "bucket_labels": BUCKET_LABELS,
        "open_form": open_form,
        # a note without a call: not while a call is live or another call's disposition is owed
        "call_less": not open_form and owed is None and live is None,
        "duration": _duration,
        "labels": {q["key"]: q["label"] for q in campaign.form.get("questions", [])} if campaign else {},
    }, status=status)


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


async def customer_page_get(request: web.Request) -> web.Response:
    raw = request.query.get("item")
    item_id = whole_number(raw)
    if raw and item_id is None:
        raise WorkItemNotFound("no such work item")
    return await customer_page(request, customer_id_of(request), item_id)


ROUTES = [
    ("GET", "/customers/{id}", customer_page_get, at_least("agent"),
     "The customer 360 page (?item= picks the work item): history, recordings, the call button "
     "and the disposition form"),
]
