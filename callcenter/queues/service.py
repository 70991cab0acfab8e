"""Queues as data: list, create and change the inbound queues. A queue is
rendered into Asterisk's queues.conf by the config sync (callcenter.pbx.sync),
which reloads app_queue without a restart.

Who may do what: admins every queue; a manager the queues of their location
(a new queue of theirs is of their location); team leads see their
location's queues; agents see the queues they are offered (their language,
their location or none)."""
from __future__ import annotations

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.models import User
from callcenter.org.models import Location
from callcenter.org.scope import Scope
from callcenter.calls.queue_names import QUEUE_NAME_RE, RESERVED
from callcenter.queues.conf import LANGUAGE_RE, LIMITS
from callcenter.queues.exceptions import QueueInvalid, QueueNameTaken, QueueNotFound, QueueNotManaged
from callcenter.queues.models import QUEUE_STRATEGIES, Queue
from callcenter.typed_input import MAX_WHOLE, whole_number
from callcenter.org.languages import parse_languages

STRATEGY_LABELS = {"leastrecent": "Longest idle agent", "rrmemory": "Round robin (with memory)",
                   "linear": "In order (linear)"}
EDITABLE = ("language", "location_id", "region", "strategy", "wrapup_seconds", "max_wait_seconds",
            "service_level_seconds", "announce_position", "active")


def queue_json(q: Queue) -> dict:
    return {"id": q.id, "name": q.name, "language": q.language, "location_id": q.location_id,
            "region": q.region, "strategy": q.strategy, "wrapup_seconds": q.wrapup_seconds,
            "max_wait_seconds": q.max_wait_seconds, "service_level_seconds": q.service_level_seconds,
            "announce_position": q.announce_position, "active": q.active}


def languages_of(user) -> list[str]:
    return [code for code in (user.languages or "").split(",") if code]


def offered(q: Queue, user) -> bool:
    """May ``user`` take this queue's calls: it speaks the language, the queue
    serves their location (or every location), and they are not a store executive."""
    return (q.active and q.language in languages_of(user) and user.agent_kind != "store"
            and (q.location_id is None or q.location_id == user.location_id))


def visible(scope: Scope):
    """Clause on Queue: the queues the caller may see (agents: see also :func:`offered`)."""
    if scope.sees_all:
        return true()
    if scope.location_id is None:
        return Queue.location_id.is_(None)
    return or_(Queue.location_id.is_(None), Queue.location_id == scope.location_id)


def manages(scope: Scope, q: Queue | None = None) -> bool:
    if scope.sees_all:
        return True
    if scope.role != "manager" or scope.location_id is None:
        return False
    return q is None or q.location_id == scope.location_id


async def list_queues(session: AsyncSession, scope: Scope, user: User | None = None,
                      include_inactive: bool = False) -> list[Queue]:
    query = select(Queue).where(visible(scope)).order_by(Queue.name)
    if not include_inactive:
        query = query.where(Queue.active.is_(True))
    rows = list((await session.scalars(query)).all())
    if scope.role == "agent":
        rows = [q for q in rows if user is not None and offered(q, user)]
    return rows


async def get_queue(session: AsyncSession, scope: Scope, queue_id: int) -> Queue:
    q = await session.get(Queue, queue_id)
    if q is None or (await session.scalar(select(Queue.id).where(Queue.id == queue_id, visible(scope)))) is None:
        raise QueueNotFound(f"no queue {queue_id}")
    return q


def _int(body: dict, key: str) -> int:
    low, high = LIMITS[key]
    value = body[key]
    if isinstance(value, str):
        value = whole_number(value, max_digits=9)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueueInvalid(f"{key.replace('_', ' ')} must be a whole number from {low} to {high}", field=key)
    return value


def _bool(body: dict, key: str) -> bool:
    value = body[key]
    if isinstance(value, str) and value.lower() in ("true", "on", "1", "yes", "false", "off", "0", "no", ""):
        return value.lower() in ("true", "on", "1", "yes")
    if not isinstance(value, bool):
        raise QueueInvalid(f"{key.replace('_', ' ')} must be true or false", field=key)
    return value


async def _apply(session: AsyncSession, scope: Scope, q: Queue, body: dict) -> dict:
    changes = {}
    unknown = set(body) - set(EDITABLE) - {"name"}
    if unknown:
        raise QueueInvalid(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    for key in EDITABLE:
        if key not in body:
            continue
        value = body[key]
        if key == "language":
            codes, bad = parse_languages(value.strip().lower()) if isinstance(value, str) else ([], [value])
            if bad or len(codes) != 1 or not LANGUAGE_RE.fullmatch(codes[0]):
                raise QueueInvalid("language must be one language code such as en, hi, ta", field=key)
            value = codes[0]
        elif key == "strategy":
            if value not in QUEUE_STRATEGIES:
                raise QueueInvalid(f"strategy must be one of {', '.join(QUEUE_STRATEGIES)}", field=key)
        elif key == "location_id":
            value = None if value in (None, "") else value
            if value is not None:
                value = whole_number(value) if isinstance(value, str) else value
                if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_WHOLE:
                    raise QueueInvalid("location_id must be a location's id", field=key)
                if await session.get(Location, value) is None:
                    raise QueueInvalid(f"no location {value}", field=key)
            if not scope.sees_all and value != scope.location_id:
                raise QueueNotManaged("a manager's queues are of their own location")
        elif key == "region":
            if not isinstance(value, str) or len(value.strip()) > 40 or any(ord(c) < 32 for c in value):
                raise QueueInvalid("region must be text of at most 40 characters", field=key)
            value = value.strip()
        elif key in LIMITS:
            value = _int(body, key)
        else:
            value = _bool(body, key)
        if getattr(q, key) != value:
            changes[key] = value
            setattr(q, key, value)
    return changes


async def create_queue(session: AsyncSession, scope: Scope, body: dict, *, actor: str) -> Queue:
    if not manages(scope):
        raise QueueNotManaged("only managers and admins create queues")
    name = body.get("name")
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not QUEUE_NAME_RE.fullmatch(name) or name in RESERVED:
        raise QueueInvalid("name must be 1-40 of a-z 0-9 -, starting with a letter or digit "
                           "(for example support-hi or south-ta)", field="name")
    if "language" not in body:
        raise QueueInvalid("language is required", field="language")
    if await session.scalar(select(Queue.id).where(Queue.name == name)) is not None:
        raise QueueNameTaken(f"a queue named {name!r} exists already")
    q = Queue(name=name, language="en", location_id=None if scope.sees_all else scope.location_id, region="",
              strategy="leastrecent", wrapup_seconds=10, max_wait_seconds=120, service_level_seconds=20,
              announce_position=True, active=True)
    fields = dict(body)
    fields.pop("name", None)
    await _apply(session, scope, q, fields)
    session.add(q)
    await session.flush()
    audit.record(session, actor, "queue.create", "queue", q.id, **queue_json(q))
    return q


async def update_queue(session: AsyncSession, scope: Scope, queue_id: int, body: dict, *,
                       actor: str) -> tuple[Queue, dict]:
    """Change a queue; returns it and the changed fields. The name cannot change
    (agents' memberships and the IVR's flows refer to it)."""
    q = await get_queue(session, scope, queue_id)
    if not manages(scope, q):
        raise QueueNotManaged("only the queue's manager or an admin may change it")
    if "name" in body and body["name"] != q.name:
        raise QueueInvalid("a queue's name cannot change; make a new queue instead", field="name")
    before = queue_json(q)
    changes = await _apply(session, scope, q, body)
    if changes:
        audit.record(session, actor, "queue.update", "queue", q.id, name=q.name,
                     changes={key: [before.get(key), value] for key, value in changes.items()})
    return q, changes


async def location_choices(session: AsyncSession, scope: Scope) -> list[Location]:
    query = select(Location).order_by(Location.name)
    if not scope.sees_all:
        query = query.where(Location.id == scope.location_id)
    return list((await session.scalars(query)).all())
