"""Rows for tests, made directly with the ORM (no service rules): locations,
stores, teams, users in the hierarchy, campaigns, customers, work items and trunks.
Each function adds and flushes; the caller commits."""
from __future__ import annotations

import datetime as dt
import itertools

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.models import Trunk, User
from callcenter.org.models import Location, Store, Team
from callcenter.work.models import WorkItem

_seq = itertools.count(1)


async def _add(session, row):
    session.add(row)
    await session.flush()
    return row


async def location(session, code="north", name=None):
    return await _add(session, Location(code=code, name=name or code.title()))


async def store(session, loc, code=None, language="en", region="north", city="Delhi"):
    code = code or f"S{next(_seq):03d}"
    return await _add(session, Store(code=code, name=f"Store {code}", city=city, region=region,
                                     language=language, location_id=loc.id))


async def team(session, loc, name=None):
    return await _add(session, Team(name=name or f"team-{next(_seq)}", location_id=loc.id))


async def user(session, name, role="agent", *, loc=None, team=None, store=None, languages="en",
               kind=None, mobile=None, employee_id=None, active=True, password_hash=None):
    location_id = loc.id if loc else (team.location_id if team else (store.location_id if store else None))
    return await _add(session, User(
        name=name, role=role, display_name=name.title(), employee_id=employee_id,
        agent_kind=kind or ("store" if store else ("center" if role == "agent" else None)),
        languages=languages, location_id=location_id, team_id=team.id if team else None,
        store_id=store.id if store else None, phone_mode="mobile" if mobile else None,
        mobile=mobile, active=active, password_hash=password_hash))


async def campaign(session, name=None, *, type="birthday", loc=None, form=None, trunk_id=None,
                   starts_on=None, expires_on=None, retry_delay_minutes=120, max_attempts=3):
    if form is None:
        from callcenter.campaigns.forms import default_form
        form = default_form(type)
    today = dt.date.today()
    return await _add(session, Campaign(
        name=name or f"campaign-{next(_seq)}", type=type, starts_on=starts_on or today,
        expires_on=expires_on or today + dt.timedelta(days=30), trunk_id=trunk_id,
        location_id=loc.id if loc else None, form=form, retry_delay_minutes=retry_delay_minutes,
        max_attempts=max_attempts, created_by="test"))


async def customer(session, mobile=None, name=None, *, store=None, language="en", data=None):
    mobile = mobile or f"+9198{next(_seq):08d}"
    return await _add(session, Customer(mobile=mobile, name=name or f"Customer {mobile[-4:]}",
                                        store_id=store.id if store else None, language=language,
                                        data=data or {}))


async def work_item(session, camp, cust, agent=None, bucket="fresh", **fields):
    return await _add(session, WorkItem(
        campaign_id=camp.id, customer_id=cust.id, agent_id=agent.id if agent else None,
        bucket=bucket, store_id=cust.store_id, language=cust.language,
        allocated_at=dt.datetime.now(dt.timezone.utc) if agent else None, **fields))


async def trunk(session, name="t1", *, host="127.0.0.1", max_channels=10):
    """A trunk with the DIDs 8062247000-749 (pilot 8062247000)."""
    return await _add(session, Trunk(name=name, host=host, port=5060, max_channels=max_channels,
                                     did_start="8062247000", did_end="8062247749", pilot="8062247000"))
