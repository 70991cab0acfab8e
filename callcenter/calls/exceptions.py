"""Errors of the call control (callcenter/calls/control.py), with stable ids;
the features whose requests meet them (inbound, queues) re-export them."""
from __future__ import annotations

from callcenter.errors import DomainError


class CallNotLive(DomainError):
    """The inbound call is not in a conversation this server can hang up."""
    error_id = "call_not_live"
    status = 409


class PbxUnavailable(DomainError):
    """Asterisk could not be reached or refused the action; nothing was changed."""
    error_id = "pbx_unavailable"
    status = 503
    retry_after = 5


class QueueNotLoaded(DomainError):
    """The queue is not in Asterisk yet (its config is being reloaded): try again in a moment."""
    error_id = "queue_not_loaded"
    status = 503
    retry_after = 2
