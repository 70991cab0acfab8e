"""The agents' work: the five buckets, allocation, follow-ups and reminders."""
from callcenter.feature import Feature, Section
from callcenter.work import disposition_http, disposition_pages, http, models, pages
from callcenter.work.settings import WorkSettings
from callcenter.work.sweeper import WorkLoop


async def start(settings, sessions, live, loops) -> None:
    sweeper = WorkLoop(settings, sessions, live, loops.failed)
    loops.start("work", sweeper.run)  # follow-ups to pending, reminders to panels


FEATURE = Feature(
    name="work",
    routes=[*http.ROUTES, *pages.ROUTES, *disposition_http.ROUTES, *disposition_pages.ROUTES],
    tables=models,
    settings=Section("work", WorkSettings),
    start=start,
    topics=("bucket_counts", "reminder"),
    summary="Buckets, allocation, follow-ups and reminders",
)
