"""Where an inbound caller goes when the flow reaches its queue node.

- A known customer whose store belongs to a location or region with a queue
  of the call's language goes to that queue (location and region both
  matching first, then the location, then the region); anyone else to the
  queue the flow names (``support-{language}``).
- Before the queue, the agent who last spoke with the customer (the latest
  connected call, inbound or outbound) is rung directly for a few seconds
  when they are logged in to a queue and free right now (the queue tracker
  says so); no answer, and the caller joins the queue as usual.
- The caller's choice wins over the last agent (:class:`CallerLanguage`): a
  caller who pressed a language in the IVR's menu gets their last agent only
  if that agent speaks it; otherwise the queue of that language (and, when it
  cannot take them, its call-back offer). A caller who chose none (the flow's
  default, a menu's on_failure, the customer's stored language) gets the last
  agent as before."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.models import Call, User
from callcenter.org.models import Store
from callcenter.queues.models import Queue
from callcenter.queues.service import languages_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectAgent:
    id: int
    name: str
    interface: str


@dataclass(frozen=True)
class CallerLanguage:
    """The language of an inbound call and whether the caller chose it (pressed
    it in the IVR's menu). Decides, without I/O, whether an agent may take the
    caller ahead of the queue of that language: always when the caller chose
    none; when they chose, only an agent who speaks it. An agent with no
    languages recorded speaks none: they are offered no queue either
    (``callcenter.queues.service.offered``), whose language test this is."""
    code: str | None
    chosen: bool = False

    def suits(self, agent) -> bool:
        """``agent``: anything with ``languages`` ('en,hi', as ``clean_languages`` stores them)."""
        if not self.chosen or not self.code:
            return True
        return self.code in languages_of(agent)


@dataclass(frozen=True)
class Route:
    queue: str                 # the Asterisk queue name
    queue_id: int | None       # None: a name the queues table does not know (Asterisk will say unavailable)
    location_id: int | None    # the queue's location
    reason: str                # flow_queue / customer_queue
    direct: DirectAgent | None = None
    passed_over: str | None = None  # the last agent, not rung: they do not speak the language the caller chose


def pick_queue(queues, language: str, store) -> object | None:
    """The queue of ``language`` serving the store's location and/or region
    (best match first; ties by name), or None. Pure: rows in, row out."""
    if store is None:
        return None
    best, best_score = None, 0
    for q in sorted(queues, key=lambda q: q.name):
        if not q.active or q.language != language:
            continue
        score = (2 if q.location_id is not None and q.location_id == store.location_id else 0) + \
                (1 if q.region and store.region and q.region.lower() == store.region.lower() else 0)
        if score > best_score:
            best, best_score = q, score
    return best


async def last_agent(session, customer_id: int) -> User | None:
    """The active user who last talked with the customer (a connected call)."""
    return (await session.scalars(
        select(User).join(Call, Call.agent_id == User.id)
        .where(Call.customer_id == customer_id, Call.customer_answered_at.is_not(None), User.active.is_(True))
        .order_by(Call.customer_answered_at.desc()).limit(1))).first()


async def route(session, queues_live, flow_queue: str, language: str, customer_id: int | None,
                try_direct: bool = True, language_chosen: bool = False) -> Route:
    caller_language = CallerLanguage(language, language_chosen)
    queues = (await session.scalars(select(Queue).where(Queue.active.is_(True)))).all()
    by_name = {q.name: q for q in queues}
    chosen, reason = by_name.get(flow_queue), "flow_queue"
    direct = passed_over = None
    if customer_id is not None:
        row = (await session.execute(select(Store).join(Customer, Customer.store_id == Store.id)
                                     .where(Customer.id == customer_id))).scalars().first()
        found = pick_queue(queues, language, row)
        if found is not None and found is not chosen:
            chosen, reason = found, "customer_queue"
        if try_direct and queues_live is not None:
            agent = await last_agent(session, customer_id)
            if agent is not None and not caller_language.suits(agent):
                log.info("customer %s chose %s: their last agent %s (speaks %s) is not rung first", customer_id,
                         language, agent.name, agent.languages or "nothing recorded")
                passed_over = agent.name
            elif agent is not None:
                direct = await _direct_agent(queues_live, agent, customer_id)
    if chosen is None:
        return Route(flow_queue, None, None, reason, direct, passed_over)
    return Route(chosen.name, chosen.id, chosen.location_id, reason, direct, passed_over)


async def _direct_agent(queues_live, agent: User, customer_id: int) -> DirectAgent | None:
    if not queues_live.is_free(agent.name):
        return None
    try:
        interface, _state = await queues_live.agents.interface(agent)
    except Exception as error:  # noqa: BLE001 - no phone now: the queue will do
        log.info("last agent %s of customer %s cannot be rung directly: %s", agent.name, customer_id, error)
        return None
    return DirectAgent(agent.id, agent.name, interface)
