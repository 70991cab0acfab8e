"""Quiet hours: a customer's SMS queued in the night (21:00-09:00 in the
configured time zone) waits for 09:00; by day it goes at once."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import select

from callcenter.notifications import outbox
from callcenter.notifications.dispatcher import Dispatcher
from callcenter.notifications.feature import check   # the section's check, as the config loader calls it
from callcenter.notifications.models import Notification
from callcenter.notifications.quiet_hours import check_quiet_hours, sms_deferral, send_at
from callcenter.notifications.settings import NotificationSettings

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
UTC = dt.timezone.utc


def ist(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=IST).astimezone(UTC)


@pytest.mark.parametrize(("queued", "sent"), [
    (ist(7, 9, 0), ist(7, 9, 0)),                  # the window opens: at once
    (ist(7, 8, 59, 59), ist(7, 9, 0)),             # a second before: wait for 09:00
    (ist(7, 20, 59, 59), ist(7, 20, 59, 59)),      # a second before closing: at once
    (ist(7, 21, 0), ist(8, 9, 0)),                 # closing time: the next morning
    (ist(7, 23, 45), ist(8, 9, 0)),                # before midnight: the next morning
    (ist(8, 0, 10), ist(8, 9, 0)),                 # after midnight: the same morning
    (ist(31, 22, 0), dt.datetime(2027, 1, 1, 9, 0, tzinfo=IST)),   # across a year's end
    (ist(7, 14, 0), ist(7, 14, 0)),
])
def test_the_calling_window_in_india(queued, sent):
    assert send_at(queued, "Asia/Kolkata", "21:00", "09:00") == sent


def test_the_window_is_the_configured_zone_s_and_a_naive_clock_is_utc():
    # 02:00 UTC is 07:30 in India (quiet) but 02:00 in London (quiet too, same night)
    two_utc = dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert send_at(two_utc, "Asia/Kolkata", "21:00", "09:00") == ist(7, 9, 0)
    assert send_at(two_utc, "Europe/London", "21:00", "09:00") == dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    # 16:00 UTC is 21:30 in India: quiet; the same clock without a zone is read as UTC
    assert send_at(dt.datetime(2026, 12, 7, 16, 0), "Asia/Kolkata", "21:00", "09:00") == ist(8, 9, 0)


def test_a_window_within_a_day_and_no_quiet_hours():
    assert send_at(ist(7, 13, 30), "Asia/Kolkata", "13:00", "14:00") == ist(7, 14, 0)
    assert send_at(ist(7, 14, 0), "Asia/Kolkata", "13:00", "14:00") == ist(7, 14, 0)
    assert send_at(ist(7, 23, 0), "Asia/Kolkata", "00:00", "00:00") == ist(7, 23, 0)   # equal: none


def test_the_settings_are_checked():
    check_quiet_hours(NotificationSettings())
    for wrong in ("9:00", "24:00", "21:60", "9pm", ""):
        with pytest.raises(ValueError, match="quiet_from"):
            check_quiet_hours(NotificationSettings(quiet_from=wrong))


def test_the_feature_checks_its_section_at_start():
    check(NotificationSettings())
    for wrong in ({"quiet_until": "25:00"}, {"brand": ""}, {"brand": "Swarna\nBcc: x"}, {"sms_provider": "fax"}):
        with pytest.raises(ValueError, match=r"\[notifications\]"):
            check(NotificationSettings(**wrong))


async def test_a_retry_of_a_customers_sms_due_in_the_night_waits_for_the_morning_a_staff_email_does_not(
        settings, sessions):
    """The gateway failed at 20:59:50: its back-off (30 s) would retry at
    21:00:20, inside the quiet hours, so the customer's SMS waits for 09:00."""
    class Down:
        name = "down"

        async def send(self, message):
            raise ConnectionRefusedError("gateway down")

        async def close(self):
            pass

    failed_at = ist(7, 20, 59, 50)
    async with sessions() as s, s.begin():
        sms = outbox.enqueue(s, "sms", "+919876543210", "", "Your visit is booked.", now=failed_at)
        sms.event = "appointment.booked"
        mail = outbox.enqueue(s, "email", "lead@example.com", "Follow-up due", "Call Meena.", now=failed_at)
        mail.event = "followup.due"
    dispatcher = Dispatcher(settings.notifications, sessions, {"sms": Down(), "email": Down(), "log": Down()},
                            clock=lambda: failed_at, defer=sms_deferral(settings))
    assert (await dispatcher.tick()) == {"pending": 2}
    async with sessions() as s:
        rows = {r.channel: r for r in (await s.scalars(select(Notification))).all()}
    assert rows["sms"].next_attempt_at.replace(tzinfo=UTC) == ist(8, 9, 0)
    assert rows["email"].next_attempt_at.replace(tzinfo=UTC) == failed_at + dt.timedelta(seconds=30)
