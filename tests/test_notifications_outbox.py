"""The notification outbox and its dispatcher, with fake providers and an
injected clock: a row exists only if its transaction committed; failures are
retried with exponential backoff, every attempt is recorded, and the row is
failed after max_attempts; two dispatchers never send one row twice; a claim
whose process died is taken over after its lease."""
import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from callcenter.db import make_engine, sessionmaker
from callcenter.notifications import outbox
from callcenter.notifications.dispatcher import Dispatcher
from callcenter.notifications.exceptions import InvalidNotification
from callcenter.notifications.models import Notification, NotificationAttempt
from callcenter.notifications.providers import DeliveryError, LogProvider

T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def at(self, seconds):
        self.now = T0 + dt.timedelta(seconds=seconds)
        return self


class FakeProvider:
    """Fails its first ``failures`` sends (raising), then delivers; keeps what it sent."""
    name = "fake"

    def __init__(self, failures=0, exc=DeliveryError("gateway down")):
        self.failures, self.exc = failures, exc
        self.calls, self.sent, self.closed = 0, [], False

    async def send(self, message):
        self.calls += 1
        await asyncio.sleep(0)
        if self.calls <= self.failures:
            raise self.exc
        self.sent.append(message)

    async def close(self):
        self.closed = True


def dispatcher(settings, sessions, provider, clock):
    return Dispatcher(settings.notifications, sessions, {"log": provider, "email": provider, "sms": provider},
                      clock=clock)


async def add(sessions, n=1, channel="sms", recipient="+919812345678", now=T0):
    async with sessions() as s, s.begin():
        rows = [outbox.enqueue(s, channel, recipient, "Ticket", f"message {i}", "complaint", i, now=now)
                for i in range(n)]
    return [r.id for r in rows]


async def state(sessions, notification_id):
    async with sessions() as s:
        row = await s.get(Notification, notification_id)
        attempts = (await s.scalars(select(NotificationAttempt).where(
            NotificationAttempt.notification_id == notification_id).order_by(NotificationAttempt.id))).all()
    return row, attempts


async def test_a_notification_exists_only_if_its_transaction_committed(sessions):
    async with sessions() as s:
        async with s.begin():
            outbox.enqueue(s, "log", "user:asha", "Complaint TK-1", "escalated to you")
            await s.flush()
            assert await s.scalar(select(func.count()).select_from(Notification)) == 1
            await s.rollback()
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Notification)) == 0
    with pytest.raises(RuntimeError):
        async with sessions() as s, s.begin():
            outbox.enqueue(s, "sms", "+919812345678", "", "Your ticket TK-1")
            raise RuntimeError("the change failed after the notification was queued")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Notification)) == 0
    await add(sessions)
    async with sessions() as s:
        row = (await s.scalars(select(Notification))).one()
        assert (row.status, row.attempts, row.channel) == ("pending", 0, "sms")


async def test_undeliverable_messages_are_refused_when_queued(sessions):
    async with sessions() as s:
        for channel, recipient in (("fax", "x"), ("sms", "98123 45678"), ("sms", "+91981234567\n8"),
                                   ("email", "not-an-address"), ("email", "a@b.c\r\nBcc: x@y.z"),
                                   ("log", "user:a\nb"), ("log", "")):
            with pytest.raises(InvalidNotification):
                outbox.enqueue(s, channel, recipient, "s", "body")
        with pytest.raises(InvalidNotification):
            outbox.enqueue(s, "log", "user:a", "s", "   ")
        row = outbox.enqueue(s, "email", "ops@example.org", "Line one\r\nBcc: evil@x.y", "body")
        assert "\n" not in row.subject and "\r" not in row.subject


async def test_a_failing_provider_is_retried_with_backoff_then_failed(sessions, settings):
    settings.notifications.max_attempts = 3
    settings.notifications.backoff_seconds = 30
    (nid,) = await add(sessions)
    provider, clock = FakeProvider(failures=99), Clock()
    d = dispatcher(settings, sessions, provider, clock)
    assert await d.tick() == {"pending": 1}
    row, attempts = await state(sessions, nid)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at.replace(tzinfo=dt.timezone.utc) == T0 + dt.timedelta(seconds=30)
    assert await d.tick() == {}                       # not due yet
    clock.at(29)
    assert await d.tick() == {}
    clock.at(30)
    assert await d.tick() == {"pending": 1}           # 2nd attempt; next wait doubles
    row, _ = await state(sessions, nid)
    assert row.next_attempt_at.replace(tzinfo=dt.timezone.utc) == T0 + dt.timedelta(seconds=90)
    clock.at(89)
    assert await d.tick() == {}
    clock.at(90)
    assert await d.tick() == {"failed": 1}
    clock.at(10_000)
    assert await d.tick() == {}
    row, attempts = await state(sessions, nid)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert [(a.provider, a.ok, a.error) for a in attempts] == [("fake", False, "DeliveryError: gateway down")] * 3
    assert [a.at.replace(tzinfo=dt.timezone.utc) for a in attempts] == [
        T0, T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(seconds=90)]
    assert provider.calls == 3


async def test_a_provider_that_recovers_delivers_and_any_exception_counts_as_a_failure(sessions, settings):
    (nid,) = await add(sessions)
    provider, clock = FakeProvider(failures=1, exc=ConnectionResetError("peer reset")), Clock()
    d = dispatcher(settings, sessions, provider, clock)
    await d.tick()
    clock.at(settings.notifications.backoff_seconds)
    assert await d.tick() == {"sent": 1}
    row, attempts = await state(sessions, nid)
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.sent_at.replace(tzinfo=dt.timezone.utc) == clock.now
    assert [(a.ok, a.error) for a in attempts] == [(False, "ConnectionResetError: peer reset"), (True, "")]
    assert [m.body for m in provider.sent] == ["message 0"]


async def test_backoff_is_capped():
    assert [outbox.backoff(n, 30, 100) for n in (1, 2, 3, 4, 9)] == [30, 60, 100, 100, 100]


async def test_two_dispatchers_on_one_database_never_send_a_row_twice(sessions, settings):
    settings.notifications.batch = 10
    ids = await add(sessions, n=40)
    # a second serve process: an engine of its own on the same database (SQLite file or PostgreSQL)
    other_engine = make_engine(sessions.kw["bind"].url.render_as_string(hide_password=False))
    try:
        first, second = FakeProvider(), FakeProvider()
        clock = Clock()
        d1 = dispatcher(settings, sessions, first, clock)
        d2 = dispatcher(settings, sessionmaker(other_engine), second, clock)
        for _ in range(4):
            await asyncio.gather(d1.tick(), d2.tick())
        sent = [m.id for m in first.sent + second.sent]
        assert sorted(sent) == sorted(ids)
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(NotificationAttempt)) == 40
            assert set((await s.scalars(select(Notification.status))).all()) == {"sent"}
    finally:
        await other_engine.dispose()


async def test_a_claim_whose_process_died_is_taken_over_after_its_lease(sessions, settings):
    (nid,) = await add(sessions)
    clock = Clock()
    async with sessions() as s:  # a dispatcher claimed it, then its process died
        lease = T0 + dt.timedelta(seconds=60)
        assert await outbox.claim(s, nid, T0, lease)
        assert not await outbox.claim(s, nid, T0, lease)  # nobody else while it holds it
        await s.commit()
        stale = await s.get(Notification, nid)
    provider = FakeProvider()
    d = dispatcher(settings, sessions, provider, clock)
    assert await d.tick() == {}
    clock.at(60)
    assert await d.tick() == {"sent": 1}
    async with sessions() as s:  # the dead claim's late report changes nothing
        assert await outbox.finish(s, stale, "fake", "late", clock.now, lease, settings.notifications) == "lost"
        await s.commit()
    row, attempts = await state(sessions, nid)
    assert row.status == "sent" and len(attempts) == 2


async def test_the_log_provider_always_delivers_and_nudges_the_users_panel(caplog):
    pushed = []

    async def push(message):
        pushed.append(message.recipient)
        raise RuntimeError("hub down")  # never fails the delivery

    from callcenter.notifications.providers import Message
    provider = LogProvider(push)
    caplog.set_level("INFO", logger="callcenter.notifications.providers")
    await provider.send(Message(1, "log", "user:lead_n", "Complaint TK-1 escalated to you", "details"))
    await provider.send(Message(2, "sms", "+919812345678", "", "Your ticket TK-1"))
    assert pushed == ["user:lead_n"]
    assert "Complaint TK-1 escalated to you" in caplog.text and "+919812345678" in caplog.text


async def test_the_dispatcher_loop_stops_when_cancelled_and_close_closes_its_providers(sessions, settings):
    """The loop is kept alive by callcenter/loops.py (a crash restarts it, so
    the providers stay open); the server's shutdown cancels it, then closes."""
    settings.notifications.dispatch_interval = 0.2
    provider = FakeProvider()
    d = dispatcher(settings, sessions, provider, Clock())
    await add(sessions)
    task = asyncio.create_task(d.run())
    for _ in range(50):
        if provider.sent:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.sent and not provider.closed
    await d.close()
    assert provider.closed
