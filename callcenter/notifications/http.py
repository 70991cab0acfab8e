"""The outbox for admins: GET /api/v1/notifications lists messages (newest
first) with every delivery attempt. A customer's messages (their 360's
history, history.py): GET /api/v1/customers/{id}/messages and
POST /api/v1/notifications/{id}/resend. And the SMS gateway's inbound replies
(POST /api/v1/sms/replies: STOP / START, replies.py), sent with a service
token of role teamlead or above (``callcenter token create sms-gateway --role teamlead``)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from callcenter.customers.http import customer_id_of, jsonable
from callcenter.notifications import history, outbox, replies
from callcenter.notifications.exceptions import InvalidNotification, NotificationNotFound
from callcenter.notifications.models import CHANNELS, Notification
from callcenter.org.http import paging
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import json_object, path_int

STATUSES = ("pending", "sending", "sent", "failed")


def notification_json(row: Notification, attempts, files=()) -> dict:
    return jsonable({
        "id": row.id, "channel": row.channel, "recipient": row.recipient, "subject": row.subject,
        "body": row.body, "status": row.status, "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status in ("pending", "sending") else None,
        "entity": row.entity, "entity_id": row.entity_id, "created_at": row.created_at,
        "sent_at": row.sent_at,
        "attempt_log": [{"at": a.at, "provider": a.provider, "ok": a.ok, "error": a.error} for a in attempts],
        "attachments": [{"filename": f.filename, "content_type": f.content_type, "size": f.size} for f in files],
    })


async def list_notifications(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit, offset = paging(request)
    where = []
    status, channel = request.query.get("status"), request.query.get("channel")
    if status:
        if status not in STATUSES:
            raise InvalidNotification(f"status must be one of {', '.join(STATUSES)}", field="status")
        where.append(Notification.status == status)
    if channel:
        if channel not in CHANNELS:
            raise InvalidNotification(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        where.append(Notification.channel == channel)
    for key, column in (("entity", Notification.entity), ("entity_id", Notification.entity_id)):
        if request.query.get(key):
            where.append(column == request.query[key][:64])
    async with services.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(Notification).where(*where))
        rows = (await session.scalars(select(Notification).where(*where).order_by(Notification.id.desc())
                                      .limit(limit).offset(offset))).all()
        attempts = await outbox.attempts_of(session, [r.id for r in rows])
        files = await outbox.attachments_of(session, [r.id for r in rows], content=False)
    return web.json_response({"total": total, "notifications": [
        notification_json(r, attempts[r.id], files[r.id]) for r in rows]})


async def sms_reply(request: web.Request) -> web.Response:
    """A reply forwarded by the gateway, as JSON or a form: {"from", "text"}."""
    services = request.app[SERVICES]
    if request.content_type == "application/json":
        body = await json_object(request, InvalidNotification)
    else:
        body = dict(await request.post())
    async with services.sessions() as session, session.begin():
        answer = await replies.handle_reply(session, body.get("from"), body.get("text", ""),
                                            actor=principal_of(request).name,
                                            region=services.settings.calls.default_region)
    return web.json_response(answer)


def notification_id_of(request: web.Request, name: str = "id") -> int:
    return path_int(request, name, NotificationNotFound("no such message"))


def wake_dispatcher(services) -> None:
    dispatcher = getattr(services, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def before_of(request: web.Request) -> int | None:
    """``?before=<message id>``: the page of messages older than that one."""
    before = request.query.get("before", "")
    if not before:
        return None
    if not before.isdigit() or len(before) > 18:
        raise InvalidNotification("before must be a message id", field="before")
    return int(before)


async def customer_messages(request: web.Request) -> tuple[list[dict], bool]:
    """(the customer's messages, newest first, a page; whether older ones exist)."""
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        return await history.messages_of(session, scope, services.settings, principal_of(request).role,
                                         customer_id_of(request), before=before_of(request))


async def resend(request: web.Request, notification_id: int) -> dict:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    principal = principal_of(request)
    async with services.sessions() as session, session.begin():
        again = await history.resend(session, scope, principal.name, notification_id,
                                     settings=services.settings)
        view = history.message_view(services.settings, principal.role, again)
    wake_dispatcher(services)
    return view


async def list_customer_messages(request: web.Request) -> web.Response:
    messages, more = await customer_messages(request)
    return web.json_response({"messages": jsonable(messages), "more": more})


async def resend_message(request: web.Request) -> web.Response:
    return web.json_response(jsonable(await resend(request, notification_id_of(request))), status=201)


ROUTES = [
    ("GET", "/api/v1/notifications", list_notifications, at_least("admin"),
     "The notification outbox, newest first, with every delivery attempt "
     "(?status=pending|sending|sent|failed, channel, entity, entity_id, limit, offset)"),
    ("POST", "/api/v1/sms/replies", sms_reply, at_least("teamlead"),
     "An SMS reply forwarded by the gateway ({\"from\", \"text\"}, JSON or form): STOP / UNSUBSCRIBE / "
     "बंद opts the customer out of promotional messages, START back in; always 200 for a number "
     "that is no customer's (the gateway's service token: role teamlead or above)"),
    ("GET", "/api/v1/customers/{id}/messages", list_customer_messages, at_least("agent"),
     "Every message to a customer, newest first (channel, time, event, text, state, attempts, last error), "
     "100 a page with more: true when older ones exist (?before=<the last id shown>); "
     "the customer 360's scope, numbers masked per role"),
    ("POST", "/api/v1/notifications/{id}/resend", resend_message, at_least("agent"),
     "Send a customer's message again as a new outbox row (audited); 409 while it or a re-send of it is "
     "waiting, or within 60 s of the last re-send"),
]
