"""User pages: the list (in scope, with filters and paging), create (the
generated login password is shown once), edit, disable/enable, reset the
password (shown once). Admins manage everyone; managers the team leads and
agents of their location; team leads see their team."""
from __future__ import annotations

from functools import partial

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.models import ROLES
from callcenter.org import service as org
from callcenter.org.languages import INDIAN
from callcenter.org.pages import PAGE, form_dict
from callcenter.pbx.homes import home_phone
from callcenter.users import hierarchy
from callcenter.users.service import HandOver
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import page_number, path_int, whole_number

NO_STORE = {"Cache-Control": "no-store"}


async def _choices(session, scope) -> dict:
    stores, _ = await org.list_stores(session, scope, active=True, limit=5000)
    locations = await org.list_locations(session, scope)
    teams = await org.list_teams(session, scope)
    return {"locations": locations, "teams": teams, "stores": stores, "languages": INDIAN,
            "roles": ROLES if scope.sees_all else hierarchy.MANAGER_MANAGES,
            "names": {**{("location", x.id): x.code for x in locations},
                      **{("team", x.id): x.name for x in teams},
                      **{("store", x.id): x.code for x in stores}}}


def _user_data(values: dict, user=None) -> dict:
    """Service fields from a posted form; ``user``: the one being edited (its
    phone is replaced only when the form changes it)."""
    data = {k: values.get(k, "") for k in ("role", "display_name", "languages", "email")}
    data["agent_kind"] = values.get("agent_kind") or None
    data["employee_id"] = values.get("employee_id") or None
    for place in ("location", "team", "store"):
        data[place] = whole_number(values.get(place))
    phone = values.get("phone_mode") or None
    mobile = (values.get("mobile") or None) if phone == "mobile" else None
    contact = (values.get("contact") or None) if phone == "desktop" else None
    if user is None or phone != user.phone_mode or (phone == "mobile" and mobile != user.mobile) \
            or (phone == "desktop" and contact != user.sip_contact):
        data.update(phone_mode=phone, mobile=mobile, contact=contact)
    if user is None:
        data["name"] = values.get("name", "")
        data["password"] = values.get("password") or None
    return data


async def _home(session, user, values: dict, actor: str) -> None:
    """The PBX node of the user's phone, when the form has the field (several nodes)."""
    node = values.get("pbx_node")
    if node and node != user.pbx_node:
        await home_phone(session, user.name, node, actor=actor)


def _node_names(request: web.Request) -> list[str]:
    nodes = request.app[SERVICES].nodes
    return [node.name for node in nodes] if nodes is not None else []


async def users_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    page = page_number(request)
    q = request.query
    role = q.get("role") if q.get("role") in ROLES else None
    active = {"yes": True, "no": False}.get(q.get("active", "yes"))
    filters = {"role": role or "", "team": whole_number(q.get("team")), "store": whole_number(q.get("store")),
               "location": whole_number(q.get("location")), "active": q.get("active", "yes"),
               "q": q.get("q", "").strip()[:60]}
    async with request.app[SERVICES].sessions() as session:
        rows, total = await hierarchy.list_users(
            session, scope, role=role, team_id=filters["team"], store_id=filters["store"],
            location_id=filters["location"], active=active, q=filters["q"] or None, limit=PAGE, offset=(page - 1) * PAGE)
        choices = await _choices(session, scope)
    return render(request, "users/list.html", {
        "users": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)),
        "filters": filters, "can_create": scope.sees_all or scope.role == "manager",
        "query": {k: v for k, v in filters.items() if v not in (None, "")}, **choices})


async def user_new_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    settings = request.app[SERVICES].settings
    error, values = None, {"role": "agent", "agent_kind": "store", "phone_mode": "mobile"}
    async with request.app[SERVICES].sessions() as session:
        if request.method == "POST":
            values = form_dict(await request.post())
            try:
                user, generated, sip_password = await hierarchy.add_user(
                    session, settings, scope, _user_data(values),
                    actor=principal_of(request).name)
                await _home(session, user, values, principal_of(request).name)
                await session.commit()
                return _secret(request, user, generated, sip_password, True)
            except DomainError as exc:
                await session.rollback()
                error = exc
        return render(request, "users/form.html", {
            "user": None, "values": values, "error": error, "manageable": True, "node_names": _node_names(request),
            **(await _choices(session, scope))}, status=error.status if error else 200)


def _secret(request, user, login_password, sip_password, created: bool) -> web.Response:
    """The page that shows a new password once (never cached)."""
    response = render(request, "users/secret.html", {
        "user": user, "login_password": login_password, "sip_password": sip_password,
        "created": created})
    response.headers.update(NO_STORE)
    return response


async def user_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    settings = request.app[SERVICES].settings
    user_id = path_int(request)
    error = None
    async with request.app[SERVICES].sessions() as session:
        user = await hierarchy.get_user(session, scope, user_id)
        manageable = hierarchy.may_manage(scope, user.role, user.location_id)
        values = {"role": user.role, "display_name": user.display_name,
                  "employee_id": user.employee_id or "", "agent_kind": user.agent_kind or "",
                  "languages": user.languages or "", "location": str(user.location_id or ""),
                  "team": str(user.team_id or ""), "store": str(user.store_id or ""),
                  "phone_mode": user.phone_mode or "", "mobile": user.mobile or "", "email": user.email or "",
                  "contact": user.sip_contact or "", "pbx_node": user.pbx_node}
        if request.method == "POST":
            if not manageable:
                raise web.HTTPForbidden(reason="You may not change this user")
            values = form_dict(await request.post())
            try:
                _user, sip_password = await hierarchy.update_user(
                    session, settings, scope, user_id, _user_data(values, user),
                    actor=principal_of(request).name)
                await _home(session, _user, values, principal_of(request).name)
                await session.commit()
                if sip_password:
                    return _secret(request, _user, None, sip_password, False)
                raise web.HTTPSeeOther(f"/admin/users/{user_id}?saved=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
                user = await hierarchy.get_user(session, scope, user_id)
        return render(request, "users/form.html", {
            "user": user, "values": values, "error": error, "manageable": manageable,
            "notice": {"saved": "Saved.", "disabled": "Disabled: they can no longer log in.",
                       "enabled": "Enabled again."}.get(request.query.get("done") or
                                                        ("saved" if request.query.get("saved") else "")),
            "moved": request.query.get("moved"), "left": request.query.get("left"),
            "node_names": _node_names(request),
            **(await _choices(session, scope))}, status=error.status if error else 200)


async def user_change(request: web.Request) -> web.Response:
    """POST of the user page (its own handler: the app keys route roles by handler)."""
    return await user_page(request)


async def _set_active(request: web.Request, active: bool, hand_over: HandOver) -> web.Response:
    scope = await scope_of(request)
    user_id = path_int(request)
    async with request.app[SERVICES].sessions() as session:
        _user, moved, left = await hierarchy.set_active(session, scope, user_id, active,
                                                        actor=principal_of(request).name,
                                                        hand_over=hand_over)
        await session.commit()
    done = "enabled" if active else f"disabled&moved={moved}&left={left}"
    raise web.HTTPSeeOther(f"/admin/users/{user_id}?done={done}")


async def disable_action(request: web.Request, *, hand_over: HandOver) -> web.Response:
    return await _set_active(request, False, hand_over)


async def enable_action(request: web.Request, *, hand_over: HandOver) -> web.Response:
    return await _set_active(request, True, hand_over)


async def password_action(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    user_id = path_int(request)
    async with request.app[SERVICES].sessions() as session:
        generated = await hierarchy.reset_password(session, scope, user_id, None,
                                                   actor=principal_of(request).name)
        user = await hierarchy.get_user(session, scope, user_id)
        await session.commit()
        return _secret(request, user, generated, None, False)


ROUTES = [
    ("GET", "/admin/users", users_page, at_least("teamlead"), "Users page (filters, paging)"),
    ("GET", "/admin/users/new", user_new_page, at_least("manager"), "New user page"),
    ("POST", "/admin/users/new", user_new_page, at_least("manager"), "Create a user (form)"),
    ("GET", "/admin/users/{id}", user_page, at_least("teamlead"), "A user's page"),
    ("POST", "/admin/users/{id}", user_change, at_least("manager"), "Change a user (form)"),
    ("POST", "/admin/users/{id}/password", password_action, at_least("manager"),
     "Reset a user's login password (shown once)"),
]


def routes(*, hand_over: HandOver) -> list:
    """The pages' disable and enable: ``hand_over`` takes a disabled user's open
    work (callcenter/work/handover.py); declared by the work feature
    (callcenter/work/feature.py), as users may not import the work."""
    return [
        ("POST", "/admin/users/{id}/disable", partial(disable_action, hand_over=hand_over),
         at_least("manager"), "Disable a user (form)"),
        ("POST", "/admin/users/{id}/enable", partial(enable_action, hand_over=hand_over),
         at_least("manager"), "Enable a user (form)"),
    ]
