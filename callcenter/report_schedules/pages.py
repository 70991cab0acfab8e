"""Pages of the mailed reports (managers and admins): /reports/schedules
lists the schedules with their last run and makes a new one;
/reports/schedules/{id} shows one with its runs (status, error) and the mails
it produced (delivery state, attempts), changes it, pauses or resumes it,
deletes it, and sends it now."""
from __future__ import annotations

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.org.http import actor_of, scoped
from callcenter.org.pages import form_dict
from callcenter.report_schedules import history, service
from callcenter.report_schedules.contents import TITLES
from callcenter.report_schedules.http import schedule_id_of, wake_dispatcher
from callcenter.report_schedules.models import FORMATS, PERIODS, RECIPIENT_ROLES
from callcenter.report_schedules.runner import send_now
from callcenter.reports.campaigns import visible_campaigns
from web.auth import at_least
from web.keys import SERVICES
from web.render import flash, render
from web.requests import whole_number

ROLE_LABELS = {"teamlead": "Team leads (their team)", "manager": "Managers (their location)",
               "admin": "Admins (everything)"}
COMMON = {"titles": TITLES, "periods": PERIODS, "formats": FORMATS, "role_labels": ROLE_LABELS,
          "status_labels": {"pending": "Pending", "sending": "Sending", "sent": "Sent", "failed": "Failed"}}


def see_other(location: str, message: str | None = None) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    if message:
        flash(response, message)
    return response


async def _form_data(request: web.Request) -> tuple[dict, dict]:
    post = await request.post()
    values = form_dict(post)
    roles = [r for r in post.getall("roles", []) if isinstance(r, str)]
    data = {"name": values.get("name", ""), "report": values.get("report"),
            "campaign_id": whole_number(values.get("campaign_id")), "period": values.get("period"),
            "formats": values.get("formats"), "roles": roles, "emails": values.get("emails", ""),
            "send_at": values.get("send_at", ""), "active": values.get("active") == "1"}
    return data, {**values, "roles": roles}


def _values(row) -> dict:
    return {**history.schedule_json(row), "emails": "\n".join(row.email_list), "campaign_id": row.campaign_id}


async def _choices(session, scope) -> dict:
    roles = [r for r in RECIPIENT_ROLES if scope.sees_all or r != "admin"]
    return {"campaigns": await visible_campaigns(session, scope), "roles": roles, **COMMON}


async def list_page(request: web.Request) -> web.Response:
    error, values, status = None, {"period": "yesterday", "formats": "csv", "send_at": "07:00",
                                   "report": "agents", "roles": [], "active": True}, 200
    async with scoped(request) as (session, scope):
        if request.method == "POST":
            data, values = await _form_data(request)
            try:
                row = await service.create(session, scope, data, actor=actor_of(request))
                await session.commit()
                return see_other(f"/reports/schedules/{row.id}", "Schedule saved.")
            except DomainError as exc:
                await session.rollback()
                error, status = exc, exc.status
        rows = await service.list_schedules(session, scope)
        runs = await history.runs(session, [r.id for r in rows], limit=1)
        return render(request, "report_schedules/list.html", {
            "rows": rows, "runs": runs, "values": values, "error": error,
            "timezone": request.app[SERVICES].settings.web.timezone, **(await _choices(session, scope))},
            status=status)


async def detail_page(request: web.Request) -> web.Response:
    schedule_id = schedule_id_of(request)
    error, status = None, 200
    async with scoped(request) as (session, scope):
        row = await service.get(session, scope, schedule_id)
        values = _values(row)
        if request.method == "POST":
            data, values = await _form_data(request)
            try:
                await service.update(session, scope, schedule_id, data, actor=actor_of(request))
                await session.commit()
                return see_other(f"/reports/schedules/{schedule_id}", "Schedule saved.")
            except DomainError as exc:
                await session.rollback()
                error, status = exc, exc.status
                row = await service.get(session, scope, schedule_id)
        return render(request, "report_schedules/detail.html", {
            "row": row, "values": values, "error": error,
            "runs": (await history.runs(session, [row.id]))[row.id], "mails": await history.mails(session, row.id),
            "timezone": request.app[SERVICES].settings.web.timezone, **(await _choices(session, scope))},
            status=status)


async def act(request: web.Request) -> web.Response:
    """POST /reports/schedules/{id}/{action}: send (now), pause, resume, delete."""
    services = request.app[SERVICES]
    schedule_id, action = schedule_id_of(request), request.match_info["action"]
    if action not in ("send", "pause", "resume", "delete"):
        raise web.HTTPNotFound()
    async with scoped(request, write=True) as (session, scope):
        if action == "delete":
            await service.delete(session, scope, schedule_id, actor=actor_of(request))
            return see_other("/reports/schedules", "Schedule deleted.")
        if action in ("pause", "resume"):
            await service.update(session, scope, schedule_id, {"active": action == "resume"},
                                 actor=actor_of(request))
            message = "Paused: it sends nothing until resumed." if action == "pause" else "Resumed."
        else:
            row = await service.get(session, scope, schedule_id)
            detail = await send_now(session, row, services.settings.web.timezone, actor=actor_of(request))
            message = f"{detail['mails']} mail(s) queued for {detail['date']}."
    if action == "send":
        wake_dispatcher(services)
    return see_other(f"/reports/schedules/{schedule_id}", message)


MANAGER = at_least("manager")
ROUTES = [
    ("GET", "/reports/schedules", list_page, MANAGER, "Page: mailed report schedules and a new one"),
    ("POST", "/reports/schedules", list_page, MANAGER, "Make a report schedule (form)"),
    ("GET", "/reports/schedules/{id}", detail_page, MANAGER,
     "Page: a report schedule with its runs and its mails' delivery"),
    ("POST", "/reports/schedules/{id}", detail_page, MANAGER, "Change a report schedule (form)"),
    ("POST", "/reports/schedules/{id}/{action}", act, MANAGER,
     "Send a report schedule now, pause, resume or delete it (form)"),
]
