"""The notification outbox: e-mail, SMS and panel notes, sent with retries."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.notifications import http, models, pages
from callcenter.notifications.dispatcher import Dispatcher, dispatcher_for
from callcenter.notifications.providers import check_settings
from callcenter.notifications.settings import NotificationSettings


async def start(settings, sessions, live, loops) -> dict[str, Dispatcher]:
    dispatcher = dispatcher_for(settings, sessions, live, loops)
    loops.start("notifications", dispatcher.run)
    return {"dispatcher": dispatcher}  # closed at shutdown: its providers


FEATURE = Feature(
    name="notifications",
    routes=[*http.ROUTES, *pages.ROUTES],
    templates=Path(__file__).parent / "templates",
    tables=models,
    settings=Section("notifications", NotificationSettings, check_settings),
    start=start,
    topics=("reminder",),
    summary="The notification outbox (e-mail, SMS, panel notes) with retries",
)
