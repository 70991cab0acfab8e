"""The five buckets an agent works: counts and pages of items.

Only items of callable campaigns are work: active, started and not expired
(``callable_campaigns``); items of other campaigns show nowhere here.
Counting stays on work_items (the ix_work_agent_bucket index); customers,
stores and campaigns are read only for the rows of the page shown."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.customers.privacy import mask_mobile, mobile_for
from callcenter.models import User, utcnow
from callcenter.orm import last_four
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.work.exceptions import (AgentNotFound, UnknownBucket, WorkItemNotFound,
                                        WorkRequestInvalid)
from callcenter.work import paging
from callcenter.work.models import BUCKETS, WorkItem
from callcenter.work.scope import items_in

MAX_PER_PAGE = 100
LABELS = {"fresh": "Fresh calls", "non_contact": "Non-contact", "future_followup": "Future follow-up",
          "pending_followup": "Pending follow-up", "appointment": "Appointment booked"}
# The order an agent expects in each bucket (ties by id, so paging is stable);
# NULL times first (explicitly: PostgreSQL would put them last), as the
# cursors of work/paging.py expect. Each is an index's order for one agent.
ORDER = {
    "fresh": (Campaign.expires_on, WorkItem.id),
    "non_contact": (WorkItem.next_attempt_at.asc().nulls_first(), WorkItem.id),  # no retry time first
    "future_followup": (WorkItem.followup_at.asc().nulls_first(), WorkItem.id),
    "pending_followup": (WorkItem.followup_at.asc().nulls_first(), WorkItem.id),  # most overdue first
    "appointment": (WorkItem.appointment_at.asc().nulls_first(), WorkItem.id),
}
BACKWARDS = {bucket: (paging.KEYS[bucket].desc() if bucket == "fresh" else paging.KEYS[bucket].desc().nulls_last(),
                     WorkItem.id.desc()) for bucket in ORDER}   # for the previous page
_DIGITS = re.compile(r"[\d\s+()-]+")


@dataclass
class Page:
    """One page of a bucket. ``next``/``previous``: cursors of the pages
    around it (None at either end); ``page``: its number when asked by
    number (offset paging, kept for older API clients), else None."""
    items: list[dict]
    total: int
    page: int | None
    per_page: int
    next: str | None = None
    previous: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def local_today(timezone: str) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


def callable_campaigns(today: dt.date):
    """Subquery of the ids of campaigns whose items are work on ``today``."""
    return select(Campaign.id).where(Campaign.status == "active", Campaign.starts_on <= today,
                                     Campaign.expires_on >= today)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


async def owner_clause(session: AsyncSession, scope: Scope, agent_id: int | None):
    """Whose items: ``agent_id`` (in scope, else 404), an agent's own, or
    every allocated item in the caller's scope (a team, a location, all)."""
    if agent_id is None and scope.role == "agent":
        agent_id = scope.user_id
    if agent_id is None:
        return scope.owned_by(WorkItem.agent_id) & WorkItem.agent_id.isnot(None)
    if agent_id != scope.user_id or scope.user_id is None:
        found = await session.scalar(select(User.id).where(User.id == agent_id, scope.users()))
        if found is None:
            raise AgentNotFound("no such agent", agent_id=agent_id)
    return WorkItem.agent_id == agent_id


async def counts(session: AsyncSession, scope: Scope, *, agent_id: int | None = None,
                 campaign_id: int | None = None, today: dt.date | None = None) -> dict[str, int]:
    """Items per bucket (all five, zeros included)."""
    today = today or dt.date.today()
    query = (select(WorkItem.bucket, func.count())
             # "!= closed" (the five buckets) keeps SQLite on ix_work_agent_bucket even without statistics
             .where(await owner_clause(session, scope, agent_id), WorkItem.bucket != "closed",
                    WorkItem.campaign_id.in_(callable_campaigns(today)))
             .group_by(WorkItem.bucket))
    if campaign_id is not None:
        query = query.where(WorkItem.campaign_id == campaign_id)
    found = dict((await session.execute(query)).all())
    return {bucket: found.get(bucket, 0) for bucket in BUCKETS}


async def counts_per_agent(session: AsyncSession, scope: Scope, *, campaign_id: int | None = None,
                           today: dt.date | None = None) -> dict[int, dict[str, int]]:
    """For team leads and managers: agent id -> items per bucket, over their scope."""
    today = today or dt.date.today()
    query = (select(WorkItem.agent_id, WorkItem.bucket, func.count())
             .where(await owner_clause(session, scope, None), WorkItem.bucket != "closed",
                    WorkItem.campaign_id.in_(callable_campaigns(today)))
             .group_by(WorkItem.agent_id, WorkItem.bucket))
    if campaign_id is not None:
        query = query.where(WorkItem.campaign_id == campaign_id)
    result: dict[int, dict[str, int]] = {}
    for agent_id, bucket, n in await session.execute(query):
        result.setdefault(agent_id, dict.fromkeys(BUCKETS, 0))[bucket] = n
    return result


def search_clause(search: str):
    """Digits (the last 4 or more of the mobile) or part of the name."""
    text = search.strip()
    if _DIGITS.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < 4:
            raise WorkRequestInvalid("search by mobile needs at least its last 4 digits", field="q")
        # the equality on the last four digits uses ix_customer_mobile_last4 (LIKE '%…' cannot)
        last4 = last_four(Customer.mobile)
        return (last4 == digits[-4:]) & Customer.mobile.like(f"%{digits[-10:]}")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Customer.name.ilike(f"%{escaped}%", escape="\\")


def check_paging(bucket: str, page: int, per_page: int, search: str | None) -> None:
    if bucket not in BUCKETS:
        raise UnknownBucket(f"bucket must be one of {', '.join(BUCKETS)}", bucket=bucket)
    if page < 1:
        raise WorkRequestInvalid("page starts at 1", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise WorkRequestInvalid(f"per_page must be 1..{MAX_PER_PAGE}", field="per_page")
    if search is not None and len(search) > 100:
        raise WorkRequestInvalid("search is at most 100 characters", field="q")


async def list_items(session: AsyncSession, scope: Scope, bucket: str, *,
                     campaign_id: int | None = None, search: str | None = None, page: int | None = None,
                     cursor: str | None = None, per_page: int = 25, agent_id: int | None = None,
                     now: dt.datetime, today: dt.date | None = None, settings=None, lead_minutes: int = 15,
                     total: int | None = None) -> Page:
    """One page of ``bucket`` in the order an agent works it, with the total
    (``total``: already counted by the caller, e.g. the tabs' counts). Pages
    follow each other by ``cursor`` (keyset: work/paging.py); ``page`` (a
    number) still works, by offset, for older API clients."""
    search = (search or "").strip() or None
    check_paging(bucket, 1 if page is None else page, per_page, search)
    secret = settings.security.session_secret if settings is not None else ""
    at = paging.decode(cursor, bucket, secret) if cursor is not None else None
    today = today or now.date()
    where = [await owner_clause(session, scope, agent_id), WorkItem.bucket == bucket,
             WorkItem.campaign_id.in_(callable_campaigns(today))]
    if campaign_id is not None:
        where.append(WorkItem.campaign_id == campaign_id)
    count = select(func.count()).select_from(WorkItem).where(*where)
    rows = (select(WorkItem, Campaign.name, Campaign.expires_on)
            .join(Campaign, Campaign.id == WorkItem.campaign_id).where(*where))
    if search:
        match = search_clause(search)
        count = count.join(Customer, Customer.id == WorkItem.customer_id).where(match)
        rows = rows.join(Customer, Customer.id == WorkItem.customer_id).where(match)
    if total is None or search:
        total = await session.scalar(count)
    backwards = at is not None and at.direction == "before"
    order = BACKWARDS[bucket] if backwards else ORDER[bucket]
    if at is not None:
        rows = rows.where(paging.seek(at))
    elif page:
        rows = rows.offset((page - 1) * per_page)
    rows = rows.order_by(*order).limit(per_page + 1)
    if scope.role == "agent" or agent_id is not None:  # one agent's list: one statement is quicker
        rows = (await session.execute(rows)).all()
    else:  # a team's or a location's
        rows = await _page_rows(session, rows)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if backwards and not rows:   # back before the first item (the items before left the bucket)
        return await list_items(session, scope, bucket, campaign_id=campaign_id, search=search,
                                per_page=per_page, agent_id=agent_id, now=now, today=today,
                                settings=settings, lead_minutes=lead_minutes, total=total)
    # a next page after the last row when more follow (or we came back from there), a
    # previous one before the first when more precede (or we came forward from there)
    more_after = (at is not None) if backwards else more
    more_before = more if backwards else (at is not None or (page or 1) > 1)
    items = await describe(session, scope, [(r[0], r[1], r[2]) for r in rows], now=now,
                           settings=settings, lead_minutes=lead_minutes)
    return Page(items=items, total=total, page=page or (None if at else 1), per_page=per_page,
                next=paging.encode(paging.cursor_of(bucket, rows[-1], "after"), secret)
                if rows and more_after else None,
                previous=paging.encode(paging.cursor_of(bucket, rows[0], "before"), secret)
                if rows and more_before else None)


async def _page_rows(session: AsyncSession, query) -> list:
    """A team's or a location's page in two steps: the ids first (an
    index-only scan of ix_work_agent_bucket per agent: PostgreSQL otherwise
    reads the whole table to sort every matching row; docs/benchmarks.md "The
    panel on PostgreSQL"), then those rows by primary key, in the page's order."""
    ids = list(await session.scalars(query.with_only_columns(WorkItem.id)))
    if not ids:
        return []
    found = {row[0].id: row for row in await session.execute(
        select(WorkItem, Campaign.name, Campaign.expires_on)
        .join(Campaign, Campaign.id == WorkItem.campaign_id).where(WorkItem.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


async def describe(session: AsyncSession, scope: Scope, rows, *, now: dt.datetime, settings=None,
                   lead_minutes: int = 15) -> list[dict]:
    """Rows of (WorkItem, campaign name, expires_on) as dicts for pages and the API."""
    if not rows:
        return []
    customers = {r.id: r for r in await session.execute(
        select(Customer.id, Customer.name, Customer.mobile)
        .where(Customer.id.in_({item.customer_id for item, _n, _e in rows})))}
    store_ids = {item.store_id for item, _n, _e in rows if item.store_id is not None}
    stores = {r.id: r for r in await session.execute(
        select(Store.id, Store.code, Store.name).where(Store.id.in_(store_ids)))} if store_ids else {}
    agent_ids = {item.agent_id for item, _n, _e in rows if item.agent_id is not None}
    agents = dict((await session.execute(
        select(User.id, User.display_name).where(User.id.in_(agent_ids)))).all()) if agent_ids else {}
    soon = now + dt.timedelta(minutes=lead_minutes)
    out = []
    for item, campaign_name, expires_on in rows:
        customer = customers.get(item.customer_id)
        store = stores.get(item.store_id)
        due_at = utc(due_time(item))
        number = customer.mobile if customer else None
        out.append({
            "id": item.id, "customer_id": item.customer_id, "bucket": item.bucket,
            "customer": customer.name if customer else "",
            "mobile": mobile_for(settings, scope.role, number) if settings else mask_mobile(number),
            "store": {"id": store.id, "code": store.code, "name": store.name} if store else None,
            "campaign": {"id": item.campaign_id, "name": campaign_name, "expires_on": expires_on},
            "agent_id": item.agent_id, "agent": agents.get(item.agent_id),
            "attempts": item.attempts, "outcome": item.outcome,
            "next_attempt_at": utc(item.next_attempt_at), "followup_at": utc(item.followup_at),
            "appointment_at": utc(item.appointment_at), "due_at": due_at,
            "due": item.bucket in ("non_contact", "future_followup", "pending_followup")
            and (due_at is None or due_at <= now),
            "due_soon": due_at is not None and now < due_at <= soon
            and item.bucket in ("non_contact", "future_followup"),
            "missed": item.bucket == "pending_followup",
            "url": f"/customers/{item.customer_id}?item={item.id}",
        })
    return out


def due_time(item) -> dt.datetime | None:
    """The time that matters in the item's bucket."""
    return {"non_contact": item.next_attempt_at, "future_followup": item.followup_at,
            "pending_followup": item.followup_at, "appointment": item.appointment_at}.get(item.bucket)


async def get_item(session: AsyncSession, scope: Scope, item_id: int, *, now: dt.datetime | None = None,
                   today: dt.date | None = None, settings=None) -> dict:
    """One work item in scope (404 otherwise), with ``callable``: whether its
    campaign is still work today."""
    now = now or utcnow()
    today = today or now.date()
    row = (await session.execute(
        select(WorkItem, Campaign.name, Campaign.expires_on)
        .join(Campaign, Campaign.id == WorkItem.campaign_id)
        .where(WorkItem.id == item_id, items_in(scope)))).first()
    if row is None:
        raise WorkItemNotFound("no such work item", item_id=item_id)
    described = (await describe(session, scope, [(row[0], row[1], row[2])], now=now,
                                settings=settings))[0]
    described["callable"] = bool(await session.scalar(
        select(func.count()).where(Campaign.id == row[0].campaign_id,
                                   Campaign.id.in_(callable_campaigns(today)))))
    return described
