"""Server-rendered HTML: one jinja2 Environment over ``web/templates`` (the
layout, login, errors) and each feature's ``templates`` folder.

``render(request, "feature/page.html", {...})`` adds what every page needs:
``principal`` (or None), ``phone_mode`` (the session user's), ``csrf_token`` and ``csrf_field()`` (a hidden
``_csrf`` input), ``now`` (UTC), ``settings``, ``nav`` (links for the role),
the ``localtime`` filter (UTC -> settings.web.timezone) and ``mobile(number)``
/ ``|masked`` (the number as the caller's role may see it)."""
from __future__ import annotations

from urllib.parse import quote, unquote, urlencode

import datetime as dt
import zoneinfo
from functools import lru_cache
from pathlib import Path

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from callcenter.customers.privacy import mobile_for
from callcenter.models import ROLE_RANK
from web.auth import PRINCIPAL
from web.keys import SERVICES
from web.sessions import PHONE_MODE, SESSION

TEMPLATES = Path(__file__).resolve().parent / "templates"
TIME_FORMAT = "%d %b %Y, %H:%M"

# (label, href, lowest role that sees it): the navigation of base.html.
NAV = [
    ("Buckets", "/buckets", "agent"),
    ("Appointments", "/appointments", "agent"),
    ("Complaints", "/complaints", "agent"),
    ("Campaigns", "/campaigns", "manager"),
    ("Uploads", "/uploads", "manager"),
    ("Allocate", "/allocate", "manager"),
    ("DND", "/dnd", "manager"),
    ("Board", "/board", "teamlead"),
    ("Queues", "/queues", "teamlead"),
    ("Inbound", "/inbound", "teamlead"),
    ("Reassign", "/work/reassign", "teamlead"),
    ("People", "/admin/users", "teamlead"),
    ("My figures", "/reports/me", "agent"),
    ("Reports", "/reports", "teamlead"),
    ("Admin", "/admin", "admin"),
]
# A one-shot message for the next page a browser renders (set by ``flash``).
FLASH_COOKIE = "cc_flash"


@lru_cache(maxsize=8)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def to_local(settings, value: dt.datetime | None) -> dt.datetime | None:
    """A UTC datetime (naive ones are UTC, as SQLite returns them) in the configured zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(_zone(settings.web.timezone))


@jinja2.pass_context
def localtime(ctx, value, fmt: str = TIME_FORMAT) -> str:
    """``{{ call.started_at|localtime }}`` or ``|localtime("%H:%M")``; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return to_local(ctx["settings"], value).strftime(fmt)


@jinja2.pass_context
def masked(ctx, number: str | None) -> str:
    """``{{ customer.mobile|masked }}``: in full for unmasked roles, masked otherwise."""
    principal = ctx.get("principal")
    role = principal.role if principal is not None else "agent"
    return mobile_for(ctx["settings"], role, number) or ""


@jinja2.pass_context
def mobile(ctx, number: str | None) -> str:
    return masked(ctx, number)


def _environment() -> jinja2.Environment:
    # Undefined (not Strict): a missing optional value prints as nothing, so a
    # rarely taken branch of a page never turns into a 500.
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATES)]), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["localtime"] = localtime
    env.filters["masked"] = masked
    env.filters["mobile"] = masked
    env.globals["mobile"] = mobile
    return env


ENV = _environment()


def add_template_folders(folders) -> None:
    """The features' template folders (their ``templates``), searched after web/templates."""
    loaders = ENV.loader.loaders
    known = {tuple(loader.searchpath) for loader in loaders}
    for folder in folders:
        if folder is not None and (str(folder),) not in known:
            loaders.append(jinja2.FileSystemLoader(str(folder)))
            known.add((str(folder),))


def link(path: str, **params) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def nav_for(role: str | None) -> list[tuple[str, str]]:
    if role is None:
        return []
    rank = ROLE_RANK.get(role, -1)
    return [(label, href) for label, href, lowest in NAV if rank >= ROLE_RANK[lowest]]


def page_context(request: web.Request, context: dict | None = None) -> dict:
    principal = request.get(PRINCIPAL)
    session = request.get(SESSION)
    token = (context or {}).get("csrf_token") or (session.csrf if session is not None else "")

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="_csrf" value="%s">') % escape(token)

    base = {
        "request": request,
        "settings": request.app[SERVICES].settings,
        "principal": principal,
        "browser_session": session,
        "phone_mode": request.get(PHONE_MODE),
        "csrf_field": csrf_field,
        "now": dt.datetime.now(dt.timezone.utc),
        "nav": nav_for(principal.role if principal is not None else None),
        "path": request.path,
    }
    base.update(context or {})
    base["csrf_token"] = token
    return base


def render_text(request: web.Request, template: str, context: dict | None = None) -> str:
    return ENV.get_template(template).render(page_context(request, context))


def render(request: web.Request, template: str, context: dict | None = None,
           status: int = 200) -> web.Response:
    """The page ``template`` (a name under web/templates or a feature's templates) as an HTML response;
    a flash message left by the previous step is shown once (``flash`` in base.html)."""
    raw = request.cookies.get(FLASH_COOKIE)
    context = dict(context or {})
    if raw:
        context.setdefault("flash", unquote(raw)[:200])
    response = web.Response(text=render_text(request, template, context), status=status,
                            content_type="text/html", charset="utf-8")
    if raw:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def flash(response: web.StreamResponse, message: str) -> None:
    """Leave ``message`` for the next page this browser renders (e.g. after a redirect)."""
    response.set_cookie(FLASH_COOKIE, quote(message[:200]), max_age=60, path="/", httponly=True,
                        samesite="Lax")
