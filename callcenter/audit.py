"""The audit trail: every change made through the product leaves a row, and
so does every bulk view of personal data (a list of customers, inbound
calls or work items, a CSV export).

``record`` only adds the row to the session, so it is committed (or rolled
back) together with the change it describes. ``record_view`` writes its row
in a transaction of its own before the data is sent: no row, no data."""
from __future__ import annotations

from typing import Any

# Bulk views of personal data (actions of ``record_view``).
BUCKETS_VIEWED = "buckets.viewed_list"      # an agent's work items: customers' names and numbers
CUSTOMERS_VIEWED = "customers.viewed_list"  # other lists of customers (a store's appointments)
INBOUND_VIEWED = "inbound.viewed_list"      # inbound calls: callers' numbers
REPORT_EXPORTED = "report.exported"         # a CSV download (reports, an upload's row report)
FILTER_TEXT_MAX = 60

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import AuditEntry


def record(session: AsyncSession, actor: str, action: str, entity: str,
           entity_id: Any, **details: Any) -> AuditEntry:
    """Add an AuditEntry to ``session`` (no flush, no commit).

    ``actor`` is who did it ("cli:alice", "user:bob", "token:crm");
    ``action`` a verb such as "user.add"; ``details`` must be JSON-serialisable
    and must never hold a secret."""
    entry = AuditEntry(actor=str(actor)[:60], action=action[:40], entity=entity[:40],
                       entity_id=str(entity_id)[:64], details=details)
    session.add(entry)
    return entry


async def record_view(sessions, actor: str, action: str, view: str, *, rows: int, **filters: Any) -> None:
    """One row for a bulk read: who (``actor``), what (``action``, and
    ``view``, the path read), the filters given (empty ones left out, text
    cut to 60 characters) and how many rows were sent. Committed at once."""
    given = {k: (v[:FILTER_TEXT_MAX] if isinstance(v, str) else v)
             for k, v in filters.items() if v not in (None, "")}
    async with sessions() as session:
        record(session, actor, action, "view", view, rows=rows, filters=given)
        await session.commit()
