"""Errors of the work feature (buckets, allocation, dispositions, calling),
each with a stable error id the API returns as-is."""
from __future__ import annotations

from callcenter.errors import DomainError


# --- dispositions and forms (H4b) -------------------------------------------

class FormInvalid(DomainError):
    """A disposition form (campaign data) is malformed; ``problems`` lists
    every problem as ``{"path": "questions[2].options[0].next[1]", "problem": ...}``."""
    error_id = "invalid_form"
    status = 422


class AnswersInvalid(DomainError):
    """The answers to a disposition form do not fit it; ``errors`` maps each
    question key (or ``remarks``/``answers``) to what is wrong."""
    error_id = "invalid_answers"
    status = 422


class WorkItemNotFound(DomainError):
    error_id = "work_item_not_found"
    status = 404


class CallNotFound(DomainError):
    error_id = "call_not_found"
    status = 404


class CallNotForItem(DomainError):
    error_id = "call_not_for_item"
    status = 409


class CallNotEnded(DomainError):
    error_id = "call_not_ended"
    status = 409


class AlreadyDisposed(DomainError):
    error_id = "already_disposed"
    status = 409


class WorkItemClosed(DomainError):
    error_id = "work_item_closed"
    status = 409


# --- calling from a work item (H4b) ----------------------------------------

class DispositionRequired(DomainError):
    """The agent still owes a disposition for an earlier call from a work item."""
    error_id = "disposition_required"
    status = 409


class CampaignNotCallable(DomainError):
    error_id = "campaign_not_callable"
    status = 409


class NotAllocated(DomainError):
    error_id = "work_item_not_allocated"
    status = 409


# --- buckets, allocation, reminders (H4a) -----------------------------------

class WorkRequestInvalid(DomainError):
    """A parameter of a bucket, allocation or reminder request is wrong;
    ``field`` names it."""
    error_id = "invalid_request"
    status = 422


class UnknownBucket(DomainError):
    error_id = "unknown_bucket"
    status = 422


class InvalidAllocation(DomainError):
    """An allocation mode that does not exist, or its parameters are missing."""
    error_id = "invalid_allocation"
    status = 422


class CampaignNotFound(DomainError):
    """No such campaign, or not in the caller's scope (ids do not leak)."""
    error_id = "campaign_not_found"
    status = 404


class CampaignClosed(DomainError):
    """The campaign has expired or is closed: its items are not work any more."""
    error_id = "campaign_closed"
    status = 409


class AgentNotFound(DomainError):
    """No such active agent in the caller's scope."""
    error_id = "agent_not_found"
    status = 404


class TeamNotFound(DomainError):
    error_id = "team_not_found"
    status = 404


class StoreNotFound(DomainError):
    error_id = "store_not_found"
    status = 404
