"""The customer 360: everything about one customer the caller may see, on one
page: profile (mobile masked per role), store, the upload's data, the work
items per campaign with their bucket, every earlier call with its
disposition, talk time and recording, appointments and survey answers.

The customer's own part is this feature's; the work items and the history
(calls, dispositions, appointments, survey answers) are kept by the features
above it, which hand it their ``History`` (callcenter/dispositions/history.py,
wired in callcenter/dispositions/feature.py). What is shown follows the hierarchy: the
customer must be in the caller's scope (else 404); the history says what of
it the caller may see. Every view is audited ('customer.view')."""
from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers.exceptions import CustomerNotFound
from callcenter.customers.models import Customer, DndNumber
from callcenter.customers.privacy import mobile_for, shows_mobile
from callcenter.org.models import Store
from callcenter.org.scope import Scope


class History(Protocol):
    """A customer's history as the work keeps it."""

    def customers_in(self, scope: Scope):
        """Clause on Customer: the customers the caller may open."""

    async def of_customer(self, session: AsyncSession, scope: Scope, settings, role: str,
                          customer: Customer) -> dict:
        """{"work_items", "calls", "notes", "appointments", "survey_answers"}
        of ``customer``, as much as the caller may see."""


async def profile(session, scope, settings, role: str, customer_id: int, *, history: History,
                  actor: str | None = None, work_item_id: int | None = None) -> dict:
    """The 360 of ``customer_id`` as ``role`` may see it. With ``actor`` the
    view is audited (the caller commits)."""
    customer = (await session.execute(select(Customer).where(
        Customer.id == customer_id, history.customers_in(scope)))).scalar_one_or_none()
    if customer is None:
        raise CustomerNotFound("no such customer", customer_id=customer_id)
    store = await session.get(Store, customer.store_id) if customer.store_id else None
    dnd = (await session.execute(select(DndNumber.number).where(
        DndNumber.number == customer.mobile))).first() is not None
    past = await history.of_customer(session, scope, settings, role, customer)
    if actor is not None:
        audit.record(session, actor, "customer.view", "customer", customer.id,
                     work_item_id=work_item_id)
    return {
        "customer": _customer(customer, dnd, settings, role),
        "store": {"id": store.id, "code": store.code, "name": store.name, "city": store.city,
                  "language": store.language} if store else None,
        "data": dict(customer.data or {}),
        **past,
    }


def _customer(customer: Customer, dnd: bool, settings, role: str) -> dict:
    if customer.erased_at is not None:  # a tombstone: no number to show (callcenter/customers/erasure.py)
        return {"id": customer.id, "name": customer.name, "mobile": None, "mobile_masked": False,
                "alternate_mobile": None, "email": None, "language": customer.language, "city": None,
                "birthday": None, "anniversary": None, "dnd": False, "erased": True,
                "erased_at": customer.erased_at, "messages_opt_out_at": None,
                "messages_opt_out_source": None}
    return {
        "id": customer.id, "name": customer.name, "erased": False, "erased_at": None,
        "mobile": mobile_for(settings, role, customer.mobile),
        "mobile_masked": not shows_mobile(settings, role),
        "alternate_mobile": mobile_for(settings, role, customer.alternate_mobile),
        "email": customer.email, "language": customer.language, "city": customer.city,
        "birthday": customer.birthday, "anniversary": customer.anniversary, "dnd": dnd,
        # no promotional messages since (None: all messages), "stop" (their SMS reply) or "staff"
        "messages_opt_out_at": customer.messages_opt_out_at,
        "messages_opt_out_source": customer.messages_opt_out_source,
    }
