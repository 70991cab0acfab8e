"""An unknown caller made a customer from the screen pop (the new-customer
form the panel opens before the agent answers). The number is the inbound
call's: the agent never types it (nor sees it, where numbers are masked).
The new customer gets their item in the inbound campaign, held by the agent,
and the call is linked to both, so the disposition is owed like any other.

Who may: the agent the call rang or was answered by, and the supervisors
who may see the call (``visible``)."""
from __future__ import annotations

import re

from sqlalchemy import or_, select, true, update

from callcenter import audit
from callcenter.customers.models import Customer
from callcenter.inbound import items
from callcenter.inbound.exceptions import CustomerInvalid, InboundCallNotFound, NoCallerNumber
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, User
from callcenter.org.languages import language_code
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.queues.models import Queue

INBOUND_ID = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,120}\.[^@\s]{2,}$")


def visible(scope: Scope):
    """Clause on InboundCall: an admin all; anyone the calls of agents they see;
    team leads and managers also the calls of their location's queues."""
    if scope.sees_all:
        return true()
    clause = scope.owned_by(InboundCall.agent_id)
    if scope.role in ("teamlead", "manager") and scope.location_id is not None:
        clause = or_(clause, InboundCall.queue_id.in_(select(Queue.id).where(Queue.location_id == scope.location_id)))
    return clause


async def inbound_call(session, scope: Scope, inbound_id) -> InboundCall:
    if not isinstance(inbound_id, str) or not INBOUND_ID.fullmatch(inbound_id):
        raise InboundCallNotFound("no such inbound call")
    row = (await session.scalars(select(InboundCall).where(InboundCall.id == inbound_id, visible(scope)))).first()
    if row is None:
        raise InboundCallNotFound("no such inbound call")
    return row


def clean(fields: dict) -> dict:
    """The form's fields, checked: name (required), language, city, email, store_id."""
    def text(key: str, longest: int, required: bool = False) -> str | None:
        value = fields.get(key)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if required:
                raise CustomerInvalid(f"{key} is required", field=key)
            return None
        if not isinstance(value, str) or len(value) > longest or any(ord(c) < 32 for c in value):
            raise CustomerInvalid(f"{key} must be text of at most {longest} characters", field=key)
        return value

    out = {"name": text("name", 120, required=True), "city": text("city", 60), "email": text("email", 120)}
    if out["email"] is not None and not EMAIL.fullmatch(out["email"]):
        raise CustomerInvalid("email is not an email address", field="email")
    language = text("language", 20)
    out["language"] = language_code(language) if language else None
    if language and out["language"] is None:
        raise CustomerInvalid("language is not a language code such as en, hi, ta", field="language")
    store = fields.get("store_id")
    if store in (None, ""):
        out["store_id"] = None
    else:
        try:
            out["store_id"] = int(store)
        except (TypeError, ValueError):
            raise CustomerInvalid("store_id must be a store's id", field="store_id") from None
    return out


async def create_from_call(session, scope: Scope, settings, inbound_id, fields: dict, *, actor: str,
                           live=None) -> tuple[Customer, int | None, bool]:
    """(customer, work item id, created). A number that became a customer
    meanwhile (another agent, an upload) is that customer, unchanged."""
    call = await inbound_call(session, scope, inbound_id)
    if call.caller is None:
        raise NoCallerNumber("the caller's number was withheld: there is nothing to make a customer of")
    values = clean(fields)
    if values["store_id"] is not None and await session.scalar(
            select(Store.id).where(Store.id == values["store_id"], Store.active.is_(True))) is None:
        raise CustomerInvalid("no such store", field="store_id")
    customer = (await session.scalars(select(Customer).where(Customer.mobile == call.caller))).first()
    created = customer is None
    if created:
        customer = Customer(mobile=call.caller, data={}, **values)  # the audit says where from
        session.add(customer)
        await session.flush()
        audit.record(session, actor, "customer.create", "customer", customer.id, source="inbound call",
                     inbound_call_id=call.id, **{k: v for k, v in values.items() if v is not None})
    agent_id = call.agent_id or scope.user_id
    agent = await session.get(User, agent_id) if agent_id else None
    item_id = campaign_id = None
    if agent is not None:
        campaign = await items.inbound_campaign(session, agent.location_id, settings)
        item = await items.customer_item(session, campaign, customer, agent.id, reason="caller made a customer")
        item_id, campaign_id = item.id, campaign.id
    call.customer_id = customer.id
    await session.execute(update(Call).where(Call.inbound_call_id == call.id, Call.work_item_id.is_(None))
                          .values(customer_id=customer.id, work_item_id=item_id, campaign_id=campaign_id)
                          .execution_options(synchronize_session=False))
    entry = live.get(call.id) if live is not None else None
    if entry is not None:  # the call is live here: its end and survey carry the customer now
        entry.customer_id, entry.work_item_id, entry.campaign_id = customer.id, item_id, campaign_id
    return customer, item_id, created


async def store_choices(session) -> list[Store]:
    return list((await session.scalars(select(Store).where(Store.active.is_(True)).order_by(Store.code))).all())
