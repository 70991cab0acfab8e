"""Keyset (seek) paging of the bucket lists.

A page ends with a cursor: the sort key and id of its last row (``after``) or
of its first row (``before``, for the previous page). The next query starts
right after that key (``WHERE key > cursor ORDER BY key LIMIT n``), so the last
page costs what the first does, and an item that leaves the bucket between
two pages neither shifts nor repeats the rest.

A cursor is opaque to clients: base64url of a small JSON object, a dot, and
an HMAC-SHA256 of it keyed by the server's secret. Anything else (edited,
truncated, of another bucket) is refused with InvalidCursor (400); nothing
from a cursor becomes SQL but bound values of the expected types. The
caller's scope is applied to every query as before: a cursor only says
where to start, never whose items."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import Integer, and_, bindparam, or_, tuple_

from callcenter.campaigns.models import Campaign
from callcenter.work.exceptions import InvalidCursor
from callcenter.work.models import WorkItem

# The sort key of each bucket, before the id (the tie-breaker). NULLs come
# first, as SQLite orders them (buckets.ORDER is the same order).
KEYS = {
    "fresh": Campaign.expires_on,
    "non_contact": WorkItem.next_attempt_at,
    "future_followup": WorkItem.followup_at,
    "pending_followup": WorkItem.followup_at,
    "appointment": WorkItem.appointment_at,
}
MAX_TOKEN = 300      # characters; a real cursor is about 120
MAX_ID = 2**63 - 1
_CONTEXT = b"callcenter.work.bucket-cursor.v1"


@dataclass(frozen=True)
class Cursor:
    bucket: str
    direction: str                      # "after" (next page) or "before" (previous page)
    key: dt.date | dt.datetime | None   # the row's value of KEYS[bucket]
    item_id: int


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(cursor: Cursor, secret: str) -> str:
    key = cursor.key.isoformat() if cursor.key is not None else None
    payload = json.dumps({"b": cursor.bucket, "d": cursor.direction[0], "k": key, "i": cursor.item_id},
                         separators=(",", ":")).encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(signature)}"


def decode(token: str, bucket: str, secret: str) -> Cursor:
    """The cursor in ``token`` for a list of ``bucket``; InvalidCursor when it
    is not one this server made for that bucket."""
    bad = InvalidCursor("this page link is not valid (changed or cut short); start again from the first page",
                        field="cursor")
    if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
        raise bad
    body, signature = token.split(".")
    try:
        payload, given = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise bad from None
    if not hmac.compare_digest(hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16], given):
        raise bad
    try:
        data = json.loads(payload)
        direction = {"a": "after", "b": "before"}[data["d"]]
        item_id, raw = data["i"], data["k"]
        if data["b"] != bucket:
            raise InvalidCursor("this page link belongs to another bucket; start again from its first page",
                                field="cursor")
        if type(item_id) is not int or not 0 < item_id <= MAX_ID:
            raise bad
        key = None if raw is None else _parse_key(bucket, raw)
    except (ValueError, KeyError, TypeError):
        raise bad from None
    return Cursor(bucket, direction, key, item_id)


def _parse_key(bucket: str, raw) -> dt.date | dt.datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValueError("not a key")
    if bucket == "fresh":
        return dt.date.fromisoformat(raw)
    return dt.datetime.fromisoformat(raw)


def cursor_of(bucket: str, row, direction: str) -> Cursor:
    """The cursor at ``row`` (WorkItem, campaign name, expires_on) of a page."""
    item, _name, expires_on = row
    key = expires_on if bucket == "fresh" else getattr(item, KEYS[bucket].key)
    return Cursor(bucket, direction, key, item.id)


def seek(cursor: Cursor):
    """Clause: the rows after (or before) the cursor in the bucket's order,
    written as a row value, ``(key, id) > (:key, :id)``, so that SQLite (and
    PostgreSQL) start an index range at the cursor and read on in order."""
    column, value = KEYS[cursor.bucket], cursor.key
    if value is None:            # NULL keys come first
        if cursor.direction == "after":
            return or_(column.isnot(None), and_(column.is_(None), WorkItem.id > cursor.item_id))
        return and_(column.is_(None), WorkItem.id < cursor.item_id)
    at = tuple_(bindparam(None, value, type_=column.type), bindparam(None, cursor.item_id, type_=Integer))
    if cursor.direction == "after":
        return tuple_(column, WorkItem.id) > at
    return or_(tuple_(column, WorkItem.id) < at, column.is_(None))
