"""Errors of complaints (tickets), each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidComplaint(DomainError):
    """A field of a complaint or of a change to it is wrong; ``field`` names it."""
    error_id = "invalid_complaint"
    status = 422


class ComplaintNotFound(DomainError):
    """No such complaint, or not in the caller's scope (ids do not leak)."""
    error_id = "complaint_not_found"
    status = 404


class ComplaintCustomerNotFound(DomainError):
    """The customer is unknown or not in the caller's scope."""
    error_id = "customer_not_found"
    status = 404


class ComplaintCallNotFound(DomainError):
    """The call is unknown or not in the caller's scope."""
    error_id = "call_not_found"
    status = 404


class InvalidTransition(DomainError):
    """The complaint cannot go from its status to the one asked for."""
    error_id = "invalid_status_change"
    status = 409


class InvalidCategory(DomainError):
    error_id = "invalid_category"
    status = 422


class CategoryNotFound(DomainError):
    error_id = "category_not_found"
    status = 404


class DuplicateCategory(DomainError):
    error_id = "duplicate_category"
    status = 409


class TicketUnavailable(DomainError):
    """No free ticket number was found after several tries (should never happen)."""
    error_id = "ticket_unavailable"
    status = 503
