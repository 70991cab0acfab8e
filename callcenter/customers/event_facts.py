"""The pieces of a business event's payload (callcenter/event_log.py) that
name people: the agent (name and employee id) and the customer (their id,
the last four digits of the mobile, and the reference fields their upload
carried, e.g. the client CRM's own id). Never the full mobile, the name, the
e-mail or the rest of the upload's columns: a receiver knows its customer by
its own reference or our ``customer_id``. docs/webhooks.md lists the shapes."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.clock import utc_iso
from callcenter.customers.models import Customer
from callcenter.models import User

# Columns of an upload (Customer.data) passed on as the customer's reference,
# compared in lower case with spaces and dashes as underscores.
REFERENCE_FIELDS = frozenset({
    "customer_ref", "customer_reference", "reference", "ref", "crm_id", "customer_code",
    "customer_number", "customer_no", "loyalty_id", "loyalty_number", "membership_id", "member_id",
})
_NOT_A_KEY = re.compile(r"[^a-z0-9]+")


def _field(name: str) -> str:
    return _NOT_A_KEY.sub("_", str(name).strip().lower()).strip("_")


def iso(value: dt.datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC (naive = UTC, as SQLite hands it back)."""
    return utc_iso(value.astimezone(dt.timezone.utc) if value is not None and value.tzinfo else value)


def customer_facts(customer: Customer | None) -> dict | None:
    if customer is None:
        return None
    if customer.erased_at is not None:  # a tombstone: its placeholder mobile is no number
        return {"id": customer.id, "mobile_last4": None, "reference": {}}
    reference = {str(k)[:60]: str(v)[:120] for k, v in (customer.data or {}).items()
                 if _field(k) in REFERENCE_FIELDS and v not in (None, "")}
    return {"id": customer.id, "mobile_last4": (customer.mobile or "")[-4:], "reference": reference}


async def customer(session: AsyncSession, customer_id: int | None) -> dict | None:
    return customer_facts(await session.get(Customer, customer_id)) if customer_id is not None else None


async def agent(session: AsyncSession, user_id: int | None) -> dict | None:
    if user_id is None:
        return None
    row = await session.get(User, user_id)  # found in the session when preloaded (webhooks/call_facts.py)
    return {"id": row.id, "name": row.name, "employee_id": row.employee_id} if row else None
