"""A customer's "no promotional messages" mark (``Customer.messages_opt_out_at``
and ``_source``): set when they reply STOP to an SMS ("stop",
callcenter/notifications/replies.py) or when staff mark it on the 360
("staff"); cleared by a START reply or the 360 switch. Service messages
(their ticket, their appointment) still go: callcenter/notifications/optout.py
decides. Every change is audited ('customer.messages_opt_out')."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers.exceptions import CustomerAlreadyErased
from callcenter.customers.models import Customer
from callcenter.models import utcnow

SOURCES = ("stop", "staff")
AUDIT_ACTION = "customer.messages_opt_out"


def set_messages_opt_out(session: AsyncSession, customer: Customer, opted_out: bool, *, source: str,
                         actor: str, now: dt.datetime | None = None) -> bool:
    """Mark (``opted_out``) or clear the customer's opt-out in ``session``
    (the caller commits); audited when it changed. Returns whether it did."""
    if source not in SOURCES:
        raise ValueError(f"unknown opt-out source {source!r}")
    if customer.erased_at is not None:
        raise CustomerAlreadyErased("the customer was erased: they get no messages at all",
                                    customer_id=customer.id)
    if (customer.messages_opt_out_at is not None) == opted_out:
        return False
    customer.messages_opt_out_at = (now or utcnow()) if opted_out else None
    customer.messages_opt_out_source = source if opted_out else None
    audit.record(session, actor, AUDIT_ACTION, "customer", customer.id, opted_out=opted_out, source=source)
    return True
