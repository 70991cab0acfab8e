"""The endpoints an admin registers: where the events go (a URL checked
without ever resolving a name), which kinds, the secret that signs them
(server-made, shown once at creation and at rotation), active or paused.
Every change is audited; the secret never is. The caller commits."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit, event_log
from callcenter.models import utcnow
from callcenter.webhooks.exceptions import EndpointNotFound, InvalidEndpoint
from callcenter.webhooks.models import WebhookEndpoint
from callcenter.webhooks.signing import new_secret

URL_MAX = 500
DESCRIPTION_MAX = 200


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url, allow_http_private: bool) -> str:
    """The URL as given, or InvalidEndpoint saying what is wrong. https to any
    host; http only to a loopback or private IP address, and only when
    ``[webhooks] allow_http_private`` says so (a name is never looked up)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidEndpoint("give the endpoint's URL", field="url")
    url = url.strip()
    if len(url) > URL_MAX or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise InvalidEndpoint(f"the URL must be at most {URL_MAX} characters, without spaces", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidEndpoint("not a URL", field="url") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidEndpoint("the URL must start with https:// and name a host", field="url")
    if parts.username or parts.password or parts.fragment:
        raise InvalidEndpoint("the URL may not hold a user, a password or a #fragment", field="url")
    if port == 0:
        raise InvalidEndpoint("not a port", field="url")
    ip = _ip(host)
    if ip is not None and (ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved):
        raise InvalidEndpoint("not an address the server delivers to", field="url")
    if parts.scheme == "http":
        if not allow_http_private:
            raise InvalidEndpoint("the URL must start with https:// (plain http is off: "
                                  "[webhooks] allow_http_private)", field="url")
        if ip is None or not (ip.is_loopback or ip.is_private):
            raise InvalidEndpoint("plain http goes only to a loopback or private IP address, "
                                  "written as such (no names)", field="url")
    return url


def check_kinds(kinds) -> list[str]:
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise InvalidEndpoint(f"kinds: a list of event kinds among {', '.join(event_log.KINDS)}", field="kinds")
    unknown = sorted(set(kinds) - set(event_log.KINDS))
    if unknown:
        raise InvalidEndpoint(f"unknown event kinds: {', '.join(unknown)} "
                              f"(known: {', '.join(event_log.KINDS)})", field="kinds")
    return [k for k in event_log.KINDS if k in kinds]


def check_description(description) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise InvalidEndpoint(f"the description is text of at most {DESCRIPTION_MAX} characters",
                              field="description")
    return " ".join(description.split())


async def get(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id)
    return endpoint


async def all_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list((await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).all())


async def create(session: AsyncSession, settings, actor: str, *, url, kinds, description=None,
                 active=True) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (to show once)."""
    url = check_url(url, settings.webhooks.allow_http_private)
    kinds, description = check_kinds(kinds), check_description(description)
    if not isinstance(active, bool):
        raise InvalidEndpoint("active is true or false", field="active")
    secret, now = new_secret(), utcnow()
    endpoint = WebhookEndpoint(url=url, kinds=kinds, secret=secret, active=active, description=description,
                               created_by=actor[:60], created_at=now, updated_at=now)
    session.add(endpoint)
    await session.flush()
    audit.record(session, actor, "webhook.create", "webhook_endpoint", endpoint.id, url=url, kinds=kinds)
    return endpoint, secret


async def change(session: AsyncSession, settings, actor: str, endpoint_id: int, fields: dict) -> WebhookEndpoint:
    """Change the URL, kinds, description or active (resuming clears the pause's reason)."""
    endpoint = await get(session, endpoint_id)
    changed = {}
    if "url" in fields:
        changed["url"] = check_url(fields["url"], settings.webhooks.allow_http_private)
    if "kinds" in fields:
        changed["kinds"] = check_kinds(fields["kinds"])
    if "description" in fields:
        changed["description"] = check_description(fields["description"])
    if "active" in fields:
        if not isinstance(fields["active"], bool):
            raise InvalidEndpoint("active is true or false", field="active")
        changed["active"] = fields["active"]
        endpoint.paused_reason = "" if fields["active"] else "paused by an admin"
    changes = {name: [getattr(endpoint, name), value] for name, value in changed.items()
               if getattr(endpoint, name) != value}
    for name, value in changed.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = utcnow()
    audit.record(session, actor, "webhook.change", "webhook_endpoint", endpoint.id, changes=changes)
    return endpoint


async def rotate(session: AsyncSession, actor: str, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret; deliveries from now on are signed with it."""
    endpoint = await get(session, endpoint_id)
    endpoint.secret, endpoint.updated_at = new_secret(), utcnow()
    audit.record(session, actor, "webhook.rotate", "webhook_endpoint", endpoint.id)
    return endpoint, endpoint.secret
