"""The notification outbox: e-mail, SMS and panel notes, sent with retries."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.notifications import admin_http, admin_pages, http, models, pages
from callcenter.notifications.dispatcher import Dispatcher, dispatcher_for
from callcenter.notifications.providers import check_settings
from callcenter.notifications.quiet_hours import check_quiet_hours
from callcenter.notifications.settings import NotificationSettings, check_reminders
from callcenter.notifications.timed import INTERVAL as TIMED_INTERVAL, TimedNotices


def check(n, settings=None) -> None:
    """Raise ValueError naming the first wrong key of [notifications]."""
    check_settings(n, settings)
    check_quiet_hours(n)
    check_reminders(n)
    if not n.brand.strip() or len(n.brand) > 40 or any(c in n.brand for c in "\r\n"):
        raise ValueError("[notifications] brand: a name of 1-40 characters on one line")


async def start(settings, sessions, live, loops) -> dict[str, Dispatcher]:
    dispatcher = dispatcher_for(settings, sessions, live, loops)
    loops.start("notifications", dispatcher.run)
    timed = TimedNotices(settings, sessions, wake=dispatcher.wake)   # reminders, follow-ups due/missed
    loops.every("notifications.timed", TIMED_INTERVAL, timed.tick, first=True, once=True)  # one server scans
    return {"dispatcher": dispatcher}  # closed at shutdown: its providers


FEATURE = Feature(
    name="notifications",
    routes=[*http.ROUTES, *pages.ROUTES, *admin_http.ROUTES, *admin_pages.ROUTES],
    tables=models,
    settings=Section("notifications", NotificationSettings, check),
    start=start,
    topics=("reminder",),
    templates=Path(__file__).parent / "templates",
    summary="The notification outbox (e-mail, SMS, panel notes) with retries",
)
