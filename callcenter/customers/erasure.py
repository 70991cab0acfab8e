"""Erasing a customer: the right to erasure of India's DPDP Act 2023.

An admin erases a customer (the 360 page's danger zone, or
``POST /api/v1/customers/{id}/erase``) with a reason. In ONE transaction:

- the customer row becomes a tombstone: name "Erased customer #<id>", the
  mobile a placeholder that is no phone number (``x<id>-erased``: no '+',
  letters, never ends in digits, so no lookup, search or dial by number
  finds it; the column stays unique and not null), alternate mobile, email,
  city, birthday, anniversary and the upload's data emptied, ``erased_at`` set.
  Store and language stay (reports count by them; they say nothing of the person);
- every call of the customer (linked to them or to their number) keeps its
  row for the reports (counts, durations) with the number masked to the last
  four digits, and loses its recording: the row goes and the file is owed
  (``OwedDeletion``), deleted after the commit (callcenter/customers/erasure_files.py);
- the mobile (and the alternate one) goes on the DND list, source "erasure":
  the DND list keeps the plain number (it must still match an upload or a
  dial) and is the one place the number remains;
- the features above keep the rest of the history and erase their part
  (``ErasesHistory``: work items closed, free-text remarks and complaint
  texts cleared, inbound callers masked), wired in callcenter/dispositions/feature.py;
- a ``customer.erased`` event (callcenter/event_log.py) and an audit entry
  (actor, reason, counts: no personal data) are written.

Erasing twice is refused (409: the tombstone is not a customer any more),
and so is erasing during a call with the customer (409: its recording is
stored when it ends)."""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit, event_log
from callcenter.customers import dnd, erasure_files
from callcenter.customers.exceptions import (CustomerAlreadyErased, CustomerNotFound, CustomerOnCall,
                                             ErasureInvalid)
from callcenter.customers.models import Customer, OwedDeletion
from callcenter.models import Call, Recording
from callcenter.orm import utcnow

log = logging.getLogger(__name__)
REASON_MAX = 300
LIVE_CALL_LIMIT = dt.timedelta(hours=4, minutes=15)  # the server cuts calls at [calls] max_call_seconds
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class ErasesHistory(Protocol):
    """What a feature above the customers keeps of a customer, erased in the
    caller's transaction (no commit)."""

    async def __call__(self, session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
        """Erase the feature's part of ``customer_id`` (whose numbers were
        ``numbers``, E.164); returns counts for the audit, e.g. {"work_items_closed": 2}."""


@dataclass
class Erased:
    customer_id: int
    erased_at: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    owed: list[int] = field(default_factory=list)  # OwedDeletion ids: the recordings to delete


def tombstone_name(customer_id: int) -> str:
    return f"Erased customer #{customer_id}"


def placeholder_mobile(customer_id: int) -> str:
    """Unique, at most 20 characters, and never a phone number."""
    return f"x{customer_id}-erased"


def masked_number(number: str | None) -> str | None:
    """'+919876543210' -> 'xxxxxx3210': enough to tell calls apart, not to dial."""
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    return "xxxxxx" + digits[-4:]


def check_reason(reason) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ErasureInvalid("give the reason for the erasure (e.g. the request's reference)", field="reason")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ErasureInvalid(f"the reason is longer than {REASON_MAX} characters", field="reason")
    return reason


def check_confirmation(customer: Customer, typed) -> None:
    """The page asks for the last four digits of the mobile, typed again."""
    typed = re.sub(r"\s", "", typed) if isinstance(typed, str) else ""
    if not typed or customer.mobile[-4:] != typed:
        raise ErasureInvalid("type the last 4 digits of the customer's mobile to confirm", field="confirm")


async def erase(session: AsyncSession, customer_id: int, *, actor: str, reason, parts: Sequence[ErasesHistory],
                confirm_last4: str | None = None, require_confirmation: bool = False,
                now: dt.datetime | None = None, live_limit: dt.timedelta = LIVE_CALL_LIMIT) -> Erased:
    """Erase the customer in the caller's transaction (the caller commits,
    then deletes the owed files: :func:`erasure_files.delete_owed`)."""
    reason = check_reason(reason)
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound("no such customer", customer_id=customer_id)
    if customer.erased_at is not None:
        raise CustomerAlreadyErased("this customer was erased already", customer_id=customer_id)
    if require_confirmation:
        check_confirmation(customer, confirm_last4)
    now = now or utcnow()
    numbers = [n for n in (customer.mobile, customer.alternate_mobile) if n and _E164.fullmatch(n)]
    if await _on_call(session, customer_id, numbers, now, live_limit):
        raise CustomerOnCall("a call with this customer is in progress: erase them once it has ended",
                             customer_id=customer_id)
    # claim the row first: of two erasures at once, one updates it, the other is refused
    claimed = await session.execute(update(Customer).where(
        Customer.id == customer_id, Customer.erased_at.is_(None)).values(erased_at=now)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise CustomerAlreadyErased("this customer was erased already", customer_id=customer_id)
    result = Erased(customer_id, now)
    result.counts["calls_masked"], recordings = await _calls(session, customer_id, numbers)
    result.counts["dnd_added"] = await dnd.add_numbers(session, numbers, "erasure", actor, audited=False)
    for part in parts:
        result.counts.update(await part(session, customer_id, numbers))
    _tombstone(customer, now)
    owed = [OwedDeletion(path=path, owed_since=now) for path in recordings]
    session.add_all(owed)
    await session.flush()
    result.owed = [row.id for row in owed]
    result.counts["recordings"] = len(recordings)
    event_log.record(session, "customer.erased", {
        "customer_id": customer_id, "erased_at": now.isoformat(), "by": actor, "reason_given": True},
        entity_id=customer_id, now=now)
    audit.record(session, actor, "customer.erase", "customer", customer_id, reason=reason, **result.counts)
    log.info("customer %s erased by %s: %s", customer_id, actor, result.counts)
    return result


def _theirs(customer_id: int, numbers: list[str]):
    return or_(Call.customer_id == customer_id, Call.number.in_(numbers)) if numbers \
        else Call.customer_id == customer_id


async def _on_call(session: AsyncSession, customer_id: int, numbers: list[str], now: dt.datetime,
                   live_limit: dt.timedelta) -> bool:
    """A call of theirs not ended yet (its recording would be stored after the
    erasure); a row left unended by a crash stops blocking once no call can
    last that long (``live_limit``: the longest call the server lets run)."""
    return await session.scalar(select(Call.id).where(
        _theirs(customer_id, numbers), Call.state != "ended",
        Call.requested_at > now - live_limit).limit(1)) is not None


async def _calls(session: AsyncSession, customer_id: int, numbers: list[str]) -> tuple[int, list[str]]:
    """Mask the number of the customer's calls; their recordings' rows go,
    their files' paths are returned (to be deleted after the commit)."""
    calls = (await session.scalars(select(Call).where(_theirs(customer_id, numbers)))).all()
    for call in calls:
        call.number = masked_number(call.number)
        call.recording_id = None
    call_ids = [c.id for c in calls]
    paths: list[str] = []
    for start in range(0, len(call_ids), 500):
        rows = (await session.scalars(select(Recording).where(
            Recording.call_id.in_(call_ids[start:start + 500])))).all()
        paths.extend(r.path for r in rows)
        await session.execute(delete(Recording).where(Recording.id.in_([r.id for r in rows])))
    return len(calls), sorted(set(paths))


def _tombstone(customer: Customer, now: dt.datetime) -> None:
    customer.name = tombstone_name(customer.id)
    customer.mobile = placeholder_mobile(customer.id)
    customer.alternate_mobile = None
    customer.email = None
    customer.city = None
    customer.birthday = None
    customer.anniversary = None
    customer.data = {}
    customer.erased_at = now


async def erase_now(sessions, settings, customer_id: int, *, actor: str, reason,
                    parts: Sequence[ErasesHistory], confirm_last4: str | None = None,
                    require_confirmation: bool = False) -> Erased:
    """Erase and commit, then delete the recordings owed (those that cannot be
    deleted now stay owed: the loop tries again)."""
    async with sessions() as session:
        erased = await erase(session, customer_id, actor=actor, reason=reason, parts=parts,
                             confirm_last4=confirm_last4, require_confirmation=require_confirmation,
                             live_limit=dt.timedelta(seconds=settings.calls.max_call_seconds
                                                     + settings.calls.max_ring_seconds + 600))
        await session.commit()
    deleted, failed = await erasure_files.delete_owed(sessions, settings.pbx.recordings_dir, erased.owed)
    erased.counts.update(recordings_deleted=deleted, recordings_owed=failed)
    return erased


def erased_json(erased: Erased) -> dict:
    return {"customer_id": erased.customer_id, "erased": True,
            "erased_at": erased.erased_at.isoformat(), **erased.counts}
