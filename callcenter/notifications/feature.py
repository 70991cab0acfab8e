"""The notification outbox: e-mail, SMS and panel notes, sent with retries."""
from callcenter.feature import Feature, Section
from callcenter.notifications import http, models
from callcenter.notifications.dispatcher import Dispatcher, dispatcher_for
from callcenter.notifications.providers import check_settings
from callcenter.notifications.settings import NotificationSettings, check_reminders
from callcenter.notifications.timed import INTERVAL as TIMED_INTERVAL, TimedNotices


def check(n, settings=None) -> None:
    """Raise ValueError naming the first wrong key of [notifications]."""
    check_settings(n, settings)
    check_reminders(n)


async def start(settings, sessions, live, loops) -> dict[str, Dispatcher]:
    dispatcher = dispatcher_for(settings, sessions, live, loops)
    loops.start("notifications", dispatcher.run)
    timed = TimedNotices(settings, sessions, wake=dispatcher.wake)   # reminders, follow-ups due/missed
    loops.every("notifications.timed", TIMED_INTERVAL, timed.tick, first=True)
    return {"dispatcher": dispatcher}  # closed at shutdown: its providers


FEATURE = Feature(
    name="notifications",
    routes=http.ROUTES,
    tables=models,
    settings=Section("notifications", NotificationSettings, check),
    start=start,
    topics=("reminder",),
    summary="The notification outbox (e-mail, SMS, panel notes) with retries",
)
