"""``audit verify``: walk the audit trail's hash chain (docs/audit.md)."""
from __future__ import annotations

import asyncio

from callcenter.cli.common import database, settings_of


def cmd_audit_verify(args) -> int:
    """Exit 0 and say how many rows were checked (and the head's hash, to keep
    elsewhere), or exit 1 naming the first row changed, removed or out of order."""
    from callcenter.audit_trail.verify import verify

    async def _verify():
        async with database(settings_of(args)) as engine:
            return await verify(engine)

    verdict = asyncio.run(_verify())
    print(verdict.summary())
    return 0 if verdict.intact else 1


def add_verify_command(command, audit) -> None:
    command(audit, "verify", cmd_audit_verify,
            "check that no audit row was changed or removed (exit 1 names the first)")
