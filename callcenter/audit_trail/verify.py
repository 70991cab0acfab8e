"""Walking the audit chain (``callcenter audit verify``): every row from the
anchor (the last row retention removed) to the head, in id order, a chunk at
a time. The first problem found is named:

- a row changed: its hash is not sha256(the previous hash, its content);
- a row removed: an id missing between two rows, or the newest rows gone
  (the head names a newer row), or the oldest (the first row is not the one
  after the anchor), or rows gone past the anchor without an
  ``audit.pruned`` row saying so;
- a row out of order: its time before the previous row's.

What it cannot see: someone with write access to the database who rewrites
a row and every hash after it, and the head (docs/audit.md)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from callcenter.audit_chain import HEAD_ID, as_utc, row_hash, utc_text
from callcenter.models import AuditChain, AuditEntry

CHUNK = 5000
PRUNED = "audit.pruned"
_A = AuditEntry.__table__
_H = AuditChain.__table__


@dataclass
class Verdict:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    head_hash: str = ""
    problem: str | None = None
    row_id: int | None = None     # the row named by the problem

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if not self.intact:
            return f"chain broken: {self.problem}"
        span = f"rows {self.first_id}-{self.last_id}" if self.checked else "no rows"
        return f"{self.checked} rows checked, chain intact ({span}; head hash {self.head_hash})"


def _ids(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first}-{last} are"


class _Walk:
    """The state of one walk: the previous row's hash, id and time."""

    def __init__(self, head) -> None:
        self.head = head
        self.previous, self.expected, self.previous_at = head.pruned_hash, head.pruned_through_id + 1, None
        self.verdict = Verdict(head_hash=head.last_hash)

    def fail(self, row_id: int, problem: str) -> Verdict:
        self.verdict.problem, self.verdict.row_id = problem, row_id
        return self.verdict

    def step(self, row) -> Verdict | None:
        """Check one row; the verdict when it is the first problem."""
        legacy = row.id <= self.head.legacy_through_id
        if row.id < self.expected:
            return self.fail(row.id, f"row {row.id} should not be there: the chain goes on from row "
                                     f"{self.expected - 1} (removed by retention, or the row before)")
        if row.id > self.expected and not legacy:
            return self.fail(self.expected, f"{_ids(self.expected, row.id - 1)} missing "
                                            f"(removed: row {row.id} follows row {self.expected - 1})")
        if row.hash != row_hash(self.previous, row):
            why = (" (or a row before it was removed: it was written before the chain)" if legacy else "")
            return self.fail(row.id, f"row {row.id} was changed: its content does not match its hash{why}")
        at = as_utc(row.at)
        if not legacy and self.previous_at is not None and at < self.previous_at:
            return self.fail(row.id, f"row {row.id} is out of order: its time {utc_text(at)} is before "
                                     f"row {row.id - 1}'s {utc_text(self.previous_at)}")
        self.previous, self.expected, self.previous_at = row.hash, row.id + 1, at
        verdict = self.verdict
        verdict.checked += 1
        verdict.first_id = verdict.first_id or row.id
        verdict.last_id = row.id
        return None

    def end(self) -> Verdict:
        """After the last row: the head must name it, with its hash."""
        newest, head = self.expected - 1, self.head
        if newest < head.last_id:
            return self.fail(newest + 1, f"{_ids(newest + 1, head.last_id)} missing (removed: the head "
                                         f"says the newest row is {head.last_id})")
        if newest > head.last_id:
            return self.fail(head.last_id + 1, f"{_ids(head.last_id + 1, newest)} not in the chain: "
                                               f"the head says the newest row is {head.last_id}")
        if self.previous != head.last_hash:
            return self.fail(newest, f"row {newest} was changed: its hash is not the one the head holds")
        return self.verdict


async def _check_anchor(connection, head, walk: _Walk) -> Verdict | None:
    """Rows gone before the anchor must have been removed by retention: its
    newest ``audit.pruned`` row names the same last row and hash."""
    if head.pruned_through_id == 0:
        return None
    pruned = (await connection.execute(
        select(_A.c.id, _A.c.details).where(_A.c.entity == "audit_log", _A.c.action == PRUNED)
        .order_by(_A.c.id.desc()).limit(1))).first()
    said = pruned.details if pruned is not None else {}
    if (said.get("through_id"), said.get("through_hash")) != (head.pruned_through_id, head.pruned_hash):
        return walk.fail(head.pruned_through_id, f"rows up to {head.pruned_through_id} are gone but no "
                                                 f"{PRUNED} row says retention removed them")
    return None


async def verify(engine, chunk: int = CHUNK) -> Verdict:
    """Walk the whole chain (memory: one chunk of rows)."""
    async with engine.connect() as connection:
        head = (await connection.execute(select(_H).where(_H.c.id == HEAD_ID))).first()
        if head is None:
            return Verdict(problem="the chain's head row (audit_chain id 1) is missing")
        walk = _Walk(head)
        after = None
        while True:
            query = select(_A).order_by(_A.c.id).limit(chunk)
            rows = (await connection.execute(query if after is None else query.where(_A.c.id > after))).all()
            for row in rows:
                if (verdict := walk.step(row)) is not None:
                    return verdict
            if len(rows) < chunk:
                break
            after = rows[-1].id
        return await _check_anchor(connection, head, walk) or walk.end()
