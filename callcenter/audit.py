"""The audit trail: every change made through the product leaves a row, and
so does every bulk view of personal data (a list of customers, inbound
calls or work items, a CSV export).

``record`` holds the row in the session until its commit, so it is written
(or not) together with the change it describes; ``record_many`` does the same
for many rows at once. ``record_view`` writes its row in a transaction of its
own before the data is sent: no row, no data. Each row names the one object
it is about (``entity``, ``entity_id``): an operation on many objects leaves
one row per object. The rows are chained at the commit
(:mod:`callcenter.audit_chain`): their ids are their order, in time too.

Each row carries the id of the API request (``X-Request-Id``) or of the CLI
run that wrote it (:func:`start_request`, :func:`start_cli_run`); the
server's own loops leave it empty."""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any

# Bulk views of personal data (actions of ``record_view``).
BUCKETS_VIEWED = "buckets.viewed_list"      # an agent's work items: customers' names and numbers
CUSTOMERS_VIEWED = "customers.viewed_list"  # other lists of customers (a store's appointments)
INBOUND_VIEWED = "inbound.viewed_list"      # inbound calls: callers' numbers
REPORT_EXPORTED = "report.exported"         # a CSV download (reports, an upload's row report)
FILTER_TEXT_MAX = 60

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit_chain
from callcenter.models import AuditEntry

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def start_request(incoming: str | None) -> str:
    """The request's id (the caller's ``X-Request-Id`` when it is sane, else
    a new one), set for the rows this task records."""
    request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
    audit_chain.REQUEST_ID.set(request_id)
    return request_id


def start_cli_run() -> str:
    """One id for every row a CLI command records."""
    request_id = f"cli-{secrets.token_hex(6)}"
    audit_chain.REQUEST_ID.set(request_id)
    return request_id


def record(session: AsyncSession, actor: str, action: str, entity: str,
           entity_id: Any, **details: Any) -> AuditEntry:
    """Hold an AuditEntry in ``session`` until its commit (rolled back with it).

    ``actor`` is who did it ("cli:alice", "user:bob", "token:crm");
    ``action`` a verb such as "user.add"; ``entity``/``entity_id`` the object
    changed; ``details`` must be JSON-serialisable and must never hold a
    secret. The entry has its id, time and hash once committed."""
    entry = AuditEntry(actor=str(actor)[:60], action=action[:40], entity=entity[:40],
                       entity_id=str(entity_id)[:64], details=details)
    audit_chain.hold(session, entry)
    return entry


def record_many(session: AsyncSession, actor: str,
                rows: Iterable[tuple[str, str, Any, dict]]) -> int:
    """``record`` for many objects at once, ``rows`` of (action, entity,
    entity_id, details): written in batches at the commit. How many."""
    request_id = audit_chain.REQUEST_ID.get()
    count = 0
    for action, entity, entity_id, details in rows:
        audit_chain.hold(session, audit_chain.normalised(actor, action, entity, entity_id, details,
                                                         request_id))
        count += 1
    return count


async def record_view(sessions, actor: str, action: str, view: str, *, rows: int, **filters: Any) -> None:
    """One row for a bulk read: who (``actor``), what (``action``, and
    ``view``, the path read), the filters given (empty ones left out, text
    cut to 60 characters) and how many rows were sent. Committed at once."""
    given = {k: (v[:FILTER_TEXT_MAX] if isinstance(v, str) else v)
             for k, v in filters.items() if v not in (None, "")}
    async with sessions() as session:
        record(session, actor, action, "view", view, rows=rows, filters=given)
        await session.commit()
