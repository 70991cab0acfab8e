"""The HR source page (/admin/hrsource, admins): its settings (secrets shown
only as set or not set; a blank field keeps them), "Fetch now" (then the
head-count report of the fetched list, with its commit button), and the
fetches so far with their errors in plain words."""
from __future__ import annotations

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.hrsource import source as hr
from callcenter.hrsource.fetch import Fetcher, list_fetches
from callcenter.hrsource.records import FIELDS, LABELS
from web.auth import principal_of
from web.keys import SERVICES
from web.render import render

ADMIN = ("admin",)
TEXT_FIELDS = ("list_url", "list_path", "auth", "token_url", "token_body", "client_id", "scope",
               "active_statuses", "paging", "next_field", "page_param", "max_pages", "timeout_seconds",
               "daily_at", "max_leavers_percent")


async def _page(request: web.Request, *, error: DomainError | None = None, values: dict | None = None,
                fetch_error: DomainError | None = None) -> web.Response:
    services = request.app[SERVICES]
    async with services.sessions() as session:
        source = hr.source_json(await hr.get_source(session))
        fetches = await list_fetches(session, 30)
    status = (error or fetch_error).status if (error or fetch_error) else 200
    return render(request, "hrsource/index.html", {
        "source": source, "values": values or {**source, **{f"map_{k}": v for k, v in source["mapping"].items()}},
        "fields": [(name, LABELS[name]) for name in FIELDS], "fetches": fetches, "error": error,
        "fetch_error": fetch_error, "saved": request.query.get("saved"),
        "timezone": services.settings.web.timezone}, status=status)


async def source_page(request: web.Request) -> web.Response:
    return await _page(request)


def _changes(post) -> dict:
    """The form as settings (a field left out is kept; checkboxes absent = off; secrets blank = kept)."""
    text = {k: v for k, v in post.items() if isinstance(v, str)}
    changes = {name: text[name] for name in TEXT_FIELDS if name in text}
    changes["enabled"] = "enabled" in text
    changes["auto_commit"] = "auto_commit" in text
    changes["mapping"] = {name: text.get(f"map_{name}", "").strip() for name in FIELDS}
    for secret in hr.SECRETS:
        changes[secret] = None if f"forget_{secret}" in text else text.get(secret, "")
    return changes


async def save_source(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    post = await request.post()
    changes = _changes(post)
    try:
        async with services.sessions() as session:
            await hr.update_source(session, services.settings, changes, actor=principal_of(request).name)
            await session.commit()
    except DomainError as exc:
        shown = {k: v for k, v in changes.items() if k not in hr.SECRETS and k != "mapping"}
        shown.update({f"map_{k}": v for k, v in changes["mapping"].items()})
        return await _page(request, error=exc, values=shown)
    raise web.HTTPSeeOther("/admin/hrsource?saved=1")


async def fetch_now(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        fetch = await Fetcher(services.sessions, services.settings).fetch(
            trigger="manual", actor=principal_of(request).name)
    except DomainError as exc:
        return await _page(request, fetch_error=exc)
    raise web.HTTPSeeOther(f"/admin/headcount/{fetch.upload_id}")


ROUTES = [
    ("GET", "/admin/hrsource", source_page, ADMIN, "HR source page: settings, fetch now, the fetches"),
    ("POST", "/admin/hrsource", save_source, ADMIN, "Save the HR source's settings (form)"),
    ("POST", "/admin/hrsource/fetch", fetch_now, ADMIN, "Fetch the head count from the HR system now (form)"),
]
