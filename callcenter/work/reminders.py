"""Reminders: follow-ups and non-contact retries coming due, missed
follow-ups, and a store's appointments for today and tomorrow.

``due_soon``/``missed`` answer for one agent (the panel's reminders strip);
``entering`` answers for everyone at once (the background loop pushes each
item once when it enters the lead window)."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.customers.privacy import mask_mobile, mobile_for
from callcenter.models import User
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.work.buckets import callable_campaigns, utc
from callcenter.work.exceptions import StoreNotFound
from callcenter.work.models import Appointment, WorkItem

LIMIT = 50
KIND_TEXT = {"followup": "Follow-up due", "retry": "Retry due", "missed": "Missed follow-up"}
WHEN_TEXT = {"followup": "at", "retry": "at", "missed": "was due"}


def _window(now: dt.datetime, lead_minutes: int):
    """Follow-ups due by the end of the lead time (ones already past are about
    to be swept to pending), retries due within it."""
    until = now + dt.timedelta(minutes=lead_minutes)
    return or_((WorkItem.bucket == "future_followup") & (WorkItem.followup_at <= until),
               (WorkItem.bucket == "non_contact") & (WorkItem.next_attempt_at > now)
               & (WorkItem.next_attempt_at <= until))


async def _describe(session: AsyncSession, rows, tz: str | None) -> list[dict]:
    """(WorkItem, campaign name) rows as reminder items, soonest first."""
    if not rows:
        return []
    names = dict((await session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_({item.customer_id for item, _c in rows})))).all())
    zone = zoneinfo.ZoneInfo(tz) if tz else dt.timezone.utc
    out = []
    for item, campaign in rows:
        kind = {"future_followup": "followup", "non_contact": "retry"}.get(item.bucket, "missed")
        due = utc(item.next_attempt_at if kind == "retry" else item.followup_at)
        customer = names.get(item.customer_id, "")
        when = None
        if due is not None:
            when = f"{due.astimezone(zone):{'%d %b, %H:%M' if kind == 'missed' else '%H:%M'}}"
        out.append({"item_id": item.id, "customer_id": item.customer_id, "customer": customer,
                    "campaign": campaign, "bucket": item.bucket, "kind": kind, "agent_id": item.agent_id,
                    "due_at": due.isoformat() if due else None, "when": when,
                    "text": f"{KIND_TEXT[kind]}: {customer}"
                            + (f" ({WHEN_TEXT[kind]} {when})" if when else ""),
                    "url": f"/customers/{item.customer_id}?item={item.id}"})
    out.sort(key=lambda r: r["due_at"] or "")
    return out


def message(items: list[dict]) -> dict:
    """The ``reminder`` message pushed to a panel: ``items`` for the buckets
    page, plus one notification's worth (title, text, url, due_at, missed, id)
    for web/static/panel.js."""
    missed_only = all(i["kind"] == "missed" for i in items)
    msg = {"type": "reminder", "items": items, "missed": missed_only}
    if len(items) == 1:
        first = items[0]
        msg.update(id=f"{first['item_id']}-{first['due_at']}", title=KIND_TEXT[first["kind"]],
                   text=first["customer"] + (f" ({WHEN_TEXT[first['kind']]} {first['when']})"
                                             if first["when"] else ""),
                   url=first["url"], due_at=first["due_at"])
    else:
        names = ", ".join(i["customer"] for i in items[:5]) + ("…" if len(items) > 5 else "")
        msg.update(title=f"{len(items)} missed follow-ups" if missed_only else f"{len(items)} calls due soon",
                   text=names,
                   url="/buckets?bucket=" + ("pending_followup" if missed_only else "future_followup"))
    return msg


def _rows(*where):
    return (select(WorkItem, Campaign.name).join(Campaign, Campaign.id == WorkItem.campaign_id)
            .where(*where))


async def due_soon(session: AsyncSession, agent_id: int, now: dt.datetime, lead_minutes: int, *,
                   today: dt.date | None = None, tz: str | None = None) -> list[dict]:
    """The agent's follow-ups and retries due within ``lead_minutes``."""
    today = today or now.date()
    rows = (await session.execute(_rows(
        WorkItem.agent_id == agent_id, WorkItem.bucket.in_(("future_followup", "non_contact")),
        _window(now, lead_minutes), WorkItem.campaign_id.in_(callable_campaigns(today))).limit(LIMIT))).all()
    return await _describe(session, rows, tz)


async def missed(session: AsyncSession, agent_id: int, now: dt.datetime, *,
                 today: dt.date | None = None, tz: str | None = None) -> list[dict]:
    """The agent's pending follow-ups (their time passed without a call), most overdue first."""
    today = today or now.date()
    rows = (await session.execute(_rows(
        WorkItem.agent_id == agent_id, WorkItem.bucket == "pending_followup",
        WorkItem.campaign_id.in_(callable_campaigns(today)))
        .order_by(WorkItem.followup_at, WorkItem.id).limit(LIMIT))).all()
    return await _describe(session, rows, tz)


async def entering(session: AsyncSession, now: dt.datetime, lead_minutes: int, sent: dict, *,
                   today: dt.date | None = None, tz: str | None = None) -> dict[int, list[dict]]:
    """Everyone's items that entered the lead window and were not pushed yet:
    agent id -> reminder items. ``sent`` ((item id, due time) -> due time) is
    updated and pruned of times long past."""
    today = today or now.date()
    until = now + dt.timedelta(minutes=lead_minutes)
    callable_ids = callable_campaigns(today)
    followups = _rows(WorkItem.bucket == "future_followup", WorkItem.followup_at > now,
                      WorkItem.followup_at <= until, WorkItem.agent_id.isnot(None),
                      WorkItem.campaign_id.in_(callable_ids))
    retries = _rows(WorkItem.bucket == "non_contact", WorkItem.next_attempt_at > now,
                    WorkItem.next_attempt_at <= until, WorkItem.agent_id.isnot(None),
                    WorkItem.campaign_id.in_(callable_ids))
    fresh = []
    for query in (followups, retries):
        for item, campaign in (await session.execute(query)).all():
            due = item.followup_at if item.bucket == "future_followup" else item.next_attempt_at
            key = (item.id, utc(due))
            if key not in sent:
                sent[key] = key[1]
                fresh.append((item, campaign))
    for key, due in list(sent.items()):
        if due is None or due < now - dt.timedelta(minutes=lead_minutes):
            del sent[key]
    by_agent: dict[int, list[dict]] = {}
    for entry in await _describe(session, fresh, tz):
        by_agent.setdefault(entry["agent_id"], []).append(entry)
    return by_agent


async def describe_items(session: AsyncSession, item_ids, tz: str | None = None) -> list[dict]:
    """Reminder items for ``item_ids`` (the sweeper's newly missed ones)."""
    if not item_ids:
        return []
    rows = (await session.execute(_rows(WorkItem.id.in_(list(item_ids))))).all()
    return await _describe(session, rows, tz)


async def _store_in_scope(session: AsyncSession, scope: Scope, store_id: int) -> Store:
    store = await session.get(Store, store_id)
    allowed = store is not None and (
        scope.sees_all
        or (scope.role == "manager" and scope.location_id is not None
            and store.location_id == scope.location_id)
        or (scope.role == "teamlead" and scope.team_id is not None and bool(await session.scalar(
            select(exists().where(User.team_id == scope.team_id, User.store_id == store_id)))))
        or (scope.role == "agent" and scope.store_id == store_id))
    if not allowed:
        raise StoreNotFound("no such store", store_id=store_id)
    return store


async def store_appointments(session: AsyncSession, scope: Scope, store_id: int, today: dt.date,
                             tz: str, *, settings=None) -> dict:
    """The store's booked appointments of ``today`` and tomorrow (local days of ``tz``)."""
    store = await _store_in_scope(session, scope, store_id)
    zone = zoneinfo.ZoneInfo(tz)
    days = [today, today + dt.timedelta(days=1)]
    start = dt.datetime.combine(days[0], dt.time(), zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.timezone.utc)
    rows = (await session.execute(
        select(Appointment, Customer.name, Customer.mobile, User.display_name)
        .join(Customer, Customer.id == Appointment.customer_id)
        .join(User, User.id == Appointment.agent_id)
        .where(Appointment.store_id == store_id, Appointment.at >= start, Appointment.at < end,
               Appointment.status != "cancelled")
        .order_by(Appointment.at, Appointment.id))).all()
    by_day = {day: [] for day in days}
    for appointment, name, mobile, agent in rows:
        at = utc(appointment.at).astimezone(zone)
        mine = appointment.agent_id == scope.user_id
        by_day.setdefault(at.date(), []).append({
            "id": appointment.id, "at": utc(appointment.at).isoformat(), "time": f"{at:%H:%M}",
            "customer": name, "mobile": mobile_for(settings, scope.role, mobile) if settings
            else mask_mobile(mobile), "agent": agent, "agent_id": appointment.agent_id, "mine": mine,
            "status": appointment.status, "remarks": appointment.remarks,
            "work_item_id": appointment.work_item_id, "customer_id": appointment.customer_id,
            "url": f"/customers/{appointment.customer_id}?item={appointment.work_item_id}"
                   if mine or scope.role != "agent" else None})
    return {"store": {"id": store.id, "code": store.code, "name": store.name},
            "days": [{"date": day.isoformat(), "label": label, "appointments": by_day[day]}
                     for day, label in zip(days, ("Today", "Tomorrow"))]}
