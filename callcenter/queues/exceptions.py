"""Errors of queues and agents' queue sessions, each with a stable error id."""
from __future__ import annotations

from callcenter.calls.exceptions import PbxUnavailable, QueueNotLoaded  # noqa: F401 - raised by the call control
from callcenter.errors import DomainError


class QueueNotFound(DomainError):
    """No such queue, or not in the caller's scope (ids do not leak)."""
    error_id = "queue_not_found"
    status = 404


class QueueInvalid(DomainError):
    """A field of a queue (or of a request about queues) is wrong; ``field`` names it."""
    error_id = "invalid_queue"
    status = 422


class QueueNameTaken(DomainError):
    error_id = "queue_name_taken"
    status = 409


class QueueNotManaged(DomainError):
    """A manager may change only their own location's queues."""
    error_id = "forbidden"
    status = 403


class AgentNotFound(DomainError):
    """No such active user in the caller's scope."""
    error_id = "agent_not_found"
    status = 404


class QueueNotOffered(DomainError):
    """The queue's language is not among the agent's, or it serves another location."""
    error_id = "queue_not_offered"
    status = 409


class AgentHasNoPhone(DomainError):
    error_id = "agent_has_no_phone"
    status = 409


class NotLoggedIn(DomainError):
    """Pausing needs the agent to be logged in to at least one queue."""
    error_id = "not_logged_in"
    status = 409


class InvalidPauseReason(DomainError):
    error_id = "invalid_pause_reason"
    status = 422
