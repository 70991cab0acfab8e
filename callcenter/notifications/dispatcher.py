"""The dispatcher: every ``[notifications] dispatch_interval`` seconds (or at
once when woken) it claims up to ``batch`` due rows of the outbox, sends each
through the provider of its channel, and records every attempt: a permanent
refusal (``DeliveryError.permanent``) fails the row at once, any other
failure is retried with backoff up to ``max_attempts``.

Several ``serve`` processes may run a dispatcher on one database: a row is
claimed with a conditional UPDATE (outbox.claim), so only one of them sends
it. Sends of one pass run concurrently; each provider has its own timeouts and
the whole send is bounded as well."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable

from sqlalchemy import select

from callcenter.models import User, utcnow
from callcenter.notifications import outbox
from callcenter.notifications.models import Notification
from callcenter.notifications.providers import ERROR_CHARS, DeliveryError, Message, build_providers
from callcenter.notifications.quiet_hours import sms_deferral

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, settings, sessions, providers: dict | None = None, *,
                 clock: Callable[[], dt.datetime] = utcnow, push=None, defer=None) -> None:
        self.settings = settings  # the [notifications] section
        self.defer = defer        # defer(row, at): when a retry may go (quiet_hours.sms_deferral)
        self.sessions = sessions
        self.providers = providers if providers is not None else build_providers(settings, push)
        self.clock = clock
        self._wake = asyncio.Event()
        # how a failed pass is reported (the server's Loops.failed counts and rate-limits it)
        self.failed: Callable[[str, BaseException], None] = lambda name, error: log.exception(
            "notification dispatch failed", exc_info=error)

    @property
    def lease_seconds(self) -> float:
        return self.settings.send_timeout * 3 + 30

    def wake(self) -> None:
        """Send what is due now rather than at the next interval (same process only)."""
        self._wake.set()

    async def _send(self, row: Notification, files=()) -> tuple[str, str | None, bool]:
        """(provider, error or None, whether the failure is permanent)."""
        provider = self.providers.get(row.channel)
        if provider is None:
            return "none", f"no provider for channel {row.channel!r}", False
        message = Message(id=row.id, channel=row.channel, recipient=row.recipient, subject=row.subject,
                          body=row.body, entity=row.entity, entity_id=row.entity_id,
                          attachments=tuple((f.filename, f.content_type, f.content) for f in files))
        try:
            await asyncio.wait_for(provider.send(message), self.settings.send_timeout * 3 + 5)
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            return provider.name, "timed out", False
        except Exception as exc:  # noqa: BLE001 - any failure is an attempt to record (and retry unless permanent)
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            log.warning("notification %s via %s failed%s: %s", row.id, provider.name,
                        " for good" if permanent else "", exc)
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return provider.name, error[:ERROR_CHARS], permanent
        return provider.name, None, False

    async def tick(self) -> dict:
        """One pass; returns how many rows ended sent / pending (to retry) / failed / lost."""
        now = self.clock()
        lease_until = now + dt.timedelta(seconds=self.lease_seconds)
        async with self.sessions() as session:
            ids = await outbox.due(session, now, self.settings.batch)
            claimed = [i for i in ids if await outbox.claim(session, i, now, lease_until)]
            await session.commit()
            rows = (await session.scalars(select(Notification).where(Notification.id.in_(claimed))
                                          .order_by(Notification.id))).all() if claimed else []
            files = await outbox.attachments_of(session, [r.id for r in rows if r.channel == "email"])
        if not rows:
            return {}
        results = await asyncio.gather(*(self._send(row, files.get(row.id, ())) for row in rows))
        finished_at = self.clock()
        counts: Counter = Counter()
        async with self.sessions() as session:
            for row, (provider, error, permanent) in zip(rows, results):
                counts[await outbox.finish(session, row, provider, error, finished_at, lease_until,
                                           self.settings, permanent=permanent, defer=self.defer)] += 1
            await session.commit()
        if counts.get("failed"):
            log.warning("%d notification(s) failed for good (refused, or %d attempts)",
                        counts["failed"], self.settings.max_attempts)
        return dict(counts)

    async def run(self) -> None:
        """Send what is due, then wait for a wake-up or the interval; kept
        alive by callcenter/loops.py, which counts a failed pass."""
        interval = max(0.2, float(self.settings.dispatch_interval))
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the loop must outlive one bad pass
                self.failed("notifications", error)
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def close(self) -> None:
        for provider in {id(p): p for p in self.providers.values()}.values():
            try:
                await provider.close()
            except Exception:  # noqa: BLE001 - closing must not mask the shutdown
                log.exception("closing provider %s failed", getattr(provider, "name", provider))


def panel_push(sessions, live):
    """The log provider's nudge: a ``user:<name>`` message appears on that
    user's open panels (as a note, through the live bus)."""
    async def push(message: Message) -> None:
        name = message.recipient.split(":", 1)[1]
        async with sessions() as session:
            user_id = await session.scalar(select(User.id).where(User.name == name, User.active.is_(True)))
        if user_id is None:
            return
        url = (f"/complaints/{message.entity_id}"
               if message.entity == "complaint" and message.entity_id.isdigit() else None)
        await live.publish({"type": "reminder", "id": f"notification-{message.id}", "title": message.subject,
                           "text": message.body[:300], "url": url}, user_ids=[user_id])
    return push


def dispatcher_for(settings, sessions, live, loops) -> Dispatcher:
    """The server's dispatcher (its feature runs ``run`` as a loop; ``close``
    at shutdown closes the providers)."""
    dispatcher = Dispatcher(settings.notifications, sessions, push=panel_push(sessions, live),
                            defer=sms_deferral(settings))
    dispatcher.failed = loops.failed
    return dispatcher
