"""The notification outbox: ``enqueue`` writes a row in the caller's
transaction, so a notification exists if and only if the change it reports
was committed. The dispatcher (dispatcher.py) sends the rows later.

A row's life: ``pending`` -> ``sending`` (claimed by one dispatcher under a
lease) -> ``sent``, or back to ``pending`` with an exponential backoff, or
``failed`` after ``max_attempts`` (at once when the provider refused it for
good); the claim and lease are callcenter/leases.py's (shared with the
webhook deliveries)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import leases
from callcenter.leases import backoff  # noqa: F401 - the outbox's back-off, also used by its callers
from callcenter.models import utcnow
from callcenter.notifications.exceptions import InvalidNotification
from callcenter.notifications.models import CHANNELS, Notification, NotificationAttachment, NotificationAttempt
from callcenter.notifications.providers import E164, ERROR_CHARS

EMAIL = re.compile(r"^[^@\s<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
USER = re.compile(r"^user:[A-Za-z0-9_.@-]{1,40}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_N = Notification.__table__
ATTACHMENT_BYTES = 20 * 1024 * 1024   # one file; a day of 3,500 executives as XLSX is ~0.3 MB
ATTACHMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,99}$")


def user_recipient(name: str) -> str:
    """The log channel's address of a person of the organisation (their panel)."""
    return f"user:{name}"


def _check_recipient(channel: str, recipient: str) -> None:
    if not isinstance(recipient, str) or not recipient or len(recipient) > 200:
        raise InvalidNotification("a notification needs a recipient", channel=channel)
    if channel == "sms" and not E164.fullmatch(recipient):
        raise InvalidNotification("an SMS goes to an E.164 number (+919876543210)", channel=channel)
    if channel == "email" and not EMAIL.fullmatch(recipient):
        raise InvalidNotification("not an email address", channel=channel)
    if any(ord(c) < 32 or ord(c) == 127 for c in recipient):
        raise InvalidNotification("the recipient may not hold control characters", channel=channel)


def enqueue(session: AsyncSession, channel: str, recipient: str, subject: str, body: str,
            entity: str = "", entity_id=None, *, now: dt.datetime | None = None,
            attachments=()) -> Notification:
    """Add a pending notification to ``session`` (no flush, no commit): it is
    committed, or rolled back, with the caller's change. ``attachments``:
    ``(file name, content type, bytes)`` of files sent with an e-mail, each
    in a row of its own (``notification_attachments``)."""
    if channel not in CHANNELS:
        raise InvalidNotification(f"unknown channel {channel!r}", channel=channel)
    _check_recipient(channel, recipient)
    subject = " ".join(_CONTROL.sub(" ", str(subject or "")).replace("\n", " ").split())[:200]
    body = _CONTROL.sub(" ", str(body or "")).replace("\r", "")[:4000]
    if not body.strip():
        raise InvalidNotification("a notification needs a body", channel=channel)
    row = Notification(channel=channel, recipient=recipient, subject=subject, body=body,
                       status="pending", attempts=0, next_attempt_at=now or utcnow(),
                       entity=str(entity or "")[:40],
                       entity_id="" if entity_id is None else str(entity_id)[:64],
                       created_at=now or utcnow())
    session.add(row)
    if attachments and channel != "email":
        raise InvalidNotification("only an e-mail carries files", channel=channel)
    for name, content_type, content in attachments:
        if not ATTACHMENT_NAME.fullmatch(name) or len(content) > ATTACHMENT_BYTES:
            raise InvalidNotification("an attachment needs a server-made name and at most 20 MB",
                                      channel=channel)
        session.add(NotificationAttachment(notification=row, filename=name, content_type=content_type[:100],
                                           size=len(content), content=bytes(content)))
    return row


async def due(session: AsyncSession, now: dt.datetime, limit: int) -> list[int]:
    """Ids of rows ready to send (the ix_notification_status_next index finds them)."""
    return await leases.due(session, _N, now, limit)


async def claim(session: AsyncSession, notification_id: int, now: dt.datetime,
                lease_until: dt.datetime) -> bool:
    """Take the row for this dispatcher until ``lease_until``; False when
    another one took it first (the UPDATE's condition no longer holds)."""
    return await leases.claim(session, _N, notification_id, now, lease_until)


async def finish(session: AsyncSession, row: Notification, provider: str, error: str | None,
                 now: dt.datetime, lease_until: dt.datetime, settings, *, permanent: bool = False,
                 defer=None) -> str:
    """Record the attempt and the row's next state; returns that state
    ('sent', 'pending' or 'failed'; 'lost' when the claim had expired and been
    taken over: the attempt is kept, the row left to its new holder).
    ``permanent``: the provider refused the message for good, no retry.
    ``defer(row, at)``: when a retry due ``at`` may go (a customer's SMS waits
    for the end of the quiet hours)."""
    session.add(NotificationAttempt(notification_id=row.id, at=now, provider=provider[:40],
                                    ok=error is None, error=(error or "")[:ERROR_CHARS]))
    attempts = row.attempts + 1
    if error is None:
        values = {"status": "sent", "sent_at": now, "attempts": attempts}
    elif permanent or attempts >= settings.max_attempts:
        values = {"status": "failed", "attempts": attempts}
    else:
        wait = backoff(attempts, settings.backoff_seconds, settings.backoff_max_seconds)
        at = now + dt.timedelta(seconds=wait)
        values = {"status": "pending", "attempts": attempts, "next_attempt_at": defer(row, at) if defer else at}
    return values["status"] if await leases.settle(session, _N, row.id, lease_until, values) else "lost"


async def attempts_of(session: AsyncSession, ids: list[int]) -> dict[int, list[NotificationAttempt]]:
    out: dict[int, list] = {i: [] for i in ids}
    if ids:
        rows = (await session.scalars(select(NotificationAttempt).where(
            NotificationAttempt.notification_id.in_(ids)).order_by(NotificationAttempt.id))).all()
        for attempt in rows:
            out[attempt.notification_id].append(attempt)
    return out


async def attachments_of(session: AsyncSession, ids: list[int], *,
                         content: bool = True) -> dict[int, list[NotificationAttachment]]:
    """The files of each notification (without their bytes unless ``content``)."""
    out: dict[int, list] = {i: [] for i in ids}
    if ids:
        columns = [NotificationAttachment.id, NotificationAttachment.notification_id,
                   NotificationAttachment.filename, NotificationAttachment.content_type,
                   NotificationAttachment.size]
        if content:
            columns.append(NotificationAttachment.content)
        rows = (await session.execute(select(*columns).where(
            NotificationAttachment.notification_id.in_(ids)).order_by(NotificationAttachment.id))).all()
        for row in rows:
            out[row.notification_id].append(row)
    return out
