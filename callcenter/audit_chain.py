"""The audit trail's hash chain and its one order (docs/audit.md).

Every audit row is written when its transaction commits, never before: the
rows a transaction records (``audit.record``, ``audit.record_many``, or an
``AuditEntry`` added to the session) are held in the session until then.
At the commit, after the transaction's other writes are flushed, the
chain's head row (``audit_chain``, id 1) is locked first with an UPDATE
(on SQLite this begins the write transaction, on PostgreSQL it takes the
row's lock) and the held rows are appended under that lock: each gets the
next id, ``at`` = now (never before the newest row's time), and
``hash`` = sha256(previous row's hash, newline, the row's canonical form);
the head then holds the newest id, hash and time. The lock is the last one
the transaction takes and is held to its commit, so the id order is the
commit order, the chain's order and the order in time, with any number of
server processes on one database.

A savepoint (``begin_nested``) rolled back takes back the rows recorded
inside it; a rolled-back transaction leaves no row and no gap.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
from typing import Any

from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from callcenter.models import AuditChain, AuditEntry
from callcenter.orm import utcnow

log = logging.getLogger(__name__)
GENESIS = "0" * 64          # the "hash before the first row"
HEAD_ID = 1
CHUNK = 500
_HELD = "audit_chain.held"  # Session.info key: the rows waiting for the commit
_MARKS = "audit_chain.marks"  # Session.info key: {savepoint: how many rows were held when it began}
_A = AuditEntry.__table__
_H = AuditChain.__table__
LIMITS = {"actor": 60, "action": 40, "entity": 40, "entity_id": 64}

# The request (``web/app.py``) or CLI run (``callcenter/main.py``) the rows
# of this task belong to; None in the server's own loops.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_request_id", default=None)


class ChainHeadMissing(RuntimeError):
    """The audit_chain row is gone: nothing is written until an operator looks."""


# -- the canonical form and the hash -----------------------------------------
def utc_text(at: dt.datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds (SQLite hands naive UTC back)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)


def canonical(row, at_text: str | None = None) -> str:
    """The row's content as one string: the same after a round trip through
    SQLite or PostgreSQL (``row``: a mapping or a result row; ``at_text``:
    its time as ``utc_text`` gives it, when known)."""
    get = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    return json.dumps([get("id"), at_text or utc_text(get("at")), get("actor"), get("action"), get("entity"),
                       get("entity_id"), get("request_id"), get("details")],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(previous: str, row, at_text: str | None = None) -> str:
    return hashlib.sha256(f"{previous}\n{canonical(row, at_text)}".encode()).hexdigest()


def normalised(actor: str, action: str, entity: str, entity_id: Any, details: dict | None,
               request_id: str | None) -> dict:
    """A row's values as they will read back: cut to the columns' sizes,
    ``details`` through JSON (tuples become lists, number keys strings)."""
    row = {"actor": str(actor), "action": str(action), "entity": str(entity), "entity_id": str(entity_id)}
    row = {k: v[:LIMITS[k]] for k, v in row.items()}
    row["details"] = json.loads(json.dumps(details or {}))
    row["request_id"] = request_id
    return row


# -- holding rows until the commit ---------------------------------------------
def _info(session) -> dict:
    return getattr(session, "sync_session", session).info


def hold(session, entry: AuditEntry | dict) -> None:
    """Keep ``entry`` (an AuditEntry, or a ``normalised`` row) for the
    session's commit; it takes the request id of the moment."""
    if isinstance(entry, AuditEntry):
        if entry.request_id is None:
            entry.request_id = REQUEST_ID.get()
    elif entry.get("request_id") is None:
        entry["request_id"] = REQUEST_ID.get()
    _info(session).setdefault(_HELD, []).append(entry)


def _row_of(entry: AuditEntry | dict) -> dict:
    if isinstance(entry, dict):
        return entry
    return normalised(entry.actor, entry.action, entry.entity, entry.entity_id, entry.details,
                      entry.request_id)


# -- appending under the head's lock ------------------------------------------
def lock_head(connection):
    """Take the chain's lock (an UPDATE, first) and read the head."""
    head = connection.execute(update(_H).where(_H.c.id == HEAD_ID).values(last_id=_H.c.last_id)
                              .returning(_H.c.last_id, _H.c.last_hash, _H.c.last_at)).first()
    if head is None:
        raise ChainHeadMissing("the audit chain's head row (audit_chain id 1) is missing: "
                               "run 'callcenter audit verify' and restore it from a backup")
    return head


def append(connection, rows: list[dict]) -> list[dict]:
    """Chain and insert ``rows`` (``normalised``) in the connection's
    transaction; the rows as written (with id, at, hash)."""
    if not rows:
        return []
    last_id, previous, last_at = lock_head(connection)
    at = utcnow()
    if last_at is not None and as_utc(last_at) > at:
        at = as_utc(last_at)  # a clock behind the newest row's (another server's): time never goes back
    written, at_text = [], utc_text(at)
    for row in rows:
        last_id += 1
        full = {**row, "id": last_id, "at": at}
        previous = full["hash"] = row_hash(previous, full, at_text)
        written.append(full)
    for start in range(0, len(written), CHUNK):
        connection.execute(insert(_A), written[start:start + CHUNK])
    connection.execute(update(_H).where(_H.c.id == HEAD_ID)
                       .values(last_id=last_id, last_hash=previous, last_at=at))
    return written


# -- the session's events ----------------------------------------------------------
@event.listens_for(Session, "before_flush")
def _hold_added_entries(session: Session, _context, _instances) -> None:
    """An AuditEntry added to the session directly waits for the commit too."""
    for entry in [obj for obj in session.new if isinstance(obj, AuditEntry)]:
        session.expunge(entry)
        hold(session, entry)


@event.listens_for(Session, "before_commit")
def _append_held(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the rows wait for the real commit
    session.flush()  # the transaction's other writes first: the chain's lock is its last
    held = session.info.get(_HELD)
    if not held:
        return
    written = append(session.connection(), [_row_of(entry) for entry in held])
    del session.info[_HELD]  # only now: a commit that failed and is tried again still writes them
    for entry, row in zip(held, written):
        if isinstance(entry, AuditEntry):  # the caller's object shows what was written
            entry.id, entry.at, entry.hash, entry.details = row["id"], row["at"], row["hash"], row["details"]


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_HELD, ()))


@event.listens_for(Session, "after_soft_rollback")
def _take_back_savepoint(session: Session, previous_transaction) -> None:
    mark = session.info.get(_MARKS, {}).pop(previous_transaction, None)  # (after its end event)
    if mark is not None and _HELD in session.info:
        del session.info[_HELD][mark:]  # the rows recorded inside the savepoint rolled back


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_HELD, None)  # rolled back (after a commit nothing is left)
        session.info.pop(_MARKS, None)
