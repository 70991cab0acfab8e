"""Who may get which message: ``may_send(customer, kind)``, asked before a
message to a customer is queued. A promotional message (birthday wishes, an
offer) goes only to a customer who has not opted out (replied STOP, or marked
"No promotional messages" on the 360: callcenter/customers/messages_opt_out.py);
a service message (their ticket, their appointment) goes regardless. An erased
customer gets nothing."""
from __future__ import annotations

KINDS = ("service", "promotional")


def may_send(customer, kind: str) -> bool:
    """May a message of ``kind`` ("service" | "promotional") go to ``customer``
    (a Customer, or anything with ``erased_at`` and ``messages_opt_out_at``)?"""
    if kind not in KINDS:
        raise ValueError(f"message kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if customer.erased_at is not None:
        return False
    return kind == "service" or customer.messages_opt_out_at is None
