"""What of a queue reaches Asterisk: :class:`QueueConf` (rendered into
queues.conf by ``callcenter.pbx.render``) and the member interfaces the
server hands to ``QueueAdd``.

Every value is checked before it can reach a config file or an AMI header:
queue names ``[a-z0-9-]``, strategies from a fixed list, whole numbers in
range. Interfaces are built from checked parts only: ``PJSIP/<endpoint>``
for a desktop phone, ``Local/<mobile digits>.<trunk>.<caller id>@cc-queue-mobile/n``
for a mobile agent (the context dials the mobile through that trunk, see
extensions.conf). No host name ever reaches Asterisk."""
from __future__ import annotations

import re
from dataclasses import dataclass

from callcenter.calls.queue_names import check_queue_name
from callcenter.queues.models import QUEUE_STRATEGIES

LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
_ENDPOINT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_DIGITS_RE = re.compile(r"^[0-9]{6,15}$")
_CALLER_ID_RE = re.compile(r"^[0-9]{1,15}$")

MOBILE_CONTEXT = "cc-queue-mobile"
RING_SECONDS = 15          # one agent's phone rings this long before the next try
RETRY_SECONDS = 2          # pause before ringing agents again
ANNOUNCE_SECONDS = 30      # position announcements at most this often
PERIODIC_SECONDS = 60      # "all our agents are busy" this often

LIMITS = {"wrapup_seconds": (0, 600), "max_wait_seconds": (10, 3600), "service_level_seconds": (5, 600)}


@dataclass(frozen=True)
class QueueConf:
    name: str
    language: str
    strategy: str
    wrapup_seconds: int
    max_wait_seconds: int
    service_level_seconds: int
    announce_position: bool

    def check(self) -> "QueueConf":
        check_queue_name(self.name)
        if not isinstance(self.language, str) or not LANGUAGE_RE.fullmatch(self.language):
            raise ValueError(f"queue {self.name}: invalid language {self.language!r}")
        if self.strategy not in QUEUE_STRATEGIES:
            raise ValueError(f"queue {self.name}: strategy must be one of {', '.join(QUEUE_STRATEGIES)}")
        for key, (low, high) in LIMITS.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"queue {self.name}: {key} must be a whole number {low}-{high}")
        if not isinstance(self.announce_position, bool):
            raise ValueError(f"queue {self.name}: announce_position must be true or false")
        return self


def queue_conf(row) -> QueueConf:
    """A ``Queue`` row as Asterisk will see it."""
    return QueueConf(row.name, row.language, row.strategy, row.wrapup_seconds, row.max_wait_seconds,
                     row.service_level_seconds, bool(row.announce_position))


def check_queues(queues) -> list[QueueConf]:
    seen: set[str] = set()
    out = []
    for q in queues:
        q.check()
        if q.name in seen:
            raise ValueError(f"duplicate queue {q.name!r}")
        seen.add(q.name)
        out.append(q)
    return out


def desktop_interface(endpoint: str) -> str:
    if not isinstance(endpoint, str) or not _ENDPOINT_RE.fullmatch(endpoint):
        raise ValueError("invalid phone endpoint")
    return f"PJSIP/{endpoint}"


def mobile_interface(digits: str, trunk: str, caller_id: str) -> str:
    """The Local channel that rings a mobile agent through ``trunk``,
    presenting ``caller_id`` (one of the trunk's numbers)."""
    if not isinstance(digits, str) or not _DIGITS_RE.fullmatch(digits):
        raise ValueError("invalid mobile number")
    if not isinstance(trunk, str) or not _ENDPOINT_RE.fullmatch(trunk) or "." in trunk:
        raise ValueError("invalid trunk name")
    if not isinstance(caller_id, str) or not _CALLER_ID_RE.fullmatch(caller_id):
        raise ValueError("invalid caller id")
    return f"Local/{digits}.{trunk}.{caller_id}@{MOBILE_CONTEXT}/n"


def uses_trunk(interface: str) -> bool:
    """A member whose calls take a trunk channel (mobile agents)."""
    return interface.startswith("Local/") and interface.endswith(f"@{MOBILE_CONTEXT}/n")


# The queue events the call-work AMI user receives (manager.conf eventfilter);
# QueueStatus's own list events (QueueParams, QueueMember, QueueEntry) are replies, never filtered.
QUEUE_EVENTS = (
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
    "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump",
    "QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded", "QueueMemberRemoved",
)
