"""Errors of the work feature (work items, buckets, allocation, calling),
each with a stable error id the API returns as-is. (Those of dispositions
are in callcenter/dispositions/exceptions.py.)"""
from __future__ import annotations

from callcenter.errors import DomainError


# --- work items ---------------------------------------------------------------

class WorkItemNotFound(DomainError):
    error_id = "work_item_not_found"
    status = 404


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


# --- buckets, allocation, reminders (H4a) -----------------------------------

class WorkRequestInvalid(DomainError):
    """A parameter of a bucket, allocation or reminder request is wrong;
    ``field`` names it."""
    error_id = "invalid_request"
    status = 422


class InvalidCursor(DomainError):
    """A bucket list's ``cursor`` that this server did not make for that
    bucket (edited, cut short, garbage)."""
    error_id = "invalid_cursor"
    status = 400


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
