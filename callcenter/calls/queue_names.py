"""What a queue's name may be: it is a section of queues.conf and a value in
AMI actions, so the call control checks it before any queue-member action."""
from __future__ import annotations

import re

QUEUE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Section names queues.conf may not use.
RESERVED = frozenset({"general", "default"})


def check_queue_name(value) -> str:
    if not isinstance(value, str) or not QUEUE_NAME_RE.fullmatch(value) or value in RESERVED:
        raise ValueError(f"invalid queue name {value!r}: 1-40 of a-z 0-9 -, starting with a letter or digit")
    return value
