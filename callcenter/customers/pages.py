"""Customer pages: the customer 360 (/customers/{id}?item=): profile,
upload data, history with playable recordings, appointments, survey
answers, and for the chosen work item the call button and its disposition
form, which opens when the panel reports the end of this item's call
(web/static/disposition.js) and must be submitted before the next call;
and the DND list (search, add one number, import a file, remove for admins).

The work side of the 360 (the call button, the form, the call owed) is the
dispositions feature's ``WorkPanel`` and the history its ``History``, both
handed in where the 360's routes are declared (callcenter/dispositions/feature.py)."""
from __future__ import annotations

from functools import partial
from typing import Protocol
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers import dnd, dnd_import, erasure
from callcenter.customers.exceptions import (CustomerAlreadyErased, CustomerNotFound, CustomerOnCall,
                                             ErasureInvalid, MessagesOptOutInvalid, ProfileItemNotFound)
from callcenter.customers.http import customer_id_of
from callcenter.customers.messages_opt_out import set_messages_opt_out
from callcenter.customers.models import Customer
from callcenter.customers.profile import History, profile
from callcenter.errors import DomainError
from callcenter.models import User
from callcenter.spreadsheets.http import receive_file
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import page_number, whole_number

PAGE = 50


class WorkPanel(Protocol):
    """The work side of the 360 page for the chosen work item."""

    async def __call__(self, session: AsyncSession, principal, settings, item: dict | None,
                       submitted: dict | None) -> dict:
        """The page's fields for ``item``: the call button, the disposition
        form (with ``submitted``: a refused disposition's answers, remarks,
        call_id, errors, message), the call the caller owes a disposition for."""


def _chosen(work_items: list[dict], wanted: int | None) -> dict | None:
    if wanted is not None:
        for item in work_items:
            if item["id"] == wanted:
                return item
        raise ProfileItemNotFound("no such work item for this customer")
    return next((i for i in work_items if i["bucket"] != "closed"), work_items[0] if work_items else None)


async def customer_page(request: web.Request, customer_id: int, item_id: int | None, *,
                        history: History, panel: WorkPanel, submitted: dict | None = None,
                        status: int = 200, erase_error: DomainError | None = None,
                        erase_reason: str = "") -> web.Response:
    """Render the 360 page; ``submitted`` carries a refused disposition back
    (answers, remarks, call_id, errors, message), ``erase_error`` a refused
    erasure (with the reason typed)."""
    services = request.app[SERVICES]
    settings = services.settings
    principal = principal_of(request)
    scope = await scope_of(request)
    async with services.sessions() as session, session.begin():
        view = await profile(session, scope, settings, principal.role, customer_id, history=history,
                             actor=principal.name, work_item_id=item_id)
        item = _chosen(view["work_items"], item_id)
        work = await panel(session, principal, settings, item, submitted)
        me = await session.get(User, principal.user_id) if principal.user_id is not None else None
    return render(request, "customer/profile.html", {
        "view": view, "c": view["customer"], "item": item, "duration": _duration, **work,
        "my_name": (me.display_name or me.name) if me is not None else principal.name,  # my live calls' "By"
        "can_erase": principal.role == "admin" and not view["customer"]["erased"],
        "erase_error": erase_error, "erase_reason": erase_reason,
        "just_erased": request.query.get("erased") == "1"}, status=status)


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


async def customer_page_get(request: web.Request, *, history: History, panel: WorkPanel) -> web.Response:
    raw = request.query.get("item")
    item_id = whole_number(raw)
    if raw and item_id is None:
        raise ProfileItemNotFound("no such work item")
    return await customer_page(request, customer_id_of(request), item_id, history=history, panel=panel)


async def erase_page(request: web.Request, *, history: History, panel: WorkPanel,
                     parts) -> web.Response:
    """The 360's danger zone: a reason and the mobile's last 4 digits typed again."""
    services = request.app[SERVICES]
    customer_id = customer_id_of(request)
    post = await request.post()
    reason = str(post.get("reason", ""))[:erasure.REASON_MAX + 1]
    try:
        await erasure.erase_now(services.sessions, services.settings, customer_id,
                                actor=principal_of(request).name, reason=reason, parts=parts,
                                confirm_last4=str(post.get("confirm", "")), require_confirmation=True)
    except (ErasureInvalid, CustomerAlreadyErased, CustomerOnCall) as exc:
        return await customer_page(request, customer_id, None, history=history, panel=panel,
                                   status=exc.status, erase_error=exc, erase_reason=reason)
    raise web.HTTPSeeOther(f"/customers/{customer_id}?erased=1")


async def messages_opt_out_page(request: web.Request, *, history: History) -> web.Response:
    """The 360's "No promotional messages" switch (form: opt_out=1 marks, 0 clears)."""
    services = request.app[SERVICES]
    customer_id = customer_id_of(request)
    scope = await scope_of(request)
    wanted = str((await request.post()).get("opt_out", ""))
    if wanted not in ("0", "1"):
        raise MessagesOptOutInvalid("opt_out must be 1 (no promotional messages) or 0", field="opt_out")
    async with services.sessions() as session, session.begin():
        customer = await session.scalar(select(Customer).where(Customer.id == customer_id,
                                                               history.customers_in(scope)))
        if customer is None:
            raise CustomerNotFound("no such customer", customer_id=customer_id)
        set_messages_opt_out(session, customer, wanted == "1", source="staff", actor=principal_of(request).name)
    raise web.HTTPSeeOther(f"/customers/{customer_id}#messages-opt-out")


async def _dnd_context(request: web.Request, scope) -> dict:
    services = request.app[SERVICES]
    page = page_number(request)
    q = request.query.get("q", "").strip()[:20]
    async with services.sessions() as session:
        try:
            rows, total = await dnd.list_numbers(session, search=q or None, limit=PAGE,
                                                 offset=(page - 1) * PAGE)
            search_error = None
        except DomainError as exc:
            rows, total, search_error = [], 0, exc.message
        recent = await dnd_import.recent_uploads(session, scope, limit=10)
    return {"numbers": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)),
            "q": q, "search_error": search_error, "recent": recent,
            "can_remove": scope.sees_all, "max_mb": services.settings.work.upload_max_mb,
            "added": request.query.get("added"), "removed": request.query.get("removed"),
            "already": request.query.get("already")}


async def dnd_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    context = await _dnd_context(request, scope)
    await viewed(request, audit.CUSTOMERS_VIEWED, rows=len(context["numbers"]), list="dnd", q=context["q"],
                 page=context["page"])
    return render(request, "dnd/index.html", {**context, "error": None})


async def _error_page(request: web.Request, scope, error: DomainError) -> web.Response:
    return render(request, "dnd/index.html", {**await _dnd_context(request, scope), "error": error},
                  status=error.status)


async def add_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    post = await request.post()
    try:
        async with services.sessions() as session:
            number, added = await dnd.add_number(session, post.get("number", ""),
                                                 actor=principal_of(request).name,
                                                 region=services.settings.calls.default_region)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/dnd?{'added' if added else 'already'}={quote(number)}")


async def remove_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    post = await request.post()
    try:
        async with services.sessions() as session:
            number = await dnd.remove_number(session, post.get("number", ""),
                                             actor=principal_of(request).name,
                                             region=services.settings.calls.default_region)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/dnd?removed={quote(number)}")


async def import_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    try:
        dnd_import.may_import(scope)
        saved = await receive_file(request)
        async with services.sessions() as session:
            upload = await dnd_import.validate_dnd_upload(session, scope, saved,
                                                          actor=principal_of(request).name,
                                                          settings=services.settings)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/uploads/{upload.id}")


ROUTES = [
    ("GET", "/dnd", dnd_page, at_least("manager"), "DND list page"),
    ("POST", "/dnd/add", add_page, at_least("manager"), "Add a number to the DND list (form)"),
    ("POST", "/dnd/import", import_page, at_least("manager"), "Import a DND file (form): its report"),
    ("POST", "/dnd/remove", remove_page, at_least("admin"), "Take a number off the DND list (form)"),
]


def routes(*, history: History, panel: WorkPanel) -> list:
    """The customer 360 page: ``history`` and ``panel`` are its work side
    (callcenter/dispositions); declared by the dispositions feature
    (callcenter/dispositions/feature.py), as customers may not import it."""
    return [
        ("GET", "/customers/{id}", partial(customer_page_get, history=history, panel=panel),
         at_least("agent"),
         "The customer 360 page (?item= picks the work item): history, recordings, the call button "
         "and the disposition form"),
        ("POST", "/customers/{id}/messages-opt-out", partial(messages_opt_out_page, history=history),
         at_least("agent"),
         "The 360's \"No promotional messages\" switch (form: opt_out=1 or 0; anyone who may open the "
         "customer; audited): back to the 360"),
    ]


def erase_routes(*, history: History, panel: WorkPanel, parts) -> list:
    """Erasing a customer from the 360 page: ``parts`` are the features'
    ``ErasesHistory`` (callcenter/customers/erasure.py); declared by
    callcenter/dispositions/feature.py with the 360's other routes."""
    return [
        ("POST", "/customers/{id}/erase", partial(erase_page, history=history, panel=panel, parts=parts),
         at_least("admin"), "Erase a customer (form: reason, the mobile's last 4 digits): back to the 360"),
    ]
