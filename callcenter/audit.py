"""The audit trail: every change made through the product leaves a row.

``record`` only adds the row to the session, so it is committed (or rolled
back) together with the change it describes."""
from __future__ import annotations

from typing import Any

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
