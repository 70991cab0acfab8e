"""The agents' work: the five buckets, allocation, follow-ups and reminders.
It also declares the routes of features below it that need the work: the
campaigns an agent's work is in (campaigns' list and pages, with
``work=scope``) and the users' disable/enable (with the hand-over of a
leaver's work); campaigns and users may not import the work themselves."""
from pathlib import Path

from callcenter.campaigns import http as campaign_http, pages as campaign_pages
from callcenter.feature import Feature, Section
from callcenter.models import utcnow
from callcenter.users import http as user_http, pages as user_pages
from callcenter.work import http, models, pages, scope
from callcenter.work.handover import hand_over_work
from callcenter.work.settings import WorkSettings
from callcenter.work.sweeper import WorkLoop


async def start(settings, sessions, live, loops) -> None:
    sweeper = WorkLoop(settings, sessions, live, loops.failed)
    # follow-ups to pending, reminders to panels: once per system (the reminders pushed are remembered here)
    loops.every("work", max(1.0, float(settings.work.sweep_interval)), lambda: sweeper.tick(utcnow()),
                first=True, once=True)


FEATURE = Feature(
    name="work",
    routes=[*campaign_http.routes(work=scope), *campaign_pages.routes(work=scope),
            *user_http.routes(hand_over=hand_over_work), *user_pages.routes(hand_over=hand_over_work),
            *http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("work", WorkSettings),
    start=start,
    topics=("bucket_counts", "reminder"),
    templates=Path(__file__).parent / "templates",
    summary="Buckets, allocation, follow-ups and reminders",
)
