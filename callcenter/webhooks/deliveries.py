"""The delivery outbox: each business event not yet handed on becomes one
delivery row per endpoint subscribed to its kind (active or paused: a paused
endpoint's deliveries wait for it), in the transaction that marks the event
handed; then each row is sent with retries (claim and lease:
callcenter/leases.py). An attempt is kept per POST. The caller commits."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit, leases
from callcenter.customers.event_facts import iso
from callcenter.models import Event
from callcenter.webhooks import call_facts
from callcenter.webhooks.exceptions import DeliveryNotFound, NotRedeliverable
from callcenter.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

_D = WebhookDelivery.__table__
_E = Event.__table__
RESPONSE_CHARS = 500


def body_of(event_id: int, kind: str, at: dt.datetime, data: dict) -> str:
    return json.dumps({"id": event_id, "kind": kind, "at": iso(at), "data": data},
                      separators=(",", ":"), ensure_ascii=False)


async def hand_on(session: AsyncSession, now: dt.datetime, limit: int) -> int:
    """Turn up to ``limit`` events not handed on yet into deliveries; returns how
    many events were handed. An event is taken with a conditional UPDATE, so two
    servers never both hand it on."""
    events = (await session.execute(select(_E.c.id, _E.c.kind, _E.c.at, _E.c.payload)
                                    .where(_E.c.handed_at.is_(None)).order_by(_E.c.id).limit(limit))).all()
    if not events:
        return 0
    endpoints = (await session.execute(select(WebhookEndpoint.id, WebhookEndpoint.kinds))).all()
    loaded = await call_facts.preload(session, [e.payload for e in events if e.kind == "call.ended"])
    handed = 0
    for event in events:
        payload = event.payload
        if event.kind == "call.ended" and not call_facts.is_complete(payload):
            payload = await call_facts.complete(session, payload)
        taken = await session.execute(update(_E).where(_E.c.id == event.id, _E.c.handed_at.is_(None))
                                      .values(handed_at=now, payload=payload))
        if taken.rowcount != 1:
            continue
        handed += 1
        body = body_of(event.id, event.kind, event.at, payload)
        for endpoint in endpoints:
            if event.kind in (endpoint.kinds or ()):
                session.add(WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, kind=event.kind,
                                            body=body, status="pending", attempts=0, next_attempt_at=now,
                                            created_at=now))
    del loaded  # held until every event was completed from it
    return handed


def ping(session: AsyncSession, endpoint: WebhookEndpoint, actor: str, now: dt.datetime) -> WebhookDelivery:
    """A ``ping`` to this endpoint only (id 0: no event behind it)."""
    body = body_of(0, "ping", now, {"endpoint_id": endpoint.id, "sent_by": actor,
                                    "message": "a test event from the call center"})
    row = WebhookDelivery(endpoint_id=endpoint.id, event_id=None, kind="ping", body=body, status="pending",
                          attempts=0, next_attempt_at=now, created_at=now)
    session.add(row)
    return row


async def redeliver(session: AsyncSession, actor: str, delivery_id: int, now: dt.datetime) -> WebhookDelivery:
    """A failed delivery sent again, with a fresh count of attempts (the old ones are kept)."""
    row = await session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise DeliveryNotFound("no such delivery", delivery_id=delivery_id)
    if row.status != "failed":
        raise NotRedeliverable(f"only a failed delivery is sent again (this one is {row.status})",
                               delivery_id=delivery_id)
    row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    audit.record(session, actor, "webhook.redeliver", "webhook_delivery", row.id, endpoint_id=row.endpoint_id)
    return row


async def active_endpoints(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))
                                       .order_by(WebhookEndpoint.id))).all())


async def due(session: AsyncSession, now: dt.datetime, endpoint_id: int, limit: int) -> list[int]:
    """Ids of this endpoint's rows ready to send, the longest waiting first
    (asked per endpoint, so one endpoint's backlog never hides another's)."""
    return await leases.due(session, _D, now, limit, _D.c.endpoint_id == endpoint_id)


async def claim(session: AsyncSession, delivery_id: int, now: dt.datetime, lease_until: dt.datetime) -> bool:
    return await leases.claim(session, _D, delivery_id, now, lease_until)


async def finish(session: AsyncSession, row: WebhookDelivery, outcome, now: dt.datetime,
                 lease_until: dt.datetime, settings) -> str:
    """Keep the attempt and set the row's next state: 'delivered', 'pending'
    (retried after the back-off), 'failed', or 'lost' (the lease ran out and
    another process holds the row). A 410 Gone fails it and pauses the endpoint."""
    session.add(WebhookAttempt(delivery_id=row.id, at=now, status_code=outcome.status,
                               response=outcome.response[:RESPONSE_CHARS], error=outcome.error[:300],
                               duration_ms=outcome.duration_ms))
    attempts = row.attempts + 1
    if outcome.delivered:
        values = {"status": "delivered", "attempts": attempts, "delivered_at": now}
    elif outcome.status == 410 or attempts >= settings.max_attempts:
        values = {"status": "failed", "attempts": attempts}
    else:
        wait = leases.backoff(attempts, settings.backoff_seconds, settings.backoff_max_seconds)
        values = {"status": "pending", "attempts": attempts, "next_attempt_at": now + dt.timedelta(seconds=wait)}
    if not await leases.settle(session, _D, row.id, lease_until, values):
        return "lost"
    if outcome.status == 410:
        await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == row.endpoint_id).values(
            active=False, paused_reason="the receiver answered 410 Gone", updated_at=now))
        audit.record(session, "webhooks", "webhook.pause", "webhook_endpoint", row.endpoint_id,
                     reason="410 Gone", delivery_id=row.id)
    return values["status"]


async def recent(session: AsyncSession, endpoint_id: int, limit: int, status: str | None = None
                 ) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list((await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))).all())


async def attempts_of(session: AsyncSession, ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    out: dict[int, list] = {i: [] for i in ids}
    if ids:
        for attempt in (await session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id))).all():
            out[attempt.delivery_id].append(attempt)
    return out


async def counts(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Deliveries per endpoint and status."""
    out: dict[int, dict[str, int]] = {}
    for row in await session.execute(select(_D.c.endpoint_id, _D.c.status, func.count())
                                     .group_by(_D.c.endpoint_id, _D.c.status)):
        out.setdefault(row[0], {})[row[1]] = row[2]
    return out
