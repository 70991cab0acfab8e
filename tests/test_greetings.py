"""Birthday and anniversary wishes: promotional, so off until an admin
switches them on and never to a customer who opted out; on the day from the
greeting hour, once."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select

from callcenter.models import utcnow
from callcenter.notifications.greetings import Greeted, greet
from callcenter.notifications.models import Notification, NotificationEventSetting
from tests import factories as f

IST = zoneinfo.ZoneInfo("Asia/Kolkata")


def ist(month: int, day: int, hour: int, minute: int = 0, year: int = 2027) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=IST).astimezone(dt.timezone.utc)


async def wishes(sessions) -> list[tuple[str, str, str]]:
    async with sessions() as s:
        rows = (await s.scalars(select(Notification).order_by(Notification.id))).all()
    return [(n.event, n.recipient, n.body) for n in rows]


async def test_birthday_wishes_go_once_on_the_day_only_when_switched_on_and_never_to_an_opted_out_customer(
        settings, sessions):
    async with sessions() as s, s.begin():
        store = await f.store(s, await f.location(s))
        store.name = "Swarna T Nagar"
        meena = await f.customer(s, name="Meena", store=store)
        meena.birthday = dt.date(1990, 3, 14)
        ravi = await f.customer(s, name="Ravi", store=store)
        ravi.birthday = dt.date(1985, 3, 14)
        ravi.messages_opt_out_at = utcnow()            # replied STOP
        kiran = await f.customer(s, name="Kiran", store=store)
        kiran.birthday, kiran.anniversary = dt.date(1992, 3, 15), dt.date(2015, 3, 14)
        leap = await f.customer(s, name="Lata", store=store)
        leap.birthday = dt.date(1996, 2, 29)
        meena_mobile, kiran_mobile, leap_mobile = meena.mobile, kiran.mobile, leap.mobile

    async def run(now, greeted=None):
        async with sessions() as s:
            made = await greet(s, settings, now, greeted)
            await s.commit()
        return made

    assert await run(ist(3, 14, 11)) == 0                  # off by default: nothing
    async with sessions() as s, s.begin():
        for event in ("customer.birthday", "customer.anniversary"):
            s.add(NotificationEventSetting(event=event, enabled=True, channels=["sms"]))
    assert await run(ist(3, 14, 9, 59)) == 0               # before the greeting hour (10:00)
    greeted = Greeted()
    assert await run(ist(3, 14, 10), greeted) == 2         # Meena's birthday, Kiran's anniversary
    assert await run(ist(3, 14, 10, 1), greeted) == 0 and await run(ist(3, 14, 15)) == 0   # once
    sent = await wishes(sessions)
    assert sorted((e, r) for e, r, _ in sent) == [("customer.anniversary", kiran_mobile),
                                                  ("customer.birthday", meena_mobile)]
    assert all("Swarna T Nagar" in body and "{" not in body for _, _, body in sent)
    assert "Happy birthday, Meena!" in next(b for e, _, b in sent if e == "customer.birthday")
    assert await run(ist(3, 15, 21, 30)) == 0              # Kiran's birthday, but the quiet hours began
    assert await run(ist(2, 28, 12, year=2027)) == 1       # 29 February, wished on the 28th in 2027
    assert (await wishes(sessions))[-1][1] == leap_mobile
